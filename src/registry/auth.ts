// Registry authentication: learn what the registry wants from its 401 challenge (WWW-Authenticate), then send
// Basic credentials, or exchange them for a Bearer token scoped to exactly the repositories and actions needed.
// Tokens are cached per scope set until shortly before they expire; a registry that wants no auth costs nothing.
import {AirlockError} from '../errors.ts'
import {findCredentials, type CredentialOptions, type Credentials} from './credentials.ts'
import {readLimited} from './body.ts'
import {readErrorBody, statusError} from './errors.ts'
import {header, type HttpResponse, type Transport} from './transport.ts'

export interface Challenge {
  /** Lowercased scheme: 'basic', 'bearer', ... */
  scheme: string
  params: Record<string, string>
}

/** Parses WWW-Authenticate: `Bearer realm="https://a/token",service="reg",scope="repository:x:pull,push"`. */
export function parseChallenges(value: string): Challenge[] {
  const challenges: Challenge[] = []
  let i = 0
  const skip = (re: RegExp): void => {
    while (i < value.length && re.test(value[i]!)) i++
  }
  while (i < value.length) {
    skip(/[\s,]/)
    const schemeStart = i
    skip(/[^\s,=]/)
    const scheme = value.slice(schemeStart, i).toLowerCase()
    if (!scheme) break
    const params: Record<string, string> = {}
    // Parameters until the next token that is not followed by '=' (that is the next challenge's scheme).
    for (;;) {
      skip(/[\s,]/)
      const keyStart = i
      skip(/[^\s,=]/)
      const key = value.slice(keyStart, i).toLowerCase()
      skip(/\s/)
      if (!key || value[i] !== '=') {
        i = keyStart
        break
      }
      i++
      skip(/\s/)
      let param = ''
      if (value[i] === '"') {
        i++
        while (i < value.length && value[i] !== '"') {
          if (value[i] === '\\' && i + 1 < value.length) i++
          param += value[i]
          i++
        }
        i++
      } else {
        const start = i
        skip(/[^\s,]/)
        param = value.slice(start, i)
      }
      params[key] = param
    }
    challenges.push({scheme, params})
    if (i === schemeStart) break
  }
  return challenges
}

export function repositoryScope(repository: string, actions: 'pull' | 'pull,push'): string {
  return `repository:${repository}:${actions}`
}

interface CachedToken {
  value: string
  expiresAt: number
}

/** Tokens are refreshed this long before their stated expiry so a request never carries one that just ran out. */
const EXPIRY_MARGIN_MS = 10_000
const DEFAULT_TOKEN_LIFETIME_S = 60
const MAX_TOKEN_RESPONSE = 1024 * 1024

/** Authentication state for one registry host. */
export class Authenticator {
  private readonly transport: Transport
  private readonly registry: string
  private readonly credentialOptions: CredentialOptions
  private credentials: Promise<Credentials | undefined> | undefined
  private challenge: Challenge | undefined
  private readonly tokens = new Map<string, CachedToken>()
  private readonly pending = new Map<string, Promise<CachedToken>>()
  private readonly extraScopes = new Map<string, string[]>()

  /** `registry` is the user-facing name credentials are stored under (where requests go is the transport's concern). */
  constructor(transport: Transport, registry: string, credentialOptions: CredentialOptions) {
    this.transport = transport
    this.registry = registry
    this.credentialOptions = credentialOptions
  }

  /** Whether we hold credentials for this registry (they were offered when a 401 still comes back). */
  async hasCredentials(): Promise<boolean> {
    return (await this.getCredentials()) !== undefined
  }

  private getCredentials(): Promise<Credentials | undefined> {
    this.credentials ??= findCredentials(this.registry, this.credentialOptions)
    return this.credentials
  }

  /** The Authorization header to send for a request needing `scopes`, if the registry has asked for one. */
  async authorization(scopes: string[]): Promise<string | undefined> {
    const challenge = this.challenge
    if (!challenge) return undefined
    if (challenge.scheme === 'basic') {
      const credentials = await this.getCredentials()
      return credentials?.kind === 'basic' ? basicHeader(credentials.username, credentials.password) : undefined
    }
    if (challenge.scheme === 'bearer') return `Bearer ${(await this.token(scopes)).value}`
    return undefined
  }

  /**
   * Learns from a 401 answer. Returns true when a retry with new authorization can succeed, false when it cannot
   * (no credentials for Basic, or Basic credentials already sent, or an unknown scheme). `sent` is the
   * Authorization header the refused request carried.
   */
  async onUnauthorized(response: HttpResponse, scopes: string[], sent: string | undefined): Promise<boolean> {
    const value = header(response.headers, 'www-authenticate')
    if (!value) return false
    const challenges = parseChallenges(value)
    const challenge = challenges.find(c => c.scheme === 'bearer') ?? challenges.find(c => c.scheme === 'basic')
    if (!challenge) return false
    if (challenge.scheme === 'basic') {
      this.challenge = challenge
      // Worth a retry only if we have credentials and did not send them already (concurrent first requests all
      // meet the challenge; each of them retries once).
      const credentials = await this.getCredentials()
      return credentials?.kind === 'basic' && sent !== basicHeader(credentials.username, credentials.password)
    }
    if (!challenge.params.realm) return false
    this.challenge = challenge
    // The registry may name scopes beyond the ones we asked for (e.g. the source repository of a mount): remember
    // them for requests with these scopes, and drop the token it just refused.
    const requested = scopeKey(scopes)
    const named = (challenge.params.scope ?? '').split(' ').filter(s => s.length > 0 && !scopes.includes(s))
    if (named.length > 0) this.extraScopes.set(requested, named)
    this.tokens.delete(scopeKey(this.wantedScopes(scopes)))
    return true
  }

