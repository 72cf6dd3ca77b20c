// `airlock generate-key-pair`: a key pair in exactly cosign's files: cosign.key (`ENCRYPTED SIGSTORE PRIVATE KEY`,
// PKCS#8 sealed by encrypted.ts) and cosign.pub (PKIX `PUBLIC KEY`). ECDSA P-256 by default, as cosign.
import {generateKeyPairSync, type KeyObject} from 'node:crypto'
import {encryptPrivateKey} from './encrypted.ts'
import {encodePem, publicKeyHint, SIGSTORE_PRIVATE_KEY_PEM, type KeyAlgorithm} from './signing-key.ts'

export interface GeneratedKeyPair {
  privatePem: string
  publicPem: string
  hint: string
}

function generate(algorithm: KeyAlgorithm, rsaBits: number): {privateKey: KeyObject; publicKey: KeyObject} {
  switch (algorithm) {
    case 'ecdsa-p256':
      return generateKeyPairSync('ec', {namedCurve: 'prime256v1'})
    case 'ecdsa-p384':
      return generateKeyPairSync('ec', {namedCurve: 'secp384r1'})
    case 'ecdsa-p521':
      return generateKeyPairSync('ec', {namedCurve: 'secp521r1'})
    case 'ed25519':
      return generateKeyPairSync('ed25519')
    case 'rsa':
      return generateKeyPairSync('rsa', {modulusLength: rsaBits})
  }
}

export async function generateKeyPair(
  password: Buffer,
  algorithm: KeyAlgorithm = 'ecdsa-p256',
  rsaBits = 3072,
): Promise<GeneratedKeyPair> {
  const {privateKey, publicKey} = generate(algorithm, rsaBits)
  const pkcs8 = privateKey.export({format: 'der', type: 'pkcs8'})
  const body = await encryptPrivateKey(pkcs8, password)
  return {
    privatePem: encodePem(SIGSTORE_PRIVATE_KEY_PEM, body),
    publicPem: publicKey.export({format: 'pem', type: 'spki'}).toString(),
    hint: publicKeyHint(publicKey),
  }
}
