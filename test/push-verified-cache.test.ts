// The verified-archive cache through the CLI (issue 11 item 6): a second push of the same archive file under the same
// inputs takes the remembered judgement (said in --json at verification.cache), and everything an attacker could
// change makes it judge again: the file rewritten in place (even with its mtime set back), the policy file, an
// identity flag, the trusted root, the rollback state moved by another verify, the clock past the TUF expiry, an
// entry edited without the directory's MAC key, a cache directory others can write. A failed verification
// remembers nothing, and --no-cache judges. Real archives (the example keyless signature; a served TUF repository),
// a real registry (Distribution).
import assert from 'node:assert/strict'
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  statSync,
  utimesSync,
  writeFileSync,
  writeSync,
  closeSync,
} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {scanTar} from '../src/archive/tar.ts'
import {ArchiveReader} from '../src/archive/reader.ts'
import {loadPolicy} from '../src/policy/index.ts'
import {openVerifiedArchive} from '../src/verify/open.ts'
import {cacheKey, cacheKeyBase, stateDigest, verdictFingerprint} from '../src/verify/verdict-cache.ts'
import {ROOT, runCli, runCliJson} from './support/cli.ts'
import {EXAMPLE_SIGNATURES, exportExampleArchives} from './support/example-archives.ts'
import {tempDir} from './support/layouts.ts'
import {startRegistry, type StartedRegistry} from './support/registry.ts'
import {type ServedTuf, serveTuf} from './support/served-tuf.ts'

const DAY = 86_400_000
const TRUSTED_ROOT = join(EXAMPLE_SIGNATURES, 'trusted_root.json')
const IDENTITY = 'release@example.test'
const ISSUER = 'https://accounts.example.test'

interface PushJson {
  verification: {status: string; cache?: {judgedAt: string; validUntil: string | null}; notes?: string[]}
  totals: {blobsPushed: number; manifestsPushed: number}
}

