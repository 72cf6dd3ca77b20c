// HTTP for the registry client, on node:http/https so that bodies stay streams, TLS trust can be extended (CA file,
// certs.d, client certificates: src/registry/tls.ts), proxies come from the environment as for skopeo and cosign
// (HTTPS_PROXY, HTTP_PROXY, NO_PROXY in either case, through Node's own agent support), and redirects are followed
// by rules we choose (S3-style blob redirects must not carry our credentials).
// Retries live here too: 5xx, 429 (honouring Retry-After) and broken connections are retried with backoff, but
// only for requests whose body can be sent again.
import type {Agent as HttpAgent, IncomingHttpHeaders, IncomingMessage} from 'node:http'
import type {Agent as HttpsAgent} from 'node:https'
import type {Readable, Writable} from 'node:stream'
import {AirlockError} from '../errors.ts'
import {http, https} from '../util/http-modules.ts'
import {backoffDelay, retryAfterMs, sleep} from './backoff.ts'
import {isRetryableNetworkError, isRetryableStatus, networkError} from './errors.ts'
import {checkTlsFiles, hostTls, type TlsOptions} from './tls.ts'

export interface TransportOptions extends TlsOptions {
  /** host:port names that are spoken to over plain HTTP. Everything else is HTTPS, always. */
  insecure?: string[]
  /** Environment the proxy settings are read from (default process.env). */
  proxyEnv?: NodeJS.ProcessEnv
  /**
   * How long the registry may take to answer once a committing request's body is sent (the final `PUT ?digest=`:
   * S3-backed registries copy the blob before they answer). Default: ten times the idle timeout, at least 10 min.
   */
  commitTimeoutMs?: number
  /** Attempts after the first one for transient failures (default 4). */
  retries?: number
  /** Idle socket timeout in milliseconds (default 60 s). */
  timeoutMs?: number
  userAgent?: string
  /** First backoff step in milliseconds (default 250); tests make it small. */
  retryBaseMs?: number
  /** Upper bound for any single wait, backoff or Retry-After (default 30 s). */
  maxRetryDelayMs?: number
}

/** A request body that writes itself into the request and settles when all of it is written (hashed-body.ts). */
export interface BodyWriter {
  writeTo(request: Writable): Promise<void>
}

function isBodyWriter(body: unknown): body is BodyWriter {
  return typeof (body as BodyWriter | undefined)?.writeTo === 'function'
}

export interface HttpRequest {
  method: string
  url: URL
  headers?: Record<string, string>
  /** A Buffer can be re-sent on retry; a stream or a body writer cannot, so they get exactly one attempt. */
  body?: Buffer | Readable | BodyWriter
  /** Follow 3xx redirects (default: for GET and HEAD). */
  followRedirects?: boolean
  /** The request commits content: once its body is sent, wait up to the commit timeout for the answer. */
  commit?: boolean
}

export interface HttpResponse {
  status: number
  headers: IncomingHttpHeaders
  /** The URL that answered, after redirects: relative Location headers resolve against it. */
  url: URL
  body: IncomingMessage
}

const MAX_REDIRECTS = 5
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308])

export function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name.toLowerCase()]
  return Array.isArray(value) ? value[0] : value
}

/** Discards a response body we do not need, so the connection can be reused. */
export function discard(body: IncomingMessage): void {
  body.on('error', () => {})
  body.resume()
}

/**
 * `--insecure-registry` as users write it: `host:port`, `host`, or a URL `http://host:port[/]` (normalized to
 * host:port). An https:// URL or a path is refused: it cannot mean "speak plain HTTP to this host".
 */
export function normalizeInsecureHost(value: string): string {
  const trimmed = value.trim()
  let host = trimmed
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(trimmed)
  if (scheme) {
    if (scheme[1]!.toLowerCase() !== 'http')
      throw new AirlockError(
        'USAGE',
        `--insecure-registry ${value}: only http:// or a bare host:port can name a plain-HTTP registry`,
        {hint: 'an https:// registry is not insecure: drop it from --insecure-registry'},
      )
    host = trimmed.slice(scheme[0].length).replace(/\/+$/, '')
  }
  if (!/^[a-z0-9.-]+(?::\d{1,5})?$|^\[[0-9a-f:.]+\](?::\d{1,5})?$/i.test(host))
    throw new AirlockError('USAGE', `--insecure-registry ${JSON.stringify(value)} is not a host or host:port`, {
      hint: 'write it as host:port, e.g. --insecure-registry registry.local:5000',
    })
  return host.toLowerCase()
}

