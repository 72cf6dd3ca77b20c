// Trusted-root selection, the --trusted-root file path, mirror names, grace parsing, state-file edge cases.
import assert from 'node:assert/strict'
import {mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'
import {
  defaultStateDir,
  legacyStateFilePath,
  loadTrustedRootFile,
  mirrorIdFor,
  parseGrace,
  PUBLIC_GOOD_MIRROR,
  selectTrustedRoots,
  verifyTufOffline,
} from '../src/trust/index.ts'
import {fakeTrustedRoot, TestTufRepo} from './support/tuf-repo.ts'

const DAY = 86_400_000
const dirs: string[] = []
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'airlock-trust-'))
  dirs.push(d)
  return d
}
after(() => {
  for (const d of dirs) rmSync(d, {recursive: true, force: true})
})

describe('mirror names and grace', () => {
  it('derives one safe path segment from the mirror URL', () => {
    assert.equal(mirrorIdFor(PUBLIC_GOOD_MIRROR), 'tuf-repo-cdn.sigstore.dev')
    assert.equal(mirrorIdFor('https://tuf-repo-cdn.sigstore.dev/'), 'tuf-repo-cdn.sigstore.dev')
    assert.equal(mirrorIdFor('http://127.0.0.1:8080/tuf/prod/'), '127.0.0.1_8080_tuf_prod')
    assert.equal(mirrorIdFor('https://Example.COM/a/../b?x=1'), 'example.com_b')
    assert.throws(() => mirrorIdFor('file:///etc'), {code: 'USAGE'})
    assert.throws(
      () => verifyTufOffline({files: new Map(), pinnedRoot: Buffer.from('{}'), mirrorId: '../x', state: false}),
      {code: 'TRUST_INVALID'},
    )
  })

  it('parses --tuf-grace', () => {
    assert.equal(parseGrace('30d'), 30 * DAY)
    assert.equal(parseGrace('0'), 0)
    assert.equal(parseGrace('12h'), 12 * 3_600_000)
    assert.equal(parseGrace('2w'), 14 * DAY)
    assert.equal(parseGrace('unlimited'), 'unlimited')
    assert.throws(() => parseGrace('soon'), {code: 'USAGE'})
  })

  it('puts the state under $XDG_STATE_HOME/airlock, else ~/.local/state/airlock', () => {
    assert.equal(defaultStateDir({XDG_STATE_HOME: '/var/x'}), '/var/x/airlock')
    assert.match(defaultStateDir({}), /\/\.local\/state\/airlock$/)
  })
})

describe('--trusted-root FILE', () => {
  it('loads a trusted root by hand and says it is not TUF-verified', () => {
    const file = join(tmp(), 'trusted_root.json')
    writeFileSync(file, readFileSync('/work/shared/corpora/sigstore+root-signing/targets/trusted_root.json'))
    const {trustedRoot, report} = loadTrustedRootFile(file)
    assert.equal(trustedRoot.length, readFileSync(file).length)
    assert.equal(report.tuf, false)
    assert.match(report.note, /not verified through TUF/)
    assert.match(report.sha256, /^[0-9a-f]{64}$/)
  })

  it('rejects files that are not a trusted root', () => {
    const dir = tmp()
    const write = (name: string, body: string) => (writeFileSync(join(dir, name), body), join(dir, name))
    assert.throws(() => loadTrustedRootFile(write('a.json', 'nope')), {
      code: 'TRUST_INVALID',
      message: /not valid JSON/,
    })
    assert.throws(() => loadTrustedRootFile(write('b.json', '{"mediaType":"x"}')), {
      code: 'TRUST_INVALID',
      message: /mediaType/,
    })
    assert.throws(
      () =>
        loadTrustedRootFile(
          write('c.json', '{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1","tlogs":[{}]}'),
        ),
      {
        code: 'TRUST_INVALID',
        message: /tlog 0 has no public key/,
      },
    )
    assert.throws(() => loadTrustedRootFile(join(dir, 'missing.json')), {code: 'NOT_FOUND'})
  })
})

describe('selectTrustedRoots', () => {
  const repo = new TestTufRepo()
  after(() => repo.remove())
  const mirror = 'mirror.example_tuf'

  it('verifies every mirror from its pinned root', () => {
    const {sources, skipped} = selectTrustedRoots({
      mirrors: new Map([[mirror, repo.archiveFiles()]]),
      pinnedRoots: new Map([[mirror, repo.pinnedRoot()]]),
      state: false,
    })
    assert.equal(skipped.length, 0)
    assert.deepEqual(
      sources.map(s => [s.kind, s.name]),
      [['tuf', mirror]],
    )
    assert.deepEqual(sources[0]?.trustedRoot, repo.targetFiles.get('trusted_root.json'))
  })

  it('fails for a mirror without a pinned root, and for an archive without TUF data', () => {
    assert.throws(() => selectTrustedRoots({mirrors: new Map([[mirror, repo.archiveFiles()]]), state: false}), {
      code: 'TRUST_INVALID',
      message: /no pinned root for this mirror/,
      hint: /--tuf-root/,
    })
    assert.throws(() => selectTrustedRoots({mirrors: new Map(), state: false}), {
      code: 'TRUST_INVALID',
      message: /carries no TUF repository/,
      hint: /--trusted-root/,
    })
  })

  it('with --trusted-root, uses the file and reports broken TUF data as skipped instead of failing', () => {
    const file = join(tmp(), 'tr.json')
    writeFileSync(file, fakeTrustedRoot('manual'))
    const broken = repo.archiveFiles()
    broken.delete('metadata/2.root.json')
    const {sources, skipped} = selectTrustedRoots({
      mirrors: new Map([[mirror, broken]]),
      pinnedRoots: new Map([[mirror, repo.pinnedRoot()]]),
      trustedRootFiles: [file],
      state: false,
    })
    assert.deepEqual(
      sources.map(s => [s.kind, s.name]),
      [['file', file]],
    )
    assert.match(skipped[0]?.reason ?? '', /root v2 is missing/)
  })
})

