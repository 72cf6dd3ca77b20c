// cosign's encrypted private key envelope (secure-systems-lab go-securesystemslib `encrypted`, as cosign uses it):
// the PEM body is JSON {kdf: {name: "scrypt", params: {N, r, p}, salt}, cipher: {name: "nacl/secretbox", nonce},
// ciphertext}, byte fields base64 (Go's []byte JSON encoding). The key is scrypt(password, salt, N, r, p, 32 bytes);
// the ciphertext is NaCl secretbox (XSalsa20-Poly1305, tag first) of a PKCS#8 DER private key.
// scrypt comes from node:crypto, secretbox from @noble/ciphers: no crypto is written here.
import {randomBytes, scrypt} from 'node:crypto'
import {secretbox} from '@noble/ciphers/salsa.js'
import {AirlockError} from '../errors.ts'

/** The parameters cosign writes (go-securesystemslib's "standard" scrypt cost). */
export const COSIGN_SCRYPT = {N: 32768, r: 8, p: 1} as const
const KEY_BYTES = 32
const NONCE_BYTES = 24
const SALT_BYTES = 32
/** Bounds on an attacker-chosen cost: cosign never writes more, and 2^20 x r 8 is already 1 GiB of memory. */
const MAX_LOG2_N = 20
const MAX_R = 32
const MAX_P = 16

export interface EncryptedEnvelope {
  kdf: {name: 'scrypt'; params: {N: number; r: number; p: number}; salt: string}
  cipher: {name: 'nacl/secretbox'; nonce: string}
  ciphertext: string
}

function deriveKey(password: Buffer, salt: Buffer, params: {N: number; r: number; p: number}): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(
      password,
      salt,
      KEY_BYTES,
      {N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r + 1024 * 1024},
      (error, key) => (error ? reject(error) : resolve(key)),
    ),
  )
}

/** Seals PKCS#8 DER under a password in cosign's envelope; returns the JSON bytes (the PEM body). */
export async function encryptPrivateKey(
  pkcs8: Buffer,
  password: Buffer,
  params: {N: number; r: number; p: number} = COSIGN_SCRYPT,
): Promise<Buffer> {
  const salt = randomBytes(SALT_BYTES)
  const nonce = randomBytes(NONCE_BYTES)
  const key = await deriveKey(password, salt, params)
  const sealed = secretbox(key, nonce).seal(pkcs8)
  // Field order and names as go-securesystemslib marshals them.
  const envelope: EncryptedEnvelope = {
    kdf: {name: 'scrypt', params: {N: params.N, r: params.r, p: params.p}, salt: salt.toString('base64')},
    cipher: {name: 'nacl/secretbox', nonce: nonce.toString('base64')},
    ciphertext: Buffer.from(sealed).toString('base64'),
  }
  return Buffer.from(JSON.stringify(envelope))
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/

function bytesField(value: unknown, what: string): Buffer {
  if (typeof value !== 'string' || value.length % 4 !== 0 || !BASE64.test(value))
    throw new AirlockError('UNSUPPORTED', `the encrypted key's ${what} is not base64`)
  return Buffer.from(value, 'base64')
}

function positiveInt(value: unknown, what: string, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1 || value > max)
    throw new AirlockError(
      'UNSUPPORTED',
      `the encrypted key's scrypt ${what} is ${JSON.stringify(value)}, outside 1..${max}`,
    )
  return value
}

/**
 * Opens cosign's envelope with a password; returns the PKCS#8 DER plaintext. A wrong password and a tampered
 * ciphertext are the same failure (the Poly1305 tag does not verify), as in cosign ("decrypt: ... decryption failed").
 */
export async function decryptPrivateKey(body: Buffer, password: Buffer): Promise<Buffer> {
  let envelope: unknown
  try {
    envelope = JSON.parse(body.toString('utf8'))
  } catch {
    throw new AirlockError('UNSUPPORTED', 'the encrypted key is not the JSON envelope cosign writes')
  }
  const e = envelope as {
    kdf?: {name?: unknown; params?: {N?: unknown; r?: unknown; p?: unknown}; salt?: unknown}
    cipher?: {name?: unknown; nonce?: unknown}
    ciphertext?: unknown
  } | null
  if (!e || typeof e !== 'object' || !e.kdf || !e.cipher)
    throw new AirlockError('UNSUPPORTED', 'the encrypted key envelope has no kdf or cipher')
  if (e.kdf.name !== 'scrypt')
    throw new AirlockError(
      'UNSUPPORTED',
      `the encrypted key uses KDF ${JSON.stringify(e.kdf.name)}, cosign uses scrypt`,
    )
  if (e.cipher.name !== 'nacl/secretbox')
    throw new AirlockError(
      'UNSUPPORTED',
      `the encrypted key uses cipher ${JSON.stringify(e.cipher.name)}, cosign uses nacl/secretbox`,
    )
  const N = positiveInt(e.kdf.params?.N, 'N', 2 ** MAX_LOG2_N)
  if ((N & (N - 1)) !== 0 || N < 2)
    throw new AirlockError('UNSUPPORTED', `the encrypted key's scrypt N (${N}) is not a power of two`)
  const r = positiveInt(e.kdf.params?.r, 'r', MAX_R)
  const p = positiveInt(e.kdf.params?.p, 'p', MAX_P)
  const salt = bytesField(e.kdf.salt, 'salt')
  const nonce = bytesField(e.cipher.nonce, 'nonce')
  if (nonce.length !== NONCE_BYTES)
    throw new AirlockError(
      'UNSUPPORTED',
      `the encrypted key's nonce is ${nonce.length} bytes, secretbox needs ${NONCE_BYTES}`,
    )
  const ciphertext = bytesField(e.ciphertext, 'ciphertext')
  const key = await deriveKey(password, salt, {N, r, p})
  try {
    return Buffer.from(secretbox(key, nonce).open(ciphertext))
  } catch {
    throw new AirlockError('USAGE', 'decryption failed: wrong password, or the key file was altered', {
      hint: 'check COSIGN_PASSWORD (or what --key-password-stdin reads)',
    })
  }
}
