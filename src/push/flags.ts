// The mirror's command-line flags, shared by `push` and `verify --registry` (one definition, one client builder),
// so both talk to the mirror the same way.
import {readFileSync} from 'node:fs'
import {Flags} from '@oclif/core'
import {AirlockError} from '../errors.ts'
import {RegistryClient} from '../registry/index.ts'

export const keepHostFlag = {
  'keep-host': Flags.boolean({summary: 'Keep the source registry host in the mirror path (REGISTRY/PREFIX/ghcr.io/...).', default: false}),
}

export const mirrorRegistryFlags = {
  'insecure-registry': Flags.string({summary: 'host:port spoken to over plain HTTP (never implied).', multiple: true, multipleNonGreedy: true}),
  'ca-file': Flags.string({summary: "PEM file with CA certificates for the mirror's TLS."}),
  username: Flags.string({summary: 'Username for the mirror (else docker config / credential helpers).'}),
  'password-stdin': Flags.boolean({summary: 'Read the password from stdin.', default: false}),
}

export interface MirrorRegistryFlagValues {
  'insecure-registry'?: string[]
  'ca-file'?: string
  username?: string
  'password-stdin'?: boolean
}

/** The registry client for the mirror from its flags (reads the password from stdin with --password-stdin). */
export function mirrorClient(flags: MirrorRegistryFlagValues, options: {concurrency?: number} = {}): RegistryClient {
  if (flags['password-stdin'] && !flags.username) throw new AirlockError('USAGE', '--password-stdin needs --username')
  const password = flags['password-stdin'] ? readFileSync(0, 'utf8').replace(/\r?\n$/, '') : undefined
  return new RegistryClient({
    ...(options.concurrency ? {concurrency: options.concurrency} : {}),
    ...(flags['insecure-registry'] ? {insecure: flags['insecure-registry']} : {}),
    ...(flags['ca-file'] ? {caFile: flags['ca-file']} : {}),
    ...(flags.username ? {username: flags.username, password: password ?? ''} : {}),
  })
}
