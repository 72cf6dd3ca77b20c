// A private signing key as airlock uses it: cosign's key rules (pkg/cosign/keys.go LoadPrivateKey and
// ImportKeyPair, sigstore's goodkey), node:crypto for every operation.
//
// Accepted files: `ENCRYPTED SIGSTORE PRIVATE KEY` and `ENCRYPTED COSIGN PRIVATE KEY` (cosign's envelope around
// PKCS#8 only), and unencrypted `PRIVATE KEY` (PKCS#8), `EC PRIVATE KEY` (SEC1) and `RSA PRIVATE KEY` (PKCS#1).
// Accepted keys: ECDSA P-256, P-384, P-521; RSA 2048..4096 bits; Ed25519.
//
// Signatures are made with SHA-256 for every ECDSA curve and RSA (PKCS#1 v1.5), and pure Ed25519: that is what a
// Talos publicKey rule verifies with (`signature.LoadVerifier(pub, crypto.SHA256)` in Talos verify.go), and what
// `cosign verify --key` accepts for these keys. See docs/DECISIONS.md.
import {createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject} from 'node:crypto'
import {readFileSync} from 'node:fs'
import {AirlockError, toAirlockError} from '../errors.ts'
import {decryptPrivateKey} from './encrypted.ts'

export const SIGSTORE_PRIVATE_KEY_PEM = 'ENCRYPTED SIGSTORE PRIVATE KEY'
export const COSIGN_PRIVATE_KEY_PEM = 'ENCRYPTED COSIGN PRIVATE KEY'
const PLAIN_TYPES = new Map<string, 'pkcs8' | 'sec1' | 'pkcs1'>([
  ['PRIVATE KEY', 'pkcs8'],
  ['EC PRIVATE KEY', 'sec1'],
  ['RSA PRIVATE KEY', 'pkcs1'],
])

export type KeyAlgorithm = 'ecdsa-p256' | 'ecdsa-p384' | 'ecdsa-p521' | 'ed25519' | 'rsa'

export interface SigningKey {
  algorithm: KeyAlgorithm
  privateKey: KeyObject
  publicKey: KeyObject
  /** PKIX `PUBLIC KEY` PEM (what cosign.pub holds and Talos publicKey.certificate takes). */
  publicKeyPem: string
  /** sha256 hex of the PKIX DER: the bundle's public key hint and the DSSE keyid. */
  hint: string
  /** Where the key came from, for messages. */
  source: string
}

/** One PEM block: type and DER body. Only the first block counts, as Go's pem.Decode does. */
export function decodePem(text: string): {type: string; body: Buffer} | undefined {
  const match = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/.exec(text)
  if (!match) return undefined
  const headerless = match[2]!.split(/\r?\n/).filter(line => line.length > 0 && !line.includes(':'))
  return {type: match[1]!, body: Buffer.from(headerless.join(''), 'base64')}
}

export function encodePem(type: string, body: Buffer): string {
  const lines = body.toString('base64').match(/.{1,64}/g) ?? []
  return `-----BEGIN ${type}-----\n${lines.join('\n')}\n-----END ${type}-----\n`
}

const CURVES: Record<string, KeyAlgorithm> = {
  prime256v1: 'ecdsa-p256',
  secp384r1: 'ecdsa-p384',
  secp521r1: 'ecdsa-p521',
}
const CURVE_NAMES: Record<string, string> = {
  secp224r1: 'P-224',
  prime256v1: 'P-256',
  secp384r1: 'P-384',
  secp521r1: 'P-521',
  secp256k1: 'secp256k1',
}

/** goodkey's rules, cosign's wording: the algorithm of an acceptable key, or a refusal. */
export function keyAlgorithm(key: KeyObject): KeyAlgorithm {
  const type = key.asymmetricKeyType
  const details = key.asymmetricKeyDetails ?? {}
  if (type === 'ec') {
    const curve = details.namedCurve ?? '?'
    const algorithm = CURVES[curve]
    if (!algorithm)
      throw new AirlockError(
        'UNSUPPORTED',
        `ECDSA curve ${CURVE_NAMES[curve] ?? curve} not allowed (cosign accepts P-256, P-384, P-521)`,
      )
    return algorithm
  }
  if (type === 'rsa') {
    const bits = details.modulusLength ?? 0
    if (bits < 2048 || bits > 4096)
      throw new AirlockError('UNSUPPORTED', `key size not supported: ${bits} (RSA keys must be 2048 to 4096 bits)`)
    return 'rsa'
  }
  if (type === 'ed25519') return 'ed25519'
  throw new AirlockError(
    'UNSUPPORTED',
    `unsupported key type ${type ?? 'unknown'} (cosign accepts ECDSA, RSA and Ed25519)`,
  )
}

