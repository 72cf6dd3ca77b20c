// The production default path end to end through the built CLI: the test Sigstore instance's trusted_root.json is
// the `trusted_root.json` target of a real TUF repository served over HTTP on loopback; `export --tuf-mirror
// --tuf-root` carries that repository into the archive; `verify` (keyless policy, NO --trusted-root) takes the
// trusted root from the archive's TUF chain, under the no-network preload. And the negative twins: the target
// tampered in the archive, a trusted root that does not hold the signing CA, and metadata expired past the grace.
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {parseReference} from '../src/reference/index.ts'
import {RegistryClient} from '../src/registry/index.ts'
import {pinnedRootFingerprint} from '../src/trust/index.ts'
import {Archive} from './support/hostile/base.ts'
import {makeWorkDir} from './support/images.ts'
import {startRegistry, type StartedRegistry} from './support/registry.ts'
import {createTestSigstore, sampleImage, type TestSigstore} from './support/sigstore/index.ts'
import {putImage} from './support/sigstore/registry-images.ts'
import {startStaticServer, type StaticServer} from './support/static-server.ts'
import {TestTufRepo} from './support/tuf-repo.ts'
import {assertFreshBuild} from './support/built.ts'
import {runCli} from './support/cli.ts'

// dist/ must be the current source: fail (never skip, never test old code) when it is not
assertFreshBuild()

const ROOT = new URL('..', import.meta.url).pathname
const BIN = join(ROOT, 'bin/run.js')
const ID = 'release@airlock.test'
const ISSUER = 'https://accounts.airlock.test'
const KEYLESS = ['--certificate-identity', ID, '--certificate-oidc-issuer', ISSUER]
const DAY = 86_400_000

interface Run {
  status: number | null
  stdout: string
  stderr: string
}

/** export talks to servers living in this process: it must run asynchronously. */
function exportAsync(args: string[]): Promise<Run> {
  return runCli(['export', ...args])
}

