// A real registry for tests: Debian's Docker Distribution 2.8 (`/usr/bin/docker-registry serve CONFIG`) on a free
// loopback port, with its own temporary storage, in one of three auth setups:
//   none       plain HTTP, no auth (clients list the host as insecure)
//   basic-tls  HTTPS with a self-signed CA made here by openssl, htpasswd file (bcrypt, by bcryptjs) Basic auth
//   bearer     plain HTTP with Distribution's token auth, backed by test/support/token-server.ts
//   mtls       HTTPS that requires a client certificate signed by a client CA made here (`http.tls.clientcas`)
// It is stopped by PID (and killed if the test process exits first); its directory is removed on stop.
import {execFileSync, spawn, type ChildProcess} from 'node:child_process'
import {closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import net, {type AddressInfo} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import bcrypt from 'bcryptjs'
import {startTokenServer, type TokenServer} from './token-server.ts'

export const REGISTRY_BINARY = '/usr/bin/docker-registry'

export type RegistryAuth = 'none' | 'basic-tls' | 'bearer' | 'mtls'

export interface StartedRegistry {
  /** 127.0.0.1:PORT, what references and `insecure` lists use. */
  host: string
  /** http(s)://127.0.0.1:PORT */
  url: string
  auth: RegistryAuth
  /** PEM of the CA that signed the TLS certificate (basic-tls, mtls). */
  caFile?: string
  /** mtls: a client certificate and key the registry accepts. */
  clientCertFile?: string
  clientKeyFile?: string
  username?: string
  password?: string
  /** Hosts a client must list as insecure to talk to this setup (registry and token server on plain HTTP). */
  insecure: string[]
  tokenServer?: TokenServer
  /** The temporary directory of this registry (config, storage, certificates). */
  dir: string
  stop(): Promise<void>
}

export const TEST_USER = 'airlock'
export const TEST_PASSWORD = 'correct horse battery staple'
const TOKEN_ISSUER = 'airlock-test-issuer'
const TOKEN_SERVICE = 'airlock-test-registry'

export async function freePort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const {port} = server.address() as AddressInfo
  await new Promise<void>(resolve => server.close(() => resolve()))
  return port
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, {cwd, stdio: ['ignore', 'ignore', 'pipe']})
}

