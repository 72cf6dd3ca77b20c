// TLS material per registry host, the way operators already configure it for docker, containerd and podman:
// - the trust store is ADDED to, never replaced: Node's defaults (its bundled roots plus NODE_EXTRA_CA_CERTS), the
//   operating system's store, `--ca-file`, and the host's certs.d directory;
// - a client certificate (mTLS) from `--client-cert/--client-key`, or from certs.d;
// - `certs.d/<host>/` (containers and docker convention): `*.crt` are CA certificates, `*.cert` + `*.key` with the
//   same base name are a client certificate pair (docker's `client.cert` / `client.key`).
import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import tls from 'node:tls'
import {AirlockError} from '../errors.ts'

export interface TlsOptions {
  /** PEM file of CA certificates added to the trust store for every registry. */
  caFile?: string | undefined
  /** PEM client certificate and key (mTLS) for every registry that asks for one. */
  clientCert?: string | undefined
  clientKey?: string | undefined
  /**
   * certs.d roots searched for `<host>/` (host:port as written in the reference), first match wins per file kind.
   * Default: $AIRLOCK_CERTS_D (colon-separated, for tests and unusual layouts), else /etc/containers/certs.d and
   * /etc/docker/certs.d.
   */
  certsDirs?: string[] | undefined
}

export interface HostTls {
  ca: string[]
  cert?: string
  key?: string
  /** Where the material came from, for messages. */
  sources: string[]
}

export const DEFAULT_CERTS_DIRS = ['/etc/containers/certs.d', '/etc/docker/certs.d']

export function certsDirs(options: TlsOptions): string[] {
  if (options.certsDirs) return options.certsDirs
  const fromEnv = process.env.AIRLOCK_CERTS_D
  if (fromEnv !== undefined) return fromEnv.split(':').filter(d => d.length > 0)
  return DEFAULT_CERTS_DIRS
}

function readPem(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (error) {
    throw new AirlockError('IO_ERROR', `cannot read ${what} ${path}: ${(error as Error).message}`, {cause: error})
  }
}

let base: string[] | undefined

/** Node's default roots (bundled + NODE_EXTRA_CA_CERTS) and the system store; either may be absent on odd builds. */
function baseTrust(): string[] {
  if (base) return base
  const roots = new Set<string>()
  for (const kind of ['default', 'system'] as const) {
    try {
      for (const pem of tls.getCACertificates(kind)) roots.add(pem)
    } catch {
      // an unavailable store adds nothing
    }
  }
  if (roots.size === 0) for (const pem of tls.rootCertificates) roots.add(pem)
  base = [...roots]
  return base
}

/** What one certs.d/<host> directory holds; undefined when there is no such directory. */
function readCertsDir(dir: string): {ca: string[]; cert?: string; key?: string; files: string[]} | undefined {
  let names: string[]
  try {
    names = readdirSync(dir).sort()
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined
    throw new AirlockError('IO_ERROR', `cannot read ${dir}: ${(error as Error).message}`, {cause: error})
  }
  const ca: string[] = []
  const files: string[] = []
  let cert: string | undefined
  let key: string | undefined
  for (const name of names) {
    if (name.endsWith('.crt')) {
      ca.push(readPem(join(dir, name), 'CA certificate'))
      files.push(join(dir, name))
    } else if (name.endsWith('.cert') && cert === undefined) {
      const keyName = `${name.slice(0, -'.cert'.length)}.key`
      if (!names.includes(keyName))
        throw new AirlockError('USAGE', `${join(dir, name)} has no matching key ${keyName}`, {
          hint: 'a client certificate in certs.d needs NAME.cert and NAME.key side by side',
        })
      cert = readPem(join(dir, name), 'client certificate')
      key = readPem(join(dir, keyName), 'client key')
      files.push(join(dir, name))
    }
  }
  return {ca, files, ...(cert ? {cert} : {}), ...(key ? {key} : {})}
}

/** Reads the files the flags name, so a missing CA file or a half client certificate fails before any request. */
export function checkTlsFiles(options: TlsOptions): void {
  if ((options.clientCert === undefined) !== (options.clientKey === undefined))
    throw new AirlockError('USAGE', 'a client certificate needs its key and a key needs its certificate', {
      hint: 'pass both --client-cert and --client-key',
    })
  if (options.caFile) readPem(options.caFile, 'CA file')
  if (options.clientCert) readPem(options.clientCert, 'client certificate')
  if (options.clientKey) readPem(options.clientKey, 'client key')
}

/** The TLS material for one host (host:port): the trust store always includes the system's and Node's defaults. */
export function hostTls(host: string, options: TlsOptions): HostTls {
  if ((options.clientCert === undefined) !== (options.clientKey === undefined))
    throw new AirlockError('USAGE', 'a client certificate needs its key and a key needs its certificate', {
      hint: 'pass both --client-cert and --client-key',
    })
  const sources: string[] = []
  const extra: string[] = []
  let cert: string | undefined
  let key: string | undefined
  if (options.caFile) {
    extra.push(readPem(options.caFile, 'CA file'))
    sources.push(options.caFile)
  }
  if (options.clientCert && options.clientKey) {
    cert = readPem(options.clientCert, 'client certificate')
    key = readPem(options.clientKey, 'client key')
    sources.push(options.clientCert)
  }
  // Docker names a registry on the default port by its bare host; containers accepts both: look for both.
  const names = [host, ...(host.endsWith(':443') ? [host.slice(0, -4)] : [])]
  for (const root of certsDirs(options)) {
    for (const name of names) {
      const found = readCertsDir(join(root, name))
      if (!found) continue
      extra.push(...found.ca)
      if (cert === undefined && found.cert) {
        cert = found.cert
        key = found.key
      }
      sources.push(...found.files)
    }
  }
  return {ca: [...baseTrust(), ...extra], ...(cert ? {cert, key: key!} : {}), sources}
}