describe("default path: keyless verify against the trusted root carried by the archive's TUF chain (built CLI)", () => {
  let registry: StartedRegistry
  let ss: TestSigstore
  let other: TestSigstore
  let work: {dir: string; cleanup(): void}
  let ref: string
  const repos: TestTufRepo[] = []
  const servers: StaticServer[] = []

  /** verify through the built CLI under the no-network preload (and optionally a shifted clock); returns the attempts. */
  const verify = (archive: string, args: string[], clockOffsetMs = 0): Run & {attempts: string[]} => {
    const log = join(work.dir, `net-${Math.random().toString(36).slice(2)}.log`)
    const preloads = [
      '--import',
      './test/support/no-network.ts',
      ...(clockOffsetMs ? ['--import', './test/support/clock.ts'] : []),
    ]
    const r = spawnSync(process.execPath, [...preloads, BIN, 'verify', archive, ...args], {
      cwd: ROOT,
      encoding: 'utf8',
      env: {...process.env, AIRLOCK_NETWORK_LOG: log, AIRLOCK_CLOCK_OFFSET_MS: String(clockOffsetMs)},
    })
    const attempts = existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : []
    return {status: r.status, stdout: r.stdout, stderr: r.stderr, attempts}
  }

  /** A TUF repository whose trusted_root.json target is `trustedRoot`, served on loopback; the archive exported from it. */
  async function exportWith(
    name: string,
    trustedRoot: Buffer,
  ): Promise<{archive: string; rootFile: string; repo: TestTufRepo; server: StaticServer}> {
    const repo = new TestTufRepo({rootVersions: 2, trustedRoot})
    const server = await startStaticServer(repo.dir)
    repos.push(repo)
    servers.push(server)
    const rootFile = join(work.dir, `${name}.root.json`)
    writeFileSync(rootFile, repo.pinnedRoot())
    const archive = join(work.dir, `${name}.tar`)
    const e = await exportAsync([
      '--tuf-mirror',
      server.url,
      '--tuf-root',
      rootFile,
      '--insecure-registry',
      registry.host,
      '-o',
      archive,
      ref,
    ])
    assert.equal(e.status, 0, e.stderr + e.stdout)
    assert.ok(
      server.requests.some(p => /^\/targets\/[0-9a-f]{64}\.trusted_root\.json$/.test(p)),
      'export fetched the trusted_root.json target through TUF',
    )
    return {archive, rootFile, repo, server}
  }

  let good: Awaited<ReturnType<typeof exportWith>>

  before(async () => {
    ;[registry, ss, other] = await Promise.all([
      startRegistry(),
      createTestSigstore(),
      createTestSigstore({listen: false}),
    ])
    work = makeWorkDir('airlock-default-path-')
    const client = new RegistryClient({insecure: registry.insecure})
    ref = `${registry.host}/app/hello:v1`
    const repo = client.repository(parseReference(ref))
    const img = sampleImage('default-path')
    await putImage(repo, img, 'v1')
    const digest = img.manifestDescriptor.digest
    await putImage(
      repo,
      ss.signImageLegacy(`${registry.host}/app/hello`, digest, {identity: ID, issuer: ISSUER}),
      `${digest.replace(':', '-')}.sig`,
    )
    good = await exportWith('good', Buffer.from(ss.trustedRootJSON()))
  })
  after(async () => {
    for (const s of servers) await s.stop()
    for (const r of repos) r.remove()
    await Promise.all([registry?.stop(), ss?.stop(), other?.stop()])
    work?.cleanup()
  })

  it('verifies the keyless signature with the trusted root from the TUF chain, no --trusted-root, no network', () => {
    const r = verify(good.archive, ['--tuf-root', good.rootFile, '--no-state', ...KEYLESS])
    assert.equal(r.status, 0, r.stderr + r.stdout)
    assert.match(r.stdout, /signatures: +ok +signature/)
    assert.match(
      r.stdout,
      new RegExp(
        `TUF ${good.server.url.replace(/^http:\/\//, '').replace(/[.:]/g, c => (c === ':' ? '_' : '\\.'))}: root v2 from pinned v1 .*trusted_root\\.json sha256:[0-9a-f]{64}; all metadata current`,
      ),
    )
    assert.deepEqual(r.attempts, [])
  })

  it('the same archive fails the policy for another identity (the trusted root alone proves nothing)', () => {
    const r = verify(good.archive, [
      '--tuf-root',
      good.rootFile,
      '--no-state',
      '--certificate-identity',
      'mallory@evil.test',
      '--certificate-oidc-issuer',
      ISSUER,
    ])
    assert.equal(r.status, 1, r.stderr + r.stdout)
    assert.deepEqual(r.attempts, [])
  })

  it('a failed verify records no TUF rollback state; a passing one does (src/commands/verify.ts)', () => {
    const state = join(work.dir, 'state')
    // the state is keyed by the pinned root (issue 10 finding 5), not by a name from the archive
    const stateFile = join(state, 'tuf', `root-${pinnedRootFingerprint(readFileSync(good.rootFile))}.json`)
    const failed = verify(good.archive, [
      '--tuf-root',
      good.rootFile,
      '--state',
      state,
      '--certificate-identity',
      'mallory@evil.test',
      '--certificate-oidc-issuer',
      ISSUER,
    ])
    assert.equal(failed.status, 1, failed.stderr + failed.stdout)
    assert.match(
      failed.stdout,
      /ok +trust/,
      'the TUF chain itself verified: only the verdict decides whether state is written',
    )
    assert.doesNotMatch(failed.stdout, /TUF state recorded/)
    assert.equal(existsSync(stateFile), false, 'no rollback state after a failed verify')
    const passed = verify(good.archive, ['--tuf-root', good.rootFile, '--state', state, ...KEYLESS])
    assert.equal(passed.status, 0, passed.stderr + passed.stdout)
    assert.match(passed.stdout, /TUF state recorded in /)
    assert.equal(existsSync(stateFile), true, `state file ${stateFile} written after the passing verify`)
  })

  it('refuses the archive when its trusted_root.json target was tampered with (even with airlock.json resealed)', () => {
    const a = Archive.parse(readFileSync(good.archive))
    const name = a.entries
      .map(e => String(e.name))
      .find(n => /^sigstore\/tuf\/[^/]+\/targets\/trusted_root\.json$/.test(n))
    assert.ok(name, `the archive carries the TUF target: ${a.entries.map(e => e.name).join(', ')}`)
    // the attacker's edit: keep the real CA and log but add their own CA (a trusted root that would accept their certs)
    const doc = JSON.parse(a.get(name).toString('utf8'))
    doc.certificateAuthorities.push(...JSON.parse(other.trustedRootJSON()).certificateAuthorities)
    a.set(name, Buffer.from(JSON.stringify(doc, null, 2) + '\n')).reseal()
    const tampered = join(work.dir, 'tampered.tar')
    writeFileSync(tampered, a.toTar())
    const r = verify(tampered, ['--tuf-root', good.rootFile, '--no-state', ...KEYLESS])
    assert.equal(r.status, 1, r.stderr + r.stdout)
    assert.match(r.stderr + r.stdout, /target trusted_root\.json is \d+ bytes, targets v\d+ lists \d+/)
    assert.doesNotMatch(r.stdout, /signatures: +ok/)
    assert.deepEqual(r.attempts, [])

    // the same-length edit (one character of the CA certificate changed): caught by the hash, not the length
    const b = Archive.parse(readFileSync(good.archive))
    const genuine = b.get(name).toString('utf8')
    const at = genuine.indexOf('"rawBytes": "') + '"rawBytes": "'.length + 40
    assert.ok(at > 40, 'the trusted root has a rawBytes field to edit')
    const edited = genuine.slice(0, at) + (genuine[at] === 'A' ? 'B' : 'A') + genuine.slice(at + 1)
    b.set(name, Buffer.from(edited)).reseal()
    const sameSize = join(work.dir, 'tampered-same-size.tar')
    writeFileSync(sameSize, b.toTar())
    const s = verify(sameSize, ['--tuf-root', good.rootFile, '--no-state', ...KEYLESS])
    assert.equal(s.status, 1, s.stderr + s.stdout)
    assert.match(
      s.stderr + s.stdout,
      /target trusted_root\.json sha256 [0-9a-f]{16}\.\.\. does not match the hash targets v\d+ lists/,
    )
    assert.deepEqual(s.attempts, [])
  })

  it('refuses the signature when the TUF-verified trusted root does not hold the signing CA', async () => {
    // a genuine TUF chain whose trusted root has the right log but another instance's CA
    const doc = JSON.parse(ss.trustedRootJSON())
    doc.certificateAuthorities = JSON.parse(other.trustedRootJSON()).certificateAuthorities
    const wrongCa = await exportWith('wrong-ca', Buffer.from(JSON.stringify(doc, null, 2) + '\n'))
    const r = verify(wrongCa.archive, ['--tuf-root', wrongCa.rootFile, '--no-state', ...KEYLESS])
    assert.equal(r.status, 1, r.stderr + r.stdout)
    assert.match(r.stdout, /all metadata current/, 'the TUF chain itself verified')
    assert.match(r.stdout, /signatures: +FAIL/)
    assert.match(r.stderr, /no signature verifies: certificate-chain: Failed to verify certificate chain/)
    assert.deepEqual(r.attempts, [])
  })

  it('metadata expired within the 30-day default grace verifies and says the grace was used; past the grace it is refused', () => {
    // timestamp: 1 day, snapshot: 7 days, targets: 90 days after export. 20 days on: expired, within the grace.
    const within = verify(good.archive, ['--tuf-root', good.rootFile, '--no-state', ...KEYLESS], 20 * DAY)
    assert.equal(within.status, 0, within.stderr + within.stdout)
    assert.match(within.stdout, /grace 30d, USED/)
    // 40 days on: the timestamp is 39 days past its expiry, beyond the grace
    const past = verify(good.archive, ['--tuf-root', good.rootFile, '--no-state', ...KEYLESS], 40 * DAY)
    assert.equal(past.status, 1, past.stderr + past.stdout)
    assert.match(past.stderr, /timestamp v1 expired \S+ \(39d ago\), beyond the 30d grace period/)
    assert.doesNotMatch(past.stdout, /signatures: +ok/)
    assert.deepEqual([...within.attempts, ...past.attempts], [])
    // and --tuf-grace 0 refuses what the default grace accepted
    const strict = verify(
      good.archive,
      ['--tuf-root', good.rootFile, '--no-state', '--tuf-grace', '0', ...KEYLESS],
      20 * DAY,
    )
    assert.equal(strict.status, 1, strict.stderr + strict.stdout)
    assert.match(strict.stderr, /timestamp v1 expired \S+ \(19d ago\)/)
  })
})