describe('push: the verified-archive cache', () => {
  let dir: string
  let cleanup: () => Promise<void>
  let registry: StartedRegistry
  let signed: string
  let two: string
  let n = 0

  before(async () => {
    ;({dir, cleanup} = await tempDir('airlock-vcache-'))
    ;[registry, {signed, two}] = await Promise.all([startRegistry(), exportExampleArchives(dir)])
  })
  after(async () => {
    await registry?.stop()
    await cleanup?.()
  })

  /** A fresh state directory (each case its own: entries and rollback memory do not leak between cases). */
  const state = (): string => join(dir, `state-${++n}`)
  const keyless = (trustedRoot = TRUSTED_ROOT, identity = ['--certificate-identity', IDENTITY]) => [
    '--trusted-root',
    trustedRoot,
    ...identity,
    '--certificate-oidc-issuer',
    ISSUER,
  ]
  const push = (
    archive: string,
    prefix: string,
    stateDir: string,
    policy: string[] = keyless(),
    extra: string[] = [],
  ) =>
    runCliJson<PushJson>([
      'push',
      archive,
      `${registry.host}/${prefix}`,
      '--insecure-registry',
      registry.host,
      '--state',
      stateDir,
      ...policy,
      ...extra,
    ])
  const entries = (stateDir: string): string[] =>
    existsSync(join(stateDir, 'verified'))
      ? readdirSync(join(stateDir, 'verified')).filter(f => /^[0-9a-f]{64}\.json$/.test(f))
      : []
  const tags = async (repository: string): Promise<string[]> => {
    const r = await fetch(`${registry.url}/v2/${repository}/tags/list`)
    return r.status === 200 ? (((await r.json()) as {tags: string[] | null}).tags ?? []) : []
  }

  it('a second push of the same file takes the remembered judgement; entries are 0600 in a 0700 directory', async () => {
    const s = state()
    const first = await push(signed, 'hit', s)
    assert.equal(first.status, 0, first.stderr)
    assert.equal(first.json.verification.cache, undefined)
    assert.ok(first.json.totals.blobsPushed > 0)
    assert.equal(entries(s).length, 1)
    const file = join(s, 'verified', entries(s)[0]!)
    assert.equal(statSync(file).mode & 0o777, 0o600)
    assert.equal(statSync(join(s, 'verified')).mode & 0o777, 0o700)
    assert.equal(statSync(join(s, 'verified', 'key')).mode & 0o777, 0o600)
    const second = await push(signed, 'hit', s)
    assert.equal(second.status, 0, second.stderr)
    assert.equal(second.json.verification.status, 'passed')
    assert.ok(second.json.verification.cache, 'the second push takes the remembered judgement')
    assert.equal(second.json.verification.cache.validUntil, null) // a --trusted-root file does not expire
    assert.equal(second.json.totals.blobsPushed, 0)
    // the human output says so
    const text = await runCli([
      'push',
      signed,
      `${registry.host}/hit`,
      '--insecure-registry',
      registry.host,
      '--state',
      s,
      ...keyless(),
    ])
    assert.equal(text.status, 0, text.stderr)
    assert.match(text.stderr, /remembered from the judgement of .* \(verified-archive cache; --no-cache judges again\)/)
  })

  it('--no-cache judges (and remembers nothing); a judgement by airlock verify is taken by push', async () => {
    const s = state()
    const judged = await push(signed, 'nocache', s, keyless(), ['--no-cache'])
    assert.equal(judged.status, 0, judged.stderr)
    assert.equal(entries(s).length, 0)
    // verify remembers only into a state directory that exists (it creates nothing in HOME for the cache)
    const v0 = await runCli(['verify', signed, '--state', s, ...keyless()])
    assert.equal(v0.status, 0, v0.stderr + v0.stdout)
    assert.equal(existsSync(s), false)
    mkdirSync(s, {mode: 0o700})
    const v = await runCli(['verify', signed, '--state', s, ...keyless()])
    assert.equal(v.status, 0, v.stderr + v.stdout)
    assert.equal(entries(s).length, 1)
    const again = await push(signed, 'nocache', s, keyless(), ['--no-cache'])
    assert.equal(again.status, 0, again.stderr)
    assert.equal(again.json.verification.cache, undefined)
    const hit = await push(signed, 'nocache', s)
    assert.equal(hit.status, 0, hit.stderr)
    assert.ok(hit.json.verification.cache)
  })

  it('a file rewritten in place misses, even with its bytes and mtime restored; a tampered one is refused', async () => {
    const s = state()
    const file = join(dir, 'rewrite.tar')
    copyFileSync(signed, file)
    const mtime = 1_700_000_000 // whole seconds: set back exactly
    utimesSync(file, mtime, mtime)
    assert.equal((await push(file, 'rw', s)).status, 0)
    assert.ok((await push(file, 'rw', s)).json.verification.cache)
    // Same bytes written back, mtime set back: only the ctime tells.
    const before = statSync(file)
    const bytes = readFileSync(file)
    const fd = openSync(file, 'r+')
    writeSync(fd, bytes, 0, 512, 0)
    closeSync(fd)
    utimesSync(file, mtime, mtime)
    assert.equal(statSync(file).mtimeMs, before.mtimeMs)
    const same = await push(file, 'rw', s)
    assert.equal(same.status, 0, same.stderr)
    assert.equal(same.json.verification.cache, undefined, 'a rewritten file is judged again')
    assert.ok((await push(file, 'rw', s)).json.verification.cache)
    // Now a layer's content changed (same size), mtime set back, pushed where the layer must be sent: refused.
    const layers: Array<{name: string; dataOffset: number; size: number}> = []
    await scanTar(file, e => {
      if (e.name.startsWith('blobs/sha256/') && e.size > 200) layers.push(e)
      return undefined
    })
    const layer = layers.sort((a, b) => b.size - a.size)[0]!
    const fd2 = openSync(file, 'r+')
    const at = layer.dataOffset + Math.floor(layer.size / 2)
    const old = Buffer.alloc(1)
    const rfd = openSync(file, 'r')
    ;(await import('node:fs')).readSync(rfd, old, 0, 1, at)
    closeSync(rfd)
    writeSync(fd2, Buffer.from([old[0]! ^ 0xff]), 0, 1, at)
    closeSync(fd2)
    utimesSync(file, mtime, mtime)
    const tampered = await push(file, 'rw-fresh', s)
    assert.notEqual(tampered.status, 0, tampered.stdout)
    assert.match(tampered.stderr + tampered.stdout, /sha256|digest/i)
    assert.deepEqual(await tags('rw-fresh/airlock/hello'), [])
  })

  it('the policy file, an identity flag and the trusted root are part of the key', async () => {
    const s = state()
    const policy = join(dir, 'keyless.yaml')
    const rule = `rules:\n  - image: "**"\n    keyless: {issuer: "${ISSUER}", subject: "${IDENTITY}"}\n`
    writeFileSync(policy, rule)
    const byFile = ['--policy', policy, '--trusted-root', TRUSTED_ROOT]
    assert.equal((await push(signed, 'inputs', s, byFile)).status, 0)
    assert.ok((await push(signed, 'inputs', s, byFile)).json.verification.cache)
    writeFileSync(policy, `# reviewed\n${rule}`)
    const edited = await push(signed, 'inputs', s, byFile)
    assert.equal(edited.status, 0, edited.stderr)
    assert.equal(edited.json.verification.cache, undefined, 'a changed policy file is judged again')

    assert.equal((await push(signed, 'inputs', s)).status, 0)
    assert.ok((await push(signed, 'inputs', s)).json.verification.cache)
    const regexp = keyless(TRUSTED_ROOT, ['--certificate-identity-regexp', '^release@example\\.test$'])
    const flag = await push(signed, 'inputs', s, regexp)
    assert.equal(flag.status, 0, flag.stderr)
    assert.equal(flag.json.verification.cache, undefined, 'another identity flag is judged again')

    // The same trusted root, reformatted: other bytes at another path.
    const root = join(dir, 'trusted_root-copy.json')
    writeFileSync(root, JSON.stringify(JSON.parse(readFileSync(TRUSTED_ROOT, 'utf8'))))
    const other = await push(signed, 'inputs', s, keyless(root))
    assert.equal(other.status, 0, other.stderr)
    assert.equal(other.json.verification.cache, undefined, 'another trusted root is judged again')
    assert.ok((await push(signed, 'inputs', s, keyless(root))).json.verification.cache)
    writeFileSync(root, readFileSync(TRUSTED_ROOT))
    const rewritten = await push(signed, 'inputs', s, keyless(root))
    assert.equal(rewritten.json.verification.cache, undefined, 'the trusted root bytes are in the key')
  })

  it('an entry edited without the MAC key is a miss, and nothing unjudged is pushed', async () => {
    const s = state()
    assert.equal((await push(signed, 'forge', s)).status, 0)
    const [name] = entries(s)
    const stored = JSON.parse(readFileSync(join(s, 'verified', name!), 'utf8')) as {
      entry: {key: string; verdict: string}
      mac: string
    }
    // The test computes the keys as push does (the first entry's name proves it), then forges an entry for two.tar
    // (its unsigned image fails the policy): the key and fingerprint are right, the MAC cannot be.
    const keyFor = async (archive: string) => {
      const reader = await ArchiveReader.open(archive)
      try {
        const trust = {'trusted-root': [TRUSTED_ROOT], state: s}
        const policy = loadPolicy({'certificate-identity': IDENTITY, 'certificate-oidc-issuer': ISSUER})
        return cacheKey(await cacheKeyBase(reader, {signatures: 'required', policy, trust}, s), stateDigest(s))
      } finally {
        await reader.close()
      }
    }
    assert.equal(`${await keyFor(signed)}.json`, name)
    const structural = await openVerifiedArchive(two, {structuralOnly: true})
    const fingerprint = verdictFingerprint(structural.verdict!)
    await structural.close()
    const forgedKey = await keyFor(two)
    const forged = {entry: {...stored.entry, key: forgedKey, verdict: fingerprint}, mac: stored.mac}
    writeFileSync(join(s, 'verified', `${forgedKey}.json`), JSON.stringify(forged), {mode: 0o600})
    const r = await push(two, 'forge-two', s)
    assert.equal(r.status, 1, r.stdout)
    assert.match(r.stderr, /MAC/)
    assert.match(r.stdout, /verification failed, nothing was pushed/)
    assert.deepEqual(await tags('forge-two/demo/hello'), [])
    assert.deepEqual(await tags('forge-two/airlock/hello'), [])
    // A failed verification remembers nothing: the forged entry is the only one for two.tar.
    assert.equal(entries(s).length, 2)
  })

  it('a failed verification writes no entry', async () => {
    const s = state()
    const v = await runCli(['verify', two, '--state', s, ...keyless()])
    assert.equal(v.status, 1, v.stdout)
    const p = await push(two, 'failed', s)
    assert.equal(p.status, 1, p.stdout)
    assert.deepEqual(entries(s), [])
    // A layer flipped: the judgement passes with the layer left to the upload, which then fails: nothing remembered.
    const file = join(dir, 'flipped.tar')
    copyFileSync(signed, file)
    // a blob of the image itself (not a signature's, which the judgement reads): left to the upload
    const structural = await openVerifiedArchive(file, {structuralOnly: true})
    const blob = [...structural.verdict!.images[0]!.graph.blobs].sort(
      (a, b) => b.descriptor.size - a.descriptor.size,
    )[0]!
    await structural.close()
    const at = blob.offset + Math.floor(blob.descriptor.size / 2)
    const bytes = readFileSync(file)
    const fd = openSync(file, 'r+')
    writeSync(fd, Buffer.from([bytes[at]! ^ 0xff]), 0, 1, at)
    closeSync(fd)
    const flipped = await push(file, 'failed-flipped', s)
    assert.equal(flipped.status, 1, flipped.stdout)
    assert.match(flipped.stdout, /hashes to/)
    assert.deepEqual(entries(s), [], 'a push whose upload hash failed remembers nothing')
  })

  it('a cache directory others can write is not used (one note), and nothing is written to it', async () => {
    const s = state()
    assert.equal((await push(signed, 'perm', s)).status, 0)
    chmodSync(join(s, 'verified'), 0o777)
    const r = await push(signed, 'perm', s)
    assert.equal(r.status, 0, r.stderr)
    assert.equal(r.json.verification.cache, undefined)
    assert.match(r.stderr, /verified-archive cache not used: .*verified is writable by group or others/)
    chmodSync(join(s, 'verified'), 0o700)
    // An entry file others can write is refused as well.
    chmodSync(join(s, 'verified', entries(s)[0]!), 0o666)
    const f = await push(signed, 'perm', s)
    assert.equal(f.json.verification.cache, undefined)
    assert.match(f.stderr, /writable by group or others/)
  })
})

