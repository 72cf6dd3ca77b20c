// Policy: from flags or a rules file, and the rule that applies to an image.
import {AirlockError} from '../errors.ts'
import {predicateTypesFor} from './attestation-type.ts'
import {readPolicyDocument} from './file.ts'
import {readKeyFile, type PolicyFlagValues} from './flags.ts'
import {matchGlob} from './glob.ts'
import {validateIdentity, type KeylessIdentity} from './identity.ts'
import type {Policy, PolicyRule} from './types.ts'

export type {Policy, PolicyRule} from './types.ts'
export type {KeylessIdentity, SignerIdentity} from './identity.ts'
export {matchIdentity, validateIdentity, describeIdentity} from './identity.ts'
export {compileGoRegExp} from './go-regexp.ts'
export {parsePolicy, readPolicyDocument, readPolicyFile} from './file.ts'
export {
  globMatches,
  goGlob,
  matchGlob,
  normalizePattern,
  repositoryName,
  talosRepositoryName,
  validateGlob,
} from './glob.ts'
export {predicateMatches, predicateTypesFor} from './attestation-type.ts'
export {identityFlags, POLICY_FLAG_NAMES, policyFlags, policyGiven, type PolicyFlagValues} from './flags.ts'

const IDENTITY_FLAGS = [
  'certificate-identity',
  'certificate-identity-regexp',
  'certificate-oidc-issuer',
  'certificate-oidc-issuer-regexp',
] as const

/** Builds the policy from flags: `--policy FILE`, or `--key`, or the keyless identity flags (one rule for every image). */
export function loadPolicy(flags: PolicyFlagValues): Policy {
  const identityGiven = IDENTITY_FLAGS.filter(f => flags[f] !== undefined)
  const common: Pick<Policy, 'insecureIgnoreTlog' | 'attestationType' | 'requireContainerIdentity'> = {
    insecureIgnoreTlog: flags['insecure-ignore-tlog'] === true,
  }
  if (flags['require-container-identity'] === true) common.requireContainerIdentity = true
  if (flags['attestation-type'] !== undefined) {
    predicateTypesFor(flags['attestation-type'])
    common.attestationType = flags['attestation-type']
  }
  if (flags.policy !== undefined) {
    const clash = [...identityGiven, ...(flags.key !== undefined ? ['key'] : [])]
    if (clash.length > 0)
      throw new AirlockError(
        'USAGE',
        `--policy cannot be combined with ${clash.map(f => `--${f}`).join(', ')}; put identities in the policy file`,
      )
    const {rules, sha256} = readPolicyDocument(flags.policy)
    return {source: flags.policy, sha256, rules, ...common}
  }
  if (flags.key !== undefined) {
    if (identityGiven.length > 0)
      throw new AirlockError('USAGE', `--key cannot be combined with ${identityGiven.map(f => `--${f}`).join(', ')}`)
    let pem: string
    try {
      pem = readKeyFile(flags.key)
    } catch (error) {
      throw new AirlockError('USAGE', `cannot read --key ${flags.key}: ${(error as Error).message}`, {cause: error})
    }
    return {
      source: 'flags',
      keyFile: flags.key,
      rules: [{image: '**', origin: 'flags', action: 'public-key', publicKeyPem: pem}],
      ...common,
    }
  }
  if (identityGiven.length === 0)
    throw new AirlockError('USAGE', 'no verification policy given', {
      hint: 'give --certificate-identity[-regexp] with --certificate-oidc-issuer[-regexp], or --key, or --policy FILE',
    })
  const identity: KeylessIdentity = {}
  if (flags['certificate-identity'] !== undefined) identity.subject = flags['certificate-identity']
  if (flags['certificate-identity-regexp'] !== undefined) identity.subjectRegExp = flags['certificate-identity-regexp']
  if (flags['certificate-oidc-issuer'] !== undefined) identity.issuer = flags['certificate-oidc-issuer']
  if (flags['certificate-oidc-issuer-regexp'] !== undefined)
    identity.issuerRegExp = flags['certificate-oidc-issuer-regexp']
  validateIdentity(identity, 'flags')
  return {
    source: 'flags',
    rules: [{image: '**', origin: 'flags', action: 'keyless', identities: [identity]}],
    ...common,
  }
}

/**
 * The first rule whose glob matches the image; an image no rule covers is denied (nothing passes by omission), and
 * so is one that a rule's glob covers in one Talos release and not in another (glob.ts).
 */
export function ruleFor(policy: Policy, imageReference: string): PolicyRule {
  for (const rule of policy.rules) {
    const result = matchGlob(rule.image, imageReference)
    if ('conflict' in result)
      return {image: rule.image, origin: `${rule.origin} (${result.conflict}; denied)`, action: 'deny'}
    if (result.matches) return rule
  }
  return {image: imageReference, origin: `${policy.source} (no rule matches; denied)`, action: 'deny'}
}
