// A local Distribution registry for the benchmark: Debian's /usr/bin/docker-registry on loopback, plain HTTP,
// no auth, storing its data under a directory the benchmark owns (so a workload can be reused between runs and
// removed with bench/work/).
import {spawn, type ChildProcess} from 'node:child_process'
import {mkdirSync, writeFileSync, createWriteStream} from 'node:fs'
import {createServer} from 'node:net'
import {join} from 'node:path'

export interface BenchRegistry {
  host: string
  url: string
  dataDir: string
  pid: number
  stop(): Promise<void>
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

async function waitReady(url: string, child: ChildProcess, timeoutMs = 15000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited with ${child.exitCode} before it was ready`)
    try {
      const res = await fetch(`${url}/v2/`)
      await res.arrayBuffer()
      if (res.status === 200) return
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`docker-registry at ${url} not ready after ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** Starts docker-registry on 127.0.0.1:<port> (a free one unless given) with its storage in dataDir. */
export async function startBenchRegistry(dataDir: string, port?: number): Promise<BenchRegistry> {
  mkdirSync(dataDir, {recursive: true})
  const p = port ?? (await freePort())
  const config = join(dataDir, '..', `${dataDir.split('/').pop()}.config.yml`)
  writeFileSync(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: error',
      '  accesslog:',
      '    disabled: true',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${dataDir}`,
      '  delete:',
      '    enabled: true',
      '  maintenance:',
      '    uploadpurging:',
      '      enabled: false',
      'http:',
      `  addr: 127.0.0.1:${p}`,
      '',
    ].join('\n'),
  )
  const log = createWriteStream(`${config}.log`)
  const child = spawn('/usr/bin/docker-registry', ['serve', config], {stdio: ['ignore', 'pipe', 'pipe']})
  child.stdout?.pipe(log)
  child.stderr?.pipe(log)
  const host = `127.0.0.1:${p}`
  const url = `http://${host}`
  try {
    await waitReady(url, child)
  } catch (error) {
    child.kill('SIGKILL')
    throw error
  }
  return {
    host,
    url,
    dataDir,
    pid: child.pid ?? 0,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve()
        child.once('exit', () => resolve())
        child.kill('SIGTERM')
        setTimeout(() => child.kill('SIGKILL'), 5000).unref()
      }),
  }
}
