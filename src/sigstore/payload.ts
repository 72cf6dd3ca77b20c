// The signed payloads airlock understands: cosign's simplesigning JSON and in-toto statements, plus the attestation
// predicate type names cosign accepts on its command line.
import {AirlockError} from '../errors.ts'

export const INTOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json'
export const SIMPLESIGNING_TYPE = 'cosign container image signature'
/** Predicate type of cosign v3 image signatures in the new bundle format (a DSSE statement about the image). */
export const COSIGN_SIGN_PREDICATE = 'https://sigstore.dev/cosign/sign/v1'

export interface Statement {
  _type: string
  subject: {name?: string; digest: Record<string, string>}[]
  predicateType: string
}

export interface SimpleSigning {
  critical: {type: string; image: {'docker-manifest-digest': string}; identity?: {'docker-reference'?: string}}
  optional?: Record<string, unknown> | null
}

/** Parses an in-toto statement; returns a one-line reason instead when it is not one. */
export function parseStatement(payload: Buffer): Statement | string {
  let value: unknown
  try {
    value = JSON.parse(payload.toString('utf8'))
  } catch {
    return 'in-toto payload is not JSON'
  }
  const v = value as Partial<Statement> | null
  if (!v || typeof v !== 'object' || !Array.isArray(v.subject) || typeof v.predicateType !== 'string')
    return 'in-toto payload is not a statement (subject and predicateType required)'
  for (const s of v.subject) {
    if (!s || typeof s !== 'object' || typeof s.digest !== 'object' || s.digest === null) return 'in-toto statement has a subject without digest'
  }
  return v as Statement
}

/** Parses a simplesigning payload; returns a one-line reason instead when it is not one. */
export function parseSimpleSigning(payload: Buffer): SimpleSigning | string {
  let value: unknown
  try {
    value = JSON.parse(payload.toString('utf8'))
  } catch {
    return 'signature payload is not JSON'
  }
  const critical = (value as {critical?: SimpleSigning['critical']} | null)?.critical
  if (!critical || typeof critical !== 'object') return 'signature payload has no "critical" section'
  if (typeof critical.image?.['docker-manifest-digest'] !== 'string') return 'signature payload has no critical.image.docker-manifest-digest'
  if (typeof critical.type !== 'string') return 'signature payload has no critical.type'
  return value as SimpleSigning
}

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
  return accepted.some((a) => a === predicateType || (a === 'https://openvex.dev/ns' && predicateType.startsWith(a)))
}
