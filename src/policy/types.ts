// A verification policy is plain data: ordered rules by image glob, the first match wins (Talos
// ImageVerificationConfig semantics), plus the options that apply to every rule.
import type {KeylessIdentity} from './identity.ts'

interface RuleBase {
  /** Talos imagePattern over `registry/repository` (no tag or digest): `*` is any run of characters (glob.ts). */
  image: string
  /** Where the rule came from, for messages: `flags`, or `policy.yaml rules[2]`. */
  origin: string
}

export type PolicyRule =
  | (RuleBase & {action: 'keyless'; identities: KeylessIdentity[]})
  | (RuleBase & {action: 'public-key'; publicKeyPem: string})
  | (RuleBase & {action: 'skip'})
  | (RuleBase & {action: 'deny'})

export interface Policy {
  /** `flags` or the policy file path. */
  source: string
  /** sha256 (hex) of the policy file as read (`--policy FILE`) */
  sha256?: string
  /** `--key FILE`: the file the public key came from (reports name it) */
  keyFile?: string
  rules: PolicyRule[]
  /** Skip transparency log checks everywhere (loud in every report). */
  insecureIgnoreTlog: boolean
  /** `--attestation-type`: an image must also carry a valid attestation of this predicate type. */
  attestationType?: string
  /** `--require-container-identity`: the signed payload must name the image's repository (opt-in, as in cosign). */
  requireContainerIdentity?: boolean
}

/** A rule before its origin is known (as parsed from a file). */
export type RuleSpec = PolicyRule extends infer R ? (R extends PolicyRule ? Omit<R, 'origin'> : never) : never
