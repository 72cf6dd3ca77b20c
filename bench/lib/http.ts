// Minimal raw HTTP for the workload generator: streams request bodies (never buffers a layer), keeps connections.
import {Agent, request} from 'node:http'
import type {Readable} from 'node:stream'

const agent = new Agent({keepAlive: true, maxSockets: 8})

export interface HttpResponse {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: Buffer
}

export function http(
  method: string,
  url: string,
  headers: Record<string, string> = {},
  body?: Buffer | string | Readable,
): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, {method, headers, agent}, res => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks)}))
      res.on('error', reject)
    })
    req.on('error', reject)
    if (body === undefined) req.end()
    else if (typeof body === 'string' || Buffer.isBuffer(body)) req.end(body)
    else {
      body.on('error', e => req.destroy(e))
      body.pipe(req)
    }
  })
}

export function expectStatus(res: HttpResponse, ok: number[], what: string): void {
  if (!ok.includes(res.status))
    throw new Error(`${what}: HTTP ${res.status} ${res.body.toString('utf8').slice(0, 300)}`)
}

export function header(res: HttpResponse, name: string): string {
  const v = res.headers[name.toLowerCase()]
  if (v === undefined) throw new Error(`missing ${name} header`)
  return Array.isArray(v) ? (v[0] ?? '') : v
}
