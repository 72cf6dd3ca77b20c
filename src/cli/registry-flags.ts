// The registry connection flags, in one place for every command that talks to a registry (export's sources, push's
// and verify --registry's mirror), named as skopeo, podman and cosign users know them, and the one function that
// turns them into RegistryClient options.
import {readFileSync} from 'node:fs'
import {Flags} from '@oclif/core'
import {AirlockError} from '../errors.ts'
import type {RegistryOptions} from '../registry/index.ts'
import {normalizeInsecureHost} from '../registry/transport.ts'

export const registryFlags = {
  'insecure-registry': Flags.string({
    summary: 'host:port spoken to over plain HTTP (never implied); repeatable.',
    multiple: true,
    multipleNonGreedy: true,
  }),
  'ca-file': Flags.string({
    summary: 'PEM file of CA certificates trusted in addition to the system store, NODE_EXTRA_CA_CERTS and certs.d.',
  }),
  'client-cert': Flags.string({
    summary: 'PEM client certificate for registries that require mTLS (with --client-key).',
  }),
  'client-key': Flags.string({summary: 'PEM private key of --client-cert.'}),
  authfile: Flags.string({
    summary:
      'containers auth.json to read credentials from (default $REGISTRY_AUTH_FILE, then podman and docker logins).',
  }),
  username: Flags.string({
    summary: 'Username for one registry (see --creds-for); the password comes from --password-stdin.',
  }),
  'password-stdin': Flags.boolean({summary: 'Read the password for --username from stdin.', default: false}),
  'creds-for': Flags.string({
    summary:
      'Registry (host[:port]) that --username/--password-stdin are for (default: the registry of the first image, or the mirror).',
  }),
  timeout: Flags.string({
    summary:
      'Give up on a connection that sends nothing for this long, then retry (seconds, or 30s / 2m; default 60s).',
  }),
}

export interface RegistryFlagValues {
  'insecure-registry'?: string[] | undefined
  'ca-file'?: string | undefined
  'client-cert'?: string | undefined
  'client-key'?: string | undefined
  authfile?: string | undefined
  username?: string | undefined
  'password-stdin'?: boolean | undefined
  'creds-for'?: string | undefined
  timeout?: string | undefined
}

/** `--timeout` as seconds (`90`), or with a unit (`90s`, `2m`, `500ms`), in milliseconds. */
export function parseTimeout(value: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$/.exec(value)
  const ms = match ? Number(match[1]) * (match[2] === 'ms' ? 1 : match[2] === 'm' ? 60_000 : 1000) : NaN
  if (!Number.isFinite(ms) || ms < 100)
    throw new AirlockError('USAGE', `--timeout ${JSON.stringify(value)} is not a duration of at least 100ms`, {
      hint: 'write seconds (60) or a duration (30s, 2m)',
    })
  return Math.round(ms)
}

export interface RegistryFlagContext {
  /** Registry the explicit credentials go to when --creds-for is not given. */
  defaultCredentialsRegistry?: string | undefined
  /** Something else already reads stdin (e.g. `-f -`): --password-stdin cannot. */
  stdinTaken?: string | undefined
  concurrency?: number | undefined
  /** Reads the password (tests replace stdin). */
  readPassword?: () => string
}

/** Checks the flags and builds RegistryClient options; reads the password from stdin when asked. */
export function registryClientOptions(flags: RegistryFlagValues, context: RegistryFlagContext = {}): RegistryOptions {
  if (flags['password-stdin'] && !flags.username) throw new AirlockError('USAGE', '--password-stdin needs --username')
  if (flags.username && !flags['password-stdin'])
    throw new AirlockError('USAGE', `--username ${flags.username} needs a password`, {
      hint: 'pipe it in with --password-stdin (e.g. printenv REGISTRY_PASSWORD | airlock ... --password-stdin)',
    })
  if (flags['password-stdin'] && context.stdinTaken)
    throw new AirlockError('USAGE', `--password-stdin and ${context.stdinTaken} both want stdin`)
  if (flags['creds-for'] && !flags.username)
    throw new AirlockError('USAGE', '--creds-for names the registry of --username; pass --username too')
  if (Boolean(flags['client-cert']) !== Boolean(flags['client-key']))
    throw new AirlockError('USAGE', '--client-cert and --client-key go together')
  const insecure = flags['insecure-registry']?.map(normalizeInsecureHost)
  let credentials: Pick<RegistryOptions, 'username' | 'password' | 'credentialsFor'> = {}
  if (flags.username) {
    const registry = flags['creds-for'] ? normalizeRegistryName(flags['creds-for']) : context.defaultCredentialsRegistry
    if (!registry)
      throw new AirlockError('USAGE', '--username needs to know its registry', {hint: 'pass --creds-for HOST'})
    const read = context.readPassword ?? ((): string => readFileSync(0, 'utf8'))
    const password = read().replace(/\r?\n$/, '')
    if (!password) throw new AirlockError('USAGE', '--password-stdin read an empty password')
    credentials = {username: flags.username, password, credentialsFor: registry}
  }
  return {
    ...(context.concurrency ? {concurrency: context.concurrency} : {}),
    ...(insecure ? {insecure} : {}),
    ...(flags['ca-file'] ? {caFile: flags['ca-file']} : {}),
    ...(flags['client-cert'] ? {clientCert: flags['client-cert']} : {}),
    ...(flags['client-key'] ? {clientKey: flags['client-key']} : {}),
    ...(flags.authfile ? {authFile: flags.authfile} : {}),
    ...(flags.timeout ? {timeoutMs: parseTimeout(flags.timeout)} : {}),
    ...credentials,
  }
}

/** `--creds-for https://host:5000/` means host:5000. */
function normalizeRegistryName(value: string): string {
  return value
    .trim()
    .replace(/^[a-z]+:\/\//i, '')
    .replace(/\/.*$/, '')
    .toLowerCase()
}