export function publicKeyHint(publicKey: KeyObject): string {
  return createHash('sha256')
    .update(publicKey.export({format: 'der', type: 'spki'}))
    .digest('hex')
}

function toSigningKey(privateKey: KeyObject, source: string): SigningKey {
  const algorithm = keyAlgorithm(privateKey)
  const publicKey = createPublicKey(privateKey)
  return {
    algorithm,
    privateKey,
    publicKey,
    publicKeyPem: publicKey.export({format: 'pem', type: 'spki'}).toString(),
    hint: publicKeyHint(publicKey),
    source,
  }
}

/**
 * Parses a private key file's text with the password (asked for only when the file is encrypted). Errors name
 * `source` and say why, in one line.
 */
export async function parseSigningKey(
  text: string,
  source: string,
  password: () => Promise<Buffer> | Buffer,
): Promise<SigningKey> {
  const fail = (reason: string, hint?: string) =>
    new AirlockError('UNSUPPORTED', `${source}: ${reason}`, hint ? {hint} : {})
  const block = decodePem(text)
  if (!block)
    throw fail(
      'not a PEM private key',
      'give the cosign.key that airlock generate-key-pair or cosign generate-key-pair wrote',
    )
  if (block.type === 'PUBLIC KEY' || block.type === 'CERTIFICATE')
    throw fail(
      `this is a ${block.type.toLowerCase()}, not a private key`,
      'signing needs the private key (cosign.key); the public key (cosign.pub) is for verifying',
    )
  try {
    if (block.type === SIGSTORE_PRIVATE_KEY_PEM || block.type === COSIGN_PRIVATE_KEY_PEM) {
      const der = await decryptPrivateKey(block.body, await password())
      let key: KeyObject
      try {
        key = createPrivateKey({key: der, format: 'der', type: 'pkcs8'})
      } catch {
        // cosign: "parsing private key: x509: failed to parse private key" (the envelope must hold PKCS#8).
        throw fail('parsing private key: the decrypted key is not PKCS#8')
      }
      return toSigningKey(key, source)
    }
    const type = PLAIN_TYPES.get(block.type)
    if (!type) throw fail(`unsupported PEM type ${block.type}`)
    let key: KeyObject
    try {
      key = createPrivateKey({key: block.body, format: 'der', type})
    } catch {
      throw fail(`the ${block.type} block does not parse`)
    }
    return toSigningKey(key, source)
  } catch (error) {
    const e = toAirlockError(error)
    if (e.message.startsWith(`${source}:`)) throw e
    throw new AirlockError(e.code, `${source}: ${e.message}`, e.hint ? {hint: e.hint} : {})
  }
}

/** Reads and parses a private key file (see parseSigningKey). */
export async function loadSigningKey(file: string, password: () => Promise<Buffer> | Buffer): Promise<SigningKey> {
  return parseSigningKey(readKeyFile(file, 'the key file'), file, password)
}

/** Reads and parses a public key file (cosign.pub; see parsePublicKey). */
export function loadPublicKey(file: string): KeyObject {
  return parsePublicKey(readKeyFile(file, 'the public key'), file)
}

/** A key file's text; an unreadable file is one line naming it and the reason (ENOENT, EACCES...). */
function readKeyFile(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch (error) {
    throw new AirlockError(
      'NOT_FOUND',
      `${file}: cannot read ${what} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
    )
  }
}

function hashFor(algorithm: KeyAlgorithm): string | null {
  return algorithm === 'ed25519' ? null : 'sha256'
}

/** Signs bytes (DER ECDSA, PKCS#1 v1.5 RSA, pure Ed25519), all with SHA-256 where a hash applies. */
export function signBytes(key: SigningKey, data: Buffer): Buffer {
  return sign(hashFor(key.algorithm), data, key.privateKey)
}

/** Verifies a signature made by signBytes (or cosign) with a public key. Never throws for a bad signature. */
export function verifyBytes(publicKey: KeyObject, data: Buffer, signature: Buffer): boolean {
  try {
    return verify(publicKey.asymmetricKeyType === 'ed25519' ? null : 'sha256', data, publicKey, signature)
  } catch {
    return false
  }
}

/** Parses a `PUBLIC KEY` PEM (cosign.pub) and applies the same key rules. */
export function parsePublicKey(text: string, source: string): KeyObject {
  const block = decodePem(text)
  if (block?.type !== 'PUBLIC KEY') throw new AirlockError('UNSUPPORTED', `${source}: not a PUBLIC KEY PEM`)
  let key: KeyObject
  try {
    key = createPublicKey({key: block.body, format: 'der', type: 'spki'})
  } catch {
    throw new AirlockError('UNSUPPORTED', `${source}: the PUBLIC KEY block does not parse`)
  }
  try {
    keyAlgorithm(key)
  } catch (error) {
    throw new AirlockError('UNSUPPORTED', `${source}: ${(error as Error).message}`)
  }
  return key
}
