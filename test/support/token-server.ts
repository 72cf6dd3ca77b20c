// A Docker token service for tests: node http on loopback that checks a fixed user/password (Basic) and answers
// with an RS256 JWT that Distribution's `token` auth accepts: the signing certificate travels in the `x5c` header
// and chains to the `rootcertbundle` the registry is configured with; iss/aud match the registry config, and the
// `access` claim grants exactly the scopes asked for.
import {createPrivateKey, randomBytes, sign, X509Certificate} from 'node:crypto'
import {readFileSync} from 'node:fs'
import http from 'node:http'
import type {AddressInfo} from 'node:net'

export interface TokenServerOptions {
  /** PEM of the signing key and its certificate (keyUsage digitalSignature). */
  keyFile: string
  certFile: string
  issuer: string
  service: string
  username: string
  password: string
}

export interface TokenServer {
  /** http://127.0.0.1:PORT/token, the realm to configure in the registry. */
  realm: string
  host: string
  /** Token requests served (successful or not), for asserting caching. */
  requests: Array<{scopes: string[]; user: string | undefined}>
  /**
   * Scopes the server refuses to grant: `repository:NAME` (every action) or `repository:NAME:ACTION`. Like Docker's
   * token services (docker/distribution registry/auth/token, Harbor's core token service), a request is still
   * answered 200 with a token whose `access` claim simply omits what was denied; the registry then refuses the
   * operation with 401 `insufficient_scope`.
   */
  denied: Set<string>
  stop(): Promise<void>
}

function base64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url')
}

/** Parses `repository:name:pull,push` (names have no ':' but may hold '/'). */
function parseScope(scope: string): {type: string; name: string; actions: string[]} | undefined {
  const first = scope.indexOf(':')
  const last = scope.lastIndexOf(':')
  if (first <= 0 || last === first) return undefined
  return {
    type: scope.slice(0, first),
    name: scope.slice(first + 1, last),
    actions: scope
      .slice(last + 1)
      .split(',')
      .filter(Boolean),
  }
}

export async function startTokenServer(options: TokenServerOptions): Promise<TokenServer> {
  const key = createPrivateKey(readFileSync(options.keyFile))
  const certDer = new X509Certificate(readFileSync(options.certFile)).raw
  const requests: TokenServer['requests'] = []
  const denied = new Set<string>()
  const grant = (scope: {type: string; name: string; actions: string[]}) => ({
    ...scope,
    actions: denied.has(`${scope.type}:${scope.name}`)
      ? []
      : scope.actions.filter(a => !denied.has(`${scope.type}:${scope.name}:${a}`)),
  })

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost')
    const scopes = url.searchParams
      .getAll('scope')
      .flatMap(s => s.split(' '))
      .filter(Boolean)
    const authorization = req.headers.authorization ?? ''
    const basic = /^Basic (.+)$/i.exec(authorization)
    const [user, password] = basic ? Buffer.from(basic[1]!, 'base64').toString('utf8').split(/:(.*)/s) : []
    requests.push({scopes, user})
    req.resume()
    if (url.pathname !== '/token') {
      res.writeHead(404).end()
      return
    }
    if (user !== options.username || password !== options.password) {
      res.writeHead(401, {'Content-Type': 'application/json', 'WWW-Authenticate': 'Basic realm="token"'})
      res.end(JSON.stringify({errors: [{code: 'UNAUTHORIZED', message: 'invalid username or password'}]}))
      return
    }
    const now = Math.floor(Date.now() / 1000)
    const claims = {
      iss: options.issuer,
      sub: user,
      aud: url.searchParams.get('service') ?? options.service,
      exp: now + 300,
      nbf: now - 10,
      iat: now,
      jti: randomBytes(16).toString('hex'),
      access: scopes
        .map(parseScope)
        .filter(s => s !== undefined)
        .map(grant)
        .filter(s => s.actions.length > 0),
    }
    const header = {typ: 'JWT', alg: 'RS256', x5c: [certDer.toString('base64')]}
    const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`
    const signature = sign('sha256', Buffer.from(signingInput), key)
    const token = `${signingInput}.${base64url(signature)}`
    res.writeHead(200, {'Content-Type': 'application/json'})
    res.end(JSON.stringify({token, access_token: token, expires_in: 300, issued_at: new Date().toISOString()}))
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  server.unref() // a failed `before` hook must not keep the test process alive
  const {port} = server.address() as AddressInfo
  return {
    realm: `http://127.0.0.1:${port}/token`,
    host: `127.0.0.1:${port}`,
    requests,
    denied,
    stop: () =>
      new Promise<void>(resolve => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
