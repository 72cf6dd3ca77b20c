// The forecast through the CLI (issue 16 item 2): export carries a generated TUF repository served on loopback whose
// metadata expire at known times; verify --json says trust.forecast with graceUntil = the carried timestamp's
// `expires` + --tuf-grace exactly, and verify's and push's text say it in one line.
import assert from 'node:assert/strict'
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {mirrorIdFor} from '../src/trust/index.ts'
import {runCli, runCliJson} from './support/cli.ts'
import {tempDir} from './support/layouts.ts'
import {startRegistry, type StartedRegistry} from './support/registry.ts'
import {type ServedTuf, serveTuf} from './support/served-tuf.ts'

const DAY = 86_400_000

interface Forecast {
  basis: string
  strictUntil: string | null
  graceUntil: string | null
  limitedBy: string | null
  noExpiry: string[]
  summary: string
}

describe('verify and push say until when the archive verifies', () => {
  let tuf: ServedTuf
  let dir: string
  let cleanup: () => Promise<void>
  let rootFile: string
  let archive: string
  let timestampExpires: number
  let registry: StartedRegistry | undefined

  before(async () => {
    ;({dir, cleanup} = await tempDir('airlock-forecast-'))
    // timestamp valid 2 days, snapshot 7, targets 90, root 365 (test/support/tuf-repo.ts)
    tuf = await serveTuf(dir, {rootVersions: 2, timestampTtlMs: 2 * DAY})
    rootFile = tuf.rootFile
    archive = join(dir, 'a.tar')
    const timestamp = JSON.parse(readFileSync(join(tuf.repo.dir, 'timestamp.json'), 'utf8')) as {
      signed: {expires: string}
    }
    timestampExpires = Date.parse(timestamp.signed.expires)
    const e = await tuf.exportTo(archive)
    assert.equal(e.status, 0, e.stderr)
  })
  after(async () => {
    await registry?.stop()
    await tuf?.stop()
    await cleanup?.()
  })

  it('verify --json: trust.forecast dates are the carried expiry plus the grace, exactly', async () => {
    const r = await runCliJson<{trust: {graceSeconds: number; forecast: Forecast}}>([
      'verify',
      archive,
      '--signatures',
      'skip',
      '--tuf-root',
      rootFile,
      '--tuf-grace',
      '10d',
      '--no-state',
    ])
    assert.equal(r.status, 0, r.stderr)
    const {forecast, graceSeconds} = r.json.trust
    assert.equal(graceSeconds, 10 * 86_400)
    assert.equal(forecast.basis, 'tuf')
    assert.equal(forecast.strictUntil, new Date(timestampExpires).toISOString())
    assert.equal(forecast.graceUntil, new Date(timestampExpires + 10 * DAY).toISOString())
    assert.equal(forecast.limitedBy, `TUF ${mirrorIdFor(tuf.server.url)} timestamp v1`)
    assert.deepEqual(forecast.noExpiry, [])
  })

  it('verify text and push text say the forecast in one line; push --json carries it at trust.forecast', async () => {
    const key = ['--tuf-root', rootFile, '--tuf-grace', '3d', '--no-state']
    const policy = join(dir, 'policy.yaml')
    writeFileSync(policy, 'rules:\n  - image: "**"\n    skip: true\n')
    const v = await runCli(['verify', archive, '--policy', policy, ...key])
    assert.equal(v.status, 0, v.stderr + v.stdout)
    const until = new Date(timestampExpires + 3 * DAY).toISOString()
    const lines = v.stdout.split('\n').filter(l => l.startsWith('forecast: '))
    assert.equal(lines.length, 1, v.stdout)
    assert.match(
      lines[0]!,
      new RegExp(
        `^forecast: verifies strictly until ${new Date(timestampExpires).toISOString()} \\(in 1d 23h\\), within the grace period until ${until} \\(in 4d 23h\\); after ${until} this archive needs a trust refresh$`,
      ),
    )
    registry = await startRegistry()
    const target = `${registry.host}/mirror`
    const p = await runCli(['push', archive, target, '--policy', policy, ...key, '--insecure-registry', registry.host])
    assert.equal(p.status, 0, p.stderr)
    assert.match(p.stderr, new RegExp(`^forecast: verifies strictly until .*; after ${until} this archive needs`, 'm'))
    const pj = await runCliJson<{
      trust: {forecast: Forecast}
      images: Array<{platforms: unknown[]; signers: unknown[]}>
    }>(['push', archive, target, '--policy', policy, ...key, '--insecure-registry', registry.host])
    assert.equal(pj.status, 0, pj.stderr)
    assert.equal(pj.json.trust.forecast.graceUntil, until)
    assert.deepEqual(pj.json.images[0]!.signers, [], 'a skip rule: nobody signed, nobody is named')
  })
})
