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
