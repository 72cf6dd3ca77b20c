// From a verdict to countersign jobs: the images push wrote (the verdict's images, roots and judged children), who
// signed them upstream (the report's judgement of each), and which images must NOT be signed (a `skip` rule).
import {createHash} from 'node:crypto'
import {createReadStream, readFileSync} from 'node:fs'
import type {Policy} from '../policy/index.ts'
import {mapRepository, type MirrorTarget} from '../reference/mirror-path.ts'
import {parseReference} from '../reference/index.ts'
import type {ImageReport} from '../verify/report-model.ts'
import type {ImageJudgement} from '../sigstore/judge.ts'
import type {TrustResolution} from '../verify/trust.ts'
import type {Verdict} from '../verify/verdict.ts'
import {AirlockError} from '../errors.ts'
import type {TrustRecord, UnsignedImage, UpstreamSigner, VerifiedImage} from './types.ts'

export interface PlannedImage {
  image: VerifiedImage
  /** The image's repository path in the mirror. */
  repository: string
}

export interface CountersignPlan {
  images: PlannedImage[]
  notSigned: UnsignedImage[]
}

function judgementOf(report: ImageReport): ImageJudgement | undefined {
  const check = report.checks.find(c => c.name === 'signatures')
  return check?.ok ? (check.details as ImageJudgement | undefined) : undefined
}

function upstreamSigner(judgement: ImageJudgement): UpstreamSigner | undefined {
  const decided = judgement.coveredBy === 'platforms' ? judgement.subjects.slice(1) : judgement.subjects.slice(0, 1)
  if (decided.length === 0 || !decided.every(s => s.ok && s.decision === 'verified')) return undefined
  const result = decided[0]!.results.find(r => r.ok && r.role === 'signature')
  if (!result) return undefined
  const log = result.tlog[0]
  return {
    ...(result.signer.identity ? {identity: result.signer.identity} : {}),
    ...(result.signer.issuer ? {issuer: result.signer.issuer} : {}),
    keyed: result.signer.keyed,
    ...(log ? {logIndex: log.logIndex} : {}),
    ...(log?.integratedTime ? {integratedTime: log.integratedTime} : {}),
    subjects: decided.map(s => s.subjectDigest),
    ...(result.source ? {form: result.source} : {}),
  }
}

/**
 * Splits the verdict into images to countersign (with their mirror repository) and images not to sign. The images,
 * their root and children come from the verdict (exactly what push wrote); the report only says who signed them.
 */
export function planCountersign(
  verdict: Verdict,
  target: MirrorTarget,
  options: {keepHost?: boolean} = {},
): CountersignPlan {
  const images: PlannedImage[] = []
  const notSigned: UnsignedImage[] = []
  if (!verdict.verified)
    throw new AirlockError(
      'USAGE',
      'the archive was not verified (--skip-verify): airlock never signs what it did not verify',
    )
  for (const image of verdict.images) {
    const report = verdict.report.images.find(r => r.reference === image.reference)
    const judgement = report?.ok ? judgementOf(report) : undefined
    if (!judgement) {
      notSigned.push({reference: image.reference, reason: 'signatures were not checked'})
      continue
    }
    const decision = judgement.subjects[0]?.decision
    if (decision === 'skipped') {
      notSigned.push({
        reference: image.reference,
        reason: `policy rule ${judgement.subjects[0]!.rule.origin} says skip: not verified, so not countersigned`,
      })
      continue
    }
    const upstream = upstreamSigner(judgement)
    if (!upstream) {
      notSigned.push({reference: image.reference, reason: `no verified signature recorded (${judgement.reason})`})
      continue
    }
    const ref = parseReference(image.reference)
    images.push({
      image: {
        repository: ref.name,
        reference: image.reference,
        root: {...image.root},
        platforms: image.children.map(c => ({mediaType: c.mediaType, digest: c.digest, size: c.size})),
        upstream,
      },
      repository: mapRepository(ref, target, {keepHost: options.keepHost ?? false}),
    })
  }
  return {images, notSigned}
}

/** What the trust step used, for the receipt. */
export function trustRecord(resolution: TrustResolution | undefined): TrustRecord {
  if (!resolution || resolution.trustedRoots.length === 0)
    return {source: ['no trusted root: the policy verified signatures with keys only']}
  const first = resolution.trustedRoots[0]!
  return {trustedRootSha256: createHash('sha256').update(first).digest('hex'), source: resolution.reports}
}

/** sha256 of the policy: the file's bytes, or the canonical JSON of a flags policy. */
export function policyDigest(policy: Policy, policyFile: string | undefined): {sha256: string; source: string} {
  const bytes = policyFile
    ? readFileSync(policyFile)
    : Buffer.from(JSON.stringify({rules: policy.rules, insecureIgnoreTlog: policy.insecureIgnoreTlog}))
  return {sha256: createHash('sha256').update(bytes).digest('hex'), source: policyFile ?? 'command-line flags'}
}

/** sha256 of the archive file, streamed (bounded memory). */
export async function fileSha256(path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path, {highWaterMark: 1024 * 1024})) hash.update(chunk as Buffer)
  return hash.digest('hex')
}