export class Transport {
  private readonly insecure: Set<string>
  private readonly retries: number
  private readonly timeoutMs: number
  private readonly commitTimeoutMs: number
  private readonly userAgent: string
  private readonly retryBaseMs: number
  private readonly maxRetryDelayMs: number
  private readonly tls: TlsOptions
  private readonly proxyEnv: NodeJS.ProcessEnv
  private readonly httpAgent: HttpAgent
  /** One agent per HTTPS host: certs.d gives each host its own trust and client certificate. */
  private readonly httpsAgents = new Map<string, HttpsAgent>()

  constructor(options: TransportOptions = {}) {
    this.insecure = new Set((options.insecure ?? []).map(normalizeInsecureHost))
    this.retries = options.retries ?? 4
    this.timeoutMs = options.timeoutMs ?? 60_000
    this.commitTimeoutMs = options.commitTimeoutMs ?? Math.max(10 * this.timeoutMs, 600_000)
    this.userAgent = options.userAgent ?? 'airlock'
    this.retryBaseMs = options.retryBaseMs ?? 250
    this.maxRetryDelayMs = options.maxRetryDelayMs ?? 30_000
    this.tls = {
      caFile: options.caFile,
      clientCert: options.clientCert,
      clientKey: options.clientKey,
      certsDirs: options.certsDirs,
    }
    this.proxyEnv = options.proxyEnv ?? process.env
    this.httpAgent = new http.Agent({keepAlive: true, ...proxyOption(this.proxyEnv)})
    // Read the flags' files now: a missing CA file or a half client certificate is a usage error before any request.
    checkTlsFiles(this.tls)
  }

  private httpsAgent(host: string): HttpsAgent {
    let agent = this.httpsAgents.get(host)
    if (!agent) {
      const material = hostTls(host, this.tls)
      agent = new https.Agent({
        keepAlive: true,
        ...proxyOption(this.proxyEnv),
        ca: material.ca,
        ...(material.cert ? {cert: material.cert, key: material.key} : {}),
      })
      this.httpsAgents.set(host, agent)
    }
    return agent
  }

  /** The idle timeout in milliseconds, for messages. */
  get idleTimeoutMs(): number {
    return this.timeoutMs
  }

  /** Base URL for a registry host: http:// only for hosts the user listed as insecure. */
  baseUrl(host: string): URL {
    return new URL(`${this.isInsecure(host) ? 'http' : 'https'}://${host}`)
  }

  isInsecure(host: string): boolean {
    return this.insecure.has(host.toLowerCase())
  }

  /** Sends a request, retrying transient failures and following redirects; returns whatever status came last. */
  async send(request: HttpRequest, what: string): Promise<HttpResponse> {
    const replayable = request.body === undefined || Buffer.isBuffer(request.body)
    const attempts = replayable ? this.retries + 1 : 1
    for (let attempt = 0; ; attempt++) {
      let response: HttpResponse
      try {
        response = await this.followRedirects(request, what)
      } catch (error) {
        if (error instanceof AirlockError) throw error
        if (attempt + 1 < attempts && isRetryableNetworkError(error)) {
          await sleep(backoffDelay(attempt, this.retryBaseMs, this.maxRetryDelayMs))
          continue
        }
        throw networkError(what, error, {
          host: request.url.host,
          insecure: this.isInsecure(request.url.host),
          timeoutMs: this.timeoutMs,
        })
      }
      if (attempt + 1 < attempts && isRetryableStatus(response.status)) {
        const wait =
          retryAfterMs(response.headers['retry-after'], this.maxRetryDelayMs) ??
          backoffDelay(attempt, this.retryBaseMs, this.maxRetryDelayMs)
        discard(response.body)
        await sleep(wait)
        continue
      }
      return response
    }
  }

