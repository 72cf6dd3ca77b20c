// The named checks of one signature's verification, in the order @sigstore/verify performs them, and the mapping
// from its coded errors to the check that failed.
import {PolicyError, VerificationError} from '@sigstore/verify'

export type CheckName =
  | 'subject-digest' // the signed payload / message digest names the artifact or image manifest being verified
  | 'rfc3161-timestamp' // RFC 3161 timestamps verify against a trusted TSA
  | 'certificate-chain' // the signing certificate chains to a trusted CA valid at log/timestamp time
  | 'sct' // the certificate's embedded SCT verifies against a trusted CT log
  | 'public-key' // key-signed: the signing key is the operator's --key
  | 'set' // the Rekor signed entry timestamp (inclusion promise) verifies
  | 'inclusion-proof' // the RFC 6962 inclusion proof leads to the checkpoint's root hash
  | 'checkpoint' // the checkpoint is signed by the trusted log
  | 'tlog-body' // the log entry's body matches signature, key and payload
  | 'tlog' // enough distinct log entries
  | 'signature' // the signature verifies over the payload with the verified key
  | 'identity-policy' // the signer's identity and issuer satisfy the policy
  | 'attestation-type' // the attestation's predicate type is the one required
  | 'container-identity' // --require-container-identity: the signed payload names the image's repository
  | 'verification' // anything else that stopped verification (malformed input)

export type CheckStatus = 'pass' | 'fail' | 'skipped' | 'not-applicable' | 'not-run'

export interface CheckResult {
  name: CheckName
  status: CheckStatus
  /** One line: why it failed or was skipped. */
  reason?: string
}

/** Steps in @sigstore/verify's fixed order (verifier.ts): timestamps, signing key, tlogs, signature, policy. */
export const VERIFIER_ORDER: readonly CheckName[] = [
  'rfc3161-timestamp',
  'certificate-chain',
  'public-key',
  'sct',
  'set',
  'inclusion-proof',
  'checkpoint',
  'tlog-body',
  'tlog',
  'signature',
  'identity-policy',
]

/**
 * The check a @sigstore/verify error belongs to. The error code decides; only where one code covers two checks
 * (certificate chain vs SCT, inclusion proof vs checkpoint) does the message pick the label, never the outcome.
 */
export function checkForError(error: unknown): CheckName {
  if (error instanceof PolicyError) return 'identity-policy'
  if (!(error instanceof VerificationError)) return 'verification'
  const message = error.message
  switch (error.code) {
    case 'TIMESTAMP_ERROR':
      return 'rfc3161-timestamp'
    case 'CERTIFICATE_ERROR':
      return /\bSCTs?\b/.test(message) ? 'sct' : 'certificate-chain'
    case 'PUBLIC_KEY_ERROR':
      return 'public-key'
    case 'TLOG_INCLUSION_PROMISE_ERROR':
      return 'set'
    case 'TLOG_INCLUSION_PROOF_ERROR':
      return /checkpoint/i.test(message) ? 'checkpoint' : 'inclusion-proof'
    case 'TLOG_MISSING_INCLUSION_ERROR':
      return 'inclusion-proof'
    case 'TLOG_BODY_ERROR':
      return 'tlog-body'
    case 'TLOG_ERROR':
      return 'tlog'
    case 'SIGNATURE_ERROR':
      return 'signature'
    default:
      return 'verification'
  }
}
