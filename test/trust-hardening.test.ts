// Issue 19: what an archive's author may get past the offline TUF client. Every case is built from the project's
// TUF repository generator (test/support/tuf-repo.ts): real ed25519 keys, real signatures, the generator's own
// repository re-signed where the attack needs a field the honest repository would not write.
import assert from 'node:assert/strict'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'
import {selectTrustedRoots, verifyTufOffline, type TufVerifyOptions} from '../src/trust/index.ts'
import {fakeTrustedRoot, generateKey, signMetadata, type TestKey, TestTufRepo} from './support/tuf-repo.ts'

const DAY = 86_400_000
const HOUR = 3_600_000
const mirrorId = 'hardening.example'
const dirs: string[] = []
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'airlock-trust-hard-'))
  dirs.push(d)
  return d
}
after(() => {
  for (const d of dirs) rmSync(d, {recursive: true, force: true})
})

const iso = (t: number) => new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z')
type Json = Record<string, any>
const signedOf = (bytes: Buffer): Json => JSON.parse(bytes.toString('utf8')).signed

/** Re-signs one metadata file of `files` after `mutate` changed its signed part. */
function resign(
  files: Map<string, Buffer>,
  name: string,
  kind: 'root' | 'timestamp' | 'snapshot' | 'targets',
  keys: TestKey[],
  mutate: (s: Json) => void,
): Json {
  const signed = signedOf(files.get(name) as Buffer)
  mutate(signed)
  files.set(name, signMetadata(kind, signed, keys))
  return signed
}

/** Re-signs the snapshot and a timestamp pointing at it (same versions unless told). */
function resignSnapshot(
  repo: TestTufRepo,
  files: Map<string, Buffer>,
  mutate: (s: Json) => void,
  timestampVersion?: number,
): void {
  const s = resign(files, 'metadata/snapshot.json', 'snapshot', [repo.snapshotKey], mutate)
  files.set(
    'metadata/timestamp.json',
    repo.signTimestamp(
      timestampVersion ?? signedOf(files.get('metadata/timestamp.json') as Buffer).version,
      files.get('metadata/snapshot.json') as Buffer,
      s.version,
    ),
  )
}

const run = (repo: TestTufRepo, files: Map<string, Buffer>, extra: Partial<TufVerifyOptions> = {}) =>
  verifyTufOffline({files, pinnedRoot: repo.pinnedRoot(), mirrorId, now: repo.now, state: false, ...extra})

describe('issue 19.1: the grace period covers timestamp and snapshot only', () => {
  const repo = new TestTufRepo()
  after(() => repo.remove())

  it('refuses a newest root that expired inside the default 30-day grace window', () => {
    const files = repo.archiveFiles()
    const signed = repo.rootSigned(4, repo.rootKeys, {expires: iso(repo.now.getTime() - 10 * DAY)})
    files.set('metadata/4.root.json', signMetadata('root', signed, repo.rootKeys))
    assert.throws(() => run(repo, files), {
      code: 'TRUST_INVALID',
      message: /root v4 expired .* \(10d ago\); root and targets metadata are judged strictly/,
    })
  })

  it('refuses targets (and delegated targets) that expired inside the grace window', () => {
    const files = repo.archiveFiles()
    resign(
      files,
      'metadata/targets.json',
      'targets',
      repo.targetsKeys,
      s => (s.expires = iso(repo.now.getTime() - 2 * DAY)),
    )
    assert.throws(() => run(repo, files), {
      code: 'TRUST_INVALID',
      message: /targets v1 expired .* \(2d ago\); root and targets metadata are judged strictly/,
    })
    const team = repo.archiveFiles()
    resign(
      team,
      'metadata/team.json',
      'targets',
      [repo.delegateKey],
      s => (s.expires = iso(repo.now.getTime() - 2 * DAY)),
    )
    assert.throws(() => run(repo, team), {code: 'TRUST_INVALID', message: /team v1 expired .* judged strictly/})
  })

  it('accepts an expired timestamp and snapshot inside the grace, and the report names the roles that needed it', () => {
    const files = repo.archiveFiles()
    const now = new Date(repo.now.getTime() + 8 * DAY) // timestamp (1d) and snapshot (7d) expired, the rest current
    const {report} = run(repo, files, {now})
    assert.equal(report.graceUsed, true)
    assert.deepEqual(report.graceRoles, ['timestamp v1', 'snapshot v1'])
    const current = run(repo, files)
    assert.deepEqual(current.report.graceRoles, [])
  })

  it('refuses --tuf-grace unlimited without a rollback floor; with one, accepts and warns', () => {
    const files = repo.archiveFiles()
    const later = new Date(repo.now.getTime() + 60 * DAY)
    assert.throws(() => run(repo, files, {grace: 'unlimited', now: later}), {
      code: 'TRUST_INVALID',
      message: /unlimited grace needs the rollback state/,
    })
    const dir = tmp()
    assert.throws(() => run(repo, files, {grace: 'unlimited', now: later, state: {dir}}), {
      code: 'TRUST_INVALID',
      message: /unlimited grace needs the rollback state/,
    })
    run(repo, files, {state: {dir}}) // a first, current import records the floor
    const {report} = run(repo, files, {grace: 'unlimited', now: later, state: {dir}})
    assert.deepEqual(report.graceRoles, ['timestamp v1', 'snapshot v1'])
    assert.match(report.ageNote, /WARNING: unlimited grace/)
  })
})

