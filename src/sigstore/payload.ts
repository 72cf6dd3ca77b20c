// The signed payloads airlock understands: cosign's simplesigning JSON and in-toto statements.

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
    if (!s || typeof s !== 'object' || typeof s.digest !== 'object' || s.digest === null)
      return 'in-toto statement has a subject without digest'
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
  if (typeof critical.image?.['docker-manifest-digest'] !== 'string')
    return 'signature payload has no critical.image.docker-manifest-digest'
  if (typeof critical.type !== 'string') return 'signature payload has no critical.type'
  return value as SimpleSigning
}
