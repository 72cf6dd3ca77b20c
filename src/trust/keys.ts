// Key identity for TUF thresholds and key rotation. A key id is a name the metadata gives a key; the spec requires a
// threshold of distinct KEYS, so one key listed under two ids must count once (go-tuf fixed the same bug as a
// vulnerability). The identity of a key is the sha256 of its public key as SPKI DER, whatever form the keyval uses.
import {createHash, createPublicKey, type JsonWebKey} from 'node:crypto'
import {type Key, Metadata, MetadataKind, type Root, type Snapshot, type Targets, type Timestamp} from '@tufjs/models'
import {canonicalize} from '@tufjs/canonical-json'

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex')

function spkiOf(key: Key): Buffer | undefined {
  const pub = key.keyVal.public ?? ''
  let jwk: JsonWebKey | undefined
  if (pub.startsWith('-----BEGIN')) return createPublicKey(pub).export({type: 'spki', format: 'der'})
  if (!/^[0-9a-f]+$/i.test(pub) || pub.length % 2 !== 0) return undefined
  const raw = Buffer.from(pub, 'hex')
  if (key.keyType === 'ed25519' && raw.length === 32) jwk = {kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url')}
  else if (key.keyType.startsWith('ecdsa') && raw[0] === 4 && (raw.length === 65 || raw.length === 97)) {
    const n = (raw.length - 1) / 2
    jwk = {
      kty: 'EC',
      crv: n === 32 ? 'P-256' : 'P-384',
      x: raw.subarray(1, 1 + n).toString('base64url'),
      y: raw.subarray(1 + n).toString('base64url'),
    }
  } else return createPublicKey({key: raw, format: 'der', type: 'spki'}).export({type: 'spki', format: 'der'})
  return createPublicKey({key: jwk, format: 'jwk'}).export({type: 'spki', format: 'der'})
}

/** `spki:<sha256 of the SPKI DER>`; for key material Node cannot read, the normalized keyval (it can verify nothing). */
export function keyFingerprint(key: Key): string {
  try {
    const spki = spkiOf(key)
    if (spki) return `spki:${sha256(spki)}`
  } catch {
    // not a key Node can read: fall back to the text
  }
  return `keyval:${key.keyType}:${(key.keyVal.public ?? '').trim().toLowerCase()}`
}

/** The distinct keys (by fingerprint) among `keyIDs` whose signature over `metadata` verifies. */
export function validSigners(
  keys: Record<string, Key>,
  keyIDs: readonly string[],
  metadata: Metadata<Root | Timestamp | Snapshot | Targets>,
): Set<string> {
  const signers = new Set<string>()
  for (const id of new Set(keyIDs)) {
    if (!Object.hasOwn(keys, id)) continue
    const key = keys[id] as Key
    try {
      key.verifySignature(metadata)
    } catch {
      continue
    }
    signers.add(keyFingerprint(key))
  }
  return signers
}

/** The fingerprints of the keys a role lists, sorted: what "the role's keys rotated" is judged by. */
export function roleKeyFingerprints(keys: Record<string, Key>, keyIDs: readonly string[]): string[] {
  return [...new Set(keyIDs.filter(id => Object.hasOwn(keys, id)).map(id => keyFingerprint(keys[id] as Key)))].sort()
}

/**
 * Identity of a pinned root: sha256 of the canonical JSON of its signed part (formatting and signatures aside). The
 * rollback state is keyed by it, never by a name the archive chose. Throws on bytes that are not root metadata.
 */
export function pinnedRootFingerprint(root: Buffer | {signed: {toJSON(): unknown}}): string {
  const md = Buffer.isBuffer(root) ? Metadata.fromJSON(MetadataKind.Root, JSON.parse(root.toString('utf8'))) : root
  return sha256(canonicalize(md.signed.toJSON()))
}