describe('issue 19.2: one key under two key ids counts once', () => {
  const repo = new TestTufRepo()
  after(() => repo.remove())

  it('refuses targets signed by one key listed twice to reach a threshold of 2', () => {
    const files = repo.archiveFiles()
    const [t0] = repo.targetsKeys as [TestKey]
    const alias: TestKey = {...t0, keyid: 'ab'.repeat(32)}
    const root = repo.rootSigned(4, repo.rootKeys) as Json
    root.keys[alias.keyid] = alias.json
    root.roles.targets = {keyids: [t0.keyid, alias.keyid], threshold: 2}
    files.set('metadata/4.root.json', signMetadata('root', root, repo.rootKeys))
    resign(files, 'metadata/targets.json', 'targets', [t0, alias], () => undefined)
    assert.throws(() => run(repo, files), {
      code: 'TRUST_INVALID',
      message: /targets v1 is not signed by a threshold of root v4's targets keys \(1\/2\)/,
    })
  })

  it('counts one root key once even when the previous root lists it under two ids', () => {
    const files = repo.archiveFiles()
    const [r0, r1, r2] = repo.rootKeys as [TestKey, TestKey, TestKey]
    const alias: TestKey = {...r0, keyid: 'cd'.repeat(32)}
    const v4 = repo.rootSigned(4, [r0, alias, r1]) as Json
    files.set('metadata/4.root.json', signMetadata('root', v4, [r0, r1, r2]))
    // v5 is signed by r0 under both of its ids: a threshold of v4's keys only if the alias counts
    const v5 = repo.rootSigned(5, [r0, r1, r2]) as Json
    files.set('metadata/5.root.json', signMetadata('root', v5, [r0, alias, r2]))
    assert.throws(() => run(repo, files), {
      code: 'TRUST_INVALID',
      message: /root v5 is not signed by a threshold of root v4's keys \(1\/2\)/,
    })
  })
})

describe('issue 19.3: fast-forward recovery resets every floor the rotated snapshot vouched for', () => {
  it('accepts a repository restarted at version 1 under new snapshot keys, after floors at version 3', () => {
    const repo = new TestTufRepo()
    try {
      const dir = tmp()
      repo.publish()
      repo.publish() // timestamp, snapshot, targets, team all at v3
      run(repo, repo.archiveFiles(), {state: {dir}})
      // the snapshot key was compromised and rotated; the repository restarts its versions (TUF 5.3.11)
      ;(repo as unknown as {snapshotKey: TestKey}).snapshotKey = generateKey()
      repo.versions = {timestamp: 0, snapshot: 0, targets: 0, team: 0}
      repo.rotateRoot()
      repo.publish()
      const {report, nextState} = run(repo, repo.archiveFiles(), {state: {dir}})
      assert.deepEqual(
        [report.rootVersion, report.timestampVersion, report.snapshotVersion, report.targetsVersion],
        [4, 1, 1, 1],
      )
      assert.deepEqual(
        [nextState?.timestamp, nextState?.snapshot, nextState?.targets, nextState?.delegated.team],
        [1, 1, 1, 1],
      )
    } finally {
      repo.remove()
    }
  })
})

