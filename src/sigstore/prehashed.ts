// Signature verification over a digest the caller already computed (`verify-blob sha256:<hex>`): Node's crypto
// always hashes its input and has no "prehashed" mode, so this module checks ECDSA (NIST P curves) with the public
// curve equations and RSA PKCS#1 v1.5 by recovering the DigestInfo. Only public values are involved (no secret can
// leak through timing). Ed25519 signs the message itself, so a digest alone cannot be checked: that returns false.
import {publicDecrypt, constants, type KeyObject} from 'node:crypto'

type Curve = {p: bigint; a: bigint; n: bigint; gx: bigint; gy: bigint; bytes: number}

const CURVES: Record<string, Curve> = {
  'P-256': {
    p: 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn,
    a: 0xffffffff00000001000000000000000000000000fffffffffffffffffffffffcn,
    n: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
    gx: 0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296n,
    gy: 0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5n,
    bytes: 32,
  },
  'P-384': {
    p: 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffffn,
    a: 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000fffffffcn,
    n: 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
    gx: 0xaa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b9859f741e082542a385502f25dbf55296c3a545e3872760ab7n,
    gy: 0x3617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147ce9da3113b5f0b8c00a60b1ce1d7e819d7a431d7c90ea0e5fn,
    bytes: 48,
  },
  'P-521': {
    p: (1n << 521n) - 1n,
    a: (1n << 521n) - 4n,
    n: 0x01fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409n,
    gx: 0x00c6858e06b70404e9cd9e3ecb662395b4429c648139053fb521f828af606b4d3dbaa14b5e77efe75928fe1dc127a2ffa8de3348b3c1856a429bf97e7e31c2e5bd66n,
    gy: 0x011839296a789a3bc0045c8a5fb42c7d1bd998f54449579b446817afbd17273e662c97ee72995ef42640c550b9013fad0761353c7086a272c24088be94769fd16650n,
    bytes: 66,
  },
}

const HASH_BYTES: Record<string, number> = {sha256: 32, sha384: 48, sha512: 64}
// DER prefixes of PKCS#1 v1.5 DigestInfo (RFC 8017 section 9.2, note 1).
const DIGEST_INFO: Record<string, string> = {
  sha256: '3031300d060960864801650304020105000420',
  sha384: '3041300d060960864801650304020205000430',
  sha512: '3051300d060960864801650304020305000440',
}

/** True when `signature` is a valid signature by `key` over the message whose `hashAlgorithm` digest is `digest`. */
export function verifyPrehashed(key: KeyObject, digest: Buffer, signature: Buffer, hashAlgorithm = 'sha256'): boolean {
  if (HASH_BYTES[hashAlgorithm] !== digest.length) return false
  try {
    if (key.asymmetricKeyType === 'ec') return verifyEcdsa(key, digest, signature)
    if (key.asymmetricKeyType === 'rsa') return verifyRsaPkcs1(key, digest, signature, hashAlgorithm)
  } catch {
    return false
  }
  return false
}

function verifyRsaPkcs1(key: KeyObject, digest: Buffer, signature: Buffer, hashAlgorithm: string): boolean {
  const prefix = DIGEST_INFO[hashAlgorithm]
  if (!prefix) return false
  const recovered = publicDecrypt({key, padding: constants.RSA_PKCS1_PADDING}, signature)
  return recovered.equals(Buffer.concat([Buffer.from(prefix, 'hex'), digest]))
}

function verifyEcdsa(key: KeyObject, digest: Buffer, signature: Buffer): boolean {
  const jwk = key.export({format: 'jwk'})
  const curve = jwk.crv ? CURVES[jwk.crv] : undefined
  if (!curve || !jwk.x || !jwk.y) return false
  const q = {x: toBigInt(Buffer.from(jwk.x, 'base64url')), y: toBigInt(Buffer.from(jwk.y, 'base64url'))}
  const rs = parseDerSignature(signature)
  if (!rs) return false
  const {r, s} = rs
  const {n} = curve
  if (r <= 0n || r >= n || s <= 0n || s >= n) return false
  // e = leftmost bits of the digest, as many as the order has (FIPS 186-4 section 6.4).
  const nBits = n.toString(2).length
  let e = toBigInt(digest)
  const dBits = digest.length * 8
  if (dBits > nBits) e >>= BigInt(dBits - nBits)
  const w = modInverse(s, n)
  const u1 = mod(e * w, n)
  const u2 = mod(r * w, n)
  const point = add(curve, multiply(curve, {x: curve.gx, y: curve.gy}, u1), multiply(curve, q, u2))
  if (!point) return false
  return mod(point.x, n) === r
}

type Point = {x: bigint; y: bigint} | null

function add(c: Curve, p1: Point, p2: Point): Point {
  if (!p1) return p2
  if (!p2) return p1
  const {p} = c
  if (p1.x === p2.x) {
    if (mod(p1.y + p2.y, p) === 0n) return null
    const l = mod((3n * p1.x * p1.x + c.a) * modInverse(2n * p1.y, p), p)
    const x = mod(l * l - 2n * p1.x, p)
    return {x, y: mod(l * (p1.x - x) - p1.y, p)}
  }
  const l = mod((p2.y - p1.y) * modInverse(p2.x - p1.x, p), p)
  const x = mod(l * l - p1.x - p2.x, p)
  return {x, y: mod(l * (p1.x - x) - p1.y, p)}
}

function multiply(c: Curve, point: Point, k: bigint): Point {
  let result: Point = null
  let addend = point
  while (k > 0n) {
    if (k & 1n) result = add(c, result, addend)
    addend = add(c, addend, addend)
    k >>= 1n
  }
  return result
}

function mod(a: bigint, m: bigint): bigint {
  const r = a % m
  return r < 0n ? r + m : r
}

function modInverse(a: bigint, m: bigint): bigint {
  let [oldR, r] = [mod(a, m), m]
  let [oldS, s] = [1n, 0n]
  while (r !== 0n) {
    const q = oldR / r
    ;[oldR, r] = [r, oldR - q * r]
    ;[oldS, s] = [s, oldS - q * s]
  }
  return mod(oldS, m)
}

function toBigInt(bytes: Buffer): bigint {
  return bytes.length === 0 ? 0n : BigInt('0x' + bytes.toString('hex'))
}

/** Parses an ASN.1 DER ECDSA-Sig-Value SEQUENCE { r INTEGER, s INTEGER }. */
function parseDerSignature(sig: Buffer): {r: bigint; s: bigint} | undefined {
  let offset = 0
  const readLength = (): number | undefined => {
    const first = sig[offset++]
    if (first === undefined) return undefined
    if (first < 0x80) return first
    const count = first & 0x7f
    if (count === 0 || count > 2) return undefined
    let length = 0
    for (let i = 0; i < count; i++) {
      const b = sig[offset++]
      if (b === undefined) return undefined
      length = (length << 8) | b
    }
    return length
  }
  const readInteger = (): bigint | undefined => {
    if (sig[offset++] !== 0x02) return undefined
    const length = readLength()
    if (length === undefined || length === 0 || offset + length > sig.length) return undefined
    const value = toBigInt(sig.subarray(offset, offset + length))
    offset += length
    return value
  }
  if (sig[offset++] !== 0x30) return undefined
  const total = readLength()
  if (total === undefined || offset + total !== sig.length) return undefined
  const r = readInteger()
  const s = readInteger()
  if (r === undefined || s === undefined || offset !== sig.length) return undefined
  return {r, s}
}
