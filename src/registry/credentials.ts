// Where credentials come from: explicit flags first (for the one registry they were given for), then the containers
// auth file as skopeo and podman read it (`--authfile`, else $REGISTRY_AUTH_FILE, else
// $XDG_RUNTIME_DIR/containers/auth.json and ~/.config/containers/auth.json), then ~/.docker/config.json. In each
// file, Docker's order: `credHelpers` for the registry, else `auths`, else the `credsStore` helper. Helpers are run as `docker-credential-<name> get`
// with the server name on stdin, exactly as docker and oras do, so existing logins keep working.
import {execFile} from 'node:child_process'
import {readFile} from 'node:fs/promises'
import {homedir} from 'node:os'
import {join} from 'node:path'
import {AirlockError} from '../errors.ts'
import {DOCKER_HUB} from '../reference/reference.ts'

export type Credentials =
  | {kind: 'basic'; username: string; password: string}
  /** An OAuth2 refresh token (docker's `identitytoken`), exchanged at the token endpoint. */
  | {kind: 'identity-token'; username: string; token: string}

export interface CredentialOptions {
  username?: string | undefined
  password?: string | undefined
  /** Directory holding config.json; default $DOCKER_CONFIG or ~/.docker. */
  dockerConfigDir?: string | undefined
  /** containers auth.json given explicitly (`--authfile`); default $REGISTRY_AUTH_FILE. It must exist. */
  authFile?: string | undefined
}

interface DockerConfig {
  auths?: Record<string, {auth?: string; username?: string; password?: string; identitytoken?: string}>
  credHelpers?: Record<string, string>
  credsStore?: string
}

/** Docker Hub's credentials are stored under its v1 URL for historical reasons. */
const DOCKER_HUB_CONFIG_KEY = 'https://index.docker.io/v1/'
const HELPER_TIMEOUT_MS = 30_000

/** Finds credentials for a registry (its user-facing name, e.g. docker.io or host:port); undefined = anonymous. */
export async function findCredentials(registry: string, options: CredentialOptions): Promise<Credentials | undefined> {
  if (options.username !== undefined || options.password !== undefined) {
    if (!options.username || options.password === undefined)
      throw new AirlockError('USAGE', 'a username needs a password and a password needs a username', {
        hint: 'pass both --username and --password-stdin',
      })
    return {kind: 'basic', username: options.username, password: options.password}
  }
  for (const file of authFiles(options)) {
    const config = await readConfigFile(file.path, file.required)
    if (!config) continue
    const found = await fromConfig(config, registry)
    if (found) return found
  }
  return undefined
}

function authFiles(options: CredentialOptions): Array<{path: string; required: boolean}> {
  const files: Array<{path: string; required: boolean}> = []
  const explicit = options.authFile ?? process.env.REGISTRY_AUTH_FILE
  if (explicit) files.push({path: explicit, required: true})
  else {
    if (process.env.XDG_RUNTIME_DIR)
      files.push({path: join(process.env.XDG_RUNTIME_DIR, 'containers', 'auth.json'), required: false})
    files.push({path: join(homedir(), '.config', 'containers', 'auth.json'), required: false})
  }
  files.push({
    path: join(options.dockerConfigDir ?? process.env.DOCKER_CONFIG ?? join(homedir(), '.docker'), 'config.json'),
    required: false,
  })
  return files
}

async function fromConfig(config: DockerConfig, registry: string): Promise<Credentials | undefined> {
  const serverKey = registry === DOCKER_HUB ? DOCKER_HUB_CONFIG_KEY : registry

  const helper =
    config.credHelpers?.[registry] ??
    (registry === DOCKER_HUB ? config.credHelpers?.[DOCKER_HUB_CONFIG_KEY] : undefined)
  if (helper) return runCredentialHelper(helper, serverKey)

  const entry = findAuthEntry(config, registry)
  if (entry) {
    if (entry.identitytoken)
      return {
        kind: 'identity-token',
        username: decodeAuth(entry.auth, registry)?.username ?? entry.username ?? '',
        token: entry.identitytoken,
      }
    if (entry.auth) {
      const decoded = decodeAuth(entry.auth, registry)
      if (decoded) return {kind: 'basic', ...decoded}
    }
    if (entry.username && entry.password !== undefined)
      return {kind: 'basic', username: entry.username, password: entry.password}
  }
  if (config.credsStore) return runCredentialHelper(config.credsStore, serverKey)
  return undefined
}

