// The inventory's optional signature: detached, beside the file (`inventory.json.sig`), base64 of the operator
// key's signature over the file's exact bytes, the format of `cosign sign-blob` (so `cosign verify-blob --key`
// checks it too). Beside, not inside: the bytes signed are the bytes read, with no canonical form to get wrong.
import {createHash, type KeyObject} from 'node:crypto'
import {existsSync, readFileSync} from 'node:fs'
import {AirlockError} from '../errors.ts'
import {type SigningKey, signBytes, verifyBytes} from '../keys/index.ts'

/** A signature file is a line of base64; a few KB bounds every key type. */
const MAX_SIGNATURE_BYTES = 8192

export function signatureFileFor(inventoryFile: string): string {
  return `${inventoryFile}.sig`
}

/** The signer's identity recorded in airlock.json: sha256 of the public key (SubjectPublicKeyInfo DER). */
export function keyFingerprint(publicKey: KeyObject): string {
  return `sha256:${createHash('sha256')
    .update(publicKey.export({type: 'spki', format: 'der'}))
    .digest('hex')}`
}

export function signInventory(key: SigningKey, bytes: Buffer): string {
  return `${signBytes(key, bytes).toString('base64')}\n`
}

/**
 * Checks `FILE.sig` against the expected key; throws one line naming what is wrong (missing, unreadable, made by
 * another key or over other bytes). Returns the signer's fingerprint.
 */
export function verifyInventorySignature(file: string, bytes: Buffer, publicKey: KeyObject): string {
  const sigFile = signatureFileFor(file)
  if (!existsSync(sigFile))
    throw new AirlockError('SIGNATURE_MISSING', `inventory ${file} is not signed: ${sigFile} does not exist`, {
      hint: 'sign it with airlock inventory --key, or leave out --inventory-key',
    })
  const text = readFileSync(sigFile)
  if (text.length > MAX_SIGNATURE_BYTES)
    throw new AirlockError('SIGNATURE_INVALID', `inventory signature ${sigFile} is larger than a signature can be`)
  const body = text.toString('utf8').trim()
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(body))
    throw new AirlockError('SIGNATURE_INVALID', `inventory signature ${sigFile} is not base64`)
  if (!verifyBytes(publicKey, bytes, Buffer.from(body, 'base64')))
    throw new AirlockError(
      'SIGNATURE_INVALID',
      `inventory ${file}: the signature does not verify with the --inventory-key key (another key signed it, or the file changed)`,
      {hint: 'use the inventory exactly as written on the disconnected side, and that site’s public key'},
    )
  return keyFingerprint(publicKey)
}
