// Adapter: a legacy cosign signature or attestation (an OCI layer plus its annotations, see cosign's
// specs/SIGNATURE_SPEC.md) becomes the equivalent Sigstore bundle, so it verifies through the same
// @sigstore/verify path as native bundles. The Rekor "bundle" annotation (SET plus entry payload) becomes a
// tlog entry with the SET as inclusion promise; an inclusion proof and checkpoint fetched at export
// (stored under sigstore/proofs/) are added when given.
import {createHash} from 'node:crypto'
import {AirlockError} from '../errors.ts'

export const COSIGN_ANNOTATIONS = {
  signature: 'dev.cosignproject.cosign/signature',
  certificate: 'dev.sigstore.cosign/certificate',
  chain: 'dev.sigstore.cosign/chain',
  bundle: 'dev.sigstore.cosign/bundle',
  rfc3161timestamp: 'dev.sigstore.cosign/rfc3161timestamp',
} as const

/** An inclusion proof as the Rekor v1 API returns it (`verification.inclusionProof` of a log entry). */
export interface RekorInclusionProof {
  logIndex: number | string
  /** hex */
  rootHash: string
  treeSize: number | string
  /** hex, leaf to root */
  hashes: string[]
  /** the signed checkpoint (note format) */
  checkpoint: string
}

export interface LegacyOptions {
  inclusionProof?: RekorInclusionProof | undefined
}

type Json = Record<string, unknown>

/** cosign image signature layer: the simplesigning payload bytes, signed as a message. */
export function cosignSignatureToBundle(
  payload: Buffer,
  annotations: Record<string, string>,
  options: LegacyOptions = {},
): Json {
  const signature = annotations[COSIGN_ANNOTATIONS.signature]
  if (!signature) throw invalid(`missing ${COSIGN_ANNOTATIONS.signature} annotation`)
  const sigBytes = base64Strict(signature, COSIGN_ANNOTATIONS.signature)
  const content = {
    messageSignature: {
      messageDigest: {algorithm: 'SHA2_256', digest: createHash('sha256').update(payload).digest('base64')},
      signature: sigBytes.toString('base64'),
    },
  }
  return assemble(content, annotations, options)
}

/** cosign attestation layer (.att): a DSSE envelope (JSON) holding an in-toto statement. */
export function cosignAttestationToBundle(
  envelope: Buffer,
  annotations: Record<string, string>,
  options: LegacyOptions = {},
): Json {
  let env: {payloadType?: unknown; payload?: unknown; signatures?: unknown}
  try {
    env = JSON.parse(envelope.toString('utf8'))
  } catch (error) {
    throw invalid('attestation layer is not a JSON DSSE envelope', error)
  }
  if (
    typeof env.payloadType !== 'string' ||
    typeof env.payload !== 'string' ||
    !Array.isArray(env.signatures) ||
    env.signatures.length === 0
  )
    throw invalid('attestation layer is not a DSSE envelope (payloadType, payload, signatures required)')
  const signatures = (env.signatures as {sig?: unknown; keyid?: unknown}[]).map(s => {
    if (typeof s?.sig !== 'string') throw invalid('DSSE signature without "sig"')
    return {
      sig: base64Strict(s.sig, 'DSSE signature').toString('base64'),
      keyid: typeof s.keyid === 'string' ? s.keyid : '',
    }
  })
  const content = {
    dsseEnvelope: {
      payloadType: env.payloadType,
      payload: base64Strict(env.payload, 'DSSE payload').toString('base64'),
      signatures,
    },
  }
  return assemble(content, annotations, options)
}

function assemble(content: Json, annotations: Record<string, string>, options: LegacyOptions): Json {
  const certificatePem = annotations[COSIGN_ANNOTATIONS.certificate]
  const tlogEntries = annotations[COSIGN_ANNOTATIONS.bundle]
    ? [tlogEntry(annotations[COSIGN_ANNOTATIONS.bundle]!, options.inclusionProof)]
    : []
  if (!annotations[COSIGN_ANNOTATIONS.bundle] && options.inclusionProof)
    throw invalid('an inclusion proof was given but the signature has no Rekor bundle annotation')
  const timestamps = annotations[COSIGN_ANNOTATIONS.rfc3161timestamp]
    ? [rfc3161(annotations[COSIGN_ANNOTATIONS.rfc3161timestamp]!)]
    : []
  const leaf = certificatePem ? firstPemCertificate(certificatePem) : undefined
  // v0.1 carries a SET per entry (and optionally a proof); with no log entry the v0.3 shape holds a lone cert.
  const v01 = tlogEntries.length > 0
  const keyMaterial = leaf
    ? v01
      ? {x509CertificateChain: {certificates: [{rawBytes: leaf}]}}
      : {certificate: {rawBytes: leaf}}
    : {publicKey: {hint: ''}}
  const verificationMaterial: Json = {...keyMaterial, tlogEntries}
  if (timestamps.length > 0) verificationMaterial['timestampVerificationData'] = {rfc3161Timestamps: timestamps}
  return {
    mediaType: v01
      ? 'application/vnd.dev.sigstore.bundle+json;version=0.1'
      : 'application/vnd.dev.sigstore.bundle.v0.3+json',
    verificationMaterial,
    ...content,
  }
}

