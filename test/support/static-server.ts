// Serves a directory over HTTP on a free 127.0.0.1 port (GET/HEAD only, no listings, no path escapes).
import {createReadStream} from 'node:fs'
import {stat} from 'node:fs/promises'
import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {resolve, sep} from 'node:path'

export interface StaticServer {
  /** http://127.0.0.1:<port> (no trailing slash) */
  url: string
  port: number
  /** every request path served or refused, in order, for assertions */
  requests: string[]
  stop(): Promise<void>
}

export async function startStaticServer(root: string): Promise<StaticServer> {
  const base = resolve(root)
  const requests: string[] = []
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)
    requests.push(path)
    const file = resolve(base, '.' + path)
    if ((req.method !== 'GET' && req.method !== 'HEAD') || (file !== base && !file.startsWith(base + sep))) {
      res.writeHead(req.method === 'GET' || req.method === 'HEAD' ? 403 : 405).end()
      return
    }
    stat(file).then(
      st => {
        if (!st.isFile()) return void res.writeHead(404).end()
        res.writeHead(200, {'content-length': st.size, 'content-type': 'application/octet-stream'})
        if (req.method === 'HEAD') return void res.end()
        createReadStream(file).pipe(res)
      },
      () => void res.writeHead(404).end(),
    )
  })
  await new Promise<void>((ok, ko) => {
    server.once('error', ko)
    server.listen(0, '127.0.0.1', () => ok())
  })
  const {port} = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    stop: () =>
      new Promise<void>(ok => {
        server.closeAllConnections()
        server.close(() => ok())
      }),
  }
}