  private async followRedirects(request: HttpRequest, what: string): Promise<HttpResponse> {
    const follow = request.followRedirects ?? (request.method === 'GET' || request.method === 'HEAD')
    let current = request
    for (let hop = 0; ; hop++) {
      const response = await this.once(current)
      const location = header(response.headers, 'location')
      if (!follow || !REDIRECT_STATUSES.has(response.status) || !location) return response
      discard(response.body)
      if (hop >= MAX_REDIRECTS)
        throw new AirlockError('REGISTRY_ERROR', `${what}: more than ${MAX_REDIRECTS} redirects`)
      const next = new URL(location, response.url)
      if (next.protocol !== 'https:' && !(next.protocol === 'http:' && this.isInsecure(next.host)))
        throw new AirlockError(
          'REGISTRY_ERROR',
          `${what}: refusing redirect to ${next.protocol}//${next.host} (not HTTPS and not listed as insecure)`,
        )
      const headers = {...current.headers}
      // Credentials are for the registry only: a redirect to object storage carries its own signed URL.
      if (next.host !== current.url.host) delete headers.Authorization
      const method = response.status === 303 && current.method !== 'HEAD' ? 'GET' : current.method
      current = {...current, method, url: next, headers}
    }
  }

  private once(request: HttpRequest): Promise<HttpResponse> {
    return new Promise((resolve, reject) => {
      const isHttps = request.url.protocol === 'https:'
      if (!isHttps && !this.isInsecure(request.url.host)) {
        reject(
          new AirlockError(
            'REGISTRY_ERROR',
            `refusing plain HTTP to ${request.url.host}: it is not listed as insecure`,
          ),
        )
        return
      }
      const headers: Record<string, string> = {'User-Agent': this.userAgent, ...request.headers}
      if (Buffer.isBuffer(request.body)) headers['Content-Length'] = String(request.body.length)
      const lib = isHttps ? https : http
      const req = lib.request(
        request.url,
        {method: request.method, headers, agent: isHttps ? this.httpsAgent(request.url.host) : this.httpAgent},
        res => {
          resolve({status: res.statusCode ?? 0, headers: res.headers, url: request.url, body: res})
        },
      )
      let limit = this.timeoutMs
      const onTimeout = (): void => {
        req.destroy(
          Object.assign(new Error(`${request.url.host} sent nothing for ${formatSeconds(limit)}`), {
            code: 'ETIMEDOUT',
            timeoutMs: limit,
          }),
        )
      }
      req.setTimeout(limit, onTimeout)
      // Once a committing request's body is out, the registry may be busy copying it to object storage: silence
      // then is work, not a stall, and gets the longer commit timeout.
      if (request.commit)
        req.once('finish', () => {
          limit = this.commitTimeoutMs
          req.setTimeout(limit, onTimeout)
        })
      req.on('error', reject)
      const body = request.body
      if (body === undefined) req.end()
      else if (Buffer.isBuffer(body)) req.end(body)
      else if (isBodyWriter(body))
        body.writeTo(req).then(
          () => req.end(),
          (error: Error) => req.destroy(error),
        )
      else {
        // A body that already failed (e.g. its digest check fired while the upload session was being opened)
        // emits no further events: without this the request would wait for the socket timeout.
        if (body.destroyed || body.errored) {
          req.destroy(body.errored ?? new Error('request body was closed before it was sent'))
          return
        }
        body.on('error', error => req.destroy(error))
        body.pipe(req)
      }
    })
  }

  close(): void {
    this.httpAgent.destroy()
    for (const agent of this.httpsAgents.values()) agent.destroy()
  }
}

/**
 * Node's agents read HTTPS_PROXY/HTTP_PROXY/NO_PROXY (either case) from `proxyEnv` and tunnel with CONNECT
 * (Node >= 22.21; not yet in @types/node, hence the loose type).
 */
function proxyOption(env: NodeJS.ProcessEnv): object {
  return {proxyEnv: env}
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`
}
