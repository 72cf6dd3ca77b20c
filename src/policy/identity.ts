// Keyless identity requirements and their matching, with cosign's semantics: an exact subject or issuer compares
// equal; a regexp is an unanchored search (Go regexp.MatchString). At least one of subject/subjectRegExp and one of
// issuer/issuerRegExp is required, so "any signer at all" cannot be written by accident.
import {AirlockError} from '../errors.ts'
import {compileGoRegExp} from './go-regexp.ts'

export interface KeylessIdentity {
  subject?: string
  subjectRegExp?: string
  issuer?: string
  issuerRegExp?: string
}

export interface SignerIdentity {
  /** Subject alternative name of the signing certificate (email, URI, ...). */
  subject?: string
  /** OIDC issuer: Fulcio extension 1.3.6.1.4.1.57264.1.8, falling back to 1.3.6.1.4.1.57264.1.1. */
  issuer?: string
}

/** Checks the shape of an identity requirement; throws USAGE with a one-line reason when it is unusable. */
export function validateIdentity(identity: KeylessIdentity, where = 'identity'): void {
  if (identity.subject !== undefined && identity.subjectRegExp !== undefined)
    throw new AirlockError('USAGE', `${where}: give an exact subject or a subject regexp, not both`)
  if (identity.issuer !== undefined && identity.issuerRegExp !== undefined)
    throw new AirlockError('USAGE', `${where}: give an exact issuer or an issuer regexp, not both`)
  if (!identity.subject && !identity.subjectRegExp)
    throw new AirlockError('USAGE', `${where}: a subject (identity) or subject regexp is required`)
  if (!identity.issuer && !identity.issuerRegExp)
    throw new AirlockError('USAGE', `${where}: an OIDC issuer or issuer regexp is required`)
  if (identity.subjectRegExp !== undefined) compileGoRegExp(identity.subjectRegExp, `${where} subject regexp`)
  if (identity.issuerRegExp !== undefined) compileGoRegExp(identity.issuerRegExp, `${where} issuer regexp`)
}

/** Undefined when the signer satisfies the requirement, else a one-line reason. */
export function matchIdentity(required: KeylessIdentity, signer: SignerIdentity): string | undefined {
  const subject = signer.subject
  if (required.subject !== undefined && subject !== required.subject)
    return `certificate identity ${JSON.stringify(subject ?? null)} is not ${JSON.stringify(required.subject)}`
  if (
    required.subjectRegExp !== undefined &&
    (subject === undefined || !compileGoRegExp(required.subjectRegExp).test(subject))
  )
    return `certificate identity ${JSON.stringify(subject ?? null)} does not match regexp ${JSON.stringify(required.subjectRegExp)}`
  const issuer = signer.issuer
  if (required.issuer !== undefined && issuer !== required.issuer)
    return `certificate OIDC issuer ${JSON.stringify(issuer ?? null)} is not ${JSON.stringify(required.issuer)}`
  if (
    required.issuerRegExp !== undefined &&
    (issuer === undefined || !compileGoRegExp(required.issuerRegExp).test(issuer))
  )
    return `certificate OIDC issuer ${JSON.stringify(issuer ?? null)} does not match regexp ${JSON.stringify(required.issuerRegExp)}`
  return undefined
}

export function describeIdentity(identity: KeylessIdentity): string {
  const subject =
    identity.subject !== undefined ? `identity ${identity.subject}` : `identity~/${identity.subjectRegExp ?? ''}/`
  const issuer = identity.issuer !== undefined ? `issuer ${identity.issuer}` : `issuer~/${identity.issuerRegExp ?? ''}/`
  return `${subject}, ${issuer}`
}
