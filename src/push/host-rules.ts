// Without --keep-host, every source registry routed to the mirror is served from the same path: a cluster that
// pulls ghcr.io/siderolabs/installer and one that pulls quay.io/siderolabs/installer both get MIRROR/siderolabs/
// installer. The policy, however, picks its rule by the full name. An image judged as quay.io/... under a weak rule
// (or the recommended "**" skip opt-out) would then be served under ghcr.io/... (issue 10, finding 1). So push
// refuses the mapping when the rule would depend on the host: the image's name is re-judged under every host the
// policy names (and docker.io), and all must pick the same rule; otherwise --keep-host gives each host its path.
import {AirlockError} from '../errors.ts'
import {ruleFor, type Policy} from '../policy/index.ts'
import {parseReference} from '../reference/index.ts'
import {canonicalHost} from '../reference/mirror-path.ts'

const GLOB_CHARS = /[*?[\]{}]/

/** The registry hosts the policy's rules name literally (the first path segment of a glob, when it is a host). */
export function policyHosts(policy: Policy): string[] {
  const hosts = new Set<string>(['docker.io'])
  for (const rule of policy.rules) {
    const first = rule.image.split('/')[0] ?? ''
    if (
      rule.image.includes('/') &&
      !GLOB_CHARS.test(first) &&
      (first.includes('.') || first.includes(':') || first === 'localhost')
    )
      hosts.add(canonicalHost(first))
  }
  return [...hosts]
}

/** Throws when `reference` would be judged by another rule under another host served from the same mirror path. */
export function checkHostIndependentRule(reference: string, policy: Policy, mirrorPath: string): void {
  const ref = parseReference(reference)
  const own = ruleFor(policy, reference)
  const suffix = `${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`
  for (const host of policyHosts(policy)) {
    if (host === canonicalHost(ref.registry)) continue
    const alias = `${host}/${ref.repository}${suffix}`
    const other = ruleFor(policy, alias)
    if (other.origin !== own.origin || other.action !== own.action)
      throw new AirlockError(
        'POLICY_DENIED',
        `${reference} would be served from ${mirrorPath}, which also answers pulls of ${alias}; the policy judges those names by different rules (${own.origin}: ${own.action}; ${other.origin}: ${other.action})`,
        {
          hint: 'push with --keep-host (each source host gets its own mirror path), or write rules that do not depend on the registry host',
        },
      )
  }
}
