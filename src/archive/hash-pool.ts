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
import {HASH_READ_BYTES, hashRanges, RangeTruncatedError, type HashJob, type HashResult} from './hash-ranges.ts'

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
  | {type: 'done'; results: HashResult[]}
  | {type: 'error'; id?: number; message: string}

/**
 * A pool of hashing workers over one file. Started before the header pass (so thread start-up overlaps it), fed
 * once with every range, then closed.
 */
export class HashPool {
  private readonly file: string
  private readonly workers: Worker[]

  private constructor(file: string, workers: Worker[]) {
    this.file = file
    this.workers = workers
  }

  static start(file: string, size = availableParallelism()): HashPool {
    // Callers close() the pool in a finally: a live worker keeps the process running.
    const workers = Array.from({length: Math.max(1, size)}, () => new Worker(hashWorkerUrl(), {workerData: {file}}))
    return new HashPool(file, workers)
  }

  /** Hashes every range; digests in the order of `ranges`. Rejects on the first failure. */
  hash(ranges: readonly RangeToHash[], onBytes?: (n: number) => void): Promise<string[]> {
    const digests = new Array<string>(ranges.length)
    const batches = makeBatches(ranges)
    let next = 0
    let pending = batches.length
    if (pending === 0) return Promise.resolve(digests)
    return new Promise<string[]>((resolve, reject) => {
      let failed = false
      const fail = (error: Error) => {
        if (failed) return
        failed = true
        for (const w of this.workers) w.removeAllListeners('message')
        reject(error)
      }
      const feed = (w: Worker) => {
        if (failed || next >= batches.length) return
        w.postMessage(batches[next++])
      }
      for (const w of this.workers) {
        w.on('message', (message: WorkerMessage) => {
          if (message.type === 'progress') onBytes?.(message.bytes)
          else if (message.type === 'done') {
            for (const r of message.results) digests[r.id] = r.digest
            if (--pending === 0) resolve(digests)
            else feed(w)
          } else if (message.type === 'error') {
            fail(
              message.id !== undefined
                ? truncated(ranges[message.id]?.name)
                : new AirlockError('IO_ERROR', `${this.file}: ${message.message}`),
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
