// Image verification: the signatures and attestations found for one image manifest, judged against the policy
// rule for that image. Each artifact is adapted to a bundle and verified by verifyBundle; on top sit cosign's
// image semantics (the payload must name this manifest digest and be a cosign image signature; attestations
// must have it as an in-toto subject and, if asked, the required predicate type).
import type {Bundle} from '@sigstore/bundle'
import type {TrustedRoot} from '@sigstore/protobuf-specs'
import type {ErrorCode} from '../errors.ts'
import type {PolicyRule} from '../policy/types.ts'
import {describeIdentity} from '../policy/identity.ts'
import type {ArtifactInput} from './artifact.ts'
import {parseBundle} from './bundle.ts'
import {cosignAttestationToBundle, cosignSignatureToBundle, type RekorInclusionProof} from './cosign-legacy.ts'
import {predicateMatches, predicateTypesFor} from '../policy/attestation-type.ts'
import {
  COSIGN_SIGN_PREDICATE,
  INTOTO_PAYLOAD_TYPE,
  parseSimpleSigning,
  parseStatement,
  SIMPLESIGNING_TYPE,
} from './payload.ts'
import {containerIdentityProblem, signedNameOf} from './container-identity.ts'
import {buildTrustMaterial} from './trust.ts'
import {INSECURE_TLOG_WARNING, unusable, verifyBundle, type SignatureResult, type SignerRequirement} from './verify.ts'

/** One signature artifact found for an image, as stored (bytes untouched). `source` names it in reports. */
export type SignatureArtifact =
  | {
      kind: 'cosign-signature'
      payload: Buffer
      annotations: Record<string, string>
      inclusionProof?: RekorInclusionProof
      source?: string
    }
  | {
      kind: 'cosign-attestation'
      envelope: Buffer
      annotations: Record<string, string>
      inclusionProof?: RekorInclusionProof
      source?: string
    }
  | {kind: 'bundle'; bundle: Buffer; source?: string}

export interface ArtifactResult extends SignatureResult {
  kind: SignatureArtifact['kind']
  role: 'signature' | 'attestation'
  source?: string
  predicateType?: string
}

export interface ImageSignatureReport {
  subjectDigest: string
  rule: {image: string; action: PolicyRule['action']; origin: string; requirement: string}
  ok: boolean
  decision: 'verified' | 'skipped' | 'denied' | 'failed'
  /** One line saying why: which signer verified, or why nothing did. */
  reason: string
  /** For a failed image: SIGNATURE_MISSING (nothing found), POLICY_DENIED (valid but not allowed, or deny rule), SIGNATURE_INVALID. */
  errorCode?: Extract<ErrorCode, 'SIGNATURE_MISSING' | 'SIGNATURE_INVALID' | 'POLICY_DENIED'>
  results: ArtifactResult[]
  insecureIgnoreTlog: boolean
  warnings: string[]
}

export interface VerifyImageInput {
  /** The manifest (or index) digest the signatures must name: `sha256:<hex>`. */
  subjectDigest: string
  artifacts: SignatureArtifact[]
  /** From ruleFor(policy, imageReference). */
  policyRule: PolicyRule
  trust: {trustedRoots: TrustedRoot[]}
  insecureIgnoreTlog?: boolean
  /** `--attestation-type`: also require a valid attestation with this predicate type. */
  attestationType?: string
  /** `--require-container-identity`: the image reference whose repository every signed payload must name. */
  containerIdentity?: string
}

