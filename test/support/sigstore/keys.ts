// Key helpers shared by the CA, CT log and transparency log (ECDSA P-256, node:crypto).
import crypto from 'node:crypto'

export interface KeyPair {
  privateKey: crypto.KeyObject
  publicKey: crypto.KeyObject
  /** DER SubjectPublicKeyInfo. */
  spki: Buffer
  /** PEM SubjectPublicKeyInfo ("-----BEGIN PUBLIC KEY-----"). */
  publicKeyPem: string
}

export function generateKeyPair(): KeyPair {
  const {privateKey, publicKey} = crypto.generateKeyPairSync('ec', {namedCurve: 'P-256'})
  return fromPrivateKey(privateKey, publicKey)
}

export function fromPrivateKey(privateKey: crypto.KeyObject, publicKey = crypto.createPublicKey(privateKey)): KeyPair {
  const spki = publicKey.export({type: 'spki', format: 'der'})
  const publicKeyPem = publicKey.export({type: 'spki', format: 'pem'}).toString()
  return {privateKey, publicKey, spki, publicKeyPem}
}

/** Loads a PKCS#8 / SEC1 PEM private key (for persisted fixture keys). */
export function keyPairFromPem(pem: string): KeyPair {
  return fromPrivateKey(crypto.createPrivateKey(pem))
}

export function privateKeyPem(kp: KeyPair): string {
  return kp.privateKey.export({type: 'pkcs8', format: 'pem'}).toString()
}

/** ECDSA-SHA256 signature, ASN.1 DER encoded (what Sigstore and X.509 use). */
export function sign(kp: KeyPair, data: Buffer | string): Buffer {
  return crypto.sign('sha256', typeof data === 'string' ? Buffer.from(data, 'utf8') : data, kp.privateKey)
}

export const sha256 = (...parts: (Buffer | string)[]): Buffer => {
  const h = crypto.createHash('sha256')
  for (const p of parts) h.update(p)
  return h.digest()
}

/** Log ID / key ID as Sigstore defines it: sha256 of the DER SPKI. */
export const keyId = (kp: KeyPair): Buffer => sha256(kp.spki)

/** PEM with 64-character lines and a trailing newline, as Go's pem.Encode writes it. */
export function toPem(der: Buffer, label = 'CERTIFICATE'): string {
  const b64 = der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '')
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`
}
