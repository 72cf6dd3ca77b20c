// One registry host as the rest of the client sees it: URLs under /v2/, and requests that carry the right
// authorization and answer a 401 challenge once (then the 401 stands, and becomes UNAUTHORIZED upstream).
import {registryEndpoint} from '../reference/reference.ts'
import {Authenticator, rejectedCredentials, scopeDenied} from './auth.ts'
import type {CredentialOptions} from './credentials.ts'
import {discard, header, type HttpRequest, type HttpResponse, type Transport} from './transport.ts'

export class RegistrySession {
  /** User-facing registry name (docker.io, host:port). */
  readonly registry: string
  /** host:port that serves the API. */
  readonly host: string
  readonly transport: Transport
  private readonly base: URL
  private readonly auth: Authenticator
  /**
   * Whether this host serves the referrers API, once known: learned from a real answer (a 200 OCI index) or its
   * absence, and kept for the run so a registry that answers oddly is asked once, not per subject.
   */
  referrersApi: boolean | undefined
  /**
   * Tags that resolved to a digest in this run (`repository@digest` -> tag). registry.k8s.io serves tags from its
   * canonical backend but digests from regional ones that may not have new signatures yet (siderolabs/talos#13342):
   * a 404 by digest is retried by the tag it came from, and the bytes are checked against the digest.
   */
  readonly tagOf = new Map<string, string>()
  /** Source repositories that refused a cross-repository mount clearly (401/403/404/400/405): not asked again. */
  readonly mountRefused = new Set<string>()
  /** Manifest bytes pushed or fetched in this run, by `repository@digest`: tagging re-sends them without a GET. */
  readonly manifestBytes = new Map<string, Buffer>()
  private manifestBytesTotal = 0

  private readonly runHost: (host: string) => boolean

  /** `runHost` tells whether a host is a registry host this run was given (upload locations may move there). */
  constructor(
    transport: Transport,
    registry: string,
    credentialOptions: CredentialOptions,
    runHost: (host: string) => boolean = () => false,
  ) {
    this.transport = transport
    this.registry = registry
    this.host = registryEndpoint(registry)
    this.base = transport.baseUrl(this.host)
    this.auth = new Authenticator(transport, registry, credentialOptions)
    this.runHost = runHost
  }

  /** Whether `host` (host[:port] as in a URL) is this registry or another registry host of this run. */
  isRunHost(host: string): boolean {
    return host === this.base.host || this.runHost(host)
  }

  /** Keeps manifest bytes for tagging later, up to 64 MiB per registry (then the oldest go). */
  rememberManifest(repository: string, digest: string, bytes: Buffer): void {
    const key = `${repository}@${digest}`
    if (this.manifestBytes.has(key)) return
    this.manifestBytes.set(key, bytes)
    this.manifestBytesTotal += bytes.length
    for (const [oldest, old] of this.manifestBytes) {
      if (this.manifestBytesTotal <= 64 * 1024 * 1024) break
      this.manifestBytes.delete(oldest)
      this.manifestBytesTotal -= old.length
    }
  }

  /** A URL on this registry; `path` starts with /v2/. */
  url(path: string): URL {
    return new URL(path, this.base)
  }

  /**
   * Sends a request needing `scopes` (e.g. repository:x:pull). A streamed body cannot be sent twice, so callers
   * that stream make a small authenticated request first (upload sessions start with a POST).
   */
  async request(request: HttpRequest, scopes: string[], what: string): Promise<HttpResponse> {
    let sent: string | undefined
    const send = async (): Promise<HttpResponse> => {
      // Our credentials go to this registry's host only, never to an upload location elsewhere.
      sent = request.url.host === this.base.host ? await this.auth.authorization(scopes) : undefined
      const headers = {...request.headers}
      if (sent) headers.Authorization = sent
      return this.transport.send({...request, headers}, what)
    }
    const response = await send()
    const replayable = request.body === undefined || Buffer.isBuffer(request.body)
    if (response.status !== 401 || !replayable) return this.checkRejected(response, sent, what)
    // A 401 from a redirect target (object storage, another host) is not this registry's challenge.
    if (response.url.host !== this.base.host) return response
    if (!(await this.auth.onUnauthorized(response, scopes, sent))) return this.checkRejected(response, sent, what)
    discard(response.body)
    const retried = await send()
    await this.checkScopeDenied(retried, sent, scopes, what)
    return this.checkRejected(retried, sent, what)
  }

  /**
   * A 401 `error="insufficient_scope"` to a fresh token obtained WITH credentials: the token server accepted them
   * but did not grant the scope. "Log in" would be wrong advice; say which repository and action were refused.
   */
  private async checkScopeDenied(
    response: HttpResponse,
    sent: string | undefined,
    scopes: string[],
    what: string,
  ): Promise<void> {
    if (response.status !== 401 || !sent?.startsWith('Bearer ')) return
    const challenge = header(response.headers, 'www-authenticate') ?? ''
    if (!/error\s*=\s*"?insufficient_scope/i.test(challenge)) return
    if (!(await this.auth.hasCredentials())) return
    discard(response.body)
    throw scopeDenied(this.registry, what, /scope\s*=\s*"([^"]*)"/i.exec(challenge)?.[1]?.split(' ') ?? scopes)
  }

  /**
   * A 401 that challenges again after our credentials were sent means they were refused: say that, not "log in".
   * A 401 without a challenge (Harbor's answer on routes it does not serve) is left to the caller.
   */
  private async checkRejected(response: HttpResponse, sent: string | undefined, what: string): Promise<HttpResponse> {
    if (response.status !== 401 || !sent?.startsWith('Basic ') || !header(response.headers, 'www-authenticate'))
      return response
    if (!(await this.auth.hasCredentials())) return response
    discard(response.body)
    throw rejectedCredentials(this.registry, `${what}: HTTP 401`)
  }
}