export function verifyImageSignatures(input: VerifyImageInput): ImageSignatureReport {
  const rule = input.policyRule
  const ignoreTlog = input.insecureIgnoreTlog === true
  const base = {
    subjectDigest: input.subjectDigest,
    rule: {image: rule.image, action: rule.action, origin: rule.origin, requirement: describeRule(rule)},
    insecureIgnoreTlog: ignoreTlog,
    warnings: ignoreTlog ? [INSECURE_TLOG_WARNING] : [],
  }
  if (rule.action === 'skip')
    return {...base, ok: true, decision: 'skipped', reason: `verification skipped by ${rule.origin}`, results: []}
  if (rule.action === 'deny')
    return {
      ...base,
      ok: false,
      decision: 'denied',
      reason: `denied by ${rule.origin}`,
      errorCode: 'POLICY_DENIED',
      results: [],
    }
  const subjectHex = /^sha256:([0-9a-f]{64})$/.exec(input.subjectDigest)?.[1]
  if (!subjectHex)
    return {
      ...base,
      ok: false,
      decision: 'failed',
      reason: `subject digest ${input.subjectDigest} is not sha256:<hex>`,
      errorCode: 'SIGNATURE_INVALID',
      results: [],
    }

  const trust = buildTrustMaterial(
    rule.action === 'public-key'
      ? {trustedRoots: input.trust.trustedRoots, publicKeyPem: rule.publicKeyPem}
      : {trustedRoots: input.trust.trustedRoots},
  )
  const signer: SignerRequirement =
    rule.action === 'keyless' ? {kind: 'keyless', identities: rule.identities} : {kind: 'public-key'}
  const accepted = input.attestationType === undefined ? undefined : predicateTypesFor(input.attestationType)
  const digestArtifact: ArtifactInput = {kind: 'digest', algorithm: 'sha256', digest: Buffer.from(subjectHex, 'hex')}

  /** With --require-container-identity, a signature that verified must also name the image's repository. */
  const bindName = (result: SignatureResult, claimed: () => string | undefined): SignatureResult => {
    if (input.containerIdentity === undefined || !result.ok) return result
    const problem = containerIdentityProblem(claimed(), input.containerIdentity)
    if (problem) return failCheck(result, 'container-identity', problem, 'policy')
    return {...result, checks: [...result.checks, {name: 'container-identity', status: 'pass'}]}
  }

  const results = input.artifacts.map((artifact): ArtifactResult => {
    const meta = {kind: artifact.kind, ...(artifact.source === undefined ? {} : {source: artifact.source})}
    let bundle: Bundle
    let role: ArtifactResult['role'] = artifact.kind === 'cosign-attestation' ? 'attestation' : 'signature'
    try {
      bundle =
        artifact.kind === 'bundle'
          ? parseBundle(artifact.bundle, artifact.source ?? 'bundle')
          : artifact.kind === 'cosign-signature'
            ? parseBundle(
                cosignSignatureToBundle(artifact.payload, artifact.annotations, {
                  inclusionProof: artifact.inclusionProof,
                }),
                artifact.source ?? 'cosign signature',
              )
            : parseBundle(
                cosignAttestationToBundle(artifact.envelope, artifact.annotations, {
                  inclusionProof: artifact.inclusionProof,
                }),
                artifact.source ?? 'cosign attestation',
              )
    } catch (error) {
      return {...meta, role, ...unusable(error, ignoreTlog)}
    }
    if (artifact.kind === 'cosign-signature') {
      const result = verifyBundle(
        bundle,
        {kind: 'bytes', bytes: artifact.payload},
        {trust, signer, insecureIgnoreTlog: ignoreTlog},
      )
      const problem = simpleSigningProblem(artifact.payload, input.subjectDigest)
      if (problem) return {...meta, role, ...failCheck(result, 'subject-digest', problem)}
      return {...meta, role, ...bindName(result, () => signedNameOf(artifact.payload, 'simple-signing', subjectHex))}
    }
    let predicateType: string | undefined
    if (bundle.content.$case === 'dsseEnvelope' && bundle.content.dsseEnvelope.payloadType === INTOTO_PAYLOAD_TYPE) {
      const statement = parseStatement(Buffer.from(bundle.content.dsseEnvelope.payload))
      if (typeof statement !== 'string') {
        predicateType = statement.predicateType
        role = predicateType === COSIGN_SIGN_PREDICATE ? 'signature' : 'attestation'
      }
    }
    let result = verifyBundle(bundle, digestArtifact, {trust, signer, insecureIgnoreTlog: ignoreTlog})
    const notImage = imageBundleProblem(bundle)
    // The shape is the first reason: whatever else failed, this bundle could never be an image signature.
    if (notImage)
      result = {
        ...failCheck(result, 'subject-digest', notImage),
        failure: {check: 'subject-digest', category: 'verification', reason: notImage},
      }
    if (role === 'attestation' && accepted) {
      if (predicateType !== undefined && predicateMatches(predicateType, accepted))
        result = {...result, checks: [...result.checks, {name: 'attestation-type', status: 'pass'}]}
      else
        result = failCheck(
          result,
          'attestation-type',
          `predicate type ${predicateType ?? '(none)'} is not ${input.attestationType}`,
          'policy',
        )
    }
    if (bundle.content.$case === 'dsseEnvelope') {
      const payload = Buffer.from(bundle.content.dsseEnvelope.payload)
      result = bindName(result, () => signedNameOf(payload, 'in-toto', subjectHex))
    }
    return {...meta, role, ...(predicateType === undefined ? {} : {predicateType}), ...result}
  })

  const goodSignature = results.find(r => r.ok && r.role === 'signature')
  const goodAttestation = results.find(r => r.ok && r.role === 'attestation')
  const needAttestation = accepted !== undefined
  if (goodSignature && (!needAttestation || goodAttestation)) {
    const who =
      goodSignature.signer.keyed || rule.action === 'public-key'
        ? 'the policy key'
        : `${goodSignature.signer.identity ?? '?'} (issuer ${goodSignature.signer.issuer ?? '?'})`
    return {
      ...base,
      ok: true,
      decision: 'verified',
      reason: `signed by ${who}${goodAttestation && needAttestation ? `, attested (${goodAttestation.predicateType})` : ''}`,
      results,
    }
  }
  const wanted = goodSignature ? 'attestation' : 'signature'
  const candidates = results.filter(r => r.role === wanted)
  if (candidates.length === 0)
    return {
      ...base,
      ok: false,
      decision: 'failed',
      reason:
        wanted === 'signature'
          ? 'no signature found for this image'
          : `no attestation found for this image (required: ${input.attestationType})`,
      errorCode: 'SIGNATURE_MISSING',
      results,
    }
  const policyOnly = candidates.every(r => r.failure?.category === 'policy')
  const reasons = [...new Set(candidates.map(r => `${r.failure?.check}: ${r.failure?.reason}`))].slice(0, 3).join('; ')
  return {
    ...base,
    ok: false,
    decision: 'failed',
    reason: policyOnly
      ? `valid ${wanted}s, but none satisfies ${rule.origin}: ${reasons}`
      : `no ${wanted} verifies: ${reasons}`,
    errorCode: policyOnly ? 'POLICY_DENIED' : 'SIGNATURE_INVALID',
    results,
  }
}