// Format-1 state files (keyed by the archive's mirror name) still bind after the upgrade: their floors are read when
// the pinned root has no state of its own yet, and the next accepted import writes the new, root-keyed file.
describe('state file (format 1, migrated)', () => {
  const repo = new TestTufRepo()
  after(() => repo.remove())
  const mirrorId = 'state.example'
  const seed = (dir: string, state: Record<string, unknown>) => {
    mkdirSync(join(dir, 'tuf'), {recursive: true})
    writeFileSync(
      legacyStateFilePath(dir, mirrorId),
      JSON.stringify({format: 1, mirror: mirrorId, delegated: {}, ...state}),
    )
  }
  const ids = (role: string) => {
    const root = JSON.parse((repo.roots.at(-1) as Buffer).toString('utf8'))
    return root.signed.roles[role].keyids as string[]
  }

  it('refuses a root older than the one accepted before', () => {
    const dir = tmp()
    seed(dir, {root: 7, timestamp: 1, snapshot: 1, targets: 1})
    assert.throws(
      () => verifyTufOffline({files: repo.archiveFiles(), pinnedRoot: repo.pinnedRoot(), mirrorId, state: {dir}}),
      {
        code: 'TRUST_INVALID',
        message: /root v3 is older than root v7 accepted on an earlier import/,
      },
    )
  })

  it('refuses targets or delegated versions older than the ones accepted before', () => {
    const dir = tmp()
    seed(dir, {
      root: 3,
      timestamp: 1,
      snapshot: 1,
      targets: 1,
      delegated: {team: 5},
      timestampKeyids: ids('timestamp'),
      snapshotKeyids: ids('snapshot'),
    })
    assert.throws(
      () => verifyTufOffline({files: repo.archiveFiles(), pinnedRoot: repo.pinnedRoot(), mirrorId, state: {dir}}),
      {
        code: 'TRUST_INVALID',
        message: /snapshot v1 lists team\.json v1, older than v5 accepted on an earlier import/,
      },
    )
  })

  it('forgets timestamp/snapshot versions after a rotation of their keys in a newer root (fast-forward recovery)', () => {
    const dir = tmp()
    // accepted earlier under root v2 with other timestamp/snapshot keys, at versions far ahead
    seed(dir, {
      root: 2,
      timestamp: 900,
      snapshot: 900,
      targets: 1,
      timestampKeyids: ['0'.repeat(64)],
      snapshotKeyids: ids('snapshot'),
    })
    const {report} = verifyTufOffline({
      files: repo.archiveFiles(),
      pinnedRoot: repo.pinnedRoot(),
      mirrorId,
      state: {dir},
    })
    assert.equal(report.timestampVersion, 1)
    assert.notEqual(report.stateFile, legacyStateFilePath(dir, mirrorId))
    const saved = JSON.parse(readFileSync(report.stateFile as string, 'utf8'))
    assert.deepEqual([saved.root, saved.timestamp, saved.snapshot], [3, 1, 1])
    // without a key rotation the same floor is a rollback
    rmSync(report.stateFile as string)
    seed(dir, {
      root: 2,
      timestamp: 900,
      snapshot: 900,
      targets: 1,
      timestampKeyids: ids('timestamp'),
      snapshotKeyids: ids('snapshot'),
    })
    assert.throws(
      () => verifyTufOffline({files: repo.archiveFiles(), pinnedRoot: repo.pinnedRoot(), mirrorId, state: {dir}}),
      {code: 'TRUST_INVALID', message: /timestamp v1 is older than timestamp v900/},
    )
  })

  it('rejects a corrupt state file rather than ignoring it', () => {
    const dir = tmp()
    mkdirSync(join(dir, 'tuf'), {recursive: true})
    writeFileSync(legacyStateFilePath(dir, mirrorId), '{')
    assert.throws(
      () => verifyTufOffline({files: repo.archiveFiles(), pinnedRoot: repo.pinnedRoot(), mirrorId, state: {dir}}),
      {code: 'TRUST_INVALID', message: /state file .* is not valid JSON/},
    )
  })
})
