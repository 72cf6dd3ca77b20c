// An HTTP front for the real Distribution registry (test/support/registry.ts) that answers the way a registry we
// cannot run here does, one mode per registry and version. Everything a mode does not change is forwarded to the
// real registry byte for byte, so the client speaks the real wire format and real content is stored and checked.
// Each mode cites where its behaviour was observed (issues and source of the registry itself or of other clients).
import {createHash} from 'node:crypto'
import {readFileSync} from 'node:fs'
import http, {type IncomingHttpHeaders, type IncomingMessage, type ServerResponse} from 'node:http'
import https from 'node:https'
import type {AddressInfo} from 'node:net'

export type QuirkMode =
  | 'registry.k8s.io'
  | 'quay-3.11'
  | 'quay-3.12'
  | 'harbor-2.7'
  | 'harbor-2.10'
  | 'harbor-2.11'
  | 'ghcr'
  | 'docker-hub-429'
  | 'ecr'
  | 'slow-commit'
  | 'harbor-mount-202'
  | 'nginx-413'
  | 'chunk-min-length'
  | 'upload-location'

/** Where each mode's behaviour comes from. */
export const QUIRK_SOURCES: Record<QuirkMode, string> = {
  'registry.k8s.io':
    'tags and manifests-by-digest served by regional backends that lack new signature tags, `.sig` by tag from the canonical one: siderolabs/talos#13342, kubernetes/registry.k8s.io#324 (GET .sig tag -> 200 with Docker-Content-Digest, GET that digest -> MANIFEST_UNKNOWN)',
  'quay-3.11':
    'manifests with config/layer media types outside ALLOWED_OCI_ARTIFACT_TYPES refused with 400 MANIFEST_INVALID; defaults hold Helm and cosign legacy types only: quay/quay#877, deckhouse/deckhouse#10672; no referrers API (404)',
  'quay-3.12':
    'referrers API; 400 MANIFEST_INVALID instead of 404 for an unknown subject: quay/quay#3071 (PROJQUAY-7523, cherry-picked to 3.12)',
  'harbor-2.7':
    'no referrers route (added in 2.8, goharbor/harbor#18324): the request falls to Harbor core, which answers 401 UNAUTHORIZED without a WWW-Authenticate challenge (goharbor/harbor#12192); "prevent vulnerable images" answers 412 to manifest GETs',
  'harbor-2.10':
    'referrers API answering 200 with an empty JSON body for a subject that is not an artifact (goharbor/harbor#18430), and listing referrers with the config media type as artifactType and a wrong size (issue 18 finding 8; fixed by goharbor/harbor#20068 in 2.11)',
  'harbor-2.11':
    'referrers API per distribution-spec 1.1 (goharbor/harbor#20068): 200 OCI index, empty for an unknown subject',
  ghcr: 'referrers route answered with 303 to github.com/-/v2/packages/..., which answers 429 (artifacthub/hub#4785); tag lists in pages of 100 with a Link header when no n is asked for (smg-project/smg#2348, argoproj-labs/argocd-image-updater#1660)',
  'docker-hub-429':
    'Docker Hub pull rate limit: 429 TOOMANYREQUESTS with RateLimit-Limit "100;w=21600", RateLimit-Remaining "0;w=21600", Docker-RateLimit-Source (docs.docker.com/docker-hub/usage/pulls), and Retry-After',
  ecr: 'chunk PATCH answered 201 Created instead of 202 Accepted (jdx/mise#11376, aws/containers-roadmap#2831); a whole-blob PUT over 1 KiB refused with 413 so the chunked path runs',
  'slow-commit':
    'S3-backed Harbor/Quay: the final PUT ?digest= answers only after the blob is copied to object storage (issue 18 finding 6): answers delayed',
  'nginx-413':
    'nginx in front of the registry: client_max_body_size (default 1m) answers 413 Request Entity Too Large with an HTML body to any larger request body, chunks included (ContainerSolutions/docker-registry-proxy#1, goharbor/harbor#3270, goharbor/harbor#15823, pulp/pulp-operator#330)',
  'chunk-min-length':
    'OCI-Chunk-Min-Length on the POST that opens an upload (opencontainers/distribution-spec#391, #481; object stores need parts of at least 5 MiB, opencontainers/distribution-spec#374; honoured by regclient/regclient#394): a chunk after a smaller one is answered 416',
  'upload-location':
    'upload Location on another path of the same host, on another host (Harbor behind a TLS offloader answers with its internal name, https://core/v2/..., goharbor/harbor#19005), or downgraded to http:// by a TLS-terminating load balancer (podman-container-tools/buildah#4788)',
  'harbor-mount-202':
    'a cross-repository mount declined with 202 and a fresh upload session for some source repositories (Harbor with stale artifact_blob records: goharbor/harbor#18541, goharbor/harbor#22863; any registry may, opencontainers/distribution-spec#206), and refused with 403 DENIED where the account cannot pull the source',
}