describe('issue 19.4: target names that are Object.prototype properties', () => {
  const repo = new TestTufRepo()
  after(() => repo.remove())

  it('a file named targets/constructor is an unlisted target, not a crash', () => {
    const files = repo.archiveFiles()
    files.set('targets/constructor', Buffer.from('x'))
    assert.throws(() => run(repo, files), {code: 'TRUST_INVALID', message: /targets\/constructor is not listed/})
    files.delete('targets/constructor')
    files.set('targets/hasOwnProperty', Buffer.from('x'))
    assert.throws(() => run(repo, files), {code: 'TRUST_INVALID', message: /targets\/hasOwnProperty is not listed/})
  })

  it('a hash algorithm named constructor is unsupported, not a crash', () => {
    const files = repo.archiveFiles()
    resign(files, 'metadata/targets.json', 'targets', repo.targetsKeys, s => {
      s.targets['trusted_root.json'].hashes = {constructor: '00'}
    })
    assert.throws(() => run(repo, files), {code: 'TRUST_INVALID', message: /unsupported hash algorithm constructor/})
  })

  it('with --trusted-root, such a mirror is skipped and reported instead of crashing the fallback', () => {
    const files = repo.archiveFiles()
    files.set('targets/constructor', Buffer.from('x'))
    const manual = join(tmp(), 'trusted_root.json')
    writeFileSync(manual, fakeTrustedRoot('manual'))
    const {sources, skipped} = selectTrustedRoots({
      mirrors: new Map([[mirrorId, files]]),
      pinnedRoots: new Map([[mirrorId, repo.pinnedRoot()]]),
      trustedRootFiles: [manual],
      state: false,
    })
    assert.deepEqual(
      sources.map(s => s.kind),
      ['file'],
    )
    assert.match(skipped[0]?.reason ?? '', /targets\/constructor is not listed/)
  })
})

describe('issue 19.5: versions are safe integers, the state never fails open', () => {
  const repo = new TestTufRepo()
  after(() => repo.remove())

  it('refuses a timestamp version above 2^53', () => {
    const files = repo.archiveFiles()
    files.set(
      'metadata/timestamp.json',
      repo.signTimestamp(2 ** 53 + 2, files.get('metadata/snapshot.json') as Buffer, 1),
    )
    assert.throws(() => run(repo, files, {state: {dir: tmp()}}), {
      code: 'TRUST_INVALID',
      message: /timestamp version 9007199254740994 is not a safe integer/,
    })
  })

  it('refuses a second spelling of a root version in a file name, and a root version above 2^53', () => {
    const files = repo.archiveFiles()
    files.set('metadata/02.root.json', files.get('metadata/2.root.json') as Buffer)
    assert.throws(() => run(repo, files), {
      code: 'TRUST_INVALID',
      message: /metadata\/02\.root\.json: a root file is named by its version, without leading zeros/,
    })
    const huge = repo.archiveFiles()
    huge.set('metadata/99999999999999999999.root.json', huge.get('metadata/2.root.json') as Buffer)
    assert.throws(() => run(repo, huge), {
      code: 'TRUST_INVALID',
      message: /root version 100000000000000000000 is not a safe integer/,
    })
  })

  it('a corrupt field in the state file is an error naming the file, not a reset of the floor', () => {
    const dir = tmp()
    const {report} = run(repo, repo.archiveFiles(), {state: {dir}})
    const file = report.stateFile as string
    for (const bad of ['"x"', '-1', '1.5', String(2 ** 60)]) {
      const state = JSON.parse(readFileSync(file, 'utf8'))
      writeFileSync(file, JSON.stringify(state).replace(/"timestamp":\d+/, `"timestamp":${bad}`))
      assert.throws(
        () => run(repo, repo.archiveFiles(), {state: {dir}}),
        (error: Error & {code?: string}) => {
          assert.equal(error.code, 'TRUST_INVALID')
          assert.ok(error.message.includes(file), error.message)
          assert.match(error.message, /timestamp/)
          return true
        },
      )
      writeFileSync(file, JSON.stringify(state))
    }
  })
})

