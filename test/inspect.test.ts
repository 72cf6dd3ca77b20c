// CLI tests over the built CLI (npm run build first; `npm test` does it): exit codes, --json, one-line errors.
import assert from 'node:assert/strict'
import {copyFile, open} from 'node:fs/promises'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {tempDir} from './support/layouts.ts'
import {type CliRun, runCli} from './support/cli.ts'
import {parseCliJson} from './support/json-contract.ts'

function airlock(...args: string[]): Promise<CliRun> {
  return runCli(args)
}
const example = (name: string) => `oci:fixtures/example:example.com/demo/${name}:1.0`

describe('CLI: export, verify, inspect', () => {
  let dir: string
  let cleanup: () => Promise<void>
  let archive: string
  before(async () => {
    ;({dir, cleanup} = await tempDir())
    archive = join(dir, 'example.tar')
  })
  after(async () => cleanup())

  it('exports the example fixture (exit 0) and refuses to overwrite it (exit 1, one line)', async () => {
    const ok = await airlock(
      'export',
      '--no-tuf',
      '--signatures',
      'optional',
      '-o',
      archive,
      example('hello'),
      example('multi'),
    )
    assert.equal(ok.status, 0, ok.stderr)
    const again = await airlock('export', '--no-tuf', '--signatures', 'optional', '-o', archive, example('hello'))
    assert.equal(again.status, 1)
    assert.match(again.stderr, /^airlock: error: .*already exists\nairlock: hint: .*--force.*\n$/)
  })

  it('verifies (exit 0) with a human report and with --json', async () => {
    const text = await airlock('verify', '--signatures', 'skip', archive)
    assert.equal(text.status, 0, text.stderr)
    assert.match(text.stdout, /^ok {4}example.com\/demo\/hello:1.0/m)
    const json = await airlock('verify', '--signatures', 'skip', archive, '--json')
    assert.equal(json.status, 0)
    const report = parseCliJson(json.stdout) as {ok: boolean; images: Array<{reference: string}>}
    assert.equal(report.ok, true)
    assert.deepEqual(
      report.images.map(i => i.reference),
      ['example.com/demo/hello:1.0', 'example.com/demo/multi:1.0'],
    )
  })

  it('fails verify of a damaged archive with exit 1 and one error line, no stack trace', async () => {
    const bad = join(dir, 'bad.tar')
    await copyFile(archive, bad)
    const fh = await open(bad, 'r+')
    await fh.write(Buffer.from('X'), 0, 1, 512 * 7 + 10) // inside an early blob body
    await fh.close()
    const r = await airlock('verify', '--signatures', 'skip', bad)
    assert.equal(r.status, 1)
    const errors = r.stderr.split('\n').filter(l => l.startsWith('airlock: error:'))
    assert.equal(errors.length, 1, r.stderr)
    assert.doesNotMatch(r.stderr, / {4}at /)
    const json = await airlock('verify', '--signatures', 'skip', bad, '--json')
    assert.equal(json.status, 1)
    assert.equal((parseCliJson(json.stdout) as {ok: boolean}).ok, false)
  })

  it('inspects as a tree and as JSON', async () => {
    const text = await airlock('inspect', archive)
    assert.equal(text.status, 0, text.stderr)
    assert.match(text.stdout, /linux\/arm64/)
    assert.match(text.stdout, /└─ layer sha256:/)
    const json = parseCliJson((await airlock('inspect', archive, '--json')).stdout) as {
      images: Array<{platforms: unknown[]}>
    }
    assert.equal(json.images[1]!.platforms.length, 2)
  })

  it('uses exit 2 for usage errors and exit 1 for a missing archive', async () => {
    assert.equal((await airlock('verify')).status, 2)
    assert.equal((await airlock('export', '-o', join(dir, 'x.tar'))).status, 2)
    assert.equal((await airlock('export', '-o', join(dir, 'x.tar'), '--platform', 'linux', example('multi'))).status, 2)
    const missing = await airlock('verify', '--signatures', 'skip', join(dir, 'nope.tar'))
    assert.equal(missing.status, 1)
    assert.match(missing.stderr, /^airlock: error: /)
  })
})