export interface QuirksFrontOptions {
  /** harbor-*: answer 412 to manifest GETs (Harbor's "prevent vulnerable images from running" project policy). */
  harborPullPolicy?: boolean
  /** docker-hub-429: how many manifest requests get 429 before the limit lifts (default 2; Infinity = never). */
  rateLimited?: number
  /** slow-commit: delay of each blob commit in ms (default 2500). */
  commitDelayMs?: number
  /** nginx-413: largest request body in bytes (default 1 MiB, nginx's default client_max_body_size). */
  bodyLimit?: number
  /** chunk-min-length: the OCI-Chunk-Min-Length announced (default 5 MiB). */
  chunkMinLength?: number
  /** upload-location: where upload Locations are moved. */
  uploadLocation?: 'other-path' | 'other-host' | 'downgrade'
  /** upload-location: serve the front itself over HTTPS with this certificate (for the downgrade case). */
  tls?: {certFile: string; keyFile: string}
  /** harbor-mount-202: source repositories whose mounts are answered 202 (an upload session, nothing mounted). */
  mountDeclinedFrom?: RegExp
  /** harbor-mount-202: source repositories whose mounts are answered 403 DENIED. */
  mountRefusedFrom?: RegExp
}

export interface QuirksFront {
  mode: QuirkMode
  host: string
  url: string
  /** The other host of ghcr (referrers redirect) and upload-location (moved uploads), host:port. */
  elsewhere?: string
  /** Every request seen, "METHOD path -> status". */
  log: string[]
  /** Options can change between phases (e.g. Harbor's pull policy on for push, off to read back). */
  options: QuirksFrontOptions
  count(pattern: RegExp): number
  stop(): Promise<void>
}

const ERROR = (code: string, message: string, detail?: unknown): string =>
  JSON.stringify({errors: [{code, message, ...(detail === undefined ? {} : {detail})}]})
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json'
const REFERRERS = /^\/v2\/(.+)\/referrers\/(sha256:[a-f0-9]{64})(?:\?.*)?$/
const MANIFEST = /^\/v2\/(.+)\/manifests\/([^/?]+)(?:\?.*)?$/
const TAGS = /^\/v2\/(.+)\/tags\/list(?:\?(.*))?$/
const BLOB_UPLOAD = /^\/v2\/(.+)\/blobs\/uploads\//

interface Referrer {
  mediaType: string
  digest: string
  size: number
  artifactType?: string
  annotations?: Record<string, string>
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => resolve(Buffer.concat(chunks)))
    req.on('error', reject)
  })
}