  private wantedScopes(scopes: string[]): string[] {
    return [...new Set([...scopes, ...(this.extraScopes.get(scopeKey(scopes)) ?? [])])]
  }

  private async token(scopes: string[]): Promise<CachedToken> {
    const challenge = this.challenge!
    const wanted = this.wantedScopes(scopes)
    const key = scopeKey(wanted)
    const cached = this.tokens.get(key)
    if (cached && cached.expiresAt - EXPIRY_MARGIN_MS > Date.now()) return cached
    let pending = this.pending.get(key)
    if (!pending) {
      pending = this.fetchToken(challenge, wanted).finally(() => this.pending.delete(key))
      this.pending.set(key, pending)
    }
    const token = await pending
    this.tokens.set(key, token)
    return token
  }

  private async fetchToken(challenge: Challenge, scopes: string[]): Promise<CachedToken> {
    const realm = new URL(challenge.params.realm!)
    const credentials = await this.getCredentials()
    const what = `token for ${this.registry} from ${realm.host}`
    let response: HttpResponse
    if (credentials?.kind === 'identity-token') {
      // OAuth2 refresh-token grant, as docker does with an identity token.
      const form = new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: credentials.token,
        client_id: 'airlock',
      })
      if (challenge.params.service) form.set('service', challenge.params.service)
      if (scopes.length > 0) form.set('scope', scopes.join(' '))
      response = await this.transport.send(
        {
          method: 'POST',
          url: realm,
          headers: {'Content-Type': 'application/x-www-form-urlencoded'},
          body: Buffer.from(form.toString()),
        },
        what,
      )
    } else {
      if (challenge.params.service) realm.searchParams.set('service', challenge.params.service)
      for (const scope of scopes) realm.searchParams.append('scope', scope)
      const headers: Record<string, string> = {}
      if (credentials?.kind === 'basic') headers.Authorization = basicHeader(credentials.username, credentials.password)
      response = await this.transport.send({method: 'GET', url: realm, headers}, what)
    }
    if (response.status !== 200) {
      const error = statusError(`get ${what}`, response.status, await readErrorBody(response.body), this.registry)
      if (error.code === 'UNAUTHORIZED' && !credentials)
        throw new AirlockError('UNAUTHORIZED', error.message, {
          hint: `${this.registry} needs credentials: docker login ${this.registry}, or --username/--password-stdin`,
          details: error.details ?? {},
        })
      if (response.status === 401 && credentials) throw rejectedCredentials(this.registry, error.message)
      throw error
    }
    const body = (await readLimited(response.body, MAX_TOKEN_RESPONSE, what)).toString('utf8')
    let json: {token?: unknown; access_token?: unknown; expires_in?: unknown}
    try {
      json = JSON.parse(body) as typeof json
    } catch {
      throw new AirlockError('REGISTRY_ERROR', `${what}: the answer is not JSON`)
    }
    const value =
      typeof json.token === 'string' && json.token
        ? json.token
        : typeof json.access_token === 'string'
          ? json.access_token
          : ''
    if (!value) throw new AirlockError('REGISTRY_ERROR', `${what}: the answer has no token`)
    const lifetime =
      typeof json.expires_in === 'number' && json.expires_in > 0 ? json.expires_in : DEFAULT_TOKEN_LIFETIME_S
    return {value, expiresAt: Date.now() + lifetime * 1000}
  }
}

export function rejectedCredentials(registry: string, message: string): AirlockError {
  return new AirlockError('UNAUTHORIZED', `${message}: ${registry} rejected the credentials`, {
    hint: `check the username and password for ${registry} (--username/--password-stdin, --authfile, docker login ${registry})`,
    details: {status: 401, retryable: false, registry},
  })
}

/**
 * The token server accepted the credentials but left out a scope (`repository:NAME:ACTIONS`): the account lacks
 * permission for that repository and action. Logging in again would not help.
 */
export function scopeDenied(registry: string, what: string, scopes: string[]): AirlockError {
  const wanted = scopes
    .map(scope => /^repository:(.+):([a-z,*]+)$/.exec(scope))
    .filter((m): m is RegExpExecArray => m !== null)
    .map(m => {
      const actions = m[2]!.split(',')
      if (actions.includes('push')) return `push to ${m[1]}`
      return actions.includes('pull') ? `pull from ${m[1]}` : `${actions.join('/')} on ${m[1]}`
    })
  const action = wanted.length > 0 ? wanted.join(' and ') : 'this request'
  return new AirlockError(
    'UNAUTHORIZED',
    `${what}: HTTP 401 (insufficient_scope): the credentials for ${registry} were accepted but lack permission to ${action}`,
    {
      hint: `ask the administrator of ${registry} to give this account permission to ${action}, or use credentials that have it`,
      details: {status: 401, retryable: false, registry, insufficientScope: true, scopes},
    },
  )
}

function basicHeader(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`
}

function scopeKey(scopes: string[]): string {
  return [...scopes].sort().join(' ')
}
