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
  type StreamJob,
  type StreamReply,
  type VolumeGroupJob,
} from './hash-ranges.ts'

/**
 * A running sha256 in a hash worker (export: a blob's, a volume's; StreamJob in hash-ranges.ts). Steps are sent in
 * order and hashed in order; nothing waits for them but digest().
 */
export interface StreamHash {
  /** Bytes [offset, offset + length) of `file`, already written: the worker reads them back and hashes them. */
  range(file: string, offset: number, length: number): void
  /**
   * The stream hashes `file` in order from `from` (each step starts where the last ended): bytes there that another
   * stream on the same worker reads back are hashed from that read (one read, two states). Before any other step.
   * `background`: nothing waits for this hash until its end (a volume's): the worker hashes it when no other step
   * waits, and it may lag further (STREAM_BACKGROUND_BYTES).
   */
  follow(file: string, from: number, background?: boolean): void
  /** Bytes known in memory (a header, padding): copied to the worker. */
  bytes(data: Uint8Array): void
  /** The digest of every step so far (a split entry's first part); the stream runs on. */
  checkpoint(): Promise<string>
  /** Ends the stream: the digest (`sha256:<hex>`) of every step, in order. */
  digest(): Promise<string>
  /** Ends the stream without a digest (its entry failed). */
  discard(): void
}

/**
 * Written bytes the workers may lag behind the writers before writes wait (the bounded queue): the lag is read back
 * from the page cache, never held in memory, but a hash far behind would make the final wait long.
 */
export const STREAM_BACKLOG_BYTES = 128 * 1024 * 1024
/**
 * The same, apart, for background hashes (a volume's): they run only when no blob's hash waits, so a blob's digest
 * never queues behind a volume's burst (everything written behind an entry still downloading, sent once it is
 * done). 512 MiB was measured too: no wall gain out of the noise, peak RSS up ~20 MiB (docs/DECISIONS.md).
 */
export const STREAM_BACKGROUND_BYTES = 128 * 1024 * 1024
/** Adjacent written ranges of one running hash sent as one message (the hash lags at most this much). */
const STREAM_BATCH_BYTES = 8 * 1024 * 1024
/**
 * Workers for running hashes: one hashes (~1.5 GB/s with SHA extensions) several times faster than an export
 * downloads, even with a volume set's second hash; each more worker costs ~15 MiB of RSS (its own V8 heap).
 */
