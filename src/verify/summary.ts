// The flat, auditor-facing parts of the verify report model (issue 16 item 1): per image who signed and what passed,
// the policy used and its sha256, and the trust section with units and the verifiability forecast (item 2). Derived
// from the checks verify ran: nothing here judges anything, so nothing here can pass what a check failed.
import type {Policy} from '../policy/index.ts'
import type {ImageJudgement} from '../sigstore/judge.ts'
import {forecast} from '../trust/forecast.ts'
import type {TufReport} from '../trust/verify.ts'
import type {TrustedRootFileReport} from '../trust/trusted-root-file.ts'
import type {ImageReport, PolicySummary, SignerSummary, TrustSummary, VerifyReport} from './report-model.ts'
import type {TrustResolution} from './trust.ts'

/** The signatures that satisfied the policy for an image (empty when none did or none were checked). */
export function signersOf(image: ImageReport): SignerSummary[] {
  const check = image.checks.find(c => c.name === 'signatures' && c.ok)
  const judgement = check?.details as ImageJudgement | undefined
  if (!judgement?.subjects) return []
  const signers: SignerSummary[] = []
  for (const subject of judgement.subjects) {
    if (!subject.ok) continue
    for (const r of subject.results) {
      if (!r.ok) continue
      const tlog = subject.insecureIgnoreTlog ? undefined : r.tlog[0]
      signers.push({
        subject: subject.subjectDigest,
        role: r.role,
        ...(r.predicateType ? {predicateType: r.predicateType} : {}),
        keyed: r.signer.keyed,
        identity: r.signer.identity ?? null,
        issuer: r.signer.issuer ?? null,
        logIndex: tlog ? tlog.logIndex : null,
        integratedTime: tlog?.integratedTime ?? null,
        rule: subject.rule.origin,
        checks: r.checks.filter(c => c.status === 'pass').map(c => c.name),
      })
    }
  }
  return signers
}

export function policySummary(policy: Policy | undefined, signaturesChecked: boolean): PolicySummary {
  if (!policy || !signaturesChecked) return {source: 'none', sha256: null, rules: 0}
  return {
    source: policy.source,
    sha256: policy.sha256 ?? null,
    ...(policy.keyFile ? {keyFile: policy.keyFile} : {}),
    rules: policy.rules.length,
  }
}

/** Keys of the policy, named the way the user gave them (they never expire). */
function policyKeys(policy: Policy | undefined): string[] {
  if (!policy) return []
  return policy.rules
    .filter(r => r.action === 'public-key')
    .map(r => (policy.keyFile ? `--key ${policy.keyFile}` : `${r.origin} public key`))
}

export function trustSummary(
  resolution: TrustResolution | undefined,
  policy: Policy | undefined,
  now: Date = new Date(),
): TrustSummary {
  const sources = resolution?.sources ?? []
  const tuf = sources.filter(s => s.kind === 'tuf').map(s => s.report as TufReport)
  const files = sources.filter(s => s.kind === 'file').map(s => s.report as TrustedRootFileReport)
  const grace = resolution?.grace
  return {
    sources: [
      ...tuf.map(r => ({
        kind: 'tuf' as const,
        name: r.mirror,
        rootVersion: r.rootVersion,
        pinnedRootVersion: r.pinnedRootVersion,
        trustedRootSha256: r.targetHashes['trusted_root.json'] ?? null,
        expires: r.expiries,
        graceUsedBy: r.graceRoles,
      })),
      ...files.map(r => ({kind: 'trusted-root' as const, name: r.path, trustedRootSha256: r.sha256})),
    ],
    graceSeconds: grace === undefined ? null : grace === 'unlimited' ? 'unlimited' : grace / 1000, // as graceSeconds() of trust.ts (not imported: it loads tuf-js)
    forecast: forecast({
      tuf: tuf.map(r => ({mirror: r.mirror, expiries: r.expiries, expiryKinds: r.expiryKinds})),
      grace: grace ?? 0,
      trustedRootFiles: files.map(r => r.path),
      keys: policyKeys(policy),
      now,
    }),
  }
}

/** Adds the flat fields to a finished report (in place: the report is the command's output). */
export function addSummaries(
  report: VerifyReport,
  input: {resolution: TrustResolution | undefined; policy: Policy | undefined; signaturesChecked: boolean},
): void {
  for (const image of report.images) image.signers = signersOf(image)
  report.policy = policySummary(input.policy, input.signaturesChecked)
  const policy = input.signaturesChecked ? input.policy : undefined
  // No trust material at all (no TUF, no --trusted-root, no key): there is nothing to forecast, and no `trust`.
  if (input.resolution?.sources.length || policyKeys(policy).length)
    report.trust = trustSummary(input.resolution, policy)
}
