// A front in front of Distribution 2.8 (which has no referrers API) that serves exactly the distribution-spec 1.1
// referrers endpoint, as Zot, Harbor or registry:3 do (spec: "Listing Referrers"):
//   GET /v2/<name>/referrers/<digest>[?artifactType=<type>] -> 200, application/vnd.oci.image.index.v1+json, an
//   index whose manifests are descriptors of the manifests with that subject (mediaType, digest, size,
//   artifactType = the manifest's artifactType or else its config mediaType, annotations = the manifest's);
//   with artifactType, only matching entries, and the `OCI-Filters-Applied: artifactType` header.
// A manifest PUT with a `subject` that the registry accepted (201) is recorded; a manifest DELETE by digest that
// the registry accepted forgets it. Everything else is forwarded to the registry unchanged (plain HTTP, no auth).
// Manifest PUT bodies are small (4 MiB limit in the client) and are buffered to read the subject.
import {createHash} from 'node:crypto'
import http from 'node:http'
import type {AddressInfo} from 'node:net'

export interface ReferrersFront {
  host: string
  url: string
  /** The referrers recorded for `repository` and `subject`. */
  referrersOf(repository: string, subject: string): Array<Record<string, unknown>>
  stop(): Promise<void>
}

const REFERRERS = /^\/v2\/(.+)\/referrers\/(sha256:[a-f0-9]{64})$/
const MANIFEST = /^\/v2\/(.+)\/manifests\/([^/]+)$/
const INDEX_TYPE = 'application/vnd.oci.image.index.v1+json'

export async function startReferrersFront(upstream: string): Promise<ReferrersFront> {
  // repository -> subject digest -> referrer digest -> descriptor
  const store = new Map<string, Map<string, Map<string, Record<string, unknown>>>>()
  const forSubject = (repository: string, subject: string) => {
    const repo = store.get(repository) ?? new Map<string, Map<string, Record<string, unknown>>>()
    store.set(repository, repo)
    const list = repo.get(subject) ?? new Map<string, Record<string, unknown>>()
    repo.set(subject, list)
    return list
  }

  const forward = (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    body: Buffer | undefined,
    onDone?: (status: number) => void,
  ) => {
    const headers = {...req.headers, host: upstream}
    if (body) headers['content-length'] = String(body.length)
    const [host, port] = upstream.split(':')
    const out = http.request({host, port: Number(port), method: req.method, path: req.url, headers}, upstreamRes => {
      const responseHeaders: Record<string, string | string[]> = {}
      for (const [k, v] of Object.entries(upstreamRes.headers)) if (v !== undefined) responseHeaders[k] = v
      if (typeof responseHeaders.location === 'string')
        responseHeaders.location = responseHeaders.location.replace(`//${upstream}`, `//${req.headers.host}`)
      onDone?.(upstreamRes.statusCode ?? 502)
      res.writeHead(upstreamRes.statusCode ?? 502, responseHeaders)
      upstreamRes.pipe(res)
    })
    out.on('error', () => res.destroy())
    if (body) out.end(body)
    else req.pipe(out)
  }

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://front')
    const referrers = REFERRERS.exec(url.pathname)
    if (referrers && req.method === 'GET') {
      req.resume()
      const [, repository, subject] = referrers
      const artifactType = url.searchParams.get('artifactType')
      let manifests = [...(store.get(repository!)?.get(subject!)?.values() ?? [])]
      if (artifactType !== null) manifests = manifests.filter(d => d.artifactType === artifactType)
      const body = Buffer.from(JSON.stringify({schemaVersion: 2, mediaType: INDEX_TYPE, manifests}))
      res.writeHead(200, {
        'content-type': INDEX_TYPE,
        'content-length': String(body.length),
        ...(artifactType !== null ? {'oci-filters-applied': 'artifactType'} : {}),
      })
      res.end(body)
      return
    }
    const manifest = MANIFEST.exec(url.pathname)
    if (manifest && req.method === 'PUT') {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        const body = Buffer.concat(chunks)
        forward(req, res, body, status => {
          if (status !== 201) return
          let parsed: {
            subject?: {digest?: string}
            artifactType?: string
            config?: {mediaType?: string}
            annotations?: Record<string, string>
            mediaType?: string
          }
          try {
            parsed = JSON.parse(body.toString('utf8'))
          } catch {
            return
          }
          if (typeof parsed.subject?.digest !== 'string') return
          const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`
          const artifactType = parsed.artifactType ?? parsed.config?.mediaType
          forSubject(manifest[1]!, parsed.subject.digest).set(digest, {
            mediaType: parsed.mediaType ?? req.headers['content-type'],
            digest,
            size: body.length,
            ...(artifactType ? {artifactType} : {}),
            ...(parsed.annotations ? {annotations: parsed.annotations} : {}),
          })
        })
      })
      return
    }
    if (manifest && req.method === 'DELETE') {
      forward(req, res, undefined, status => {
        if (status !== 202) return
        for (const subjects of store.get(manifest[1]!)?.values() ?? []) subjects.delete(manifest[2]!)
      })
      return
    }
    forward(req, res, undefined)
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const {port} = server.address() as AddressInfo
  const host = `127.0.0.1:${port}`
  return {
    host,
    url: `http://${host}`,
    referrersOf: (repository, subject) => [...(store.get(repository)?.get(subject)?.values() ?? [])],
    stop: () =>
      new Promise<void>(resolve => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
