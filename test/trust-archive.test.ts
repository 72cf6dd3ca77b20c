// Trust roots in the archive: export carries a generated TUF repository (served over HTTP on loopback) under
// sigstore/tuf/<mirror>/, verify resolves trusted roots from it through the 'trust' archive check, and archive-level
// attacks (a re-packed archive whose airlock.json is consistent, so only trust can catch them) fail with a message
// that says which. Plus the real public-good corpus packed the same way.
import assert from 'node:assert/strict'
import {existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {ArchiveReader} from '../src/archive/reader.ts'
import {exportImages} from '../src/export/export.ts'
import {fetchTrust, type FetchedTrust, writeTrust} from '../src/export/trust.ts'
import {ArchiveTrust, resolveArchiveTrust} from '../src/verify/trust.ts'
import type {TrustFlagValues} from '../src/trust/flags.ts'
import {mirrorIdFor, pinnedRootFingerprint, PUBLIC_GOOD_MIRROR, readTufState} from '../src/trust/index.ts'
import {verifyArchive} from '../src/verify/verify.ts'
import {startStaticServer, type StaticServer} from './support/static-server.ts'
import {fakeTrustedRoot, TestTufRepo} from './support/tuf-repo.ts'

const FIXTURE = 'oci:fixtures/example:example.com/demo/hello:1.0'
const CORPUS = '/work/shared/corpora/sigstore+root-signing'

describe('trust roots in the archive', () => {
  let repo: TestTufRepo
  let server: StaticServer
  let work: string
  let rootFile: string
  let mirrorId: string
  /** first publication, second publication (newer timestamp/snapshot/targets, a new trusted_root.json) */
  let A: FetchedTrust
  let B: FetchedTrust
  let archiveA: string
  let archiveB: string
  let n = 0
  const tmp = (p: string) => mkdtempSync(join(work, p))

  /** An archive with the fixture image and the given trust files (as an attacker re-packing it would write them). */
  async function archiveWith(fetched: FetchedTrust, edit?: (files: Map<string, Buffer>) => void): Promise<string> {
    const out = join(work, `a${n++}.tar`)
    const copy: FetchedTrust = {...fetched, tuf: fetched.tuf.map(t => ({...t, files: new Map(t.files)}))}
    if (edit) for (const t of copy.tuf) edit(t.files)
    await exportImages({
      sources: [FIXTURE],
      output: out,
      hooks: {beforeCommit: async writer => void (await writeTrust(writer, copy))},
    })
    return out
  }

  async function verifyWith(path: string, flags: TrustFlagValues, options: {required?: boolean; now?: Date} = {}) {
    const trust = new ArchiveTrust(flags, options)
    const report = await verifyArchive(path, {archiveChecks: [trust.check]})
    return {report, trust, check: report.checks.find(c => c.name === 'trust')!}
  }

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'airlock-trust-archive-'))
    repo = new TestTufRepo({rootVersions: 3})
    server = await startStaticServer(repo.dir)
    rootFile = join(work, 'root.json')
    writeFileSync(rootFile, repo.pinnedRoot())
    mirrorId = mirrorIdFor(server.url)
    const flags = {'tuf-mirror': [server.url], 'tuf-root': [rootFile]}
    A = await fetchTrust(flags, {cacheDir: join(work, 'cache')})
    archiveA = await archiveWith(A)
    repo.targetFiles.set('trusted_root.json', fakeTrustedRoot('second'))
    repo.publish()
    B = await fetchTrust(flags, {cacheDir: join(work, 'cache')})
    archiveB = await archiveWith(B)
  })
  after(async () => {
    await server?.stop()
    repo?.remove()
    if (work) rmSync(work, {recursive: true, force: true})
  })

  it('export carries every root after the pinned one, the metadata and the targets under sigstore/tuf/<mirror>/, listed in airlock.json', async () => {
    const archive = await ArchiveReader.open(archiveB)
    try {
      const names = [...archive.entries.keys()].filter(k => k.startsWith('sigstore/')).sort()
      const prefix = `sigstore/tuf/${mirrorId}/`
      assert.deepEqual(
        names,
        [
          'metadata/2.root.json',
          'metadata/3.root.json',
          'metadata/snapshot.json',
          'metadata/targets.json',
          'metadata/team.json',
          'metadata/timestamp.json',
          'targets/signing_config.v0.2.json',
          'targets/trusted_root.json',
        ].map(p => prefix + p),
      )
      for (const name of names) assert.ok(name in archive.airlock.files, `${name} listed with sha256 and size`)
      const section = archive.airlock['trust'] as {
        tuf: Array<{
          mirror: string
          name: string
          pinnedRoot: string
          pinnedRootVersion: number
          rootVersion: number
          targets: Record<string, string>
        }>
      }
      assert.equal(section.tuf.length, 1)
      assert.deepEqual(
        {
          mirror: section.tuf[0]!.mirror,
          name: section.tuf[0]!.name,
          pinned: section.tuf[0]!.pinnedRootVersion,
          root: section.tuf[0]!.rootVersion,
        },
        {mirror: server.url, name: mirrorId, pinned: 1, root: 3},
      )
      assert.match(section.tuf[0]!.pinnedRoot, /^--tuf-root /)
      assert.match(section.tuf[0]!.targets['trusted_root.json']!, /^[0-9a-f]{64}$/)
    } finally {
      await archive.close()
    }
  })

  it('verify with --tuf-root passes, reports the trust source, and hands the signatures check the verified trusted root', async () => {
    const state = tmp('state-')
    const trust = new ArchiveTrust({'tuf-root': [`${mirrorId}=${rootFile}`], state})
    let seen: Buffer[] = []
    const report = await verifyArchive(archiveB, {
      archiveChecks: [trust.check],
      imageChecks: [
        {
          name: 'signatures',
          run: async context => (
            (seen = await trust.trustedRoots(context.archive)), {name: 'signatures', ok: true, reasons: []}
          ),
        },
      ],
    })
    assert.equal(report.ok, true, JSON.stringify(report.checks))
    assert.deepEqual(seen, [repo.targetFiles.get('trusted_root.json')])
    const check = report.checks.find(c => c.name === 'trust')!
    const line = check.info!.join('\n')
    assert.match(
      line,
      new RegExp(`TUF ${mirrorId}: root v3 from pinned v1 \\(--tuf-root .*root\\.json\\), timestamp v2`),
    )
    assert.match(line, /trusted_root\.json sha256:[0-9a-f]{64}/)
    assert.match(line, /grace 30d, not needed/)
    // the state is written only by commitState, after the whole verification passed
    // keyed by the pinned root, never by the mirror name the archive chose (issue 10, finding 5)
    const stateFile = join(state, 'tuf', `root-${pinnedRootFingerprint(repo.pinnedRoot())}.json`)
    assert.equal(existsSync(stateFile), false)
    assert.deepEqual(trust.commitState(report), [stateFile])
    assert.equal(readTufState(state, pinnedRootFingerprint(repo.pinnedRoot()))?.timestamp, 2)
  })

  it('a bare --tuf-root FILE goes to the only non-public-good mirror; a root for a mirror the archive lacks fails', async () => {
    const ok = await verifyWith(archiveB, {'tuf-root': [rootFile], 'no-state': true})
    assert.equal(ok.check.ok, true, ok.check.reasons.join())
    const other = await verifyWith(archiveB, {
      'tuf-root': [rootFile, `tuf.other.example=${rootFile}`],
      'no-state': true,
    })
    assert.equal(other.check.ok, false)
    assert.match(
      other.check.reasons[0]!,
      /--tuf-root was given for tuf\.other\.example, but the archive carries no TUF data for it/,
    )
  })

  it('without --tuf-root the mirror has no pinned root: fails naming the mirror', async () => {
    const r = await verifyWith(archiveB, {'no-state': true})
    assert.equal(r.report.ok, false)
    assert.match(r.check.reasons[0]!, new RegExp(`TUF ${mirrorId}: no pinned root for this mirror.*--tuf-root`))
  })

  it('a tampered trusted_root.json in the archive fails (airlock.json re-listed consistently: only TUF catches it)', async () => {
    const longer = await archiveWith(B, files =>
      files.set('targets/trusted_root.json', fakeTrustedRoot('evil-and-longer')),
    )
    const r = await verifyWith(longer, {'tuf-root': [rootFile], 'no-state': true})
    assert.equal(r.report.problems.length, 0, 'integrity alone passes')
    assert.equal(r.report.ok, false)
    assert.match(r.check.reasons[0]!, /target trusted_root\.json is \d+ bytes, targets v2 lists \d+/)
    // same length (the label 'second' has 6 letters): the signed hash catches it
    const same = await archiveWith(B, files => files.set('targets/trusted_root.json', fakeTrustedRoot('evil00')))
    const s = await verifyWith(same, {'tuf-root': [rootFile], 'no-state': true})
    assert.equal(s.report.ok, false)
    assert.match(s.check.reasons[0]!, /trusted_root\.json.*sha256/)
  })

  it('a removed root version fails: the chain would skip a version', async () => {
    const bad = await archiveWith(B, files => files.delete('metadata/2.root.json'))
    const r = await verifyWith(bad, {'tuf-root': [rootFile], 'no-state': true})
    assert.equal(r.report.ok, false)
    assert.match(r.check.reasons[0]!, /root v2 is missing from the archive \(the chain would skip from v1 to v3\)/)
  })

  it('two mirror directories pinned to the same root share one state, and the older one cannot lower it', async () => {
    const state = tmp('state-')
    const both: FetchedTrust = {
      ...B,
      tuf: [
        {...B.tuf[0]!, mirrorId: 'a.example'},
        {...A.tuf[0]!, mirrorId: 'b.example'},
      ],
    }
    const path = await archiveWith(both)
    const {report, trust} = await verifyWith(path, {
      'tuf-root': [`a.example=${rootFile}`, `b.example=${rootFile}`],
      state,
    })
    assert.equal(report.ok, true, JSON.stringify(report.checks))
    assert.equal(trust.commitState(report).length, 1)
    assert.equal(readTufState(state, pinnedRootFingerprint(repo.pinnedRoot()))?.timestamp, 2)
  })

  it('--tuf-grace unlimited: refused without a rollback state; over one, accepted with a WARNING naming the roles that needed it', async () => {
    const later = new Date(Date.now() + 60 * 86_400_000) // timestamp and snapshot long expired; root and targets current
    const none = await verifyWith(
      archiveB,
      {'tuf-root': [rootFile], 'tuf-grace': 'unlimited', 'no-state': true},
      {now: later},
    )
    assert.equal(none.check.ok, false)
    assert.match(none.check.reasons[0]!, /unlimited grace needs the rollback state of an earlier import/)
    const state = tmp('state-')
    const first = await verifyWith(archiveB, {'tuf-root': [rootFile], state})
    first.trust.commitState(first.report)
    const r = await verifyWith(archiveB, {'tuf-root': [rootFile], 'tuf-grace': 'unlimited', state}, {now: later})
    assert.equal(r.check.ok, true, JSON.stringify(r.check))
    assert.match(r.check.info![0]!, /WARNING: unlimited grace: .*grace unlimited, USED by timestamp v2, snapshot v2$/)
  })

  it('a replayed older archive fails once the state has seen a newer one; without state it would pass', async () => {
    const state = tmp('state-')
    const newer = await verifyWith(archiveB, {'tuf-root': [rootFile], state})
    assert.equal(newer.report.ok, true)
    newer.trust.commitState(newer.report)
    const replay = await verifyWith(archiveA, {'tuf-root': [rootFile], state})
    assert.equal(replay.report.ok, false)
    assert.match(
      replay.check.reasons[0]!,
      /timestamp v1 is older than timestamp v2 accepted on an earlier import \(rollback or replayed archive\)/,
    )
    const noState = await verifyWith(archiveA, {'tuf-root': [rootFile], 'no-state': true})
    assert.equal(noState.report.ok, true)
  })

  it('the state file is not written when verification fails', async () => {
    const state = tmp('state-')
    const r = await verifyWith(archiveB, {'tuf-root': [rootFile], state})
    assert.deepEqual(r.trust.commitState({ok: false}), [])
    assert.equal(existsSync(join(state, 'tuf')), false)
  })

  it('no TUF data and no --trusted-root: the signatures check (or a required trust check) fails clearly', async () => {
    const bare = join(work, 'bare.tar')
    await exportImages({
      sources: [FIXTURE],
      output: bare,
      hooks: {beforeCommit: async w => void (await writeTrust(w, await fetchTrust({'no-tuf': true})))},
    })
    // nothing asks for roots (integrity only, or key-signed images): passes, and says so
    const lazy = await verifyWith(bare, {'no-state': true})
    assert.equal(lazy.report.ok, true)
    assert.match(lazy.check.info![0]!, /no TUF data in the archive/)
    // the signatures check asks for roots
    const trust = new ArchiveTrust({'no-state': true})
    const report = await verifyArchive(bare, {
      archiveChecks: [trust.check],
      imageChecks: [
        {
          name: 'signatures',
          run: async context => (
            await trust.trustedRoots(context.archive), {name: 'signatures', ok: true, reasons: []}
          ),
        },
      ],
    })
    assert.equal(report.ok, false)
    assert.match(
      report.images[0]!.checks.find(c => c.name === 'signatures')!.reasons[0]!,
      /no trusted root: the archive carries no TUF data \(sigstore\/tuf\/\) and no --trusted-root was given/,
    )
    const required = await verifyWith(bare, {'no-state': true}, {required: true})
    assert.equal(required.report.ok, false)
    assert.match(required.check.reasons[0]!, /no trusted root.*pass --trusted-root FILE/)
  })

  it('--trusted-root: used as given, reported as not verified through TUF; broken TUF data is then skipped and reported', async () => {
    const manual = join(work, 'manual_trusted_root.json')
    writeFileSync(manual, fakeTrustedRoot('manual'))
    const bad = await archiveWith(B, files => files.delete('metadata/2.root.json'))
    const r = await verifyWith(bad, {'tuf-root': [rootFile], 'trusted-root': [manual], 'no-state': true})
    assert.equal(r.report.ok, true, r.check.reasons.join())
    const text = r.check.info!.join('\n')
    assert.match(text, /manual_trusted_root\.json .*from --trusted-root, NOT verified through TUF/)
    assert.match(text, new RegExp(`TUF ${mirrorId} NOT used \\(--trusted-root given\\): .*root v2 is missing`))
  })

  it('a --trusted-root copy carried by export is informational: verify does not trust it', async () => {
    const manual = join(work, 'carried.json')
    writeFileSync(manual, fakeTrustedRoot('carried'))
    const out = join(work, 'carried.tar')
    await exportImages({
      sources: [FIXTURE],
      output: out,
      hooks: {
        beforeCommit: async w =>
          void (await writeTrust(w, await fetchTrust({'no-tuf': true, 'trusted-root': [manual]}))),
      },
    })
    const archive = await ArchiveReader.open(out)
    assert.ok(archive.entries.has('sigstore/trusted_root/1.json'))
    await archive.close()
    const r = await verifyWith(out, {'no-state': true}, {required: true})
    assert.equal(r.report.ok, false)
    assert.match(r.check.reasons[0]!, /no trusted root/)
    const withFlag = await verifyWith(out, {'trusted-root': [manual], 'no-state': true}, {required: true})
    assert.equal(withFlag.report.ok, true)
    assert.match(
      withFlag.check.info!.join('\n'),
      /sigstore\/trusted_root\/1\.json: copy made at export, informational only, not trusted/,
    )
  })

  it('export: an unreachable mirror fails naming it, with a hint to use --no-tuf or --tuf-mirror', async () => {
    await assert.rejects(
      fetchTrust(
        {'tuf-mirror': ['http://127.0.0.1:9'], 'tuf-root': [rootFile]},
        {cacheDir: join(work, 'cache'), fetchTimeout: 5000},
      ),
      (error: Error & {code?: string; hint?: string}) => {
        assert.equal(error.code, 'NETWORK_ERROR')
        assert.match(error.message, /cannot reach TUF mirror http:\/\/127\.0\.0\.1:9/)
        assert.match(error.hint ?? '', /--tuf-mirror URL.*--no-tuf/)
        return true
      },
    )
    await assert.rejects(fetchTrust({'tuf-mirror': [server.url]}), /TUF mirror 127\.0\.0\.1_\d+ has no pinned root/)
  })
})