describe('push: the verified-archive cache and the TUF rollback state and expiry', () => {
  let dir: string
  let cleanup: () => Promise<void>
  let registry: StartedRegistry
  let tuf: ServedTuf
  let archive: string

  before(async () => {
    ;({dir, cleanup} = await tempDir('airlock-vcache-tuf-'))
    // timestamp valid 2 days (test/support/tuf-repo.ts)
    ;[registry, tuf] = await Promise.all([startRegistry(), serveTuf(dir, {rootVersions: 2, timestampTtlMs: 2 * DAY})])
    archive = join(dir, 'a.tar')
    const e = await tuf.exportTo(archive)
    assert.equal(e.status, 0, e.stderr)
  })
  after(async () => {
    await registry?.stop()
    await tuf?.stop()
    await cleanup?.()
  })

  const later = (ms: number) => ({
    env: {NODE_OPTIONS: `--import ${join(ROOT, 'test/support/clock.ts')}`, AIRLOCK_CLOCK_OFFSET_MS: String(ms)},
  })
  const push = (file: string, s: string, options = {}) =>
    runCliJson<PushJson>(
      [
        'push',
        file,
        `${registry.host}/tuf`,
        '--insecure-registry',
        registry.host,
        '--signatures',
        'skip',
        '--tuf-root',
        tuf.rootFile,
        '--state',
        s,
      ],
      options,
    )

  it('a verdict past the TUF expiry is judged again; the judgement then holds until the grace limit', async () => {
    const s = join(dir, 'state-expiry')
    assert.equal((await push(archive, s)).status, 0)
    const hit = await push(archive, s)
    assert.ok(hit.json.verification.cache)
    const timestamp = JSON.parse(readFileSync(join(tuf.repo.dir, 'timestamp.json'), 'utf8')) as {
      signed: {expires: string}
    }
    assert.equal(hit.json.verification.cache.validUntil, new Date(Date.parse(timestamp.signed.expires)).toISOString())
    const expired = await push(archive, s, later(3 * DAY))
    assert.equal(expired.status, 0, expired.stderr)
    assert.equal(expired.json.verification.cache, undefined, 'past the strict expiry: judged again')
    const graced = await push(archive, s, later(3 * DAY))
    assert.ok(graced.json.verification.cache)
    assert.equal(
      graced.json.verification.cache.validUntil,
      new Date(Date.parse(timestamp.signed.expires) + 30 * DAY).toISOString(),
    )
  })

  it('a rollback state moved by another verify is a miss: the older archive is then refused', async () => {
    const s = join(dir, 'state-rollback')
    assert.equal((await push(archive, s)).status, 0)
    assert.ok((await push(archive, s)).json.verification.cache)
    // A newer timestamp is published and verified from a newer archive with the same state directory.
    tuf.repo.publish({timestampExpires: new Date(Date.now() + 10 * DAY)})
    const newer = join(dir, 'newer.tar')
    const e = await tuf.exportTo(newer)
    assert.equal(e.status, 0, e.stderr)
    const v = await runCli(['verify', newer, '--signatures', 'skip', '--tuf-root', tuf.rootFile, '--state', s])
    assert.equal(v.status, 0, v.stderr + v.stdout)
    const replay = await push(archive, s)
    assert.equal(replay.status, 1, replay.stdout)
    assert.match(replay.stdout, /roll|older|below|version/i)
  })
})