async function readConfigFile(path: string, required: boolean): Promise<DockerConfig | undefined> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' && !required) return undefined
    throw new AirlockError(
      required ? 'USAGE' : 'IO_ERROR',
      `cannot read auth file ${path}: ${(error as Error).message}`,
      {cause: error},
    )
  }
  try {
    const json = JSON.parse(text) as unknown
    return typeof json === 'object' && json !== null ? (json as DockerConfig) : undefined
  } catch (error) {
    throw new AirlockError('USAGE', `auth file ${path} is not valid JSON: ${(error as Error).message.split('\n')[0]}`)
  }
}

/** `auths` keys may be bare hosts or URLs (`https://host/v1/`); match on the host part. */
function findAuthEntry(config: DockerConfig, registry: string): NonNullable<DockerConfig['auths']>[string] | undefined {
  const auths = config.auths ?? {}
  const wanted =
    registry === DOCKER_HUB ? new Set([DOCKER_HUB, 'index.docker.io', 'registry-1.docker.io']) : new Set([registry])
  for (const [key, entry] of Object.entries(auths)) {
    const host = key
      .replace(/^[a-z]+:\/\//i, '')
      .split('/')[0]!
      .toLowerCase()
    if (wanted.has(host)) return entry
  }
  return undefined
}

function decodeAuth(auth: string | undefined, registry: string): {username: string; password: string} | undefined {
  if (!auth) return undefined
  const text = Buffer.from(auth, 'base64').toString('utf8')
  const colon = text.indexOf(':')
  if (colon <= 0)
    throw new AirlockError('USAGE', `docker config: the auth entry for ${registry} is not base64 of user:password`)
  return {username: text.slice(0, colon), password: text.slice(colon + 1)}
}

/** Runs `docker-credential-<helper> get`; "not found" answers mean anonymous, other failures are errors. */
function runCredentialHelper(helper: string, serverUrl: string): Promise<Credentials | undefined> {
  if (!/^[a-zA-Z0-9_.-]+$/.test(helper))
    return Promise.reject(new AirlockError('USAGE', `invalid credential helper name ${JSON.stringify(helper)}`))
  const program = `docker-credential-${helper}`
  return new Promise((resolve, reject) => {
    const child = execFile(
      program,
      ['get'],
      {timeout: HELPER_TIMEOUT_MS, maxBuffer: 1024 * 1024},
      (error, stdout, stderr) => {
        const output = `${stdout}`.trim()
        if (error) {
          if (/credentials not found/i.test(output + stderr)) return resolve(undefined)
          const reason =
            (error as NodeJS.ErrnoException).code === 'ENOENT'
              ? 'not found on PATH'
              : (output || `${stderr}`.trim() || error.message).split('\n')[0]
          return reject(
            new AirlockError('UNAUTHORIZED', `credential helper ${program} failed for ${serverUrl}: ${reason}`, {
              cause: error,
            }),
          )
        }
        try {
          const json = JSON.parse(output) as {Username?: unknown; Secret?: unknown}
          if (typeof json.Username !== 'string' || typeof json.Secret !== 'string')
            throw new Error('missing Username or Secret')
          // Docker's convention: the user "<token>" marks the secret as an identity (refresh) token.
          if (json.Username === '<token>') resolve({kind: 'identity-token', username: '', token: json.Secret})
          else resolve({kind: 'basic', username: json.Username, password: json.Secret})
        } catch (parseError) {
          reject(
            new AirlockError(
              'UNAUTHORIZED',
              `credential helper ${program} answered with something that is not credentials: ${(parseError as Error).message}`,
            ),
          )
        }
      },
    )
    child.stdin?.on('error', () => {})
    child.stdin?.end(serverUrl)
  })
}
