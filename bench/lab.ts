// A bench workload kept running, for profiling one command by hand: `node bench/lab.ts [--scale N] [--quick]`.
// Starts the source registry and the test Sigstore instance, generates the bench workload (bench/lib/workload.ts),
// writes bench/work/lab/env.sh (the flags bench/run.ts gives each command) and waits until Ctrl-C.
// `curl -s localhost:$LAB_PORT/fresh` starts an empty registry and prints its host (the previous one is stopped),
// as every first push of bench/run.ts gets one.
import {createServer} from 'node:http'
import {mkdirSync, writeFileSync} from 'node:fs'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import {startRegistry, type StartedRegistry} from '../test/support/registry.ts'
import {generateWorkload, planWorkload} from './lib/workload.ts'
import {setupSigstore} from './lib/sigstore.ts'

const BENCH = dirname(fileURLToPath(import.meta.url))
const LAB = join(BENCH, 'work', 'lab')
const arg = (name: string) => {
  const i = process.argv.indexOf(name)
  return i < 0 ? undefined : process.argv[i + 1]
}
const scale = Number(arg('--scale') ?? 1)
const quick = process.argv.includes('--quick')

mkdirSync(join(LAB, 'tmp'), {recursive: true})
process.env.TMPDIR = join(LAB, 'tmp')
const source = await startRegistry({auth: 'none'})
const sigstore = await setupSigstore(join(LAB, 'sigstore'))
const workload = await generateWorkload(source.url, source.host, planWorkload(scale, quick), sigstore.signer, () => {})
const images = join(LAB, 'images.txt')
writeFileSync(images, workload.images.map(i => i.reference).join('\n') + '\n')

let target: StartedRegistry | undefined
const server = createServer((_req, res) => {
  void (async () => {
    await target?.stop()
    target = await startRegistry({auth: 'none'})
    res.end(`${target.host}\n`)
  })()
})
await new Promise<void>(ok => server.listen(0, '127.0.0.1', ok))
const port = (server.address() as {port: number}).port
const q = (xs: string[]) => xs.map(x => `'${x}'`).join(' ')
writeFileSync(
  join(LAB, 'env.sh'),
  [
    `export LAB_PORT=${port}`,
    `export SRC=${source.host}`,
    `export AIRLOCK='${process.execPath} ${resolve(BENCH, '..', 'bin', 'run.js')}'`,
    `export EXPORT_ARGS="-f ${images} --insecure-registry ${source.host} ${q(sigstore.exportFlags)}"`,
    `export VERIFY_ARGS="${q(sigstore.verifyFlags)}"`,
    `export PUSH_ARGS="${q(sigstore.pushFlags)}"`,
  ].join('\n') + '\n',
)
process.stdout.write(
  `lab ready: ${workload.images.length} images, ${(workload.imageBytes / 1e9).toFixed(2)} GB; . ${join(LAB, 'env.sh')}\n`,
)
const stop = async () => {
  server.close()
  await target?.stop()
  await source.stop()
  await sigstore.close()
  process.exit(0)
}
process.on('SIGINT', () => void stop())
process.on('SIGTERM', () => void stop())