describe('issue 19.6: smaller deviations from the spec', () => {
  it('refuses a snapshot from which a role listed in the previously accepted snapshot vanished (5.5.5)', () => {
    const repo = new TestTufRepo()
    try {
      const dir = tmp()
      run(repo, repo.archiveFiles(), {state: {dir}})
      const files = repo.archiveFiles()
      files.delete('metadata/team.json')
      resignSnapshot(
        repo,
        files,
        s => {
          s.version = 2
          delete s.meta['team.json']
        },
        2,
      )
      run(repo, files) // fine on its own
      assert.throws(() => run(repo, files, {state: {dir}}), {
        code: 'TRUST_INVALID',
        message: /snapshot v2 no longer lists team\.json/,
      })
    } finally {
      repo.remove()
    }
  })

  it('refuses a different timestamp under a version already accepted (5.4.3)', () => {
    const repo = new TestTufRepo()
    try {
      const dir = tmp()
      const files = repo.archiveFiles()
      run(repo, files, {state: {dir}})
      run(repo, files, {state: {dir}}) // the same file again is fine
      const extended = repo.archiveFiles()
      extended.set(
        'metadata/timestamp.json',
        repo.signTimestamp(
          1,
          extended.get('metadata/snapshot.json') as Buffer,
          1,
          new Date(repo.now.getTime() + 30 * DAY),
        ),
      )
      assert.throws(() => run(repo, extended, {state: {dir}}), {
        code: 'TRUST_INVALID',
        message: /timestamp v1 differs from the timestamp v1 accepted on an earlier import/,
      })
    } finally {
      repo.remove()
    }
  })

  it('metadata expiring exactly now is expired', () => {
    const repo = new TestTufRepo()
    try {
      const files = repo.archiveFiles()
      const expires = Date.parse(signedOf(files.get('metadata/timestamp.json') as Buffer).expires)
      assert.throws(() => run(repo, files, {now: new Date(expires), grace: 0}), {
        code: 'TRUST_INVALID',
        message: /timestamp v1 expired .* strict/,
      })
      run(repo, files, {now: new Date(expires - 1000), grace: 0})
    } finally {
      repo.remove()
    }
  })

  it('an expiry that is not in UTC Z form is refused', () => {
    const repo = new TestTufRepo()
    try {
      for (const expires of ['2099-01-01T00:00:00', '2099-01-01T00:00:00+00:00', '2099-01-01']) {
        const files = repo.archiveFiles()
        resign(files, 'metadata/timestamp.json', 'timestamp', [repo.timestampKey], s => (s.expires = expires))
        assert.throws(() => run(repo, files), {
          code: 'TRUST_INVALID',
          message: /timestamp v1 has an invalid expiry .* \(want UTC, e\.g\. 2030-01-01T00:00:00Z\)/,
        })
      }
    } finally {
      repo.remove()
    }
  })

  it('key rotation is detected by key material: the same timestamp key under a new id keeps the floor', () => {
    const repo = new TestTufRepo()
    try {
      const dir = tmp()
      repo.publish()
      run(repo, repo.archiveFiles(), {state: {dir}}) // floors at v2
      const files = repo.archiveFiles()
      const alias: TestKey = {...repo.timestampKey, keyid: 'ef'.repeat(32)}
      files.set(
        'metadata/4.root.json',
        signMetadata('root', repo.rootSigned(4, repo.rootKeys, {timestampKey: alias}), repo.rootKeys),
      )
      files.set(
        'metadata/timestamp.json',
        signMetadata('timestamp', {...signedOf(files.get('metadata/timestamp.json') as Buffer), version: 1}, [alias]),
      )
      assert.throws(() => run(repo, files, {state: {dir}}), {
        code: 'TRUST_INVALID',
        message: /timestamp v1 is older than timestamp v2 accepted on an earlier import/,
      })
    } finally {
      repo.remove()
    }
  })

  it('a clock set back behind the last accepted import cannot revive expired metadata', () => {
    const repo = new TestTufRepo()
    try {
      const dir = tmp()
      const files = repo.archiveFiles()
      const expires = Date.parse(signedOf(files.get('metadata/timestamp.json') as Buffer).expires)
      run(repo, files, {state: {dir}, now: new Date(expires + 12 * HOUR), grace: DAY})
      assert.throws(() => run(repo, files, {state: {dir}, now: new Date(expires - HOUR), grace: 0}), {
        code: 'TRUST_INVALID',
        message:
          /timestamp v1 expired .* \(12h ago\) \(judged at .*, the time of the last accepted import: the clock says .*\) and expiry is strict/,
      })
    } finally {
      repo.remove()
    }
  })
})
