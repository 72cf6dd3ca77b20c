// Hashing the entries of an archive on every core: verify's header pass (src/archive/tar.ts) finds where each
// entry's bytes are without reading them, then this pool of worker threads hashes those byte ranges with
// positional reads, each worker with its own FileHandle, so sha256 (the whole cost of verify) runs on all cores
// instead of one. Entries are dealt largest first from one work queue, so a big layer starts early and the small
// ones fill in around it. Memory: one read buffer per worker, whatever the archive's size.
// Small archives are hashed in this thread with the same code: starting workers costs more than they would save.
import {open} from 'node:fs/promises'
import {availableParallelism} from 'node:os'
import {Worker} from 'node:worker_threads'
import {embedded} from '../embedded.ts'
import {AirlockError} from '../errors.ts'
import {
  HASH_READ_BYTES,
  hashRanges,
  hashVolumeGroup,
  RangeTruncatedError,
  type HashJob,
  type HashResult,
  type VolumeGroupJob,
} from './hash-ranges.ts'

export interface RangeToHash {
  /** Entry name, for error messages. */
  name: string
  offset: number
  size: number
}

/** Below this many bytes to hash, one thread is faster than starting workers (a worker starts in ~30-50 ms). */
export const WORKER_THRESHOLD_BYTES = 64 * 1024 * 1024
/** Small entries travel to a worker in batches, so thousands of manifests do not cost thousands of round trips. */
const BATCH_BYTES = 1024 * 1024
const BATCH_ENTRIES = 256
/** Batches queued per worker: one being hashed and one waiting, so a worker never idles on a round trip. */
const IN_FLIGHT = 2

let workerUrl: URL | undefined
/** hash-worker next to this module, or (in the single-file executable, which has no files) its embedded bundle. */
function hashWorkerUrl(): URL {
  if (!workerUrl) {
    const code = embedded()?.hashWorker
    workerUrl = code
      ? new URL(`data:text/javascript;base64,${Buffer.from(code).toString('base64')}`)
      : new URL(import.meta.url.endsWith('.ts') ? './hash-worker.ts' : './hash-worker.js', import.meta.url)
  }
  return workerUrl
}

function truncated(name: string | undefined): AirlockError {
  return new AirlockError(
    'ARCHIVE_INVALID',
    `archive is truncated inside entry ${JSON.stringify(name ?? '?')} (the file changed while it was verified)`,
  )
}

/** Hashes `ranges` of `file` in this thread; digests in the order of `ranges`. */
export async function hashInThread(
  file: string,
  ranges: readonly RangeToHash[],
  onBytes?: (n: number) => void,
): Promise<string[]> {
  const fh = await open(file, 'r')
  try {
    const results = await hashRanges(
      fh,
      ranges.map((r, id) => ({id, offset: r.offset, size: r.size})),
      Buffer.allocUnsafe(HASH_READ_BYTES),
      onBytes,
    )
    return results.map(r => r.digest)
  } catch (error) {
    if (error instanceof RangeTruncatedError) throw truncated(ranges[error.id]?.name)
    throw error
  } finally {
    await fh.close()
  }
}

type WorkerMessage =
  | {type: 'ready'}
  | {type: 'progress'; bytes: number}
  | {type: 'done'; results: HashResult[]; volumes?: HashResult[]}
  | {type: 'error'; id?: number; message: string}

/**
 * A pool of hashing workers over one file. Started before the header pass (so thread start-up overlaps it), fed
 * once with every range, then closed.
 */
export class HashPool {
  /** The file the workers opened (undefined for a pool hashing volume groups, which open their volumes). */
  private readonly file: string | undefined
  private readonly workers: Worker[]

  private constructor(file: string | undefined, workers: Worker[]) {
    this.file = file
    this.workers = workers
  }

  static start(file: string | undefined, size = availableParallelism()): HashPool {
    // Callers close() the pool in a finally: a live worker keeps the process running.
    const workers = Array.from({length: Math.max(1, size)}, () => new Worker(hashWorkerUrl(), {workerData: {file}}))
    return new HashPool(file, workers)
  }

  /** Hashes every range; digests in the order of `ranges`. Rejects on the first failure. */
  async hash(ranges: readonly RangeToHash[], onBytes?: (n: number) => void): Promise<string[]> {
    const digests = new Array<string>(ranges.length)
    await this.run(makeBatches(ranges), onBytes, ranges, message => {
      for (const r of message.results) digests[r.id] = r.digest
    })
    return digests
  }

