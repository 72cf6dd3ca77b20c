// A verify worker thread: opens the archive once (its own FileHandle, its own read buffer) and hashes the batches
// of byte ranges the main thread sends, one batch at a time, posting back {type: 'done', results} per batch and
// {type: 'progress', bytes} on the way. Batches are queued here, so the main thread can keep one in reserve per
// worker and the worker never waits for a message round trip between batches.
// Export uses the same workers for running hashes (StreamJob, hash-ranges.ts): steps of one stream come in order on
// one queue (below), so they are hashed in order.
import {open} from 'node:fs/promises'
import {parentPort, workerData} from 'node:worker_threads'
import {
  HASH_READ_BYTES,
  hashRanges,
  hashVolumeGroup,
  isStreamJob,
  RangeTruncatedError,
  StreamHashes,
  type HashJob,
  type StreamJob,
  type VolumeGroupJob,
} from './hash-ranges.ts'

const port = parentPort!
// A pool over one file opens it once here; a pool hashing volume groups opens each volume as its job comes.
const {file} = workerData as {file?: string}
const fh = file === undefined ? undefined : await open(file, 'r')
const buf = Buffer.allocUnsafe(HASH_READ_BYTES)
type Job = HashJob[] | VolumeGroupJob | StreamJob | {closeFile: string}
// Two queues: steps something waits for (verify's batches, a blob's hash: its download holds a transfer slot until
// its digest is known) go first; a volume's hash (background: awaited only when the volume is finished) and file
// closes (sent once a volume's hash is done) run when nothing else waits. Each stream's steps stay on one queue, so
// they are hashed in order.
const urgent: Job[] = []
const background: Job[] = []
const backgroundStreams = new Set<number>()
const streams = new StreamHashes(buf)
let running = false

function isBackground(job: Job): boolean {
  if (isStreamJob(job)) {
    if ('follow' in job && job.background) backgroundStreams.add(job.stream)
    const low = backgroundStreams.has(job.stream)
    if ('end' in job) backgroundStreams.delete(job.stream)
    return low
  }
  return 'closeFile' in job
}

async function drain(): Promise<void> {
  running = true
  for (let jobs = urgent.shift() ?? background.shift(); jobs; jobs = urgent.shift() ?? background.shift()) {
    const progress = (bytes: number) => port.postMessage({type: 'progress', bytes})
    if (isStreamJob(jobs)) {
      const reply = await streams.run(jobs)
      if (reply) port.postMessage(reply)
      continue
    }
    if ('closeFile' in jobs) {
      await streams.closeFile(jobs.closeFile).catch(() => undefined)
      continue
    }
    try {
      if (!Array.isArray(jobs)) {
        const {volumes, entries} = await hashVolumeGroup(jobs, buf, progress)
        port.postMessage({type: 'done', results: entries, volumes})
        continue
      }
      if (!fh) throw new Error('no file to hash ranges of')
      const results = await hashRanges(fh, jobs, buf, progress)
      port.postMessage({type: 'done', results})
    } catch (error) {
      const id = error instanceof RangeTruncatedError ? error.id : undefined
      port.postMessage({type: 'error', id, message: (error as Error).message})
    }
  }
  running = false
}

port.on('message', (jobs: Job) => {
  ;(isBackground(jobs) ? background : urgent).push(jobs)
  if (!running) void drain()
})
port.postMessage({type: 'ready'})
