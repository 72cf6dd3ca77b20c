// `--require-container-identity`: the repository a signed payload names must be the image's. cosign writes it into
// simple-signing payloads as critical.identity.docker-reference (the repository, or the value of
// `cosign sign --sign-container-identity`), and into in-toto statements as the subject's name. Compared after the
// same normalization as image references (Docker Hub's index.docker.io is docker.io); a tag in the signed name must
// equal the image's tag, as containers-policy.json's matchRepoDigestOrExact reads it.
import {parseReference} from '../reference/index.ts'
import {parseSimpleSigning, parseStatement} from './payload.ts'

/** The name the payload claims for the image whose digest is `subjectHex`; undefined when it names none. */
export function signedNameOf(
  payload: Buffer,
  kind: 'simple-signing' | 'in-toto',
  subjectHex: string,
): string | undefined {
  if (kind === 'simple-signing') {
    const parsed = parseSimpleSigning(payload)
    const name = typeof parsed === 'string' ? undefined : parsed.critical.identity?.['docker-reference']
    return typeof name === 'string' ? name : undefined
  }
  const statement = parseStatement(payload)
  if (typeof statement === 'string') return undefined
  const subject = statement.subject.find(s => s.digest['sha256']?.toLowerCase() === subjectHex)
  return typeof subject?.name === 'string' ? subject.name : undefined
}

/** Undefined when `claimed` names the repository (and tag, if it has one) of `image`, else why not. */
export function containerIdentityProblem(claimed: string | undefined, image: string): string | undefined {
  const want = parseReference(image)
  if (claimed === undefined || claimed === '')
    return `the signed payload names no repository, and --require-container-identity needs ${want.name}`
  let signed
  try {
    signed = parseReference(claimed)
  } catch {
    return `the signed payload names ${JSON.stringify(claimed.slice(0, 200))}, which is not an image reference`
  }
  if (signed.name !== want.name) return `signed for ${signed.name}, not for ${want.name} (--require-container-identity)`
  const explicitTag = /:[^/]*$/.test(claimed.split('@')[0] ?? '')
  if (explicitTag && want.tag !== undefined && signed.tag !== want.tag)
    return `signed for tag ${signed.tag}, not ${want.tag} (--require-container-identity)`
  return undefined
}
