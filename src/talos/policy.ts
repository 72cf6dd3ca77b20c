// airlock's verification policy -> Talos ImageVerificationConfig rules. Both are ordered, first-match rule lists
// over image globs, so most rules carry over as they are; where Talos cannot say what airlock's policy says, this
// refuses (UNSUPPORTED) or warns, but never emits a weaker policy silently.
import {AirlockError} from '../errors.ts'
import {talosRepositoryName, type KeylessIdentity, type Policy, type PolicyRule} from '../policy/index.ts'
import {rulesForRepositories, type VerificationRule} from './config.ts'

export interface PolicyConversion {
  rules: VerificationRule[]
  warnings: string[]
}

/**
 * Converts `policy`. `repositories` are the archive's normalized image names (`ghcr.io/siderolabs/installer`):
 * a flags policy (one `**` rule) becomes one exact rule per repository, covering exactly the images that were
 * verified, spelled as every Talos release matches them (Docker Hub as index.docker.io/library/NAME). File rules
 * carry over as written: airlock reads globs exactly as Talos does and refuses the ones Talos releases disagree on.
 */
export function talosRulesFromPolicy(policy: Policy, repositories: string[]): PolicyConversion {
  const warnings: string[] = []
  const rules: VerificationRule[] = []
  for (const rule of policy.rules) {
    const verifier = verifierOf(rule)
    if (rule.origin === 'flags' && rule.image === '**') {
      rules.push(...rulesForRepositories(repositories.map(talosRepositoryName), verifier))
      continue
    }
    rules.push({image: rule.image, ...verifier})
  }
  // airlock denies images no rule covers; Talos lets them through. Say so instead of guessing a catch-all glob.
  const last = policy.rules.at(-1)
  if (last?.action !== 'deny')
    warnings.push(
      'airlock denies images that no rule matches, Talos allows them: add a final deny rule to the Talos config for a closed policy',
    )
  if (policy.requireContainerIdentity)
    warnings.push(
      '--require-container-identity: Talos does not compare the signed repository name; on the cluster any repository a rule covers accepts the signature',
    )
  if (policy.insecureIgnoreTlog)
    warnings.push('the policy ignores the transparency log (--insecure-ignore-tlog); Talos rules always check it')
  return {rules, warnings}
}

function verifierOf(rule: PolicyRule): Omit<VerificationRule, 'image'> {
  switch (rule.action) {
    case 'deny':
      return {deny: true}
    case 'skip':
      return {skip: true}
    case 'public-key':
      return {publicKey: rule.publicKeyPem}
    case 'keyless':
      return {keyless: oneIdentity(rule.identities, rule.origin)}
  }
}

/**
 * A Talos keyless rule holds one issuer and one subject (or subject regexp). Several airlock identities with the
 * same exact issuer fold into one subject regexp alternation; anything else cannot be expressed.
 */
function oneIdentity(identities: KeylessIdentity[], origin: string): NonNullable<VerificationRule['keyless']> {
  const first = identities[0]
  if (!first) throw new AirlockError('UNSUPPORTED', `${origin}: keyless rule without identities`)
  if (identities.length === 1) {
    const out: NonNullable<VerificationRule['keyless']> = {}
    if (first.issuer !== undefined) out.issuer = first.issuer
    if (first.issuerRegExp !== undefined) out.issuerRegex = first.issuerRegExp
    if (first.subject !== undefined) out.subject = first.subject
    if (first.subjectRegExp !== undefined) out.subjectRegex = first.subjectRegExp
    return out
  }
  const issuers = new Set(identities.map(i => i.issuer))
  if (issuers.size !== 1 || first.issuer === undefined)
    throw new AirlockError(
      'UNSUPPORTED',
      `${origin}: identities with different or regexp issuers cannot be one Talos keyless rule`,
      {
        hint: 'split the rule by issuer in the policy file',
      },
    )
  const alternatives = identities.map(i =>
    i.subject !== undefined ? `^${escapeRegExp(i.subject)}$` : `(?:${i.subjectRegExp ?? ''})`,
  )
  return {issuer: first.issuer, subjectRegex: alternatives.join('|')}
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
