// Trust material as data: one or more trusted_root.json documents (public good plus private instances are merged
// into one), and/or an operator-supplied PEM public key for key-signed artifacts. No network, no TUF here: the
// caller decides where a trusted root comes from (src/trust/ verifies it from a pinned TUF root).
import {readFileSync} from 'node:fs'
import {createPublicKey, type KeyObject} from 'node:crypto'
import {TrustedRoot} from '@sigstore/protobuf-specs'
import {toTrustMaterial, VerificationError, type TrustMaterial} from '@sigstore/verify'
import {AirlockError} from '../errors.ts'
import {installDerCache} from './der-cache.ts'

/** What the verifier trusts: trusted roots (merged) and, for key-signed artifacts, the operator's public key. */
export interface TrustInput {
  trustedRoots: TrustedRoot[]
  /** PEM public key (`--key`): key-signed signatures verify against it, whatever their key hint. */
  publicKeyPem?: string
}

const TRUSTED_ROOT_MEDIA_TYPE =
  /^application\/vnd\.dev\.sigstore\.trustedroot(\.v\d+(\.\d+)*)?\+json(;\s*version=[\d.]+)?$/

/**
 * Parses and validates a trusted_root.json document (bytes or text); `source` names it in errors. The one check of
 * a trusted root's shape: `--trusted-root` files and TUF-verified targets (src/trust/) go through it too.
 */
export function parseTrustedRoot(json: string | Uint8Array, source = 'trusted root'): TrustedRoot {
  let value: unknown
  try {
    value = JSON.parse(typeof json === 'string' ? json : Buffer.from(json).toString('utf8'))
  } catch (error) {
    throw new AirlockError('TRUST_INVALID', `${source} is not valid JSON`, {cause: error})
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new AirlockError('TRUST_INVALID', `${source} is not a JSON object`)
  const mediaType = (value as {mediaType?: unknown}).mediaType
  if (typeof mediaType !== 'string' || !TRUSTED_ROOT_MEDIA_TYPE.test(mediaType))
    throw new AirlockError(
      'TRUST_INVALID',
      `${source} has no sigstore trusted root mediaType (got ${JSON.stringify(mediaType)})`,
    )
  let root: TrustedRoot
  try {
    root = TrustedRoot.fromJSON(value)
  } catch (error) {
    throw new AirlockError('TRUST_INVALID', `${source} does not parse as a trusted root: ${(error as Error).message}`, {
      cause: error,
    })
  }
  const problems = validateTrustedRoot(root)
  if (problems.length > 0)
    throw new AirlockError('TRUST_INVALID', `${source} is malformed: ${problems.join('; ')}`, {details: {problems}})
  return root
}

/**
 * Every problem that makes a trusted root unusable, all at once. A missing validity start is malformed, not
 * "valid since forever" (the protobuf-specs contract): treating it as unbounded would widen trust silently.
 */
export function validateTrustedRoot(root: TrustedRoot): string[] {
  const problems: string[] = []
  if (root.tlogs.length + root.certificateAuthorities.length + root.timestampAuthorities.length === 0)
    problems.push('no tlogs, certificateAuthorities or timestampAuthorities')
  for (const [kind, logs] of [
    ['tlog', root.tlogs],
    ['ctlog', root.ctlogs],
  ] as const) {
    logs.forEach((log, i) => {
      const name = `${kind} ${log.baseUrl || i}`
      if (!log.publicKey?.rawBytes || log.publicKey.rawBytes.length === 0) problems.push(`${name} has no public key`)
      if (!log.publicKey?.validFor?.start) problems.push(`${name} public key validFor has no start`)
      if (!log.logId?.keyId || log.logId.keyId.length === 0) problems.push(`${name} has no log ID`)
    })
  }
  for (const [kind, authorities] of [
    ['certificate authority', root.certificateAuthorities],
    ['timestamp authority', root.timestampAuthorities],
  ] as const) {
    authorities.forEach((ca, i) => {
      const name = `${kind} ${ca.uri || i}`
      if (!ca.certChain || ca.certChain.certificates.length === 0) problems.push(`${name} has no certificates`)
      if (!ca.validFor?.start) problems.push(`${name} validFor has no start`)
    })
  }
  return problems
}

export function loadTrustedRoot(path: string): TrustedRoot {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    throw new AirlockError('NOT_FOUND', `cannot read trusted root ${path}: ${(error as Error).message}`, {cause: error})
  }
  return parseTrustedRoot(text, path)
}

/** Merges several trusted roots into one: every CA, TSA, Rekor log and CT log of each is trusted. */
export function mergeTrustedRoots(roots: readonly TrustedRoot[]): TrustedRoot {
  const first = roots[0]
  if (!first) throw new AirlockError('TRUST_INVALID', 'no trusted root given')
  return {
    ...first,
    tlogs: roots.flatMap(r => r.tlogs),
    certificateAuthorities: roots.flatMap(r => r.certificateAuthorities),
    ctlogs: roots.flatMap(r => r.ctlogs),
    timestampAuthorities: roots.flatMap(r => r.timestampAuthorities),
  }
}

/** Parses a PEM public key (`--key`), rejecting certificates and private keys with a clear message. */
export function parsePublicKeyPem(pem: string, source = 'public key'): KeyObject {
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem))
    throw new AirlockError('USAGE', `${source} is a private key; give the public key`)
  try {
    return createPublicKey(pem)
  } catch (error) {
    throw new AirlockError('USAGE', `${source} is not a PEM public key or certificate: ${(error as Error).message}`, {
      cause: error,
    })
  }
}

export const EMPTY_TRUSTED_ROOT: TrustedRoot = {
  mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
  tlogs: [],
  certificateAuthorities: [],
  ctlogs: [],
  timestampAuthorities: [],
}

/** Builds @sigstore/verify trust material. With a public key, every key hint resolves to it (as cosign --key). */
/**
 * Trust material per (trusted roots, key): building it parses every CA certificate and key of the roots, so it is
 * built once per verification run and shared by every image and signature (the roots array is the run's identity).
 */
const materialCache = new WeakMap<
  readonly TrustedRoot[],
  Map<string, {material: TrustMaterial; publicKey?: KeyObject}>
>()

export function buildTrustMaterial(trust: TrustInput): {material: TrustMaterial; publicKey?: KeyObject} {
  installDerCache()
  let byKey = materialCache.get(trust.trustedRoots)
  if (!byKey) {
    byKey = new Map()
    materialCache.set(trust.trustedRoots, byKey)
  }
  const key = trust.publicKeyPem ?? ''
  let built = byKey.get(key)
  if (!built) {
    built = buildTrustMaterialUncached(trust)
    byKey.set(key, built)
  }
  return built
}

function buildTrustMaterialUncached(trust: TrustInput): {material: TrustMaterial; publicKey?: KeyObject} {
  const root = trust.trustedRoots.length > 0 ? mergeTrustedRoots(trust.trustedRoots) : EMPTY_TRUSTED_ROOT
  const publicKey = trust.publicKeyPem === undefined ? undefined : parsePublicKeyPem(trust.publicKeyPem)
  const material = toTrustMaterial(root, (hint: string) => {
    if (!publicKey)
      throw new VerificationError({
        code: 'PUBLIC_KEY_ERROR',
        message: `signed with a public key (hint ${JSON.stringify(hint)}) but no --key was given`,
      })
    return {publicKey, validFor: () => true}
  })
  return publicKey ? {material, publicKey} : {material}
}