const STREAM_WORKERS = 1

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
  /** Streaming (export): bytes sent to each worker and not hashed yet (blob hashes; background ones apart). */
  private readonly backlog: number[]
  private readonly backgroundBacklog: number[]
  private readonly digests = new Map<number, {resolve: (digest: string) => void; reject: (error: unknown) => void}>()
  private readonly roomWaiters: Array<() => void> = []
  private streamIds = 0
  /** The running hashes' gathered ranges, to send before waiting for room. */
  private readonly flushers = new Set<() => void>()
  private failure: AirlockError | undefined
  private closing = false

  private constructor(file: string | undefined, workers: Worker[]) {
    this.file = file
    this.workers = workers
    this.backlog = workers.map(() => 0)
    this.backgroundBacklog = workers.map(() => 0)
  }

  static start(file: string | undefined, size = availableParallelism()): HashPool {
    // Callers close() the pool in a finally: a live worker keeps the process running.
    const workers = Array.from({length: Math.max(1, size)}, () => new Worker(hashWorkerUrl(), {workerData: {file}}))
    return new HashPool(file, workers)
  }

  /**
   * A pool for running hashes (export). Its workers keep the process alive only while a digest is awaited, so a
   * writer that fails before closing its pool cannot hang the command.
   */
  static startStreaming(size = STREAM_WORKERS): HashPool {
    const pool = HashPool.start(undefined, size)
    pool.listen()
    return pool
  }

  private listen(): void {
    for (const [i, w] of this.workers.entries()) {
      w.unref()
      w.on('message', (message: StreamReply) => {
        if (message.type === 'stream-ack') {
          if (message.background) this.backgroundBacklog[i]! -= message.bytes
          else this.backlog[i]! -= message.bytes
          if (this.hasRoom()) for (const wake of this.roomWaiters.splice(0)) wake()
          this.updateRef()
        } else if (message.type === 'stream-digest' || message.type === 'stream-error') {
          const pending = this.digests.get(message.stream)
          this.digests.delete(message.stream)
          this.updateRef()
          if (message.type === 'stream-digest') pending?.resolve(message.digest)
          else pending?.reject(new AirlockError('IO_ERROR', `cannot read back what was written: ${message.message}`))
        }
      })
      w.once('error', error => this.failStreams(`hash worker failed: ${error.message}`, error))
      w.once('exit', code =>
        this.failStreams(
          this.closing ? 'the hash workers were stopped' : `hash worker exited (code ${code}) before finishing`,
        ),
      )
    }
  }

  /** Workers keep the process alive only while something waits for them. */
  private updateRef(): void {
    const waited = this.digests.size > 0 || this.roomWaiters.length > 0
    for (const w of this.workers)
      if (waited) w.ref()
      else w.unref()
  }

  private hasRoom(): boolean {
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0)
    return sum(this.backlog) < STREAM_BACKLOG_BYTES && sum(this.backgroundBacklog) < STREAM_BACKGROUND_BYTES
  }

  /** A dead worker fails every running hash (one clear error), and every later one at once. */
  private failStreams(message: string, cause?: unknown): void {
    this.failure ??= new AirlockError('INTERNAL', message, cause === undefined ? {} : {cause})
    for (const pending of this.digests.values()) pending.reject(this.failure)
    this.digests.clear()
    for (const wake of this.roomWaiters.splice(0)) wake()
  }

  /**
   * Undefined while the workers are less than STREAM_BACKLOG_BYTES behind (STREAM_BACKGROUND_BYTES for background
   * hashes); else a promise that resolves when they are again (rejects once a worker has failed).
   */
  room(): Promise<void> | undefined {
    if (this.failure) return Promise.reject(this.failure)
    return this.hasRoom() ? undefined : this.waitForRoom()
  }

  private async waitForRoom(): Promise<void> {
    // Ranges still gathered would never be acknowledged: send them first.
    for (const flush of [...this.flushers]) flush()
    while (this.failure === undefined && !this.hasRoom()) {
      const wait = new Promise<void>(resolve => this.roomWaiters.push(resolve))
      this.updateRef()
      await wait
    }
    if (this.failure) throw this.failure
  }

  /** Starts a running hash on the worker with the least work queued. */
  stream(): StreamHash {
    const id = ++this.streamIds
    const queued = this.backlog.map((n, w) => n + this.backgroundBacklog[w]!)
    const i = queued.indexOf(Math.min(...queued))
    const worker = this.workers[i]!
    let background = false
    let ended = false
    const post = (job: StreamJob) => {
      if (ended) throw new AirlockError('INTERNAL', 'running hash used after its end')
      if (this.failure === undefined) worker.postMessage(job)
    }
    // Adjacent ranges go as one message of up to STREAM_BATCH_BYTES (a message per 1 MiB write cost more main
    // thread time than it saved); whatever is gathered goes before any other step, and when writes wait for room.
    let gathered: {file: string; offset: number; length: number} | undefined
    const flush = () => {
      if (!gathered) return
      const {file, offset, length} = gathered
      gathered = undefined
      this.flushers.delete(flush)
      post({stream: id, file, offset, length})
    }
    return {
      range: (file, offset, length) => {
        if (length === 0) return
        if (ended) throw new AirlockError('INTERNAL', 'running hash used after its end')
        if (background) this.backgroundBacklog[i]! += length
        else this.backlog[i]! += length
        if (gathered && gathered.file === file && gathered.offset + gathered.length === offset)
          gathered.length += length
        else {
          flush()
          gathered = {file, offset, length}
          this.flushers.add(flush)
        }
        if (gathered.length >= STREAM_BATCH_BYTES) flush()
      },
      bytes: data => {
        if (data.length === 0) return
        flush()
        // A copy of just these bytes: a view would carry its whole backing buffer to the worker.
        post({stream: id, bytes: new Uint8Array(data)})
      },
      follow: (file, from, inBackground = false) => {
        background = inBackground
        post({stream: id, follow: file, from, background})
      },
      checkpoint: () => {
        if (this.failure) return Promise.reject(this.failure)
        flush()
        const checkpoint = ++this.streamIds
        const result = new Promise<string>((resolve, reject) => this.digests.set(checkpoint, {resolve, reject}))
        this.updateRef()
        post({stream: id, checkpoint})
        return result
      },
      digest: () => {
        if (this.failure) return Promise.reject(this.failure)
        flush()
        const result = new Promise<string>((resolve, reject) => this.digests.set(id, {resolve, reject}))
        this.updateRef()
        post({stream: id, end: 'digest'})
        ended = true
        return result
      },
      discard: () => {
        this.flushers.delete(flush)
        gathered = undefined
        if (!ended) post({stream: id, end: 'discard'})
        ended = true
      },
    }
  }

  /** Tells the workers a written file is done with (closes their read handles). */
  releaseFile(file: string): void {
    if (this.failure === undefined) for (const w of this.workers) w.postMessage({closeFile: file})
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
    this.closing = true
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
