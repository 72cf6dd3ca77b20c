// An HTTP proxy in front of a real registry that misbehaves on request, for the failures a healthy registry never
// shows: 503/429 answers, a connection cut after N body bytes, a lying Docker-Content-Digest, altered bodies,
// redirects. Everything it does not intercept is forwarded unchanged, so the client speaks the real wire format.
import http, {type IncomingHttpHeaders} from 'node:http'
import type {AddressInfo} from 'node:net'

export interface FaultRequest {
  method: string
  /** Path and query, e.g. /v2/a/b/blobs/sha256:... */
  path: string
  headers: IncomingHttpHeaders
  /** When it arrived (Date.now()): lets a test time what the CLI did on the wire, without its start-up. */
  at: number
}

export interface Fault {
  match: (request: FaultRequest) => boolean
  /** How many matching requests this fault applies to (default 1). */
  times?: number
  /** Answer this instead of asking the registry. */
  respond?: {status: number; headers?: Record<string, string>; body?: string}
  /** Forward the answer, but destroy the connection after this many body bytes. */
  cutAfterBytes?: number
  /** Replace (or add) response headers of the forwarded answer; an empty value removes the header. */
  setHeaders?: Record<string, string>
  /** Rewrite the forwarded body (buffered: for small answers such as manifests). Content-Length follows. */
  rewriteBody?: (body: Buffer) => Buffer
  /** With cutAfterBytes: break the connection with a TCP RST (ECONNRESET at the client) instead of a clean FIN. */
  reset?: boolean
  /** Hold the request this long without answering anything (a stalled registry or a dead middlebox), then close. */
  stallMs?: number
  /**
   * For uploads: read this many bytes of the REQUEST body, then break the client's connection with a TCP RST
   * (ECONNRESET mid-upload). Nothing of this request reaches the registry (a reset between the client and a
   * front proxy), so the upload session there is unchanged and a retry of the same chunk can succeed.
   */
  resetAfterRequestBytes?: number
}

export interface FaultProxy {
  host: string
  url: string
  /** Every request seen, in order. */
  requests: FaultRequest[]
  add(fault: Fault): void
  /** Drops every fault not yet used up. */
  clearFaults(): void
  /** How many requests so far satisfied `match` (e.g. blob GETs, to prove a cache was reused). */
  count(match: (request: FaultRequest) => boolean): number
  stop(): Promise<void>
}

/** Sets headers case-insensitively (HTTP names are); an empty value removes the header. */
function mergeHeaders(
  target: Record<string, string | string[]>,
  changes: Record<string, string> | undefined,
): Record<string, string | string[]> {
  for (const [name, value] of Object.entries(changes ?? {})) {
    for (const existing of Object.keys(target))
      if (existing.toLowerCase() === name.toLowerCase()) delete target[existing]
    if (value !== '') target[name.toLowerCase()] = value
  }
  return target
}

export async function startFaultProxy(upstream: string, options: {hostname?: string} = {}): Promise<FaultProxy> {
  const faults: Array<Fault & {left: number}> = []
  const requests: FaultRequest[] = []

  const server = http.createServer((req, res) => {
    const request: FaultRequest = {
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      headers: req.headers,
      at: Date.now(),
    }
    requests.push(request)
    const fault = faults.find(f => f.left > 0 && f.match(request))
    if (fault) fault.left--

    if (fault?.stallMs !== undefined) {
      req.resume()
      const timer = setTimeout(() => req.socket.destroy(), fault.stallMs)
      req.socket.once('close', () => clearTimeout(timer))
      return
    }
    if (fault?.resetAfterRequestBytes !== undefined) {
      let received = 0
      const limit = fault.resetAfterRequestBytes
      const reset = () => req.socket.resetAndDestroy()
      req.on('data', (chunk: Buffer) => {
        received += chunk.length
        if (received >= limit) reset()
      })
      req.on('end', reset)
      return
    }
    if (fault?.respond) {
      req.resume()
      const body = fault.respond.body ?? ''
      res.writeHead(
        fault.respond.status,
        mergeHeaders({'content-length': String(Buffer.byteLength(body))}, fault.respond.headers),
      )
      res.end(body)
      return
    }
    const headers = {...req.headers, host: upstream}
    const forward = http.request(
      {host: upstream.split(':')[0], port: Number(upstream.split(':')[1]), method: req.method, path: req.url, headers},
      upstreamRes => {
        const responseHeaders: Record<string, string | string[]> = {}
        for (const [k, v] of Object.entries(upstreamRes.headers)) if (v !== undefined) responseHeaders[k] = v
        // Locations the registry makes absolute point at itself; keep the client talking to the proxy.
        if (typeof responseHeaders.location === 'string')
          responseHeaders.location = responseHeaders.location.replace(`//${upstream}`, `//${req.headers.host}`)
        mergeHeaders(responseHeaders, fault?.setHeaders)
        if (fault?.rewriteBody) {
          const chunks: Buffer[] = []
          upstreamRes.on('data', (c: Buffer) => chunks.push(c))
          upstreamRes.on('end', () => {
            const body = fault.rewriteBody!(Buffer.concat(chunks))
            responseHeaders['content-length'] = String(body.length)
            res.writeHead(upstreamRes.statusCode ?? 502, responseHeaders)
            res.end(body)
          })
          return
        }
        res.writeHead(upstreamRes.statusCode ?? 502, responseHeaders)
        if (fault?.cutAfterBytes === undefined) {
          upstreamRes.pipe(res)
          return
        }
        let sent = 0
        const limit = fault.cutAfterBytes
        upstreamRes.on('data', (chunk: Buffer) => {
          if (sent >= limit) return
          const part = chunk.subarray(0, limit - sent)
          sent += part.length
          res.write(part)
          if (sent >= limit) {
            upstreamRes.destroy()
            // Let the bytes reach the client, then break the connection mid-body.
            if (fault.reset) setTimeout(() => res.socket?.resetAndDestroy(), 20)
            else res.socket?.end(() => res.socket?.destroy())
          }
        })
        upstreamRes.on('end', () => res.end())
      },
    )
    forward.on('error', () => res.destroy())
    req.pipe(forward)
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const {port} = server.address() as AddressInfo
  const host = `${options.hostname ?? '127.0.0.1'}:${port}`
  return {
    host,
    url: `http://${host}`,
    requests,
    add: fault => faults.push({...fault, left: fault.times ?? 1}),
    clearFaults: () => {
      faults.length = 0
    },
    count: match => requests.filter(match).length,
    stop: () =>
      new Promise<void>(resolve => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
