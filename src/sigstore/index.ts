// Public API of the offline signature engine. Everything verifies through @sigstore/verify; nothing here touches
// the network.
export {
  verifyImageSignatures,
  type SignatureArtifact,
  type ArtifactResult,
  type ImageSignatureReport,
  type VerifyImageInput,
} from './image.ts'
export {verifyBlob, type VerifyBlobInput, type BlobVerificationReport} from './blob.ts'
export {
  verifyBundle,
  signerFromCertificate,
  INSECURE_TLOG_WARNING,
  type SignatureResult,
  type SignerRequirement,
  type LogEntryInfo,
  type VerifyOptions,
} from './verify.ts'
export {parseDigestArtifact, artifactSha256, type ArtifactInput} from './artifact.ts'
export {parseBundle} from './bundle.ts'
export {
  cosignSignatureToBundle,
  cosignAttestationToBundle,
  COSIGN_ANNOTATIONS,
  type RekorInclusionProof,
} from './cosign-legacy.ts'
export {
  loadTrustedRoot,
  parseTrustedRoot,
  mergeTrustedRoots,
  validateTrustedRoot,
  buildTrustMaterial,
  type TrustInput,
} from './trust.ts'
export {SIMPLESIGNING_TYPE, INTOTO_PAYLOAD_TYPE, COSIGN_SIGN_PREDICATE} from './payload.ts'
export type {CheckName, CheckResult, CheckStatus} from './checks.ts'
