// One registry host as the rest of the client sees it: URLs under /v2/, and requests that carry the right
// authorization and answer a 401 challenge once (then the 401 stands, and becomes UNAUTHORIZED upstream).
import {registryEndpoint} from '../reference/reference.ts'
import {Authenticator} from './auth.ts'
import type {CredentialOptions} from './credentials.ts'
import {discard, type HttpRequest, type HttpResponse, type Transport} from './transport.ts'

export class RegistrySession {
  /** User-facing registry name (docker.io, host:port). */
  readonly registry: string
  /** host:port that serves the API. */
  readonly host: string
  readonly transport: Transport
  private readonly base: URL
  private readonly auth: Authenticator

  constructor(transport: Transport, registry: string, credentialOptions: CredentialOptions) {
    this.transport = transport
    this.registry = registry
    this.host = registryEndpoint(registry)
    this.base = transport.baseUrl(this.host)
    this.auth = new Authenticator(transport, registry, this.host, credentialOptions)
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
      sent = await this.auth.authorization(scopes)
      const headers = {...request.headers}
      if (sent) headers.Authorization = sent
      return this.transport.send({...request, headers}, what)
    }
    const response = await send()
    const replayable = request.body === undefined || Buffer.isBuffer(request.body)
    if (response.status !== 401 || !replayable) return response
    if (!(await this.auth.onUnauthorized(response, scopes, sent))) return response
    discard(response.body)
    return send()
  }
}