function tlogEntry(annotation: string, proof: RekorInclusionProof | undefined): Json {
  let rekor: {
    SignedEntryTimestamp?: unknown
    Payload?: {body?: unknown; integratedTime?: unknown; logIndex?: unknown; logID?: unknown}
  }
  try {
    rekor = JSON.parse(annotation)
  } catch (error) {
    throw invalid(`${COSIGN_ANNOTATIONS.bundle} annotation is not JSON`, error)
  }
  const p = rekor.Payload
  if (typeof rekor.SignedEntryTimestamp !== 'string' || !p || typeof p.body !== 'string' || typeof p.logID !== 'string')
    throw invalid(
      `${COSIGN_ANNOTATIONS.bundle} annotation needs SignedEntryTimestamp and Payload{body, integratedTime, logIndex, logID}`,
    )
  if (!Number.isSafeInteger(p.integratedTime) || !Number.isSafeInteger(p.logIndex) || (p.logIndex as number) < 0)
    throw invalid(`${COSIGN_ANNOTATIONS.bundle} annotation has a bad integratedTime or logIndex`)
  if (!/^[0-9a-f]{64}$/.test(p.logID))
    throw invalid(`${COSIGN_ANNOTATIONS.bundle} annotation logID is not a sha256 hex`)
  const body = base64Strict(p.body, 'Rekor entry body')
  let parsed: {kind?: unknown; apiVersion?: unknown}
  try {
    parsed = JSON.parse(body.toString('utf8'))
  } catch (error) {
    throw invalid('Rekor entry body is not JSON', error)
  }
  if (typeof parsed.kind !== 'string' || typeof parsed.apiVersion !== 'string')
    throw invalid('Rekor entry body has no kind/apiVersion')
  const entry: Json = {
    logIndex: String(p.logIndex),
    logId: {keyId: Buffer.from(p.logID, 'hex').toString('base64')},
    kindVersion: {kind: parsed.kind, version: parsed.apiVersion},
    integratedTime: String(p.integratedTime),
    inclusionPromise: {
      signedEntryTimestamp: base64Strict(rekor.SignedEntryTimestamp, 'SignedEntryTimestamp').toString('base64'),
    },
    canonicalizedBody: body.toString('base64'),
  }
  if (proof) entry['inclusionProof'] = inclusionProof(proof)
  return entry
}

function inclusionProof(proof: RekorInclusionProof): Json {
  const hex = (v: unknown, what: string): string => {
    if (typeof v !== 'string' || !/^[0-9a-f]{64}$/i.test(v))
      throw invalid(`inclusion proof ${what} is not a sha256 hex`)
    return Buffer.from(v, 'hex').toString('base64')
  }
  if (typeof proof.checkpoint !== 'string' || proof.checkpoint.length === 0)
    throw invalid('inclusion proof has no checkpoint')
  if (!Array.isArray(proof.hashes)) throw invalid('inclusion proof has no hashes')
  return {
    logIndex: String(proof.logIndex),
    rootHash: hex(proof.rootHash, 'rootHash'),
    treeSize: String(proof.treeSize),
    hashes: proof.hashes.map((h, i) => hex(h, `hashes[${i}]`)),
    checkpoint: {envelope: proof.checkpoint},
  }
}

function rfc3161(annotation: string): Json {
  let value: {SignedRFC3161Timestamp?: unknown}
  try {
    value = JSON.parse(annotation)
  } catch (error) {
    throw invalid(`${COSIGN_ANNOTATIONS.rfc3161timestamp} annotation is not JSON`, error)
  }
  if (typeof value.SignedRFC3161Timestamp !== 'string')
    throw invalid(`${COSIGN_ANNOTATIONS.rfc3161timestamp} annotation has no SignedRFC3161Timestamp`)
  return {signedTimestamp: base64Strict(value.SignedRFC3161Timestamp, 'RFC 3161 timestamp').toString('base64')}
}

/** DER (base64) of the first certificate in a PEM text. */
function firstPemCertificate(pem: string): string {
  const match = /-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/.exec(pem)
  if (!match?.[1]) throw invalid(`${COSIGN_ANNOTATIONS.certificate} annotation holds no PEM certificate`)
  return base64Strict(match[1].replace(/\s+/g, ''), 'certificate').toString('base64')
}

function base64Strict(value: string, what: string): Buffer {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(value) || value.length % 4 !== 0) throw invalid(`${what} is not valid base64`)
  return Buffer.from(value, 'base64')
}

function invalid(message: string, cause?: unknown): AirlockError {
  return new AirlockError('SIGNATURE_INVALID', message, cause === undefined ? {} : {cause})
}