  /**
   * Hashes volume groups (hash-ranges.ts hashVolumeGroup), the largest first, one group per worker at a time:
   * digests by the ids the jobs gave, for the volumes and for the entries.
   */
  async hashVolumes(
    groups: readonly VolumeGroupJob[],
    onBytes?: (n: number) => void,
  ): Promise<{volumes: Map<number, string>; entries: Map<number, string>}> {
    const volumes = new Map<number, string>()
    const entries = new Map<number, string>()
    const size = (g: VolumeGroupJob) => g.volumes.reduce((n, v) => n + v.size, 0)
    const jobs = [...groups].sort((a, b) => size(b) - size(a))
    await this.run(jobs, onBytes, [], message => {
      for (const r of message.results) entries.set(r.id, r.digest)
      for (const r of message.volumes ?? []) volumes.set(r.id, r.digest)
    })
    return {volumes, entries}
  }

  /** Deals `jobs` to the workers (IN_FLIGHT queued each); `done` gets each job's results. */
  private run(
    jobs: ReadonlyArray<HashJob[] | VolumeGroupJob>,
    onBytes: ((n: number) => void) | undefined,
    ranges: readonly RangeToHash[],
    done: (message: {results: HashResult[]; volumes?: HashResult[]}) => void,
  ): Promise<void> {
    let next = 0
    let pending = jobs.length
    if (pending === 0) return Promise.resolve()
    return new Promise<void>((resolve, reject) => {
      let failed = false
      const fail = (error: Error) => {
        if (failed) return
        failed = true
        for (const w of this.workers) w.removeAllListeners('message')
        reject(error)
      }
      const feed = (w: Worker) => {
        if (failed || next >= jobs.length) return
        w.postMessage(jobs[next++])
      }
      for (const w of this.workers) {
        w.on('message', (message: WorkerMessage) => {
          if (message.type === 'progress') onBytes?.(message.bytes)
          else if (message.type === 'done') {
            done(message)
            if (--pending === 0) resolve()
            else feed(w)
          } else if (message.type === 'error') {
            fail(
              message.id !== undefined
                ? truncated(ranges[message.id]?.name)
                : new AirlockError('IO_ERROR', this.file ? `${this.file}: ${message.message}` : message.message),
            )
          }
        })
        w.once('error', error =>
          fail(new AirlockError('INTERNAL', `verify worker failed: ${error.message}`, {cause: error})),
        )
        w.once('exit', code =>
          fail(new AirlockError('INTERNAL', `verify worker exited (code ${code}) before finishing`)),
        )
      }
      for (let round = 0; round < IN_FLIGHT; round++) for (const w of this.workers) feed(w)
    })
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map(w => w.terminate()))
  }
}

/** Hashes volume groups in this thread (small sets: starting workers costs more than it saves). */
export async function hashVolumesInThread(
  groups: readonly VolumeGroupJob[],
  onBytes?: (n: number) => void,
): Promise<{volumes: Map<number, string>; entries: Map<number, string>}> {
  const volumes = new Map<number, string>()
  const entries = new Map<number, string>()
  const buf = Buffer.allocUnsafe(HASH_READ_BYTES)
  for (const group of groups) {
    const result = await hashVolumeGroup(group, buf, onBytes)
    for (const r of result.entries) entries.set(r.id, r.digest)
    for (const r of result.volumes) volumes.set(r.id, r.digest)
  }
  return {volumes, entries}
}

/** Largest first; entries of BATCH_BYTES or more alone, smaller ones grouped. */
function makeBatches(ranges: readonly RangeToHash[]): HashJob[][] {
  const jobs = ranges.map((r, id) => ({id, offset: r.offset, size: r.size})).sort((a, b) => b.size - a.size)
  const batches: HashJob[][] = []
  let current: HashJob[] = []
  let bytes = 0
  for (const job of jobs) {
    if (job.size >= BATCH_BYTES) {
      batches.push([job])
      continue
    }
    current.push(job)
    bytes += job.size
    if (bytes >= BATCH_BYTES || current.length >= BATCH_ENTRIES) {
      batches.push(current)
      current = []
      bytes = 0
    }
  }
  if (current.length > 0) batches.push(current)
  return batches
}