/** A CA and one leaf signed by it (RSA 2048, one day), as NAME-ca.crt, NAME.crt and NAME.key in DIR. */
function makeCaAndLeaf(
  dir: string,
  name: string,
  leaf: {caName: string; subject: string; extensions: string[]},
): {caFile: string; certFile: string; keyFile: string} {
  const ca = [`${name}-ca.crt`, `${name}-ca.key`]
  const x509 = ['-days', '1', '-subj']
  openssl(
    [
      ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', ca[1]!, '-out', ca[0]!, ...x509, leaf.caName],
      ...['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
    ],
    dir,
  )
  openssl(
    ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', leaf.subject],
    dir,
  )
  writeFileSync(join(dir, `${name}.ext`), leaf.extensions.join('\n') + '\n')
  openssl(
    [
      ...['x509', '-req', '-in', `${name}.csr`, '-CA', ca[0]!, '-CAkey', ca[1]!, '-CAcreateserial'],
      ...['-out', `${name}.crt`, '-days', '1', '-sha256', '-extfile', `${name}.ext`],
    ],
    dir,
  )
  return {caFile: join(dir, ca[0]!), certFile: join(dir, `${name}.crt`), keyFile: join(dir, `${name}.key`)}
}

/**
 * Makes a CA and one leaf certificate signed by it (RSA 2048, one day). The leaf has SAN IP 127.0.0.1 and
 * localhost for TLS, and keyUsage digitalSignature so it can also sign tokens.
 */
export function makeCertificates(dir: string, name: string): {caFile: string; certFile: string; keyFile: string} {
  return makeCaAndLeaf(dir, name, {
    caName: `/CN=airlock test ${name} CA`,
    subject: '/CN=127.0.0.1',
    extensions: [
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ],
  })
}

/** A client CA and one client certificate (extendedKeyUsage clientAuth) signed by it, for mTLS. */
export function makeClientCertificate(dir: string, name: string): {caFile: string; certFile: string; keyFile: string} {
  return makeCaAndLeaf(dir, name, {
    caName: `/CN=airlock test ${name} client CA`,
    subject: '/CN=airlock test client',
    extensions: [
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=clientAuth',
    ],
  })
}

/** Polls GET /v2/ until the registry answers at all (200 or 401 both mean it is up). */
async function waitUntilServing(
  url: string,
  child: ChildProcess,
  output: () => string,
  client?: {cert: Buffer; key: Buffer},
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited with ${child.exitCode}: ${output()}`)
    const status = await new Promise<number | undefined>(resolve => {
      const lib = url.startsWith('https:') ? https : http
      const req = lib.get(`${url}/v2/`, {rejectUnauthorized: false, agent: false, ...(client ?? {})}, res => {
        res.resume()
        resolve(res.statusCode)
      })
      req.on('error', () => resolve(undefined))
      req.setTimeout(1000, () => req.destroy())
    })
    if (status === 200 || status === 401) return
    if (Date.now() > deadline)
      throw new Error(`docker-registry did not answer on ${url} within ${timeoutMs} ms: ${output()}`)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}

export async function startRegistry(options: {auth?: RegistryAuth} = {}): Promise<StartedRegistry> {
  const auth = options.auth ?? 'none'
  const dir = mkdtempSync(join(tmpdir(), 'airlock-registry-'))
  const port = await freePort()
  const host = `127.0.0.1:${port}`
  let url = `http://${host}`
  const insecure = [host]
  const extra: Partial<StartedRegistry> = {}
  const config: string[] = [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${join(dir, 'storage')}`,
    '  delete:',
    '    enabled: true',
    '  maintenance:',
    '    uploadpurging:',
    '      enabled: false',
    'http:',
    `  addr: ${host}`,
    `  secret: ${Math.random().toString(36).slice(2)}`,
  ]
  let tokenServer: TokenServer | undefined
  try {
    if (auth === 'basic-tls') {
      const tls = makeCertificates(dir, 'tls')
      // bcrypt, the only scheme Distribution's htpasswd accepts; made here rather than by apache2-utils' htpasswd.
      writeFileSync(join(dir, 'htpasswd'), `${TEST_USER}:${bcrypt.hashSync(TEST_PASSWORD, 10)}\n`)
      config.push('  tls:', `    certificate: ${tls.certFile}`, `    key: ${tls.keyFile}`)
      config.push('auth:', '  htpasswd:', '    realm: airlock-test', `    path: ${join(dir, 'htpasswd')}`)
      url = `https://${host}`
      insecure.length = 0
      Object.assign(extra, {caFile: tls.caFile, username: TEST_USER, password: TEST_PASSWORD})
    } else if (auth === 'mtls') {
      const tls = makeCertificates(dir, 'tls')
      const client = makeClientCertificate(dir, 'client')
      config.push(
        '  tls:',
        `    certificate: ${tls.certFile}`,
        `    key: ${tls.keyFile}`,
        '    clientcas:',
        `      - ${client.caFile}`,
      )
      url = `https://${host}`
      insecure.length = 0
      Object.assign(extra, {caFile: tls.caFile, clientCertFile: client.certFile, clientKeyFile: client.keyFile})
    } else if (auth === 'bearer') {
      const signing = makeCertificates(dir, 'token')
      tokenServer = await startTokenServer({
        keyFile: signing.keyFile,
        certFile: signing.certFile,
        issuer: TOKEN_ISSUER,
        service: TOKEN_SERVICE,
        username: TEST_USER,
        password: TEST_PASSWORD,
      })
      config.push(
        'auth:',
        '  token:',
        `    realm: ${tokenServer.realm}`,
        `    service: ${TOKEN_SERVICE}`,
        `    issuer: ${TOKEN_ISSUER}`,
        `    rootcertbundle: ${signing.caFile}`,
      )
      insecure.push(tokenServer.host)
      Object.assign(extra, {username: TEST_USER, password: TEST_PASSWORD, tokenServer})
    }
    const configFile = join(dir, 'config.yml')
    writeFileSync(configFile, config.join('\n') + '\n')

    // The registry's log goes to a file, not a pipe: a test that blocks its event loop (spawnSync of the CLI) would
    // otherwise stop draining the pipe, and once 64 KiB of error-level lines (one per 404) fill it, the registry
    // blocks on its next log write and every request hangs.
    const logFile = join(dir, 'registry.log')
    const logFd = openSync(logFile, 'w')
    const child = spawn(REGISTRY_BINARY, ['serve', configFile], {stdio: ['ignore', 'ignore', logFd]})
    closeSync(logFd)
    // Never what keeps a test process alive: a file whose `before` hook failed after starting registries (and so
    // never reached `after`) must still end; the exit handler below then kills them.
    child.unref()
    const tail = (): string => {
      try {
        return readFileSync(logFile, 'utf8').slice(-20_000)
      } catch {
        return ''
      }
    }
    const killOnExit = (): void => {
      if (child.exitCode === null) child.kill('SIGKILL')
    }
    process.on('exit', killOnExit)
    try {
      const client = extra.clientCertFile
        ? {cert: readFileSync(extra.clientCertFile), key: readFileSync(extra.clientKeyFile!)}
        : undefined
      await waitUntilServing(url, child, () => tail().trim().split('\n').slice(-3).join(' | '), client)
    } catch (error) {
      killOnExit()
      throw error
    }

    const stop = async (): Promise<void> => {
      process.off('exit', killOnExit)
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>(resolve => child.once('exit', () => resolve()))
        child.kill('SIGTERM')
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
        await exited
        clearTimeout(timer)
      }
      await tokenServer?.stop()
      rmSync(dir, {recursive: true, force: true})
    }
    return {host, url, auth, insecure, dir, stop, ...extra}
  } catch (error) {
    await tokenServer?.stop()
    rmSync(dir, {recursive: true, force: true})
    throw error
  }
}
