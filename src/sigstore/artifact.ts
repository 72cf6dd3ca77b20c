// What was signed: the artifact bytes, or only their digest (`sha256:<hex>`). This module binds a bundle's content
// to that artifact (message digest, or in-toto subject / DSSE payload digest) and supplies the signature content
// @sigstore/verify checks when only a digest is known.
import {createHash, type KeyObject} from 'node:crypto'
import type {Bundle, MessageSignature} from '@sigstore/bundle'
import {HashAlgorithm} from '@sigstore/protobuf-specs'
import type {SignedEntity} from '@sigstore/verify'
import {AirlockError} from '../errors.ts'
import {verifyPrehashed} from './prehashed.ts'
import {INTOTO_PAYLOAD_TYPE, parseStatement} from './payload.ts'

/**
 * The artifact a bundle must cover: its bytes, its sha256 digest, or `embedded` for a DSSE bundle verified on its
 * own (the statement is inside the envelope; the caller then checks its subjects itself).
 */
export type ArtifactInput =
  | {kind: 'bytes'; bytes: Buffer}
  | {kind: 'digest'; algorithm: 'sha256'; digest: Buffer}
  | {kind: 'embedded'}

/** Reads `sha256:<64 hex>` into a digest artifact; anything else is a usage error. */
export function parseDigestArtifact(value: string): ArtifactInput {
  const match = /^sha256:([0-9a-f]{64})$/.exec(value)
  if (!match?.[1]) throw new AirlockError('USAGE', `not a sha256 digest: ${value} (expected sha256:<64 lowercase hex>)`)
  return {kind: 'digest', algorithm: 'sha256', digest: Buffer.from(match[1], 'hex')}
}

export function artifactSha256(artifact: {kind: 'bytes'; bytes: Buffer} | {kind: 'digest'; digest: Buffer}): Buffer {
  return artifact.kind === 'digest' ? artifact.digest : createHash('sha256').update(artifact.bytes).digest()
}

/** Outcome of binding a bundle to the artifact: undefined when it is bound, else a one-line reason. */
export function checkArtifactBinding(bundle: Bundle, artifact: ArtifactInput): string | undefined {
  const content = bundle.content
  if (artifact.kind === 'embedded')
    return content.$case === 'dsseEnvelope'
      ? undefined
      : 'a message signature needs the artifact (file or sha256 digest)'
  const want = artifactSha256(artifact)
  if (content.$case === 'messageSignature') {
    const {algorithm, digest} = content.messageSignature.messageDigest ?? {
      algorithm: HashAlgorithm.HASH_ALGORITHM_UNSPECIFIED,
      digest: Buffer.alloc(0),
    }
    if (algorithm !== HashAlgorithm.SHA2_256 && algorithm !== HashAlgorithm.HASH_ALGORITHM_UNSPECIFIED)
      return `message digest algorithm ${HashAlgorithm[algorithm] ?? algorithm} is not supported (sha256 only)`
    if (!Buffer.from(digest).equals(want))
      return `bundle message digest sha256:${Buffer.from(digest).toString('hex')} is not the artifact's sha256:${want.toString('hex')}`
    return undefined
  }
  const envelope = content.dsseEnvelope
  if (envelope.payloadType === INTOTO_PAYLOAD_TYPE) {
    const statement = parseStatement(Buffer.from(envelope.payload))
    if (typeof statement === 'string') return statement
    const hex = want.toString('hex')
    if (statement.subject.some(s => s.digest['sha256']?.toLowerCase() === hex)) return undefined
    if (artifact.kind === 'bytes') {
      const sha512 = createHash('sha512').update(artifact.bytes).digest('hex')
      if (statement.subject.some(s => s.digest['sha512']?.toLowerCase() === sha512)) return undefined
    }
    return `no in-toto subject has the artifact's digest sha256:${hex}`
  }
  const payloadDigest = createHash('sha256').update(envelope.payload).digest()
  return payloadDigest.equals(want) ? undefined : `DSSE payload (${envelope.payloadType}) is not the artifact`
}

/** In digest mode a message signature is checked over the given digest instead of over artifact bytes. */
export function withPrehashedSignature(entity: SignedEntity, message: MessageSignature, digest: Buffer): SignedEntity {
  const signature = Buffer.from(message.signature)
  const messageDigest = Buffer.from(message.messageDigest?.digest ?? Buffer.alloc(0))
  return {
    ...entity,
    signature: {
      signature,
      compareSignature: (other: Buffer) => other.equals(signature),
      compareDigest: (other: Buffer) => other.equals(messageDigest),
      compareSignedDigest: (other: Buffer) => other.equals(messageDigest),
      verifySignature: (key: KeyObject) => verifyPrehashed(key, digest, signature, 'sha256'),
    },
  }
}
