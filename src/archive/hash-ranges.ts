// sha256 of byte ranges of one file, read with large positional reads. Shared by the verify worker threads
// (src/archive/hash-worker.ts) and by the in-thread path small archives take (spawning workers costs more than
// hashing a few megabytes). Also a volume set's volumes, each read once for its own sha256 and its entries'. Imports
// nothing but node: modules, so a worker starts fast.
import {createHash, type Hash} from 'node:crypto'
import type {FileHandle} from 'node:fs/promises'
import {open} from 'node:fs/promises'

/** 1 MiB+ reads: sha256 in Node runs ~40% faster on 1 MiB reads than on 64 KiB ones (issue 7 measurements). */
export const HASH_READ_BYTES = 2 * 1024 * 1024
/** How often a long entry reports progress (so a 500 MB layer moves the progress bar while it is hashed). */
const PROGRESS_BYTES = 32 * 1024 * 1024

export interface HashJob {
  /** Caller's handle for the entry (index into its job list). */
  id: number
  offset: number
  size: number
}

export interface HashResult {
  id: number
  digest: string
}

/** Raised when the file ends inside a range: the file changed (shrank) since its header pass. */
export class RangeTruncatedError extends Error {
  readonly id: number
  constructor(id: number, offset: number) {
    super(`file ends at offset ${offset}`)
    this.id = id
  }
}

/** Hashes each job's range in turn into `buf` (reused); `onBytes` gets progress in PROGRESS_BYTES steps. */
export async function hashRanges(
  fh: FileHandle,
  jobs: readonly HashJob[],
  buf: Buffer,
  onBytes?: (n: number) => void,
): Promise<HashResult[]> {
  const out: HashResult[] = []
  for (const job of jobs) {
    const hash = createHash('sha256')
    let done = 0
    let unreported = 0
    while (done < job.size) {
      const want = Math.min(buf.length, job.size - done)
      const {bytesRead} = await fh.read(buf, 0, want, job.offset + done)
      if (bytesRead === 0) throw new RangeTruncatedError(job.id, job.offset + done)
      hash.update(bytesRead === buf.length ? buf : buf.subarray(0, bytesRead))
      done += bytesRead
      unreported += bytesRead
      if (onBytes && unreported >= PROGRESS_BYTES) {
        onBytes(unreported)
        unreported = 0
      }
    }
    if (onBytes && unreported > 0) onBytes(unreported)
    out.push({id: job.id, digest: `sha256:${hash.digest('hex')}`})
  }
  return out
}

/** One volume of a group: the whole file is read once, in order; `ranges` are its entries (sorted by offset). */
export interface VolumeJob {
  /** Caller's handle for the volume's own digest. */
  id: number
  path: string
  size: number
  ranges: readonly HashJob[]
}

/**
 * Consecutive volumes read in order, each once: every volume's sha256 and its entries' from the same reads. An id
 * that has ranges in several volumes of the group (a split entry's parts, in order) is one hash across them.
 */
export interface VolumeGroupJob {
  volumes: readonly VolumeJob[]
}

export interface VolumeGroupResult {
  volumes: HashResult[]
  entries: HashResult[]
}

/** Hashes a group of volumes (see VolumeGroupJob) through `buf`; `onBytes` gets the entry bytes hashed. */
export async function hashVolumeGroup(
  job: VolumeGroupJob,
  buf: Buffer,
  onBytes?: (n: number) => void,
): Promise<VolumeGroupResult> {
  const entries = new Map<number, Hash>()
  for (const volume of job.volumes)
    for (const r of volume.ranges) if (!entries.has(r.id)) entries.set(r.id, createHash('sha256'))
  const volumes: HashResult[] = []
  let unreported = 0
  for (const volume of job.volumes) {
    const ranges = [...volume.ranges].sort((a, b) => a.offset - b.offset)
    const whole = createHash('sha256')
    const fh = await open(volume.path, 'r')
    try {
      let r = 0
      let pos = 0
      while (pos < volume.size) {
        const {bytesRead} = await fh.read(buf, 0, Math.min(buf.length, volume.size - pos), pos)
        if (bytesRead === 0)
          throw new Error(`${volume.path}: the file ends at offset ${pos}, before its ${volume.size} bytes`)
        const chunk = bytesRead === buf.length ? buf : buf.subarray(0, bytesRead)
        whole.update(chunk)
        const end = pos + bytesRead
        // Entries are disjoint and sorted: feed each the part of this chunk it covers.
        while (r < ranges.length && ranges[r]!.offset < end) {
          const range = ranges[r]!
          const from = Math.max(range.offset, pos)
          const to = Math.min(range.offset + range.size, end)
          if (to > from) {
            entries.get(range.id)!.update(chunk.subarray(from - pos, to - pos))
            unreported += to - from
          }
          if (range.offset + range.size > end) break
          r++
        }
        if (onBytes && unreported >= PROGRESS_BYTES) {
          onBytes(unreported)
          unreported = 0
        }
        pos = end
      }
    } finally {
      await fh.close()
    }
    volumes.push({id: volume.id, digest: `sha256:${whole.digest('hex')}`})
  }
  if (onBytes && unreported > 0) onBytes(unreported)
  return {volumes, entries: [...entries].map(([id, hash]) => ({id, digest: `sha256:${hash.digest('hex')}`}))}
}

/**
 * One step of a running sha256 kept in a worker (export: a blob's, a volume's, a split part's), fed in order: a
 * range of a file the writer has just written (read back here, from the page cache, so the bytes hashed are the
 * bytes on disk and the main thread never hashes them), a few bytes known in memory (a tar header, padding), or the
 * end (the digest is posted back, or the hash discarded).
 */