export async function startQuirksFront(
  upstream: string,
  mode: QuirkMode,
  options: QuirksFrontOptions = {},
): Promise<QuirksFront> {
  const log: string[] = []
  /** Referrers per repository and subject, learned from manifests PUT with a `subject` (modes with the API). */
  const referrers = new Map<string, Referrer[]>()
  /** registry.k8s.io: digests served by a signature tag, which the regional backends do not have. */
  const canonicalOnly = new Set<string>()
  let rateLimited = options.rateLimited ?? 2
  /** harbor-*: digests of images pushed here (what Harbor's pull policy applies to; signatures are accessories). */
  const images = new Set<string>()
  const hasApi = mode === 'quay-3.12' || mode === 'harbor-2.10' || mode === 'harbor-2.11'
  // GHCR's referrers redirect goes to another host (github.com), which rate-limits.
  const elsewhere =
    mode === 'ghcr'
      ? await listen((_req, res) => answer(res, 429, ERROR('TOOMANYREQUESTS', 'rate limited'), {'Retry-After': '60'}))
      : mode === 'upload-location' && options.uploadLocation !== 'other-path'
        ? // Another host serving the same registry (plain HTTP): what an internal name or a downgrade points at.
          await listen((req, res) => {
            log.push(`elsewhere: ${req.method} ${req.url}`)
            forward(req, res, undefined)
          })
        : undefined
  /** chunk-min-length: per upload session, the length of its last PATCH. */
  const lastPatch = new Map<string, number>()

  function answer(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
    res.writeHead(status, {
      'Content-Type': 'application/json',
      'Content-Length': String(Buffer.byteLength(body)),
      ...headers,
    })
    res.end(body)
  }

  /** Forwards a request (body already read, or streamed) to the real registry; `edit` may change the answer. */
  function forward(
    req: IncomingMessage,
    res: ServerResponse,
    body: Buffer | undefined,
    edit?: {
      status?: (s: number) => number
      rewrite?: (b: Buffer) => Buffer
      headers?: (h: IncomingHttpHeaders) => void
      delayMs?: number
      onAnswer?: (status: number, h: IncomingHttpHeaders) => void
      /** Path sent to the real registry instead of the request's (the log keeps what the client asked). */
      path?: string
    },
  ): void {
    const [host, port] = upstream.split(':')
    const headers = {...req.headers}
    const upstreamReq = http.request(
      {host, port: Number(port), method: req.method, path: edit?.path ?? req.url, headers},
      up => {
        const status = edit?.status ? edit.status(up.statusCode ?? 502) : (up.statusCode ?? 502)
        const outHeaders: IncomingHttpHeaders = {...up.headers}
        edit?.onAnswer?.(up.statusCode ?? 0, up.headers)
        edit?.headers?.(outHeaders)
        log.push(`${req.method} ${req.url} -> ${status}`)
        const send = (): void => {
          if (edit?.rewrite) {
            void readBody(up).then(b => {
              const out = edit.rewrite!(b)
              outHeaders['content-length'] = String(out.length)
              delete outHeaders['transfer-encoding']
              res.writeHead(status, outHeaders)
              res.end(out)
            })
          } else {
            res.writeHead(status, outHeaders)
            up.pipe(res)
          }
        }
        if (edit?.delayMs) setTimeout(send, edit.delayMs)
        else send()
      },
    )
    upstreamReq.on('error', () => res.destroy())
    if (body) upstreamReq.end(body)
    else req.pipe(upstreamReq)
  }

  /** HEAD of a manifest on the real registry: does the subject exist? */
  function upstreamHas(repository: string, digest: string, authorization: string | undefined): Promise<boolean> {
    const [host, port] = upstream.split(':')
    return new Promise(resolve => {
      const r = http.request(
        {
          host,
          port: Number(port),
          method: 'HEAD',
          path: `/v2/${repository}/manifests/${digest}`,
          headers: {
            Accept: `${OCI_INDEX}, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json`,
            ...(authorization ? {Authorization: authorization} : {}),
          },
        },
        res => {
          res.resume()
          resolve(res.statusCode === 200)
        },
      )
      r.on('error', () => resolve(false))
      r.end()
    })
  }

  /**
   * Referrers the real registry already holds for a subject, from its fallback tag: content seeded straight into
   * the registry behind the front is listed as a registry with the API would list it.
   */
  function upstreamFallback(
    repository: string,
    subject: string,
    authorization: string | undefined,
  ): Promise<Referrer[]> {
    const [host, port] = upstream.split(':')
    return new Promise(resolve => {
      const r = http.request(
        {
          host,
          port: Number(port),
          method: 'GET',
          path: `/v2/${repository}/manifests/sha256-${subject.slice(7)}`,
          headers: {Accept: OCI_INDEX, ...(authorization ? {Authorization: authorization} : {})},
        },
        res => {
          void readBody(res).then(b => {
            try {
              resolve(
                res.statusCode === 200
                  ? ((JSON.parse(b.toString('utf8')) as {manifests?: Referrer[]}).manifests ?? [])
                  : [],
              )
            } catch {
              resolve([])
            }
          })
        },
      )
      r.on('error', () => resolve([]))
      r.end()
    })
  }

  function referrersIndex(list: Referrer[]): string {
    return JSON.stringify({schemaVersion: 2, mediaType: OCI_INDEX, manifests: list})
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/'
    const method = req.method ?? 'GET'
    const referrersMatch = REFERRERS.exec(url)
    const manifestMatch = MANIFEST.exec(url)
    const note = (status: number): void => void log.push(`${method} ${url} -> ${status}`)

    if (referrersMatch && method === 'GET') {
      const [, repository, subject] = referrersMatch as unknown as [string, string, string]
      if (mode === 'harbor-2.7') return (note(401), answer(res, 401, ERROR('UNAUTHORIZED', 'unauthorized')))
      if (mode === 'ghcr') {
        note(303)
        return answer(res, 303, '', {
          Location: `${elsewhere!.url}/-/v2/packages/container/package/${encodeURIComponent(`${repository}/referrers/sha256`)}`,
        })
      }
      if (hasApi) {
        const known = await upstreamHas(repository, subject, req.headers.authorization)
        const list = [...(referrers.get(`${repository}@${subject}`) ?? [])]
        for (const seeded of await upstreamFallback(repository, subject, req.headers.authorization))
          if (!list.some(r => r.digest === seeded.digest)) list.push(seeded)
        if (!known) {
          if (mode === 'quay-3.12')
            return (
              note(400),
              answer(res, 400, ERROR('MANIFEST_INVALID', 'manifest invalid', {message: `unknown manifest ${subject}`}))
            )
          if (mode === 'harbor-2.10') return (note(200), answer(res, 200, '{}', {'Content-Type': OCI_INDEX}))
          return (note(200), answer(res, 200, referrersIndex([]), {'Content-Type': OCI_INDEX}))
        }
        // Harbor 2.8-2.10: artifactType is the config media type and the size is off.
        const shown =
          mode === 'harbor-2.10'
            ? list.map(r => ({...r, artifactType: 'application/vnd.oci.empty.v1+json', size: r.size + 7}))
            : list
        note(200)
        return answer(res, 200, referrersIndex(shown), {'Content-Type': OCI_INDEX})
      }
      return forward(req, res, undefined)
    }

    if (manifestMatch && method === 'PUT') {
      const [, repository] = manifestMatch as unknown as [string, string]
      const body = await readBody(req)
      if (mode === 'quay-3.11' && body.includes('application/vnd.dev.sigstore.bundle')) {
        note(400)
        return answer(
          res,
          400,
          ERROR('MANIFEST_INVALID', 'manifest invalid', {
            message:
              'The manifest config media type application/vnd.oci.empty.v1+json with layers application/vnd.dev.sigstore.bundle.v0.3+json is not allowed',
          }),
        )
      }
      if (
        body.includes('application/vnd.oci.image.layer') ||
        body.includes('application/vnd.docker.image.rootfs') ||
        body.includes('"platform"')
      )
        images.add(`sha256:${createHash('sha256').update(body).digest('hex')}`)
      if (hasApi) {
        try {
          const json = JSON.parse(body.toString('utf8')) as {
            mediaType?: string
            artifactType?: string
            config?: {mediaType?: string}
            subject?: {digest?: string}
            annotations?: Record<string, string>
          }
          if (json.subject?.digest) {
            const key = `${repository}@${json.subject.digest}`
            const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`
            const list = referrers.get(key) ?? []
            if (!list.some(r => r.digest === digest)) {
              const entry: Referrer = {
                mediaType: json.mediaType ?? String(req.headers['content-type']),
                digest,
                size: body.length,
              }
              const artifactType = json.artifactType ?? json.config?.mediaType
              if (artifactType) entry.artifactType = artifactType
              if (json.annotations) entry.annotations = json.annotations
              list.push(entry)
            }
            referrers.set(key, list)
          }
        } catch {
          // not JSON: the real registry will say so
        }
      }
      return forward(req, res, body)
    }

    if (manifestMatch && (method === 'GET' || method === 'HEAD')) {
      const [, , reference] = manifestMatch as unknown as [string, string, string]
      if (mode === 'docker-hub-429' && rateLimited > 0) {
        rateLimited--
        note(429)
        return answer(
          res,
          429,
          ERROR(
            'TOOMANYREQUESTS',
            'You have reached your unauthenticated pull rate limit. https://www.docker.com/increase-rate-limit',
          ),
          {
            'RateLimit-Limit': '100;w=21600',
            'RateLimit-Remaining': '0;w=21600',
            'Docker-RateLimit-Source': '203.0.113.7',
            'Retry-After': '1',
          },
        )
      }
      if (mode.startsWith('harbor-') && options.harborPullPolicy && method === 'GET' && images.has(reference)) {
        note(412)
        return answer(
          res,
          412,
          ERROR(
            'PROJECTPOLICYVIOLATION',
            'current image without vulnerability scanning cannot be pulled due to configured policy in \'Prevent images with vulnerability severity of "Low" or higher from running.\'',
          ),
        )
      }
      if (mode === 'registry.k8s.io') {
        if (reference.startsWith('sha256:') && canonicalOnly.has(reference))
          return (note(404), answer(res, 404, ERROR('MANIFEST_UNKNOWN', 'Failed to fetch manifest')))
        if (/\.(sig|att|sbom)$/.test(reference))
          return forward(req, res, undefined, {
            onAnswer: (status, h) =>
              status === 200 &&
              typeof h['docker-content-digest'] === 'string' &&
              canonicalOnly.add(h['docker-content-digest']),
          })
      }
      return forward(req, res, undefined)
    }

    const tags = TAGS.exec(url)
    if (tags && method === 'GET') {
      if (mode === 'registry.k8s.io')
        return forward(req, res, undefined, {
          rewrite: b => {
            const json = JSON.parse(b.toString('utf8')) as {name: string; tags: string[] | null}
            return Buffer.from(
              JSON.stringify({...json, tags: (json.tags ?? []).filter(t => !/\.(sig|att|sbom)$/.test(t))}),
            )
          },
        })
      if (mode === 'ghcr') {
        // Without `n`, pages of 100 with a Link to the next one (`?last=<tag>&n=100`); a larger `n` is honoured
        // (smg-project/smg#2348 probed both; argoproj-labs/argocd-image-updater#1660, renovatebot/renovate#36103).
        // Paged here (Distribution 2.8 answers every tag at once), in lexical order as the spec's `last` expects.
        const params = new URLSearchParams(tags[2] ?? '')
        const n = Number(params.get('n') ?? 100) || 100
        const last = params.get('last')
        let out: IncomingHttpHeaders = {}
        return forward(req, res, undefined, {
          path: `/v2/${tags[1]}/tags/list`,
          headers: h => void (out = h),
          rewrite: b => {
            const json = JSON.parse(b.toString('utf8')) as {name: string; tags: string[] | null}
            const all = [...(json.tags ?? [])].sort()
            const from = last === null ? 0 : all.findIndex(t => t > last)
            const page = from < 0 ? [] : all.slice(from, from + n)
            if (from >= 0 && from + n < all.length)
              out.link = `</v2/${tags[1]}/tags/list?last=${encodeURIComponent(page.at(-1)!)}&n=${n}>; rel="next"`
            return Buffer.from(JSON.stringify({...json, tags: page}))
          },
        })
      }
      return forward(req, res, undefined)
    }

    if (mode === 'nginx-413' && (method === 'PUT' || method === 'PATCH') && BLOB_UPLOAD.test(url)) {
      const limit = options.bodyLimit ?? 1024 * 1024
      if (Number(req.headers['content-length'] ?? 0) > limit) {
        await readBody(req)
        note(413)
        const html =
          '<html>\r\n<head><title>413 Request Entity Too Large</title></head>\r\n<body>\r\n<center><h1>413 Request Entity Too Large</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n'
        res.writeHead(413, {'Content-Type': 'text/html', 'Content-Length': String(html.length), Connection: 'close'})
        return void res.end(html)
      }
    }

    if (mode === 'chunk-min-length' && BLOB_UPLOAD.test(url)) {
      const min = options.chunkMinLength ?? 5 * 1024 * 1024
      const session = new URL(url, 'http://front').pathname
      if (method === 'POST')
        return forward(req, res, undefined, {headers: h => void (h['oci-chunk-min-length'] = String(min))})
      if (method === 'PATCH') {
        const previous = lastPatch.get(session)
        if (previous !== undefined && previous < min) {
          await readBody(req)
          note(416)
          return answer(
            res,
            416,
            ERROR('BLOB_UPLOAD_INVALID', `chunk of ${previous} bytes is under the minimum of ${min}`),
          )
        }
        lastPatch.set(session, Number(req.headers['content-length'] ?? 0))
      }
    }

    if (mode === 'upload-location') {
      // Requests that followed a moved Location on this host come back here under /upload-sessions/.
      const movedBack = url.startsWith('/upload-sessions/') ? `/v2/${url.slice('/upload-sessions/'.length)}` : undefined
      if (BLOB_UPLOAD.test(movedBack ?? url) && (method === 'POST' || method === 'PATCH'))
        return forward(req, res, undefined, {
          ...(movedBack ? {path: movedBack} : {}),
          headers: h => {
            const location = typeof h.location === 'string' ? h.location : undefined
            if (!location) return
            const path = new URL(location, 'http://front').pathname + new URL(location, 'http://front').search
            if (options.uploadLocation === 'other-path') h.location = path.replace(/^\/v2\//, '/upload-sessions/')
            else h.location = `${elsewhere!.url}${path}`
          },
        })
      if (movedBack) return forward(req, res, undefined, {path: movedBack})
    }

    if (mode === 'harbor-mount-202' && method === 'POST' && BLOB_UPLOAD.test(url)) {
      const query = new URL(url, 'http://front').searchParams
      const from = query.get('from')
      if (query.get('mount') && from) {
        if (options.mountRefusedFrom?.test(from)) {
          note(403)
          return answer(res, 403, ERROR('DENIED', 'requested access to the resource is denied'))
        }
        if (options.mountDeclinedFrom?.test(from)) {
          // The upload session a plain POST opens: what Harbor answers when it cannot mount.
          req.url = url.replace(/\?.*$/, '')
          return forward(req, res, undefined, {headers: () => void log.push(`POST ${url} -> 202`)})
        }
      }
    }

    if (BLOB_UPLOAD.test(url)) {
      const committing = method === 'PUT' && /[?&]digest=/.test(url)
      if (mode === 'ecr') {
        if (method === 'PATCH') return forward(req, res, undefined, {status: s => (s === 202 ? 201 : s)})
        if (committing && Number(req.headers['content-length'] ?? 0) > 1024) {
          await readBody(req)
          note(413)
          return answer(res, 413, ERROR('SIZE_INVALID', 'request entity too large'))
        }
      }
      if (mode === 'slow-commit' && committing)
        return forward(req, res, undefined, {delayMs: options.commitDelayMs ?? 2500})
    }
    return forward(req, res, undefined)
  }

  const server = await listen((req, res) => {
    handle(req, res).catch(() => res.destroy())
  }, options.tls)
  return {
    mode,
    host: server.host,
    url: server.url,
    ...(elsewhere ? {elsewhere: elsewhere.host} : {}),
    log,
    options,
    count: pattern => log.filter(line => pattern.test(line)).length,
    stop: async () => {
      await server.stop()
      await elsewhere?.stop()
    },
  }
}

async function listen(
  handler: http.RequestListener,
  tls?: {certFile: string; keyFile: string},
): Promise<{host: string; url: string; stop(): Promise<void>}> {
  const server = tls
    ? https.createServer({cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile)}, handler)
    : http.createServer(handler)
  server.keepAliveTimeout = 1000
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    host,
    url: `${tls ? 'https' : 'http'}://${host}`,
    stop: () =>
      new Promise<void>(resolve => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
