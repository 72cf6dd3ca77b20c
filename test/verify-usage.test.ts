// docs/DECISIONS.md: "verify without a policy: usage error (exit 2) unless --signatures skip" (as cosign: a forgotten
// flag must never produce an exit 0 that reads as "signatures verified"). Through the built CLI.
import assert from 'node:assert/strict'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {assertFreshBuild} from './support/built.ts'
import {tempDir} from './support/layouts.ts'
import {type CliRun, runCli} from './support/cli.ts'
import {parseCliJson} from './support/json-contract.ts'

assertFreshBuild()
const airlock = (...args: string[]): Promise<CliRun> => runCli(args)

describe('verify with no policy is a usage error', () => {
  let dir: string
  let cleanup: () => Promise<void>
  let archive: string
  before(async () => {
    ;({dir, cleanup} = await tempDir('airlock-verify-usage-'))
    archive = join(dir, 'a.tar')
    const e = await airlock(
      'export',
      '--no-tuf',
      '--signatures',
      'optional',
      '-o',
      archive,
      'oci:fixtures/example:example.com/demo/hello:1.0',
    )
    assert.equal(e.status, 0, e.stderr)
  })
  after(async () => cleanup())

  it('exits 2 with the reason and the flags to give, and prints no verdict', async () => {
    for (const extra of [[], ['--signatures', 'required']]) {
      const r = await airlock('verify', archive, ...extra)
      assert.equal(r.status, 2, `${extra.join(' ')}: ${r.stderr}${r.stdout}`)
      assert.match(r.stderr, /^airlock: error: no signature policy given$/m)
      assert.match(
        r.stderr,
        /^airlock: hint: give --certificate-identity\[-regexp\] with --certificate-oidc-issuer\[-regexp\], or --key, or --policy FILE; or --signatures skip/m,
      )
      assert.equal(r.stdout, '', 'no report: nothing was verified')
    }
    const j = await airlock('verify', archive, '--json')
    assert.equal(j.status, 2, j.stderr + j.stdout)
    // the envelope and the error only: no report fields (nothing was verified)
    const usage = parseCliJson<{ok: boolean; error: {code: string}; images?: unknown}>(j.stdout)
    assert.equal(usage.ok, false)
    assert.equal(usage.error.code, 'USAGE')
    assert.equal(usage.images, undefined)
  })

  it('--signatures skip asks for integrity only: exit 0', async () => {
    const r = await airlock('verify', archive, '--signatures', 'skip')
    assert.equal(r.status, 0, r.stderr + r.stdout)
  })
})
