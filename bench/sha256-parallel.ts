// Reference for a parallel verify: one header-only pass over the tar (src/archive/tar.ts scanTar, bodies skipped
// by seeking), then every entry hashed by a pool of worker threads with 1 MiB positional reads, entries dealt
// largest first to the least loaded worker. This is the design issue 7 asks of `airlock verify`; its time is the
// floor verify can reach on this machine. Prints "<seconds> s <bytes> bytes <workers> workers".
// Usage: node bench/sha256-parallel.ts ARCHIVE [--workers N]
import {createHash} from 'node:crypto'
import {open} from 'node:fs/promises'
import {availableParallelism} from 'node:os'
import {isMainThread, parentPort, Worker, workerData} from 'node:worker_threads'
import {scanTar} from '../src/archive/tar.ts'

interface Job {
  name: string
  offset: number
  size: number
}

async function hashJobs(file: string, jobs: Job[]): Promise<number> {
  const fh = await open(file, 'r')
  const buf = Buffer.allocUnsafe(1024 * 1024)
  let bytes = 0
  try {
    for (const job of jobs) {
      const hash = createHash('sha256')
      let done = 0
      while (done < job.size) {
        const {bytesRead} = await fh.read(buf, 0, Math.min(buf.length, job.size - done), job.offset + done)
        if (bytesRead === 0) throw new Error(`${job.name}: truncated`)
        hash.update(buf.subarray(0, bytesRead))
        done += bytesRead
      }
      hash.digest('hex')
      bytes += done
    }
  } finally {
    await fh.close()
  }
  return bytes
}

if (!isMainThread) {
  const {file, jobs} = workerData as {file: string; jobs: Job[]}
  parentPort!.postMessage(await hashJobs(file, jobs))
} else {
  const file = process.argv[2]
  if (!file) {
    process.stderr.write('usage: node bench/sha256-parallel.ts ARCHIVE [--workers N]\n')
    process.exit(2)
  }
  const at = process.argv.indexOf('--workers')
  const workers = at > 0 ? Number(process.argv[at + 1]) : availableParallelism()
  const started = process.hrtime.bigint()
  const jobs: Job[] = []
  await scanTar(file, entry => {
    if (entry.type === 'File' && entry.size > 0)
      jobs.push({name: entry.name, offset: entry.dataOffset, size: entry.size})
    return undefined
  })
  jobs.sort((a, b) => b.size - a.size)
  const shares: {load: number; jobs: Job[]}[] = Array.from({length: workers}, () => ({load: 0, jobs: []}))
  for (const job of jobs) {
    const least = shares.reduce((a, b) => (b.load < a.load ? b : a))
    least.jobs.push(job)
    least.load += job.size
  }
  const totals = await Promise.all(
    shares.map(
      share =>
        new Promise<number>((resolve, reject) => {
          const w = new Worker(new URL(import.meta.url), {workerData: {file, jobs: share.jobs}})
          w.once('message', resolve)
          w.once('error', reject)
        }),
    ),
  )
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  process.stdout.write(`${seconds.toFixed(3)} s ${totals.reduce((a, b) => a + b, 0)} bytes ${workers} workers\n`)
}
