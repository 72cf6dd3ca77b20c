// A TUF repository generated in the test, served over HTTP on loopback, exported through tuf-js's Updater, then
// attacked in the files map the archive would carry.
import assert from 'node:assert/strict'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {parseTrustedRoot} from '../src/sigstore/trust.ts'
import {exportTufRepository, type TufExport, verifyTufOffline} from '../src/trust/index.ts'
import {startStaticServer, type StaticServer} from './support/static-server.ts'
import {fakeTrustedRoot, generateKey, signMetadata, TestTufRepo} from './support/tuf-repo.ts'

const DAY = 86_400_000
const tmp = (p: string) => mkdtempSync(join(tmpdir(), p))

describe('TUF export over HTTP and offline verification of the exported files', () => {
  let repo: TestTufRepo
  let server: StaticServer
  let cacheDir: string
  /** A: first publication (timestamp/snapshot/targets/team v1); B: second one (all v2, a new trusted_root.json) */
  let A: TufExport
  let B: TufExport
  const dirs: string[] = []
  const stateDir = () => {
    const d = tmp('airlock-tuf-state-')
    dirs.push(d)
    return {dir: d}
  }
  const copy = (e: TufExport): Map<string, Buffer> =>
    new Map<string, Buffer>([...e.files].map(([k, v]) => [k, Buffer.from(v)]))
  const verify = (files: Map<string, Buffer>, extra: Partial<Parameters<typeof verifyTufOffline>[0]> = {}) =>
    verifyTufOffline({files, pinnedRoot: repo.pinnedRoot(), mirrorId: A.mirrorId, state: false, ...extra})

  before(async () => {
    repo = new TestTufRepo({rootVersions: 3})
    server = await startStaticServer(repo.dir)
    cacheDir = tmp('airlock-tuf-cache-')
    A = await exportTufRepository({
      mirrorUrl: server.url,
      pinnedRoot: repo.pinnedRoot(),
      cacheDir,
      targets: ['trusted_root.json', 'signing_config.v0.2.json', 'team/keys.json'],
    })
    repo.targetFiles.set('trusted_root.json', fakeTrustedRoot('second'))
    repo.publish()
    B = await exportTufRepository({
      mirrorUrl: server.url,
      pinnedRoot: repo.pinnedRoot(),
      cacheDir,
      targets: ['trusted_root.json', 'signing_config.v0.2.json', 'team/keys.json'],
    })
  })
  after(async () => {
    await server?.stop()
    repo?.remove()
    for (const d of [cacheDir, ...dirs]) if (d) rmSync(d, {recursive: true, force: true})
  })

  it('exports every root after the pinned one, the top-level and delegated metadata and the targets, under plain names', () => {
    assert.equal(A.mirrorId, `127.0.0.1_${server.port}`)
    assert.deepEqual([...B.files.keys()].sort(), [
      'metadata/2.root.json',
      'metadata/3.root.json',
      'metadata/snapshot.json',
      'metadata/targets.json',
      'metadata/team.json',
      'metadata/timestamp.json',
      'targets/signing_config.v0.2.json',
      'targets/team/keys.json',
      'targets/trusted_root.json',
    ])
    assert.deepEqual(B.files.get('metadata/2.root.json'), repo.roots[1])
    // the real client code path: consistent-snapshot names and hash-prefixed target URLs
    assert.ok(server.requests.includes('/2.snapshot.json'))
    assert.ok(server.requests.includes('/4.root.json'), 'the Updater probed for a newer root')
    assert.ok(server.requests.some(p => /^\/targets\/[0-9a-f]{64}\.trusted_root\.json$/.test(p)))
    assert.ok(server.requests.some(p => /^\/targets\/team\/[0-9a-f]{64}\.keys\.json$/.test(p)))
    assert.equal(B.report.rootVersion, 3)
    assert.equal(B.report.timestampVersion, 2)
  })

  it('by default exports trusted_root.json and the signing_config*.json targets only', async () => {
    const e = await exportTufRepository({mirrorUrl: server.url + '/', pinnedRoot: repo.pinnedRoot(), cacheDir})
    assert.deepEqual([...e.files.keys()].filter(k => k.startsWith('targets/')).sort(), [
      'targets/signing_config.v0.2.json',
      'targets/trusted_root.json',
    ])
  })

  it('verifies the exported files offline, returning the verified trusted_root.json and a report', () => {
    const {trustedRoot, targets, report} = verify(copy(B), {grace: 0})
    assert.deepEqual(trustedRoot, repo.targetFiles.get('trusted_root.json'))
    assert.deepEqual(targets.get('team/keys.json'), repo.teamFiles.get('team/keys.json'))
    assert.deepEqual(
      {
        root: report.rootVersion,
        ts: report.timestampVersion,
        snap: report.snapshotVersion,
        tg: report.targetsVersion,
        del: report.delegatedVersions,
        graceUsed: report.graceUsed,
      },
      {root: 3, ts: 2, snap: 2, tg: 2, del: {team: 2}, graceUsed: false},
    )
  })

  it('refuses a timestamp older than the one accepted before (rollback, state file)', () => {
    const state = stateDir()
    verify(copy(B), {state})
    const files = copy(B)
    files.set('metadata/timestamp.json', A.files.get('metadata/timestamp.json') as Buffer)
    assert.throws(() => verify(files, {state}), {
      code: 'TRUST_INVALID',
      message: /timestamp v1 is older than timestamp v2 accepted on an earlier import/,
    })
  })

  it('refuses a snapshot older than the one accepted before, even behind a fresh timestamp (compromised online key)', () => {
    const state = stateDir()
    verify(copy(B), {state})
    const files = copy(A)
    files.set('metadata/timestamp.json', repo.signTimestamp(3, A.files.get('metadata/snapshot.json') as Buffer, 1))
    assert.throws(() => verify(files, {state}), {
      code: 'TRUST_INVALID',
      message: /timestamp v3 lists snapshot v1, older than snapshot v2 accepted on an earlier import/,
    })
  })

  it('refuses a replayed older archive after a newer one was accepted', () => {
    const state = stateDir()
    verify(copy(A), {state}) // the old archive is fine on its own
    verify(copy(B), {state})
    assert.throws(() => verify(copy(A), {state}), {
      code: 'TRUST_INVALID',
      message: /v1 is older than .* v2 accepted on an earlier import \(rollback or replayed archive\)/,
    })
    verify(copy(B), {state}) // the newest one still verifies
  })

  it('refuses a new root signed by the old keys only', () => {
    const files = copy(B)
    const fresh = [generateKey(), generateKey(), generateKey()]
    files.set('metadata/4.root.json', signMetadata('root', repo.rootSigned(4, fresh), repo.rootKeys))
    assert.throws(() => verify(files), {
      code: 'TRUST_INVALID',
      message: /root v4 is not signed by a threshold of its own keys \(0\/2\)/,
    })
  })

  it('refuses a new root signed by its own keys but not by a threshold of the previous root', () => {
    const files = copy(B)
    const fresh = [generateKey(), generateKey(), generateKey()]
    files.set('metadata/4.root.json', signMetadata('root', repo.rootSigned(4, fresh), [...fresh, repo.rootKeys[0]!]))
    assert.throws(() => verify(files), {
      code: 'TRUST_INVALID',
      message: /root v4 is not signed by a threshold of root v3's keys \(1\/2\)/,
    })
  })

  it('refuses a root chain with a version removed', () => {
    const files = copy(B)
    files.delete('metadata/2.root.json')
    assert.throws(() => verify(files), {
      code: 'TRUST_INVALID',
      message: /root v2 is missing from the archive \(the chain would skip from v1 to v3\)/,
    })
  })

  it('refuses a root file that is not the version its name says', () => {
    const files = copy(B)
    files.set('metadata/3.root.json', files.get('metadata/2.root.json') as Buffer)
    assert.throws(() => verify(files), {
      code: 'TRUST_INVALID',
      message: /metadata\/3\.root\.json holds root v2, not v3/,
    })
  })

  it('refuses a tampered target file', () => {
    const files = copy(B)
    const bytes = files.get('targets/trusted_root.json') as Buffer
    bytes[bytes.length - 3] = (bytes[bytes.length - 3] as number) ^ 1
    assert.throws(() => verify(files), {
      code: 'TRUST_INVALID',
      message: /target trusted_root\.json sha256 [0-9a-f]{16}\.\.\. does not match the hash targets v2 lists/,
    })
  })

  it('refuses a substituted trusted_root.json that looks valid but whose hash is not the listed one', () => {
    const files = copy(B)
    const evil = fakeTrustedRoot('evil2') // same length as the genuine one ('second' and 'evil2' differ: pad below)
    const genuine = files.get('targets/trusted_root.json') as Buffer
    const padded = Buffer.concat([
      evil.subarray(0, evil.length - 1),
      Buffer.alloc(genuine.length - evil.length, ' '),
      Buffer.from('\n'),
    ])
    assert.equal(padded.length, genuine.length)
    parseTrustedRoot(padded, 'substitute') // it really does look like a trusted root
    files.set('targets/trusted_root.json', padded)
    assert.throws(() => verify(files), {
      code: 'TRUST_INVALID',
      message: /target trusted_root\.json sha256 .* does not match the hash targets v2 lists/,
    })
    const shorter = copy(B)
    shorter.set('targets/trusted_root.json', evil)
    assert.throws(() => verify(shorter), {
      code: 'TRUST_INVALID',
      message: /target trusted_root\.json is \d+ bytes, targets v2 lists \d+/,
    })
  })

  it('refuses a file under targets/ that no targets metadata lists', () => {
    const files = copy(B)
    files.set('targets/extra_root.json', fakeTrustedRoot())
    assert.throws(() => verify(files), {
      code: 'TRUST_INVALID',
      message: /targets\/extra_root\.json is not listed in the TUF targets metadata/,
    })
  })

  it('refuses snapshot/targets mix-and-match (targets from another version)', () => {
    const files = copy(B)
    files.set('metadata/targets.json', A.files.get('metadata/targets.json') as Buffer)
    assert.throws(() => verify(files), {
      code: 'TRUST_INVALID',
      message: /targets v1 is not the version snapshot v2 lists \(v2\): snapshot\/targets mix-and-match/,
    })
    const team = copy(B)
    team.set('metadata/team.json', A.files.get('metadata/team.json') as Buffer)
    assert.throws(() => verify(team), {
      code: 'TRUST_INVALID',
      message: /team v1 is not the version snapshot v2 lists \(v2\)/,
    })
  })

  it('refuses a snapshot that is not the one the timestamp lists', () => {
    const files = copy(B)
    files.set('metadata/snapshot.json', A.files.get('metadata/snapshot.json') as Buffer)
    assert.throws(() => verify(files), {
      code: 'TRUST_INVALID',
      message:
        /snapshot\.json (is \d+ bytes, timestamp v2 lists|sha256 [0-9a-f]{16}\.\.\. does not match timestamp v2)/,
    })
  })

  it('refuses a delegated role not signed by its delegated key', () => {
    const files = copy(B)
    const team = JSON.parse((files.get('metadata/team.json') as Buffer).toString('utf8'))
    files.set('metadata/team.json', signMetadata('targets', team.signed, [generateKey()]))
    assert.throws(() => verify(files), {
      code: 'TRUST_INVALID',
      message: /team v2 is not signed by a threshold of targets v2's team keys \(0\/1\)/,
    })
  })

  it('refuses a timestamp expired longer ago than the grace; accepts it within the grace and says so', () => {
    const expires = Date.parse(B.report.expiries['timestamp v2'] as string)
    const now = new Date(expires + 2 * DAY)
    assert.throws(() => verify(copy(B), {now, grace: DAY}), {
      code: 'TRUST_INVALID',
      message: /timestamp v2 expired .* \(2d ago\), beyond the 1d grace period/,
    })
    assert.throws(() => verify(copy(B), {now, grace: 0}), {
      code: 'TRUST_INVALID',
      message: /timestamp v2 expired .* expiry is strict/,
    })
    const {report} = verify(copy(B), {now, grace: 3 * DAY})
    assert.equal(report.graceUsed, true)
    assert.equal(report.maxExpiredMs, 2 * DAY)
    assert.match(report.ageNote, /^timestamp v2 expired .* \(2d before .*\); accepted within the 3d grace period/)
  })

  it('requires trusted_root.json and the top-level metadata', () => {
    for (const [name, re] of [
      ['targets/trusted_root.json', /trusted_root\.json is missing from the archive/],
      ['metadata/timestamp.json', /timestamp\.json is missing from the archive/],
      ['metadata/snapshot.json', /snapshot\.json is missing from the archive/],
      ['metadata/targets.json', /targets\.json is missing from the archive/],
    ] as const) {
      const files = copy(B)
      files.delete(name)
      assert.throws(() => verify(files), {code: 'TRUST_INVALID', message: re})
    }
    const unsafe = copy(B)
    unsafe.set('targets/../x', Buffer.from('x'))
    assert.throws(() => verify(unsafe), {code: 'TRUST_INVALID', message: /unsafe file name/})
  })

  it('export fails through the client when the pinned root is not this repository’s', async () => {
    const other = new TestTufRepo({rootVersions: 1})
    try {
      await assert.rejects(exportTufRepository({mirrorUrl: server.url, pinnedRoot: other.pinnedRoot(), cacheDir}), {
        code: 'TRUST_INVALID',
        message: /TUF 127\.0\.0\.1_\d+: refresh from/,
      })
    } finally {
      other.remove()
    }
  })

  it('export reports an unreachable mirror as a network error', async () => {
    await assert.rejects(
      exportTufRepository({mirrorUrl: 'http://127.0.0.1:9', pinnedRoot: repo.pinnedRoot(), cacheDir}),
      {code: 'NETWORK_ERROR', message: /TUF 127\.0\.0\.1_9: refresh from .*2\.root\.json/},
    )
  })

  it('exports and verifies several mirrors at once', async () => {
    const second = new TestTufRepo({rootVersions: 2})
    const server2 = await startStaticServer(second.dir)
    try {
      const [one, two] = await Promise.all([
        exportTufRepository({mirrorUrl: server.url, pinnedRoot: repo.pinnedRoot(), cacheDir}),
        exportTufRepository({mirrorUrl: `${server2.url}`, pinnedRoot: second.pinnedRoot(), cacheDir}),
      ])
      assert.notEqual(one.mirrorId, two.mirrorId)
      const state = stateDir()
      const r1 = verifyTufOffline({files: one.files, pinnedRoot: repo.pinnedRoot(), mirrorId: one.mirrorId, state})
      const r2 = verifyTufOffline({files: two.files, pinnedRoot: second.pinnedRoot(), mirrorId: two.mirrorId, state})
      assert.equal(r1.report.rootVersion, 3)
      assert.equal(r2.report.rootVersion, 2)
      assert.notEqual(r1.report.stateFile, r2.report.stateFile)
      // one mirror's files do not verify from the other's pinned root
      assert.throws(
        () => verifyTufOffline({files: two.files, pinnedRoot: repo.pinnedRoot(), mirrorId: two.mirrorId, state: false}),
        {code: 'TRUST_INVALID', message: /root v2 is not signed by a threshold of root v1's keys \(0\/2\)/},
      )
    } finally {
      await server2.stop()
      second.remove()
    }
  })
})
