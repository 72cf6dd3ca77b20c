// Machine floors for export and push: what the local registry and the disk allow any client, with no hashing
// and no archive format at all. Blobs are taken from an OCI layout directory (skopeo's copy of the workload).
//   get   DIR REGISTRY_URL REPO...  : GET every blob of the layout from the registry, N streams, bytes discarded
//   put   DIR REGISTRY_URL          : POST + monolithic streamed PUT ?digest= of every blob file, N streams
//   write DIR OUT                   : copy every blob file into one file OUT with 1 MiB writes, then fsync
// Options: --streams N (default 4). Prints "<seconds> s <bytes> bytes".
import {createReadStream} from 'node:fs'
import {open, readdir, stat} from 'node:fs/promises'
import {Agent, request} from 'node:http'
import {join} from 'node:path'

const [mode, dir, target, ...rest] = process.argv.slice(2)
const at = process.argv.indexOf('--streams')
const streams = at > 0 ? Number(process.argv[at + 1]) : 4
const repos = rest.filter((r, i) => !r.startsWith('--') && rest[i - 1] !== '--streams')
if (!mode || !dir || !target) {
  process.stderr.write('usage: node bench/floor.ts get|put|write OCI_DIR TARGET [REPO...] [--streams N]\n')
  process.exit(2)
}
const agent = new Agent({keepAlive: true, maxSockets: streams})
const blobDir = join(dir, 'blobs', 'sha256')
const blobs = await Promise.all(
  (await readdir(blobDir)).map(async hex => ({hex, size: (await stat(join(blobDir, hex))).size})),
)
blobs.sort((a, b) => b.size - a.size)

function call(
  method: string,
  url: string,
  headers: Record<string, string>,
  body?: NodeJS.ReadableStream,
): Promise<{status: number; location?: string; bytes: number}> {
  return new Promise((resolve, reject) => {
    const req = request(url, {method, headers, agent}, res => {
      let bytes = 0
      res.on('data', (c: Buffer) => (bytes += c.length))
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          ...(res.headers.location ? {location: res.headers.location} : {}),
          bytes,
        }),
      )
      res.on('error', reject)
    })
    req.on('error', reject)
    if (body) body.pipe(req)
    else req.end()
  })
}

async function pool<T>(items: T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items]
  await Promise.all(
    Array.from({length: n}, async () => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) await fn(item)
    }),
  )
}

const started = process.hrtime.bigint()
let total = 0
if (mode === 'get') {
  // a blob is fetched from the first repository that has it (404 elsewhere)
  await pool(blobs, streams, async b => {
    for (const repo of repos) {
      const r = await call('GET', `${target}/v2/${repo}/blobs/sha256:${b.hex}`, {})
      if (r.status === 200) {
        total += r.bytes
        return
      }
    }
    // manifests are in the layout's blobs/ but served by /manifests/, not /blobs/: small, skipped
    if (b.size > 64 * 1024) throw new Error(`blob ${b.hex} not found in ${repos.join(', ')}`)
  })
} else if (mode === 'put') {
  await pool(blobs, streams, async b => {
    const start = await call('POST', `${target}/v2/floor/blobs/uploads/`, {'content-length': '0'})
    if (start.status !== 202 || !start.location) throw new Error(`POST: ${start.status}`)
    const loc = new URL(start.location, target)
    loc.searchParams.set('digest', `sha256:${b.hex}`)
    const put = await call(
      'PUT',
      loc.toString(),
      {'content-type': 'application/octet-stream', 'content-length': String(b.size)},
      createReadStream(join(blobDir, b.hex), {highWaterMark: 1024 * 1024}),
    )
    if (put.status !== 201) throw new Error(`PUT: ${put.status}`)
    total += b.size
  })
} else if (mode === 'write') {
  const out = await open(target, 'w')
  const buf = Buffer.allocUnsafe(1024 * 1024)
  let position = 0
  for (const b of blobs) {
    const fh = await open(join(blobDir, b.hex), 'r')
    for (;;) {
      const {bytesRead} = await fh.read(buf, 0, buf.length, null)
      if (bytesRead === 0) break
      await out.write(buf, 0, bytesRead, position)
      position += bytesRead
    }
    await fh.close()
  }
  await out.sync()
  await out.close()
  total = position
} else {
  throw new Error(`unknown mode ${mode}`)
}
agent.destroy()
const seconds = Number(process.hrtime.bigint() - started) / 1e9
process.stdout.write(`${seconds.toFixed(3)} s ${total} bytes\n`)
