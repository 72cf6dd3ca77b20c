// From a passed verification to countersign jobs. The only place that reads the verify report's shape for
// countersigning: which images a signature satisfied the policy for (decision 'verified'), who signed them
// upstream, and which images must NOT be signed (a `skip` rule, a failed check). When push moves to a verdict
// type, this is the one mapping to rewrite.
import {createHash} from 'node:crypto'
import {createReadStream, readFileSync} from 'node:fs'
import type {Descriptor} from '../oci/descriptor.ts'
import type {Policy} from '../policy/index.ts'
import {mapRepository, type MirrorTarget} from '../push/mapping.ts'
import {parseReference} from '../reference/index.ts'
import type {ImageReport, VerifyReport} from '../report/model.ts'
import type {ImageJudgement} from '../sigstore/judge.ts'
import type {TrustResolution} from '../trust/archive.ts'
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
  const check = report.checks.find((c) => c.name === 'signatures')
  return check?.ok ? (check.details as ImageJudgement | undefined) : undefined
}

function upstreamSigner(judgement: ImageJudgement): UpstreamSigner | undefined {
  const decided = judgement.coveredBy === 'platforms' ? judgement.subjects.slice(1) : judgement.subjects.slice(0, 1)
  if (decided.length === 0 || !decided.every((s) => s.ok && s.decision === 'verified')) return undefined
  const result = decided[0]!.results.find((r) => r.ok && r.role === 'signature')
  if (!result) return undefined
  const log = result.tlog[0]
  return {
    ...(result.signer.identity ? {identity: result.signer.identity} : {}),
    ...(result.signer.issuer ? {issuer: result.signer.issuer} : {}),
    keyed: result.signer.keyed,
    ...(log ? {logIndex: log.logIndex} : {}),
    ...(log?.integratedTime ? {integratedTime: log.integratedTime} : {}),
    subjects: decided.map((s) => s.subjectDigest),
    ...(result.source ? {form: result.source} : {}),
  }
}

/** Splits a verify report into images to countersign (with their mirror repository) and images not to sign. */
export function planCountersign(report: VerifyReport, target: MirrorTarget, options: {keepHost?: boolean} = {}): CountersignPlan {
  const images: PlannedImage[] = []
  const notSigned: UnsignedImage[] = []
  for (const image of report.images) {
    if (!report.ok || !image.ok) {
      notSigned.push({reference: image.reference, reason: 'verification failed'})
      continue
    }
    const judgement = judgementOf(image)
    if (!judgement) {
      notSigned.push({reference: image.reference, reason: 'signatures were not checked'})
      continue
    }
    const decision = judgement.subjects[0]?.decision
    if (decision === 'skipped') {
      notSigned.push({reference: image.reference, reason: `policy rule ${judgement.subjects[0]!.rule.origin} says skip: not verified, so not countersigned`})
      continue
    }
    const upstream = upstreamSigner(judgement)
    if (!upstream) {
      notSigned.push({reference: image.reference, reason: `no verified signature recorded (${judgement.reason})`})
      continue
    }
    const ref = parseReference(image.reference)
    const root: Descriptor = {mediaType: image.mediaType, digest: image.digest, size: rootSize(image)}
    const platforms = image.platforms.map((p) => p.manifest).filter((m) => m.digest !== image.digest)
    images.push({
      image: {repository: ref.name, reference: image.reference, root, platforms: platforms.map((m) => ({mediaType: m.mediaType, digest: m.digest, size: m.size})), upstream},
      repository: mapRepository(ref, target, {keepHost: options.keepHost ?? false}),
    })
  }
  return {images, notSigned}
}

/** The root's size: a platform tree's manifest when the image is a single manifest; else unknown here (-1). */
function rootSize(image: ImageReport): number {
  return image.platforms.find((p) => p.manifest.digest === image.digest)?.manifest.size ?? -1
}

/** What the trust step used, for the receipt. */
export function trustRecord(resolution: TrustResolution | undefined): TrustRecord {
  if (!resolution || resolution.trustedRoots.length === 0) return {source: ['no trusted root: the policy verified signatures with keys only']}
  const first = resolution.trustedRoots[0]!
  return {trustedRootSha256: createHash('sha256').update(first).digest('hex'), source: resolution.reports}
}

/** sha256 of the policy: the file's bytes, or the canonical JSON of a flags policy. */
export function policyDigest(policy: Policy, policyFile: string | undefined): {sha256: string; source: string} {
  const bytes = policyFile ? readFileSync(policyFile) : Buffer.from(JSON.stringify({rules: policy.rules, insecureIgnoreTlog: policy.insecureIgnoreTlog}))
  return {sha256: createHash('sha256').update(bytes).digest('hex'), source: policyFile ?? 'command-line flags'}
}

/** sha256 of the archive file, streamed (bounded memory). */
export async function fileSha256(path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path, {highWaterMark: 1024 * 1024})) hash.update(chunk as Buffer)
  return hash.digest('hex')
}
