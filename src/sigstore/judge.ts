// One image's signature decision, shared by verify (reading the archive) and export (reading the source before the
// archive is committed). A signature on an index covers its platform manifests through their digests; when the
// index itself carries no signature at all, every platform manifest carried must be signed instead (cosign
// `--recursive` style); an image exported by a platform manifest's digest is judged by that manifest's own.
import type {TrustedRoot} from '@sigstore/protobuf-specs'
import type {Descriptor} from '../oci/descriptor.ts'
import type {Digest} from '../oci/digest.ts'
import {ruleFor, type Policy} from '../policy/index.ts'
import {collectArtifacts, type ContentReader} from './artifacts.ts'
import {verifyImageSignatures, type ImageSignatureReport} from './image.ts'
import type {SignatureEntry} from './section.ts'

export interface JudgeInput {
  /** Full image reference (the policy glob is matched against it). */
  image: string
  root: Descriptor
  /** Platform manifests carried, for an index. */
  platforms: Descriptor[]
  /**
   * For an index: how many children it lists and how many were carried. An unsigned index passes through its
   * platform signatures only when every listed child is carried (and signed): a platform left out was never judged.
   */
  children?: {listed: number; carried: number}
  entriesFor(digest: Digest): SignatureEntry[]
  reader: ContentReader
  policy: Policy
  trustedRoots: TrustedRoot[]
}

export interface ImageJudgement {
  ok: boolean
  reason: string
  /** 'index' when the index signature decided, 'platforms' when every platform manifest's did. */
  coveredBy: 'root' | 'platforms'
  subjects: ImageSignatureReport[]
  /** Human lines, cosign style: the checks performed and who signed, when and where logged. */
  lines: string[]
  warnings: string[]
}

export async function judgeImage(input: JudgeInput): Promise<ImageJudgement> {
  const rule = ruleFor(input.policy, input.image)
  const judge = async (digest: Digest): Promise<ImageSignatureReport> =>
    verifyImageSignatures({
      subjectDigest: digest,
      artifacts: await collectArtifacts(input.entriesFor(digest), input.reader),
      policyRule: rule,
      trust: {trustedRoots: input.trustedRoots},
      insecureIgnoreTlog: input.policy.insecureIgnoreTlog,
      ...(input.policy.attestationType === undefined ? {} : {attestationType: input.policy.attestationType}),
      ...(input.policy.requireContainerIdentity === true ? {containerIdentity: input.image} : {}),
    })
  const root = await judge(input.root.digest)
  let subjects = [root]
  let ok = root.ok
  let reason = root.reason
  let coveredBy: ImageJudgement['coveredBy'] = 'root'
  const rootUnsigned = root.results.filter(r => r.role === 'signature').length === 0
  const partial = input.children !== undefined && input.children.carried < input.children.listed
  if (!ok && rootUnsigned && root.errorCode === 'SIGNATURE_MISSING' && input.platforms.length > 0 && partial) {
    reason = `the index is not signed and only ${input.children!.carried} of its ${input.children!.listed} platforms are carried: without a signature on the index, every platform must be carried and signed`
  } else if (!ok && rootUnsigned && root.errorCode === 'SIGNATURE_MISSING' && input.platforms.length > 0) {
    const perPlatform = []
    for (const p of input.platforms) perPlatform.push(await judge(p.digest))
    if (perPlatform.every(r => r.results.length > 0)) {
      subjects = [root, ...perPlatform]
      coveredBy = 'platforms'
      ok = perPlatform.every(r => r.ok)
      const bad = perPlatform.find(r => !r.ok)
      reason = bad
        ? `the index is not signed and platform manifest ${bad.subjectDigest} fails: ${bad.reason}`
        : `index not signed; every platform manifest verified (${perPlatform[0]!.reason})`
    }
  }
  if (!ok && rule.action === 'keyless' && input.trustedRoots.length === 0)
    reason += ' (no trusted root was given: pass --trusted-root FILE)'
  const warnings = [...new Set(subjects.flatMap(s => [...s.warnings, ...s.results.flatMap(r => r.warnings)]))]
  return {ok, reason, coveredBy, subjects, lines: describe(subjects, coveredBy), warnings}
}

const short = (d: string): string => d.slice(0, 19)

function describe(subjects: ImageSignatureReport[], coveredBy: ImageJudgement['coveredBy']): string[] {
  const lines: string[] = []
  for (const [i, s] of subjects.entries()) {
    if (coveredBy === 'platforms' && i === 0) continue
    lines.push(
      `${s.ok ? 'verified' : 'FAILED'} ${short(s.subjectDigest)} (${s.rule.origin}: ${s.rule.requirement}): ${s.reason}`,
    )
    for (const r of s.results) {
      const passed = r.checks.filter(c => c.status === 'pass').map(c => c.name)
      const who = r.signer.keyed
        ? 'key-signed'
        : `identity ${r.signer.identity ?? '?'}, issuer ${r.signer.issuer ?? '?'}`
      const log = r.tlog[0]
        ? `, log index ${r.tlog[0].logIndex}${r.tlog[0].integratedTime ? `, integrated ${r.tlog[0].integratedTime}` : ''}`
        : ''
      const what = `${r.role}${r.predicateType ? ` ${r.predicateType}` : ''} [${r.source ?? r.kind}]`
      if (r.ok) lines.push(`  ok   ${what}: ${who}${log}; checks: ${passed.join(', ')}`)
      else lines.push(`  FAIL ${what}: ${r.failure?.check}: ${r.failure?.reason}`)
    }
  }
  return lines
}
