// What gets signed: cosign's statement for an image signature in the new bundle format, cosign's legacy
// simple-signing payload, and airlock's receipt statement. Plain JSON; the subjects are the digests nodes pull.
import {digestHex, type Digest} from '../oci/digest.ts'
import {COSIGN_SIGN_PREDICATE, SIMPLESIGNING_TYPE} from '../sigstore/payload.ts'
import type {VerificationRecord, VerifiedImage} from './types.ts'

export const INTOTO_STATEMENT_V1 = 'https://in-toto.io/Statement/v1'
/** Predicate type of airlock's signed record of what the gap verified. */
export const RECEIPT_PREDICATE = 'https://github.com/airlock/attestations/verification-receipt/v1'

/** cosign v3 `sign --new-bundle-format`: an in-toto statement naming the image digest, predicate cosign/sign/v1. */
export function signatureStatement(repository: string, subject: Digest): Buffer {
  return Buffer.from(
    JSON.stringify({
      _type: INTOTO_STATEMENT_V1,
      subject: [{name: repository, digest: {sha256: digestHex(subject)}}],
      predicateType: COSIGN_SIGN_PREDICATE,
      predicate: {},
    }),
  )
}

/**
 * cosign's legacy payload. docker-reference is the ORIGINAL repository: nodes pull by that name through a
 * transparent mirror, and that is the name a verifier of the claims compares with.
 */
export function simpleSigningPayload(repository: string, subject: Digest): Buffer {
  return Buffer.from(
    JSON.stringify({
      critical: {
        identity: {'docker-reference': repository},
        image: {'docker-manifest-digest': subject},
        type: SIMPLESIGNING_TYPE,
      },
      optional: null,
    }),
  )
}

export function receiptStatement(image: VerifiedImage, record: VerificationRecord): Buffer {
  const subjects = [image.root, ...image.platforms].map(d => ({
    name: image.repository,
    digest: {sha256: digestHex(d.digest)},
  }))
  return Buffer.from(
    JSON.stringify({
      _type: INTOTO_STATEMENT_V1,
      subject: subjects,
      predicateType: RECEIPT_PREDICATE,
      predicate: {
        image: image.reference,
        upstreamSignature: {
          ...(image.upstream.keyed
            ? {keyed: true}
            : {identity: image.upstream.identity ?? null, issuer: image.upstream.issuer ?? null}),
          ...(image.upstream.logIndex ? {logIndex: image.upstream.logIndex} : {}),
          ...(image.upstream.integratedTime ? {integratedTime: image.upstream.integratedTime} : {}),
          subjects: image.upstream.subjects,
          ...(image.upstream.form ? {form: image.upstream.form} : {}),
        },
        trustedRoot: {
          ...(record.trust.trustedRootSha256 ? {sha256: record.trust.trustedRootSha256} : {}),
          source: record.trust.source,
        },
        policy: {sha256: record.policySha256, source: record.policySource},
        archive: {sha256: record.archiveSha256, name: record.archive},
        verifier: {name: 'airlock', version: record.airlockVersion},
        verifiedAt: record.verifiedAt,
      },
    }),
  )
}
