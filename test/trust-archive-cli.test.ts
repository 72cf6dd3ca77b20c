// The trust flags through the built CLI (npm run build): export carries a TUF repository served on loopback,
// verify/push resolve the trusted root from it, --no-tuf says what it means, and a keyless policy without any
// trusted root fails with the reason.
import assert from 'node:assert/strict'
import {existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {mirrorIdFor, pinnedRootFingerprint} from '../src/trust/index.ts'
import {runCli, runCliJson} from './support/cli.ts'
import {readTar, writeTar} from './support/hostile/tar.ts'
import {FIXTURE, type ServedTuf, serveTuf} from './support/served-tuf.ts'
import type {StaticServer} from './support/static-server.ts'
import type {TestTufRepo} from './support/tuf-repo.ts'

const KEYLESS = [
  '--certificate-identity',
  'someone@example.com',
  '--certificate-oidc-issuer',
  'https://issuer.example.com',
]

const airlock = (...args: string[]) => runCli(args)

describe('trust flags through the CLI', () => {
  let repo: TestTufRepo
  let server: StaticServer
  let work: string
  let rootFile: string
  let archive: string

  let tuf: ServedTuf

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'airlock-trust-cli-'))
    tuf = await serveTuf(work, {rootVersions: 2})
    ;({repo, server, rootFile} = tuf)
    archive = join(work, 'a.tar')
  })
  after(async () => {
    await tuf?.stop()
    if (work) rmSync(work, {recursive: true, force: true})
  })

  it('export --tuf-mirror --tuf-root carries the repository and says so; verify --tuf-root reports the trust source', async () => {
    const e = await tuf.exportTo(archive)
    assert.equal(e.status, 0, e.stderr)
    assert.match(
      e.stderr + e.stdout,
      new RegExp(`trust: TUF ${server.url.replace(/[.]/g, '\\.')}: root v2 \\(from pinned v1, --tuf-root `),
    )

    const state = join(work, 'state')
    const v = await airlock('verify', archive, '--signatures', 'skip', '--tuf-root', rootFile, '--state', state)
    assert.equal(v.status, 0, v.stderr + v.stdout)
    assert.match(v.stdout, /ok {4}trust/)
    assert.match(
      v.stdout,
      new RegExp(
        `TUF ${mirrorIdFor(server.url)}: root v2 from pinned v1 \\(--tuf-root .*\\), timestamp v1, .*trusted_root\\.json sha256:[0-9a-f]{64}; all metadata current`,
      ),
    )
    assert.match(v.stdout, /TUF state recorded in /)
    assert.ok(existsSync(join(state, 'tuf', `root-${pinnedRootFingerprint(repo.pinnedRoot())}.json`)))

    const j = await runCliJson<{
      checks: Array<{name: string; ok: boolean; details: {sources: Array<{kind: string; name: string}>}}>
    }>(['verify', archive, '--signatures', 'skip', '--tuf-root', rootFile, '--no-state'])
    assert.equal(j.status, 0)
    const trust = j.json.checks.find(c => c.name === 'trust')!
    assert.deepEqual(
      trust.details.sources.map(s => [s.kind, s.name]),
      [['tuf', mirrorIdFor(server.url)]],
    )

    const noRoot = await airlock('verify', archive, '--signatures', 'skip', '--no-state')
    assert.equal(noRoot.status, 1)
    assert.match(noRoot.stderr, /trust: TUF .*: no pinned root for this mirror/)
  })

  it('export --no-tuf says the archive carries no trust root; verify with a keyless policy then fails with the reason', async () => {
    const out = join(work, 'no-tuf.tar')
    const e = await airlock('export', '--no-tuf', '--signatures', 'optional', '-o', out, FIXTURE)
    assert.equal(e.status, 0, e.stderr)
    assert.match(
      e.stderr + e.stdout,
      /--no-tuf: the archive carries no TUF repository; verify will need --trusted-root FILE/,
    )
    const v = await airlock('verify', out, '--no-state', ...KEYLESS)
    assert.notEqual(v.status, 0)
    assert.match(
      v.stderr,
      /no trusted root: the archive carries no TUF data \(sigstore\/tuf\/\) and no --trusted-root was given/,
    )
  })

  it('export: an unreachable mirror is a clear error naming it', async () => {
    const e = await airlock(
      'export',
      '--signatures',
      'optional',
      '--tuf-mirror',
      'http://127.0.0.1:9',
      '--tuf-root',
      rootFile,
      '-o',
      join(work, 'x.tar'),
      FIXTURE,
    )
    assert.notEqual(e.status, 0)
    assert.match(e.stderr, /cannot reach TUF mirror http:\/\/127\.0\.0\.1:9/)
    assert.match(e.stderr, /--no-tuf/)
    assert.equal(existsSync(join(work, 'x.tar')), false)
  })

  it('renaming the mirror directory inside an older archive does not replay it against an empty state (bare --tuf-root, issue 10 finding 5)', async () => {
    const older = join(work, 'older.tar')
    const newer = join(work, 'newer.tar')
    const state = join(work, 'state-rename')
    const e1 = await tuf.exportTo(older)
    assert.equal(e1.status, 0, e1.stderr)
    repo.publish() // timestamp, snapshot, targets v+1
    const e2 = await tuf.exportTo(newer)
    assert.equal(e2.status, 0, e2.stderr)
    const v = await airlock('verify', newer, '--signatures', 'skip', '--tuf-root', rootFile, '--state', state)
    assert.equal(v.status, 0, v.stderr + v.stdout)
    const replay = await airlock('verify', older, '--signatures', 'skip', '--tuf-root', rootFile, '--state', state)
    assert.equal(replay.status, 1, replay.stdout)
    assert.match(replay.stderr + replay.stdout, /older than .* accepted on an earlier import/)

    // the same older archive with its mirror directory renamed (and airlock.json re-listed to match, as the
    // attacker would): the bare --tuf-root now pairs with the new name
    const prefix = `sigstore/tuf/${mirrorIdFor(server.url)}/`
    const renamedPrefix = 'sigstore/tuf/renamed.example/'
    const {entries} = readTar(readFileSync(older))
    assert.ok(entries.some(e => e.name.startsWith(prefix)))
    const renamed = join(work, 'renamed.tar')
    writeFileSync(
      renamed,
      writeTar(
        entries.map(e => ({
          name: e.name.startsWith(prefix) ? renamedPrefix + e.name.slice(prefix.length) : e.name,
          type: e.type as 'File',
          body:
            e.name === 'airlock.json' ? Buffer.from(e.body.toString('utf8').split(prefix).join(renamedPrefix)) : e.body,
        })),
      ),
    )
    const r = await airlock('verify', renamed, '--signatures', 'skip', '--tuf-root', rootFile, '--state', state)
    assert.equal(r.status, 1, r.stdout)
    assert.match(
      r.stderr + r.stdout,
      /TUF renamed\.example: .* older than .* accepted on an earlier import \(rollback or replayed archive\)/,
    )
  })
})
