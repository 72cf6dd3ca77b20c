// The registry client's front door: options in, Repository objects out. It owns what is shared across
// repositories: one transport (connections, TLS trust, retries), one auth session per registry host, and the
// semaphore that bounds concurrent blob transfers.
import {AirlockError} from '../errors.ts'
import type {ImageReference} from '../reference/reference.ts'
import {type CatalogOptions, listCatalog} from './catalog.ts'
import {Repository} from './repository.ts'
import {Semaphore} from './semaphore.ts'
import {RegistrySession} from './session.ts'
import {Transport} from './transport.ts'

export interface RegistryOptions {
  /** host:port of registries spoken to over plain HTTP (`--insecure-registry`). Never implied. */
  insecure?: string[]
  /** PEM file with CA certificates added to the trust store (Node's defaults, the system's, certs.d). */
  caFile?: string
  /** PEM client certificate and key for registries that ask for one (mTLS). */
  clientCert?: string
  clientKey?: string
  /** certs.d roots (default $AIRLOCK_CERTS_D, else /etc/containers/certs.d and /etc/docker/certs.d). */
  certsDirs?: string[]
  /** Explicit credentials, before any auth file: for `credentialsFor` only, or for every registry when it is unset. */
  username?: string
  password?: string
  /** The one registry (as in references: docker.io, host:port) the explicit credentials belong to. */
  credentialsFor?: string
  /** Directory holding docker's config.json (default $DOCKER_CONFIG or ~/.docker). */
  dockerConfigDir?: string
  /** containers auth.json (`--authfile`; default $REGISTRY_AUTH_FILE, else podman's default locations). */
  authFile?: string
  /** Environment proxies are read from (default process.env). */
  proxyEnv?: NodeJS.ProcessEnv
  /** Blob transfers at once across all repositories (default 4). */
  concurrency?: number
  /** Retries of transient failures per request, and resumes per interrupted blob (default 4). */
  retries?: number
  userAgent?: string
  /** Idle timeout of one request in milliseconds (default 60 s). */
  timeoutMs?: number
  /** Blobs up to this size are uploaded in one PUT, bigger ones in PATCH chunks of this size, one in memory at a time (default 8 MiB). */
  chunkSize?: number
  /** Re-readable blobs up to this size are pushed in one streamed PUT; bigger ones in chunks of chunkSize (default 1 GiB). */
  monolithicMax?: number
  /** First backoff step in milliseconds (default 250). */
  retryBaseMs?: number
  /** Page size asked for when listing tags (default: the registry's choice). */
  tagPageSize?: number
}

const DEFAULT_CHUNK_SIZE = 8 * 1024 * 1024
/**
 * Re-readable blobs (push from an archive) up to this size go in one streamed PUT: one round trip per blob and no
 * per-chunk copies, retried by re-reading. Bigger ones go in chunks so a failure late in a huge layer does not
 * restart the whole request stream from zero bytes acknowledged by a proxy with a body limit.
 */
const DEFAULT_MONOLITHIC_MAX = 1024 * 1024 * 1024

export class RegistryClient {
  private readonly options: RegistryOptions
  private readonly transport: Transport
  private readonly semaphore: Semaphore
  private readonly sessions = new Map<string, RegistrySession>()

  constructor(options: RegistryOptions = {}) {
    if (options.chunkSize !== undefined && (!Number.isSafeInteger(options.chunkSize) || options.chunkSize < 1))
      throw new AirlockError('USAGE', `chunk size must be a positive integer, got ${options.chunkSize}`)
    this.options = options
    this.transport = new Transport({
      ...(options.insecure ? {insecure: options.insecure} : {}),
      ...(options.caFile ? {caFile: options.caFile} : {}),
      ...(options.clientCert ? {clientCert: options.clientCert} : {}),
      ...(options.clientKey ? {clientKey: options.clientKey} : {}),
      ...(options.certsDirs ? {certsDirs: options.certsDirs} : {}),
      ...(options.proxyEnv ? {proxyEnv: options.proxyEnv} : {}),
      ...(options.retries !== undefined ? {retries: options.retries} : {}),
      ...(options.timeoutMs !== undefined ? {timeoutMs: options.timeoutMs} : {}),
      ...(options.retryBaseMs !== undefined ? {retryBaseMs: options.retryBaseMs} : {}),
      userAgent: options.userAgent ?? 'airlock',
    })
    this.semaphore = new Semaphore(options.concurrency ?? 4)
  }

  /** A repository of a registry; the reference's tag and digest are ignored. */
  repository(ref: ImageReference): Repository {
    return new Repository(this.session(ref.registry), ref, {
      semaphore: this.semaphore,
      chunkSize: this.options.chunkSize ?? DEFAULT_CHUNK_SIZE,
      monolithicMax: this.options.monolithicMax ?? DEFAULT_MONOLITHIC_MAX,
      resumeAttempts: this.options.retries ?? 4,
      retryBaseMs: this.options.retryBaseMs ?? 250,
      tagPageSize: this.options.tagPageSize,
    })
  }

  /**
   * The repository names a registry lists in its catalog (under `options.prefix`), bounded; a registry that refuses
   * the catalog fails with UNSUPPORTED and a hint to name the repositories.
   */
  catalog(registry: string, options: CatalogOptions = {}): Promise<string[]> {
    return listCatalog(this.session(registry), options)
  }

  /** Closes idle keep-alive connections. */
  close(): void {
    this.transport.close()
  }

  private session(registry: string): RegistrySession {
    let session = this.sessions.get(registry)
    if (!session) {
      const mine = this.options.credentialsFor === undefined || sameRegistry(this.options.credentialsFor, registry)
      session = new RegistrySession(
        this.transport,
        registry,
        {
          ...(mine ? {username: this.options.username, password: this.options.password} : {}),
          dockerConfigDir: this.options.dockerConfigDir,
          authFile: this.options.authFile,
        },
        host =>
          this.transport.isInsecure(host) ||
          [...this.sessions.values()].some(s => this.transport.baseUrl(s.host).host === host),
      )
      this.sessions.set(registry, session)
    }
    return session
  }
}

/** Registry names compare without case, and Docker Hub's aliases are one registry. */
function sameRegistry(a: string, b: string): boolean {
  const hub = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io'])
  const norm = (name: string): string => (hub.has(name.toLowerCase()) ? 'docker.io' : name.toLowerCase())
  return norm(a) === norm(b)
}
