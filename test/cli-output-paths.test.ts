// Issue 12 item 11: output paths are checked before any download: a missing directory, a directory given as -o, an
// existing file: one line naming the path the user gave (never the hidden .NAME.partial-* name), before any
// registry is contacted. The image here is on a port where nothing listens: reaching it would be a network error.
import assert from 'node:assert/strict'
import {mkdirSync, readdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {tempDir} from './support/layouts.ts'
import {type CliRun, runCli} from './support/cli.ts'

function airlock(cwd: string, ...args: string[]): Promise<CliRun> {
  return runCli(args, {cwd})
}
const UNREACHABLE = '127.0.0.1:9/nothing/here:1'

describe('CLI: output paths are checked before any download', () => {
  let dir: string
  let cleanup: () => Promise<void>
  before(async () => ({dir, cleanup} = await tempDir('airlock-outpaths-')))
  after(async () => cleanup())

  const cases: Array<[string, (d: string) => string, RegExp]> = [
    [
      'a missing directory',
      () => 'no/such/dir/out.tar',
      /^airlock: error: -o no\/such\/dir\/out\.tar: directory no\/such\/dir does not exist$/,
    ],
    ['an existing directory', d => (mkdirSync(join(d, 'sub')), 'sub'), /^airlock: error: -o sub is a directory$/],
    ['a directory with a trailing slash', () => 'sub2/', /^airlock: error: -o sub2\/ is a directory$/],
    [
      'an existing file without --force',
      d => (writeFileSync(join(d, 'old.tar'), 'precious'), 'old.tar'),
      /^airlock: error: old\.tar already exists$/,
    ],
  ]
  for (const [what, make, message] of cases)
    it(`export -o ${what}: one line naming the given path, no network, nothing written`, async () => {
      const cwd = join(dir, what.replace(/\W+/g, '-'))
      mkdirSync(cwd)
      const out = make(cwd)
      const before = readdirSync(cwd).sort()
      const r = await airlock(cwd, 'export', '--no-tuf', '--insecure-registry', '127.0.0.1:9', '-o', out, UNREACHABLE)
      assert.notEqual(r.status, 0)
      assert.match(r.stderr.split('\n')[0]!, message)
      assert.doesNotMatch(r.stderr, /partial|ECONNREFUSED|connect/i)
      assert.match(r.stderr.split('\n')[1] ?? '', /^airlock: hint: /)
      assert.deepEqual(readdirSync(cwd).sort(), before)
    })

  it('push --emit-talos-config into a missing directory fails before verifying or pushing', async () => {
    const r = await airlock(
      dir,
      'push',
      '--skip-verify',
      '--insecure-registry',
      '127.0.0.1:9',
      '--emit-talos-config',
      'nope/talos.yaml',
      join(dir, 'missing.tar'),
      '127.0.0.1:9/m',
    )
    assert.equal(r.status, 2, r.stderr)
    assert.match(r.stderr, /^airlock: error: --emit-talos-config nope\/talos\.yaml: directory nope does not exist$/m)
  })
})