/**
 * What cosign accepts as a bundle about an image (pkg/cosign/verify.go verifyImageAttestationsSigstoreBundle): a DSSE
 * envelope (a message signature is refused: it signs bytes, and a sign-blob of the manifest is no statement about
 * the image) holding an in-toto statement (sigstore-go reads statements under that payload type only). The subject
 * digest itself is checked by verifyBundle.
 */
function imageBundleProblem(bundle: Bundle): string | undefined {
  const content = bundle.content
  if (content.$case === 'messageSignature')
    return 'a message signature signs bytes, not an image: it is not an image signature (cosign verify accepts only DSSE in-toto bundles for images)'
  if (content.dsseEnvelope.payloadType !== INTOTO_PAYLOAD_TYPE)
    return `DSSE payload type ${content.dsseEnvelope.payloadType} is not ${INTOTO_PAYLOAD_TYPE}: not an image signature or attestation (as cosign)`
  return undefined
}

/** cosign semantics for a simplesigning payload: its type, and the manifest digest it names. */
function simpleSigningProblem(payload: Buffer, subjectDigest: string): string | undefined {
  const parsed = parseSimpleSigning(payload)
  if (typeof parsed === 'string') return parsed
  if (parsed.critical.type !== SIMPLESIGNING_TYPE)
    return `payload critical.type is ${JSON.stringify(parsed.critical.type)}, not "${SIMPLESIGNING_TYPE}"`
  const named = parsed.critical.image['docker-manifest-digest']
  if (named !== subjectDigest) return `payload names ${named}, not this image ${subjectDigest}`
  return undefined
}

function failCheck(
  result: SignatureResult,
  check: ArtifactResult['checks'][number]['name'],
  reason: string,
  category: 'verification' | 'policy' = 'verification',
): SignatureResult {
  const checks = result.checks.some(c => c.name === check)
    ? result.checks.map(c => (c.name === check ? {name: check, status: 'fail' as const, reason} : c))
    : [...result.checks, {name: check, status: 'fail' as const, reason}]
  const failure =
    result.failure && result.failure.category === 'verification' ? result.failure : {check, category, reason}
  return {...result, ok: false, checks, failure}
}

function describeRule(rule: PolicyRule): string {
  switch (rule.action) {
    case 'keyless':
      return rule.identities.map(describeIdentity).join(' | ')
    case 'public-key':
      return 'public key'
    case 'skip':
      return 'skip verification'
    case 'deny':
      return 'deny'
  }
}
