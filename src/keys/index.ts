// cosign-compatible keys: generate, load (encrypted or plain PEM), sign and verify with node:crypto.
export {encryptPrivateKey, decryptPrivateKey, COSIGN_SCRYPT} from './encrypted.ts'
export {generateKeyPair, type GeneratedKeyPair} from './generate.ts'
export {keyPassword, type PasswordSource} from './password.ts'
export {
  decodePem,
  encodePem,
  keyAlgorithm,
  loadPublicKey,
  loadSigningKey,
  parsePublicKey,
  parseSigningKey,
  publicKeyHint,
  signBytes,
  verifyBytes,
  COSIGN_PRIVATE_KEY_PEM,
  SIGSTORE_PRIVATE_KEY_PEM,
  type KeyAlgorithm,
  type SigningKey,
} from './signing-key.ts'
