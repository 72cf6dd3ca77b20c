// The real Sigstore public-good TUF metadata (root v12..v15, timestamp v762, snapshot v165, targets v14, the
// registry.npmjs.org delegation), verified offline from root v12 as the pinned root.
import assert from 'node:assert/strict'
import {mkdtempSync, readdirSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'
import {
  mirrorIdFor,
  pinnedPublicGoodRoot,
  pinnedRootFingerprint,
  PUBLIC_GOOD_MIRROR,
  readTufState,
  verifyTufOffline,
} from '../src/trust/index.ts'

const CORPUS = '/work/shared/corpora/sigstore+root-signing'
/** the timestamp v762 expired 2026-08-28, the registry.npmjs.org delegation expires 2026-10-13, root v15 2026-11-20 */
const NOW = new Date('2026-10-01T00:00:00Z')
const DAY = 86_400_000
const mirrorId = mirrorIdFor(PUBLIC_GOOD_MIRROR)

/** The corpus as the archive stores it: plain names, `metadata/N.root.json` for the roots after the pinned one. */
function archiveFiles(): Map<string, Buffer> {
  const files = new Map<string, Buffer>()
  for (const v of [13, 14, 15])
    files.set(`metadata/${v}.root.json`, readFileSync(`${CORPUS}/metadata/root_history/${v}.root.json`))
  for (const n of ['timestamp', 'snapshot', 'targets', 'registry.npmjs.org'])
    files.set(`metadata/${n}.json`, readFileSync(`${CORPUS}/metadata/${n}.json`))
  const walk = (dir: string, prefix: string) => {
    for (const e of readdirSync(dir, {withFileTypes: true}))
      if (e.isDirectory()) walk(join(dir, e.name), `${prefix}${e.name}/`)
      else files.set(`targets/${prefix}${e.name}`, readFileSync(join(dir, e.name)))
  }
  walk(`${CORPUS}/targets`, '')
  return files
}
const root12 = readFileSync(`${CORPUS}/metadata/root_history/12.root.json`)

describe('public-good TUF metadata, offline', () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'airlock-trust-state-'))
  after(() => rmSync(stateDir, {recursive: true, force: true}))

  it('verifies from root v12 with a grace that covers the archive age, and reports it', () => {
    const {trustedRoot, targets, report} = verifyTufOffline({
      files: archiveFiles(),
      pinnedRoot: root12,
      mirrorId,
      grace: 120 * DAY,
      now: NOW,
      state: false,
    })
    assert.deepEqual(trustedRoot, readFileSync(`${CORPUS}/targets/trusted_root.json`))
    assert.equal(report.pinnedRootVersion, 12)
    assert.equal(report.rootVersion, 15)
    assert.equal(report.timestampVersion, 762)
    assert.equal(report.snapshotVersion, 165)
    assert.equal(report.targetsVersion, 14)
    assert.deepEqual(report.delegatedVersions, {'registry.npmjs.org': 8})
    assert.equal(
      report.targetHashes['trusted_root.json'],
      '6494e21ea73fa7ee769f85f57d5a3e6a08725eae1e38c755fc3517c9e6bc0b66',
    )
    assert.ok(targets.has('registry.npmjs.org/keys.json'), 'delegated target resolved through registry.npmjs.org')
    assert.equal(targets.size, 12)
    assert.equal(report.graceUsed, true)
    assert.deepEqual(report.graceRoles, ['timestamp v762'])
    assert.equal(report.expiries['timestamp v762'], '2026-08-28T19:25:56Z')
    assert.match(report.ageNote, /^timestamp v762 expired 2026-08-28T19:25:56Z \(33d 4h before 2026-10-01/)
  })

  it('fails with strict expiry (grace 0): the timestamp expired on 2026-08-28', () => {
    assert.throws(
      () => verifyTufOffline({files: archiveFiles(), pinnedRoot: root12, mirrorId, grace: 0, now: NOW, state: false}),
      {
        code: 'TRUST_INVALID',
        message: /timestamp v762 expired 2026-08-28T19:25:56Z \(33d 4h ago\) and expiry is strict \(grace 0\)/,
      },
    )
  })

  it('fails whatever the grace once the final root v15 expired (2026-11-20): root is judged strictly', () => {
    assert.throws(
      () =>
        verifyTufOffline({
          files: archiveFiles(),
          pinnedRoot: root12,
          mirrorId,
          grace: 120 * DAY,
          now: new Date('2026-11-26T00:00:00Z'),
          state: false,
        }),
      {
        code: 'TRUST_INVALID',
        message: /root v15 expired 2026-11-20T13:58:18Z \(5d 10h ago\); root and targets metadata are judged strictly/,
      },
    )
  })

  it('fails with the default 30-day grace: the timestamp expired 33 days earlier', () => {
    assert.throws(
      () => verifyTufOffline({files: archiveFiles(), pinnedRoot: root12, mirrorId, now: NOW, state: false}),
      {
        code: 'TRUST_INVALID',
        message: /timestamp v762 expired 2026-08-28T19:25:56Z \(33d 4h ago\), beyond the 30d grace period/,
      },
    )
  })

  it("verifies strictly on a date when everything was current, then with grace 'unlimited' over that state floor", () => {
    const floorDir = mkdtempSync(join(tmpdir(), 'airlock-trust-state-'))
    try {
      assert.throws(
        () =>
          verifyTufOffline({
            files: archiveFiles(),
            pinnedRoot: root12,
            mirrorId,
            grace: 'unlimited',
            now: NOW,
            state: {dir: floorDir},
          }),
        {
          code: 'TRUST_INVALID',
          message: /unlimited grace needs the rollback state/,
        },
      )
      const {report} = verifyTufOffline({
        files: archiveFiles(),
        pinnedRoot: root12,
        mirrorId,
        grace: 0,
        now: new Date('2026-08-27T00:00:00Z'),
        state: {dir: floorDir},
      })
      assert.equal(report.graceUsed, false)
      assert.match(report.ageNote, /all metadata current; first expiry: timestamp v762/)
      const unlimited = verifyTufOffline({
        files: archiveFiles(),
        pinnedRoot: root12,
        mirrorId,
        grace: 'unlimited',
        now: NOW,
        state: {dir: floorDir},
      }).report
      assert.equal(unlimited.rootVersion, 15)
      assert.match(unlimited.ageNote, /^WARNING: unlimited grace/)
    } finally {
      rmSync(floorDir, {recursive: true, force: true})
    }
  })

  it('starts from any later pinned root, and ignores the roots at or below it', () => {
    const root14 = readFileSync(`${CORPUS}/metadata/root_history/14.root.json`)
    assert.equal(
      verifyTufOffline({files: archiveFiles(), pinnedRoot: root14, mirrorId, grace: 120 * DAY, now: NOW, state: false})
        .report.rootVersion,
      15,
    )
  })

  it('refuses an archive whose newest root is older than the pinned root shipped in airlock (rollback)', () => {
    const shipped = JSON.parse(pinnedPublicGoodRoot().toString('utf8')).signed.version as number
    assert.ok(shipped > 15)
    assert.throws(
      () =>
        verifyTufOffline({
          files: archiveFiles(),
          pinnedRoot: pinnedPublicGoodRoot(),
          mirrorId,
          grace: 120 * DAY,
          now: NOW,
          state: false,
        }),
      {
        code: 'TRUST_INVALID',
        message: new RegExp(`newest root is v15, older than the pinned root v${shipped} \\(rollback\\)`),
      },
    )
  })

  it('refuses a root whose signed content was altered (signatures no longer verify)', () => {
    const files = archiveFiles()
    const r14 = JSON.parse((files.get('metadata/14.root.json') as Buffer).toString('utf8'))
    r14.signed.expires = '2099-01-01T00:00:00Z'
    files.set('metadata/14.root.json', Buffer.from(JSON.stringify(r14)))
    assert.throws(
      () => verifyTufOffline({files, pinnedRoot: root12, mirrorId, grace: 120 * DAY, now: NOW, state: false}),
      {
        code: 'TRUST_INVALID',
        message: /root v14 is not signed by a threshold of root v13's keys \(0\/3\)/,
      },
    )
  })

  it('records the accepted versions in the state file, and accepts the same archive again', () => {
    const opts = {pinnedRoot: root12, mirrorId, grace: 120 * DAY, now: NOW, state: {dir: stateDir}}
    const first = verifyTufOffline({...opts, files: archiveFiles()})
    const fingerprint = pinnedRootFingerprint(root12)
    assert.equal(first.report.stateFile, join(stateDir, 'tuf', `root-${fingerprint}.json`))
    verifyTufOffline({...opts, files: archiveFiles()})
    const state = readTufState(stateDir, fingerprint)
    assert.deepEqual(
      {
        root: state?.root,
        timestamp: state?.timestamp,
        snapshot: state?.snapshot,
        targets: state?.targets,
        delegated: {...state?.delegated},
      },
      // every role snapshot v165 lists, carried or not: none may vanish from a later snapshot (TUF 5.5.5)
      {
        root: 15,
        timestamp: 762,
        snapshot: 165,
        targets: 14,
        delegated: {'registry.npmjs.org': 8, rekor: 3, revocation: 2, staging: 2},
      },
    )
  })
})
