// Set-up shared by the in-process test/archive-*.unit.test.ts files (issue 13 item 5): a temporary directory per test
// file, sha256 names, catching the error of a call that must fail, reading a tar back entry by entry, a streaming
// hash pool for the file's tests, and small volume sets written with the hostile corpus's tar writer. Plain node
// APIs and node:test hooks only, so the mutation runner's node:test shim (scripts/mutation/node-test-shim.ts) loads
// it like the test files. Calls that register hooks (`workDir`, `streamingPool`) belong at a test file's top level.
import assert from 'node:assert/strict'
import {createHash, randomBytes} from 'node:crypto'
import {mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before} from 'node:test'
import {HashPool} from '../../src/archive/hash-pool.ts'
import {KeepSink, scanTar} from '../../src/archive/tar.ts'
import {labelBytes} from '../../src/archive/volumes.ts'
import type {Digest} from '../../src/oci/digest.ts'
import {type TarEntry, writeTar} from './hostile/tar.ts'

export const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')
export const digestOf = (b: Buffer): Digest => `sha256:${sha(b)}` as Digest
/** The archive entry name of a blob with these bytes. */
export const blobName = (b: Buffer): string => `blobs/sha256/${sha(b)}`

/** A temporary directory removed after the file's tests; `next` names a fresh path in it, `subdir` makes one. */
export interface Work {
  readonly dir: string
  /** `<dir>/<n><suffix>`, a new n each call (nothing is created). */
  next(suffix?: string): string
  /** A new directory `<dir>/<prefix><n>-XXXXXX`. */
  subdir(prefix?: string): string
}
export function workDir(prefix: string): Work {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  after(() => rmSync(dir, {recursive: true, force: true}))
  let n = 0
  return {
    dir,
    next: (suffix = '') => join(dir, `${n++}${suffix}`),
    subdir: (sub = '') => mkdtempSync(join(dir, `${sub}${n++}-`)),
  }
}

/** One streaming HashPool for a test file: started before its tests, closed after them. Call the result to get it. */
export function streamingPool(): () => HashPool {
  let pool: HashPool | undefined
  before(() => {
    pool = HashPool.startStreaming()
  })
  after(async () => {
    await pool?.close()
  })
  return () => {
    assert.ok(pool, 'the hash pool starts in a before hook')
    return pool
  }
}

export type Failure = Error & {code?: string; hint?: string}
/** The error `p` rejects with; fails the test when it resolves. */
export async function failure(p: Promise<unknown>, expected = 'a failure'): Promise<Failure> {
  try {
    await p
  } catch (error) {
    return error as Failure
  }
  assert.fail(`expected ${expected}`)
}
/** The error `f` throws; fails the test when it returns. */
export function thrown(f: () => unknown): Failure {
  try {
    f()
  } catch (error) {
    return error as Failure
  }
  assert.fail('expected a throw')
}

/** Paths this process holds open (/proc/self/fd), to check that a refusal leaves no file open. */
export function openPaths(): string[] {
  const found: string[] = []
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      found.push(readlinkSync(`/proc/self/fd/${fd}`))
    } catch {}
  }
  return found
}

export interface TarRead {
  name: string
  type: string
  size: number
  body: Buffer
}
/** Every entry of a tar file with its body, in file order (the project's own reader, scanTar). */
export async function tarEntries(path: string): Promise<TarRead[]> {
  const found: TarRead[] = []
  await scanTar(path, e => {
    const kept: TarRead = {name: e.name, type: e.type, size: e.size, body: Buffer.alloc(0)}
    found.push(kept)
    return new KeepSink(body => {
      kept.body = body
    })
  })
  return found
}

export interface SplitClaim {
  entry: string
  size: number
  parts: Array<{part: number; volume: number; name: string; size: number; sha256: string}>
}
export interface BuiltSet {
  dir: string
  setId: string
  /** The volume files, in volume order. */
  files: string[]
  /** NAME.volumes.json. */
  manifest: string
  manifestSha256: string
  /** Bytes of each volume. */
  volumes: Buffer[]
}
export interface SetOptions {
  /** The set's name (default "set"). */
  name?: string
  /** Default: 16 random bytes in hex. */
  setId?: string
  /** What each volume's label says: a volume number (of this set), or [setId, number]. Default: the set, i + 1. */
  labels?: Array<number | [string | undefined, number]>
  /** The split records of volumes.json; default: derived from the `parts/` entries found, in the order found. */
  split?: SplitClaim[]
}
/**
 * Writes NAME.volNNN.tar (a label, then its entries) for each list of entries into a new directory under `work`,
 * and NAME.volumes.json listing their real sizes and sha256.
 */
export function buildVolumeSet(work: Work, volumes: TarEntry[][], options: SetOptions = {}): BuiltSet {
  const dir = work.subdir()
  const name = options.name ?? 'set'
  const setId = options.setId ?? randomBytes(16).toString('hex')
  const derived = new Map<string, SplitClaim>()
  const bytes = volumes.map((entries, i) => {
    const claimed = options.labels?.[i] ?? i + 1
    const [labelSet, labelVolume] = typeof claimed === 'number' ? [setId, claimed] : claimed
    for (const e of entries) {
      const m = typeof e.name === 'string' ? /^parts\/(.+)\.([0-9]{3})$/.exec(e.name) : null
      if (!m) continue
      const claim = derived.get(m[1]!) ?? {entry: m[1]!, size: 0, parts: []}
      const body = e.body ?? Buffer.alloc(0)
      claim.parts.push({
        part: Number(m[2]),
        volume: i + 1,
        name: e.name as string,
        size: body.length,
        sha256: sha(body),
      })
      claim.size += body.length
      derived.set(m[1]!, claim)
    }
    return writeTar([{name: 'airlock-volume.json', body: labelBytes(labelSet ?? setId, labelVolume)}, ...entries])
  })
  const records = bytes.map((b, i) => {
    const file = `${name}.vol${String(i + 1).padStart(3, '0')}.tar`
    writeFileSync(join(dir, file), b)
    return {volume: i + 1, file, size: b.length, sha256: sha(b)}
  })
  const json = Buffer.from(
    `${JSON.stringify({
      airlockVolumes: 1,
      setId,
      name,
      volumeSize: 65536,
      count: records.length,
      totalBytes: records.reduce((x, r) => x + r.size, 0),
      volumes: records,
      split: options.split ?? [...derived.values()],
    })}\n`,
  )
  const manifest = join(dir, `${name}.volumes.json`)
  writeFileSync(manifest, json)
  return {dir, setId, files: records.map(r => join(dir, r.file)), manifest, manifestSha256: sha(json), volumes: bytes}
}
