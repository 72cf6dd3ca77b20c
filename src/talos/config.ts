// Talos machine-config documents for a populated mirror (Talos v1.12+ multi-document config, apiVersion v1alpha1):
//
//  - RegistryMirrorConfig per source registry host: containerd asks the mirror endpoint for the repository path
//    without the host (`siderolabs/installer` for ghcr.io/siderolabs/installer). When the mirror lives under a
//    prefix (and/or keeps the host), the endpoint is `https://REGISTRY/v2/PREFIX[/HOST]` with overridePath: true,
//    because without overridePath containerd appends `/v2/` to the endpoint itself and would miss the prefix.
//  - ImageVerificationConfig from the policy: Talos matches rules against the ORIGINAL image name (the mirror is
//    transparent), so rule globs are the policy's globs, untouched; rules keep their order (first match wins).
import {stringify} from 'yaml'
import {AirlockError} from '../errors.ts'
import {canonicalHost, hostAsPath, type MirrorTarget} from '../reference/mirror-path.ts'

/** One policy rule in the shape Talos and airlock's policy file share (GUIDE section 1). */
export interface VerificationRule {
  image: string
  keyless?: {issuer?: string; issuerRegex?: string; subject?: string; subjectRegex?: string}
  /** PEM text (public key or certificate). */
  publicKey?: string
  skip?: boolean
  deny?: boolean
}

export interface TalosConfigInput {
  target: MirrorTarget
  keepHost?: boolean
  /** Source registry hosts of the archived images (normalized, e.g. `ghcr.io`, `docker.io`). */
  sourceRegistries: string[]
  /** The mirror speaks plain HTTP (`--insecure-registry`). */
  plainHttp?: boolean
  /** Air gap: do not let nodes fall back to the (unreachable) source registry and wait for timeouts. */
  skipFallback?: boolean
  /** Verification rules in order; absent means no ImageVerificationConfig document. */
  rules?: VerificationRule[]
}

export interface TalosDocument {
  apiVersion: 'v1alpha1'
  kind: string
  [field: string]: unknown
}

export interface TalosConfig {
  documents: TalosDocument[]
  /** Things the operator must know before applying the config (printed and written as YAML comments). */
  warnings: string[]
}

/** The mirror endpoint nodes use for images from `sourceHost`. */
export function mirrorEndpoint(
  target: MirrorTarget,
  sourceHost: string,
  options: {keepHost?: boolean; plainHttp?: boolean} = {},
): {url: string; overridePath?: true} {
  const base = `${options.plainHttp ? 'http' : 'https'}://${target.registry}`
  const path = [target.prefix, options.keepHost ? hostAsPath(canonicalHost(sourceHost)) : '']
    .filter(p => p.length > 0)
    .join('/')
  if (path === '') return {url: base}
  return {url: `${base}/v2/${path}`, overridePath: true}
}

export function talosConfig(input: TalosConfigInput): TalosConfig {
  const warnings: string[] = []
  const hosts = [...new Set(input.sourceRegistries.map(canonicalHost))].sort()
  const documents: TalosDocument[] = hosts.map(host => ({
    apiVersion: 'v1alpha1',
    kind: 'RegistryMirrorConfig',
    name: host,
    endpoints: [mirrorEndpoint(input.target, host, input)],
    ...(input.skipFallback === false ? {} : {skipFallback: true}),
  }))
  if (input.rules && input.rules.length > 0) {
    documents.push({
      apiVersion: 'v1alpha1',
      kind: 'ImageVerificationConfig',
      rules: input.rules.map((rule, i) => talosRule(rule, i, warnings)),
    })
  }
  return {documents, warnings}
}

function talosRule(rule: VerificationRule, index: number, warnings: string[]): Record<string, unknown> {
  const where = `policy rule ${index + 1} (${rule.image})`
  if (rule.deny) return {image: rule.image, deny: true}
  if (rule.skip) return {image: rule.image, skip: true}
  if (rule.keyless) {
    const {issuer, issuerRegex, subject, subjectRegex} = rule.keyless
    // Talos keyless has an exact issuer only. Dropping the constraint would weaken the cluster's policy, so refuse.
    if (!issuer)
      throw new AirlockError(
        'UNSUPPORTED',
        `${where} matches the issuer by regexp${issuerRegex ? ` (${issuerRegex})` : ''}; Talos ImageVerificationConfig needs an exact issuer`,
        {
          hint: 'use --certificate-oidc-issuer (exact) in the policy, or emit the Talos config without verification rules',
        },
      )
    if (!subject && !subjectRegex)
      throw new AirlockError('UNSUPPORTED', `${where} has no subject or subjectRegex; Talos keyless rules need one`)
    warnings.push(
      `${where}: Talos keyless verification fetches the Sigstore trust root online; on a cluster with no internet access it cannot verify (Talos docs), consider publicKey rules`,
    )
    return {image: rule.image, keyless: {issuer, ...(subject ? {subject} : {subjectRegex})}}
  }
  if (rule.publicKey) {
    // Talos parses publicKey.certificate with cryptoutils.UnmarshalPEMToPublicKey (verify.go): a PUBLIC KEY PEM is
    // what it expects, despite the field's name.
    if (!/-----BEGIN PUBLIC KEY-----/.test(rule.publicKey))
      warnings.push(
        `${where}: Talos publicKey rules take a PUBLIC KEY PEM (cosign.pub); this rule carries something else`,
      )
    return {image: rule.image, publicKey: {certificate: rule.publicKey.trim()}}
  }
  throw new AirlockError('UNSUPPORTED', `${where} has no keyless, publicKey, skip or deny verifier`)
}

/**
 * Multi-document YAML for review and `talosctl` patches. Warnings go in as comments at the top so they travel
 * with the file.
 */
export function renderTalosYaml(config: TalosConfig, header = 'generated by airlock push --emit-talos-config'): string {
  const comments = [header, ...config.warnings.map(w => `WARNING: ${w}`)].map(line => `# ${line}`).join('\n')
  const body = config.documents.map(doc => stringify(doc, {lineWidth: 0})).join('---\n')
  return `${comments}\n${body}`
}

/**
 * Rules for a flags policy (one identity for every image): one exact rule per archived repository, because the
 * flags apply to exactly the images that were verified, and exact names do not depend on Talos's glob semantics.
 */
export function rulesForRepositories(
  repositories: string[],
  verifier: Omit<VerificationRule, 'image'>,
): VerificationRule[] {
  return [...new Set(repositories)].sort().map(image => ({image, ...verifier}))
}
