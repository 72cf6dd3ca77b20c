// The verified-archive cache's key and entries (src/verify/verdict-cache.ts): every input of a judgement changes the
// key; an entry is taken only when intact (this directory's MAC), answering its own key, inside its time bounds, and
// stored in files and directories only the user can write. Real files in a temporary directory.
import assert from 'node:assert/strict'
import {chmodSync, mkdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {ArchiveReader} from '../src/archive/reader.ts'
import type {Policy} from '../src/policy/index.ts'
import type {TrustFlagValues} from '../src/trust/flags.ts'
import type {VerifyReport} from '../src/verify/report-model.ts'
import {
  type CacheEntry,
  cacheKey,
  cacheKeyBase,
  canonicalJson,
  judgementValidUntil,
  stateDigest,
  VerdictCache,
} from '../src/verify/verdict-cache.ts'
import {standardArchive, tempDir} from './support/layouts.ts'
import {skipAllPolicy} from './support/policies.ts'

describe('verified-archive cache: key', () => {
  let dir: string
  let cleanup: () => Promise<void>
  let archive: string
  let reader: ArchiveReader
  let stateDir: string
  const policy: Policy = skipAllPolicy()

  before(async () => {
    ;({dir, cleanup} = await tempDir('airlock-vcache-unit-'))
    archive = join(dir, 'a.tar')
    await standardArchive(dir, archive)
    reader = await ArchiveReader.open(archive)
    stateDir = join(dir, 'state')
    writeFileSync(join(dir, 'root-a.json'), '{"a":1}')
    writeFileSync(join(dir, 'root-b.json'), '{"b":1}')
  })
  after(async () => {
    await reader?.close()
    await cleanup?.()
  })

  const base = (inputs: {signatures?: string; policy?: Policy; trust?: TrustFlagValues} = {}, state = stateDir) =>
    cacheKeyBase(
      reader,
      {signatures: inputs.signatures ?? 'required', policy: inputs.policy ?? policy, trust: inputs.trust ?? {}},
      state,
    )

  it('is stable for the same inputs, and canonical JSON sorts keys at every level', async () => {
    assert.equal(await base(), await base())
    assert.equal(canonicalJson({b: 1, a: {d: 2, c: [3, {f: 1, e: 0}]}}), '{"a":{"c":[3,{"e":0,"f":1}],"d":2},"b":1}')
  })

  it('changes with the signature mode, the policy rules and the policy file digest', async () => {
    const k = await base()
    assert.notEqual(await base({signatures: 'skip'}), k)
    assert.notEqual(await base({policy: {...policy, sha256: '0'.repeat(64)}}), k)
    assert.notEqual(await base({policy: {...policy, rules: [{image: '**', origin: 'x', action: 'deny'}]}}), k)
    assert.notEqual(await base({policy: {...policy, insecureIgnoreTlog: true}}), k)
  })

  it('changes with every trust input: --tuf-root and --trusted-root values and bytes, --tuf-grace, the state dir', async () => {
    const rootA = join(dir, 'root-a.json')
    const k = await base({trust: {'trusted-root': [rootA]}})
    assert.notEqual(await base(), k)
    assert.notEqual(await base({trust: {'trusted-root': [join(dir, 'root-b.json')]}}), k)
    writeFileSync(rootA, '{"a":2}')
    assert.notEqual(await base({trust: {'trusted-root': [rootA]}}), k, 'the file bytes are in the key')
    const t = await base({trust: {'tuf-root': [rootA]}})
    writeFileSync(rootA, '{"a":3}')
    assert.notEqual(await base({trust: {'tuf-root': [rootA]}}), t)
    const named = await base({trust: {'tuf-root': [`tuf.example=${rootA}`]}})
    writeFileSync(rootA, '{"a":4}')
    assert.notEqual(await base({trust: {'tuf-root': [`tuf.example=${rootA}`]}}), named, 'MIRROR=FILE: the file')
    assert.notEqual(await base({trust: {'tuf-grace': '0'}}), await base({trust: {'tuf-grace': '30d'}}))
    assert.notEqual(await base({}, join(dir, 'other-state')), await base())
  })

  it('changes when the archive file is rewritten, even with the same bytes and mtime (ctime)', async () => {
    utimesSync(archive, 1_700_000_000, 1_700_000_000)
    const k = await base()
    const bytes = readFileSync(archive)
    writeFileSync(archive, bytes)
    utimesSync(archive, 1_700_000_000, 1_700_000_000)
    assert.notEqual(await base(), k)
  })

  it('the rollback state: any file under <state>/tuf/ changes the digest', () => {
    const empty = stateDigest(stateDir)
    mkdirSync(join(stateDir, 'tuf'), {recursive: true})
    writeFileSync(join(stateDir, 'tuf', 'root-x.json'), '{"timestamp":1}')
    const one = stateDigest(stateDir)
    assert.notEqual(one, empty)
    writeFileSync(join(stateDir, 'tuf', 'root-x.json'), '{"timestamp":2}')
    assert.notEqual(stateDigest(stateDir), one)
    assert.notEqual(cacheKey('a', one), cacheKey('a', stateDigest(stateDir)))
  })
})

describe('verified-archive cache: entries', () => {
  let dir: string
  let cleanup: () => Promise<void>
  let n = 0
  const report = {ok: true, archive: 'a.tar'} as unknown as VerifyReport
  const entry = (key: string, over: Partial<CacheEntry> = {}): CacheEntry => ({
    format: 1,
    key,
    judgedAt: new Date(Date.now() - 1000).toISOString(),
    validUntil: null,
    verified: true,
    verdict: 'f'.repeat(64),
    report,
    notes: [],
    ...over,
  })
  const KEY = 'a'.repeat(64)
  const fresh = (): VerdictCache => {
    const state = join(dir, `s${++n}`)
    mkdirSync(state, {mode: 0o700})
    return new VerdictCache(state)
  }

  before(async () => {
    ;({dir, cleanup} = await tempDir('airlock-vcache-entries-'))
  })
  after(async () => {
    await cleanup?.()
  })

  it('round-trips, with a 32-byte key file and entries 0600', () => {
    const cache = fresh()
    assert.equal(cache.read(KEY), undefined)
    cache.write(entry(KEY))
    assert.deepEqual(cache.read(KEY), entry(KEY, {judgedAt: cache.read(KEY)!.judgedAt}))
    assert.equal(readFileSync(join(cache.dir, 'key')).length, 32)
    assert.deepEqual(cache.notes, [])
  })

  it('an edited entry (report, verdict, verified) is a miss with a note', () => {
    for (const change of [
      (e: {entry: CacheEntry}) => (e.entry.report = {...e.entry.report, ok: false}),
      (e: {entry: CacheEntry}) => (e.entry.verdict = '0'.repeat(64)),
      (e: {entry: CacheEntry}) => (e.entry.verified = false),
      (e: {entry: CacheEntry}) => (e.entry.validUntil = '2999-01-01T00:00:00.000Z'),
    ]) {
      const cache = fresh()
      cache.write(entry(KEY, {validUntil: '2000-01-01T00:00:00.000Z', judgedAt: '1999-01-01T00:00:00.000Z'}))
      const file = join(cache.dir, `${KEY}.json`)
      const stored = JSON.parse(readFileSync(file, 'utf8')) as {entry: CacheEntry; mac: string}
      change(stored)
      writeFileSync(file, JSON.stringify(stored))
      assert.equal(cache.read(KEY), undefined)
      assert.match(cache.notes.join('\n'), /MAC/)
    }
  })

  it('an entry MACed with another directory key, or copied under another key, is a miss', () => {
    const a = fresh()
    const b = fresh()
    a.write(entry(KEY))
    b.write(entry(KEY))
    writeFileSync(join(b.dir, `${KEY}.json`), readFileSync(join(a.dir, `${KEY}.json`)))
    assert.equal(b.read(KEY), undefined)
    const other = 'b'.repeat(64)
    writeFileSync(join(a.dir, `${other}.json`), readFileSync(join(a.dir, `${KEY}.json`)))
    assert.equal(a.read(other), undefined)
    assert.match(a.notes.join('\n'), /answers another key/)
  })

  it('time: expired, or a clock before the judgement, is a miss (no note: judged again)', () => {
    const cache = fresh()
    const now = Date.now()
    cache.write(entry(KEY, {validUntil: new Date(now + 60_000).toISOString()}))
    assert.ok(cache.read(KEY, now))
    assert.equal(cache.read(KEY, now + 60_000), undefined)
    assert.equal(cache.read(KEY, now - 3_600_000), undefined)
    assert.deepEqual(cache.notes, [])
  })

  it('StrictModes: a group/world-writable directory, entry or key file, or a symbolic link, is not used', () => {
    const cache = fresh()
    cache.write(entry(KEY))
    chmodSync(cache.dir, 0o770)
    assert.equal(cache.read(KEY), undefined)
    chmodSync(cache.dir, 0o700)
    chmodSync(cache.stateDir, 0o777)
    assert.equal(cache.read(KEY), undefined)
    chmodSync(cache.stateDir, 0o700)
    chmodSync(join(cache.dir, `${KEY}.json`), 0o620)
    assert.equal(cache.read(KEY), undefined)
    chmodSync(join(cache.dir, `${KEY}.json`), 0o600)
    chmodSync(join(cache.dir, 'key'), 0o606)
    assert.equal(cache.read(KEY), undefined)
    chmodSync(join(cache.dir, 'key'), 0o600)
    assert.ok(cache.read(KEY))
    const other = 'c'.repeat(64)
    symlinkSync(join(cache.dir, `${KEY}.json`), join(cache.dir, `${other}.json`))
    assert.equal(cache.read(other), undefined)
    assert.match(cache.notes.join('\n'), /writable by group or others/)
    assert.match(cache.notes.join('\n'), /symbolic link/)
    // and nothing is written into a directory others can write
    const open = fresh()
    open.write(entry(KEY))
    chmodSync(open.dir, 0o777)
    open.write(entry('d'.repeat(64)))
    chmodSync(open.dir, 0o700)
    assert.equal(open.read('d'.repeat(64)), undefined)
  })

  it('valid until the strict TUF expiry; judged past it (grace used): until the grace limit; no expiry: null', () => {
    const trust = (strictUntil: string | null, graceUntil: string | null) =>
      ({trust: {forecast: {strictUntil, graceUntil}}}) as unknown as VerifyReport
    const strict = '2030-01-01T00:00:00.000Z'
    const grace = '2030-01-31T00:00:00.000Z'
    assert.equal(judgementValidUntil(trust(strict, grace), Date.parse('2029-12-01T00:00:00Z')), strict)
    assert.equal(judgementValidUntil(trust(strict, grace), Date.parse('2030-01-05T00:00:00Z')), grace)
    assert.equal(judgementValidUntil(trust(null, null), Date.now()), null)
    assert.equal(judgementValidUntil({} as VerifyReport, Date.now()), null)
  })
})