describe('trust roots in the archive: the real public-good corpus', () => {
  const id = mirrorIdFor(PUBLIC_GOOD_MIRROR)
  const root12 = `${CORPUS}/metadata/root_history/12.root.json`
  /** the timestamp v762 expired 2026-08-28T19:25:56Z; ten days later */
  const NOW = new Date('2026-09-07T19:25:56Z')
  function corpusFiles(): Map<string, Buffer> {
    const files = new Map<string, Buffer>()
    const put = (rel: string, bytes: Buffer) => files.set(`sigstore/tuf/${id}/${rel}`, bytes)
    for (const v of [13, 14, 15])
      put(`metadata/${v}.root.json`, readFileSync(`${CORPUS}/metadata/root_history/${v}.root.json`))
    for (const name of ['timestamp', 'snapshot', 'targets', 'registry.npmjs.org'])
      put(`metadata/${name}.json`, readFileSync(`${CORPUS}/metadata/${name}.json`))
    const walk = (dir: string, prefix: string) => {
      for (const e of readdirSync(dir, {withFileTypes: true}))
        if (e.isDirectory()) walk(join(dir, e.name), `${prefix}${e.name}/`)
        else put(`targets/${prefix}${e.name}`, readFileSync(join(dir, e.name)))
    }
    walk(`${CORPUS}/targets`, '')
    return files
  }

  it('verifies from --tuf-root <corpus root v12> with the default 30-day grace, saying the grace was used', () => {
    const r = resolveArchiveTrust(corpusFiles(), {'tuf-root': [root12], 'no-state': true}, {now: NOW})
    assert.deepEqual(r.trustedRoots, [readFileSync(`${CORPUS}/targets/trusted_root.json`)])
    assert.match(
      r.reports[0]!,
      /^TUF tuf-repo-cdn\.sigstore\.dev: root v15 from pinned v12 \(--tuf-root .*12\.root\.json\), timestamp v762/,
    )
    assert.match(
      r.reports[0]!,
      /trusted_root\.json sha256:6494e21ea73fa7ee769f85f57d5a3e6a08725eae1e38c755fc3517c9e6bc0b66/,
    )
    assert.match(r.reports[0]!, /timestamp v762 expired 2026-08-28T19:25:56Z \(10d before/)
    assert.match(r.reports[0]!, /grace 30d, USED by timestamp v762$/)
  })

  it('fails with --tuf-grace 0 (strict)', () => {
    assert.throws(
      () => resolveArchiveTrust(corpusFiles(), {'tuf-root': [root12], 'tuf-grace': '0', 'no-state': true}, {now: NOW}),
      {
        code: 'TRUST_INVALID',
        message: /timestamp v762 expired 2026-08-28T19:25:56Z .*strict \(grace 0\)/,
      },
    )
  })

  it('with the root shipped in airlock (v16, newer than the corpus v15) the corpus is refused as a rollback', () => {
    assert.throws(() => resolveArchiveTrust(corpusFiles(), {'no-state': true}, {now: NOW}), {
      code: 'TRUST_INVALID',
      message: /the archive's newest root is v15, older than the pinned root v16 \(rollback\)/,
    })
  })
})