export type StreamJob =
  | {stream: number; file: string; offset: number; length: number}
  | {stream: number; bytes: Uint8Array}
  | {stream: number; end: 'digest' | 'discard'}
  /** The digest of the stream's bytes so far, posted under the id `checkpoint`; the stream runs on. */
  | {stream: number; checkpoint: number}
  /**
   * The stream hashes `file` in order from offset `from` (a volume, a split part): bytes at its position that
   * another stream of this worker reads back are hashed from that same read, and skipped when its own range comes.
   * A `background` stream (a volume's: nothing waits for it until the volume is finished) is hashed only when no
   * other step waits (hash-worker.ts).
   */
  | {stream: number; follow: string; from: number; background?: boolean}

export type StreamReply =
  | {type: 'stream-ack'; bytes: number; background: boolean}
  | {type: 'stream-digest'; stream: number; digest: string}
  | {type: 'stream-error'; stream: number; message: string}

export function isStreamJob(job: unknown): job is StreamJob {
  return typeof job === 'object' && job !== null && 'stream' in job
}

/** A stream that hashes one file in order (a `follow` step): where its steps have got to, and its hash. */
interface Follower {
  stream: number
  file: string
  background: boolean
  /** Where the stream's next step starts (the steps are contiguous). */
  expect: number
  /** Bytes [.., fed) are hashed: at least `expect`, more when another stream's read fed it ahead of its steps. */
  fed: number
}

/**
 * The worker side of the running hashes: one Hash per stream, the written files opened once each. A volume's bytes
 * are hashed twice (its blob's digest, its own sha256: two states that sha256 cannot share), but read back once
 * where the volume's hash has caught up with a blob being written: the blob's read feeds both.
 */
export class StreamHashes {
  private readonly hashes = new Map<number, Hash>()
  private readonly followers = new Map<number, Follower>()
  /** A stream whose read failed: its digest is an error, its later steps are skipped. */
  private readonly failed = new Map<number, string>()
  private readonly files = new Map<string, FileHandle>()
  private readonly buf: Buffer

  constructor(buf: Buffer) {
    this.buf = buf
  }

  async run(job: StreamJob): Promise<StreamReply | undefined> {
    const {stream} = job
    if ('end' in job) {
      const hash = this.hashes.get(stream)
      const failure = this.failed.get(stream)
      this.hashes.delete(stream)
      this.failed.delete(stream)
      this.followers.delete(stream)
      if (job.end === 'discard') return undefined
      if (failure !== undefined) return {type: 'stream-error', stream, message: failure}
      return {type: 'stream-digest', stream, digest: `sha256:${(hash ?? createHash('sha256')).digest('hex')}`}
    }
    let hash = this.hashes.get(stream)
    if (!hash) {
      hash = createHash('sha256')
      this.hashes.set(stream, hash)
    }
    if ('checkpoint' in job) {
      // A split entry's first part is the entry's first bytes: its sha256 is a copy of the entry's running state.
      const failure = this.failed.get(stream)
      if (failure !== undefined) return {type: 'stream-error', stream: job.checkpoint, message: failure}
      return {type: 'stream-digest', stream: job.checkpoint, digest: `sha256:${hash.copy().digest('hex')}`}
    }
    if ('follow' in job) {
      this.followers.set(stream, {
        stream,
        file: job.follow,
        background: job.background ?? false,
        expect: job.from,
        fed: job.from,
      })
      return undefined
    }
    const follower = this.followers.get(stream)
    if ('bytes' in job) {
      if (follower) {
        // Known bytes (a header, padding) are never where another stream reads: fed ahead of them is a bug.
        if (follower.fed !== follower.expect)
          this.failed.set(stream, `hash of ${follower.file}: bytes at ${follower.expect} were hashed ahead`)
        follower.expect += job.bytes.length
        follower.fed = follower.expect
      }
      hash.update(job.bytes)
      return undefined
    }
    if (!this.failed.has(stream))
      try {
        let from = job.offset
        if (follower) {
          if (job.offset !== follower.expect)
            throw new Error(`hash of ${job.file}: range at ${job.offset}, expected ${follower.expect}`)
          // Bytes another stream's read already fed to this one are not read again.
          from = Math.min(Math.max(follower.fed, job.offset), job.offset + job.length)
          follower.expect = job.offset + job.length
          follower.fed = Math.max(follower.fed, follower.expect)
        }
        await this.read(stream, hash, job.file, from, job.offset + job.length - from)
      } catch (error) {
        this.failed.set(stream, (error as Error).message)
      }
    return {type: 'stream-ack', bytes: job.length, background: follower?.background ?? false}
  }

  /** Reads [offset, offset + length) of `file` into `hash`, and into every other follower of the file that is there. */
  private async read(stream: number, hash: Hash, file: string, offset: number, length: number): Promise<void> {
    if (length === 0) return
    let fh = this.files.get(file)
    if (!fh) {
      fh = await open(file, 'r')
      this.files.set(file, fh)
    }
    let done = 0
    while (done < length) {
      const at = offset + done
      const {bytesRead} = await fh.read(this.buf, 0, Math.min(this.buf.length, length - done), at)
      if (bytesRead === 0) throw new Error(`${file}: the file ends at offset ${at}, inside written bytes`)
      const chunk = bytesRead === this.buf.length ? this.buf : this.buf.subarray(0, bytesRead)
      hash.update(chunk)
      for (const other of this.followers.values())
        if (other.stream !== stream && other.file === file && other.fed === at && !this.failed.has(other.stream)) {
          this.hashes.get(other.stream)?.update(chunk)
          other.fed += bytesRead
        }
      done += bytesRead
    }
  }

  /** Closes the handle of a file the writer is done with (renamed or removed). */
  async closeFile(file: string): Promise<void> {
    const fh = this.files.get(file)
    this.files.delete(file)
    await fh?.close()
  }
}
