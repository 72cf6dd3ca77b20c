// Issue 12 item 1: repeatable flags (--platform, --insecure-registry, --trusted-root, --tuf-root, --tuf-mirror) must
// not swallow the image, archive or artifact that follows them, in `--flag value` and `--flag=value` forms, the
// way cosign and skopeo users write them (artifact last). Runs the built CLI (npm run build first).
import assert from 'node:assert/strict'
import {readdirSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {fileURLToPath} from 'node:url'
import {tempDir} from './support/layouts.ts'
import {type CliRun, runCli} from './support/cli.ts'
import {parseCliJson} from './support/json-contract.ts'

const root = fileURLToPath(new URL('..', import.meta.url))
function airlock(...args: string[]): Promise<CliRun> {
  return runCli(args)
}
const sig = join(root, 'fixtures/example-signatures')
const hello = `oci:${join(root, 'fixtures/example')}:example.com/demo/multi:1.0`

describe('CLI: repeatable flags never swallow the arguments after them', () => {
  let dir: string
  let cleanup: () => Promise<void>
  before(async () => ({dir, cleanup} = await tempDir()))
  after(async () => cleanup())

  for (const form of ['separate', 'equals'] as const) {
    const flag = (name: string, value: string) => (form === 'separate' ? [`--${name}`, value] : [`--${name}=${value}`])

    it(`export: --platform and --insecure-registry before the image (${form})`, async () => {
      const out = join(dir, `platform-${form}.tar`)
      const r = await airlock(
        'export',
        '--no-tuf',
        '--signatures',
        'skip',
        '-o',
        out,
        ...flag('platform', 'linux/arm64'),
        ...flag('insecure-registry', '127.0.0.1:1'),
        hello,
      )
      assert.equal(r.status, 0, r.stderr)
      const inspect = await airlock('inspect', out, '--json')
      assert.equal(inspect.status, 0, inspect.stderr)
      assert.match(inspect.stdout, /linux\/arm64/)
      parseCliJson(inspect.stdout)
    })

    it(`verify-blob: --trusted-root (twice) before the artifact (${form})`, async () => {
      const root1 = join(sig, 'trusted_root.json')
      const r = await airlock(
        'verify-blob',
        '--bundle',
        join(sig, 'hello.txt.sigstore.json'),
        '--certificate-identity',
        'release@example.test',
        '--certificate-oidc-issuer',
        'https://accounts.example.test',
        ...flag('trusted-root', root1),
        ...flag('trusted-root', root1),
        join(sig, 'hello.txt'),
      )
      assert.equal(r.status, 0, r.stderr + r.stdout)
      assert.match(r.stdout, /Verified OK/)
    })

    it(`verify: --trusted-root and --tuf-root before the archive (${form})`, async () => {
      const out = join(dir, `verify-${form}.tar`)
      assert.equal((await airlock('export', '--no-tuf', '--signatures', 'skip', '-o', out, hello)).status, 0)
      const r = await airlock(
        'verify',
        '--signatures',
        'skip',
        ...flag('trusted-root', join(sig, 'trusted_root.json')),
        ...flag('tuf-root', `x.example=${join(sig, 'trusted_root.json')}`),
        out,
      )
      // The archive was parsed as the archive: the run gets past usage (the tuf-root pairs with no mirror: one line).
      assert.doesNotMatch(r.stderr, /Missing 1 required arg/)
      assert.ok(r.status === 0 || /tuf-root|mirror/.test(r.stderr), r.stderr)
    })
  }

  it('every repeatable flag of every command is declared non-greedy', async () => {
    const greedy: string[] = []
    let repeatable = 0
    for (const file of readdirSync(join(root, 'src/commands')).filter(f => f.endsWith('.ts'))) {
      const command = (await import(join(root, 'src/commands', file))).default as {
        flags?: Record<string, {multiple?: boolean; multipleNonGreedy?: boolean}>
      }
      for (const [name, flag] of Object.entries(command.flags ?? {})) {
        if (!flag.multiple) continue
        repeatable++
        if (!flag.multipleNonGreedy) greedy.push(`${file} --${name}`)
      }
    }
    assert.ok(repeatable >= 8, `found only ${repeatable} repeatable flags`)
    assert.deepEqual(greedy, [])
  })
})
