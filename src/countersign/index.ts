// Countersigning verified images in the mirror with the operator's key, in every form Talos reads.
export {
  countersignImages,
  type CountersignJob,
  type CountersignOptions,
  type CountersignReport,
  type CountersignedImage,
  type SubjectOutcome,
} from './countersign.ts'
export {attTag, BUNDLE_ARTIFACT_TYPE, referrersTag, sigTag, type FormOutcome} from './forms.ts'
export {RECEIPT_PREDICATE, receiptStatement, signatureStatement, simpleSigningPayload} from './payloads.ts'
export type {CountersignTarget} from './target.ts'
export type {TrustRecord, UnsignedImage, UpstreamSigner, VerificationRecord, VerifiedImage} from './types.ts'
export {
  planCountersign,
  policyDigest,
  fileSha256,
  trustRecord,
  type CountersignPlan,
  type PlannedImage,
} from './from-verify.ts'
export {
  runCountersign,
  renderCountersign,
  renderTalosView,
  talosMirrorView,
  type RunCountersignOptions,
  type TalosMirrorView,
} from './run.ts'
export {bundleFailure, readReceipt, talosView, type TalosForm, type TalosViewResult} from './talos-view.ts'
export {
  countersignVerified,
  loadCountersignKey,
  readTalosKey,
  verificationRecord,
  writeClusterConfig,
  writeClusterConfigFromFlags,
} from './flags.ts'
