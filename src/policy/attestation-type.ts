// `--attestation-type`: the predicate type names cosign accepts on its command line, and which in-toto predicate
// types satisfy them. Policy data: sigstore reads it, never the reverse.
import {AirlockError} from '../errors.ts'

const PREDICATE_ALIASES: Record<string, readonly string[]> = {
  slsaprovenance: ['https://slsa.dev/provenance/v0.2', 'https://slsa.dev/provenance/v1'],
  slsaprovenance02: ['https://slsa.dev/provenance/v0.2'],
  slsaprovenance1: ['https://slsa.dev/provenance/v1'],
  link: ['https://in-toto.io/Link/v1'],
  spdx: ['https://spdx.dev/Document'],
  spdxjson: ['https://spdx.dev/Document'],
  cyclonedx: ['https://cyclonedx.org/bom'],
  vuln: ['https://cosign.sigstore.dev/attestation/vuln/v1'],
  openvex: ['https://openvex.dev/ns'],
  custom: ['https://cosign.sigstore.dev/attestation/v1'],
}

/** Maps `--attestation-type` (a cosign short name or a URI) to the predicate types it accepts. */
export function predicateTypesFor(attestationType: string): readonly string[] {
  const alias = PREDICATE_ALIASES[attestationType.toLowerCase()]
  if (alias) return alias
  if (/^[a-z][a-z0-9+.-]*:\/\/\S+$/i.test(attestationType)) return [attestationType]
  throw new AirlockError('USAGE', `unknown attestation type ${JSON.stringify(attestationType)}`, {
    hint: `use a predicate type URI or one of: ${Object.keys(PREDICATE_ALIASES).join(', ')}`,
  })
}

/** True when a statement's predicate type satisfies `--attestation-type` (openvex accepts any version suffix). */
export function predicateMatches(predicateType: string, accepted: readonly string[]): boolean {
  return accepted.some(a => a === predicateType || (a === 'https://openvex.dev/ns' && predicateType.startsWith(a)))
}
