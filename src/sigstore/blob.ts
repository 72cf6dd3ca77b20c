// verifyBlob: one artifact (bytes or sha256 digest) and one Sigstore bundle, offline.
import type {Bundle} from '@sigstore/bundle'
import {AirlockError} from '../errors.ts'
import type {ArtifactInput} from './artifact.ts'
import {parseBundle} from './bundle.ts'
import {buildTrustMaterial, type TrustInput} from './trust.ts'
import {unusable, verifyBundle, type SignatureResult, type SignerRequirement} from './verify.ts'

export interface VerifyBlobInput {
  /** The serialized bundle (JSON bytes or text, or its parsed value). */
  bundle: Uint8Array | string | object
  artifact: ArtifactInput
  trust: TrustInput
  signer: SignerRequirement
  insecureIgnoreTlog?: boolean
}

export interface BlobVerificationReport extends SignatureResult {
  bundleMediaType?: string
}

/** Verifies a bundle over an artifact. Bad signatures are a failed report, never a throw; bad trust input throws. */
export function verifyBlob(input: VerifyBlobInput): BlobVerificationReport {
  if (input.signer.kind === 'public-key' && input.trust.publicKeyPem === undefined)
    throw new AirlockError('USAGE', 'a public-key signer requirement needs trust.publicKeyPem (--key)')
  const trust = buildTrustMaterial(input.trust)
  let bundle: Bundle
  try {
    bundle = parseBundle(input.bundle)
  } catch (error) {
    return unusable(error, input.insecureIgnoreTlog === true)
  }
  const result = verifyBundle(bundle, input.artifact, {
    trust,
    signer: input.signer,
    insecureIgnoreTlog: input.insecureIgnoreTlog === true,
  })
  return {...result, bundleMediaType: bundle.mediaType}
}
