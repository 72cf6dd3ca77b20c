// The name and subject bindings verify enforces before anything is judged (issue 10, findings 2, 4 and 7):
// airlock.json and index.json must describe the same images entry for entry, a record's tag must be the tag of its
// reference, a reference pinned by digest must name the image's digest, and every signature artifact must be bound
// to a subject of its own image, by its tag name or by the referrer's own `subject` field.
import type {ArchiveImage} from '../archive/schema.ts'
import type {Descriptor} from '../oci/descriptor.ts'
import {digestHex, type Digest} from '../oci/digest.ts'
import type {RawManifest} from '../oci/manifest.ts'
import {parseReference} from '../reference/index.ts'
import type {SignatureEntry, SignatureRole} from '../sigstore/section.ts'

/** The tag a record must carry for its reference (a bare layout name such as `v1` is its own tag, as export reads it). */
export function expectedTag(
  reference: string,
): {tag: string | undefined; digest: Digest | undefined} | {error: string} {
  try {
    const ref = parseReference(reference)
    // A bare layout name is its own tag (export's reading); otherwise the reference's tag, `latest` included.
    const bare = !/[/:@]/.test(reference)
    return {tag: bare ? reference : ref.tag, digest: ref.digest}
  } catch (error) {
    return {
      error: `reference ${JSON.stringify(reference)} is not a valid image reference (${(error as Error).message})`,
    }
  }
}

/** Why an airlock.json record does not describe the index.json entry `root` (empty when it does). */
export function recordProblems(reference: string, root: Descriptor, record: ArchiveImage): string[] {
  const reasons: string[] = []
  if (record.digest !== root.digest)
    reasons.push(`airlock.json says ${reference} is ${record.digest} but index.json says ${root.digest}`)
  if (record.mediaType !== root.mediaType)
    reasons.push(
      `airlock.json says ${reference} has media type ${record.mediaType} but index.json says ${root.mediaType}`,
    )
  if (record.size !== root.size)
    reasons.push(`airlock.json says ${reference} is ${record.size} bytes but index.json says ${root.size}`)
  const expected = expectedTag(reference)
  if ('error' in expected) reasons.push(expected.error)
  else {
    if (record.tag !== expected.tag)
      reasons.push(
        `airlock.json gives ${reference} the tag ${record.tag === undefined ? '(none)' : JSON.stringify(record.tag)}, but its reference says ${expected.tag === undefined ? 'no tag' : JSON.stringify(expected.tag)}`,
      )
    if (expected.digest && expected.digest !== root.digest)
      reasons.push(`${reference} is pinned to ${expected.digest} but the archive's image is ${root.digest}`)
  }
  return reasons
}

const TAG_SUFFIX: Partial<Record<SignatureRole, string>> = {signature: 'sig', attestation: 'att', sbom: 'sbom'}

/**
 * Why a signature entry is not bound to `subject`, which must be one of `subjects` (the image's root and the
 * manifests walked under it). `manifest` is the entry's own root manifest (for a referrer's `subject` field).
 */
export function artifactBindingProblem(
  subject: Digest,
  subjects: ReadonlySet<string>,
  entry: SignatureEntry,
  manifest: RawManifest | undefined,
): string | undefined {
  const what = entry.kind === 'legacy-tag' ? `signature tag ${entry.tag}` : `referrer ${entry.descriptor.digest}`
  if (!subjects.has(subject))
    return `${what} is attached to ${subject}, which is neither the image nor one of its judged manifests`
  if (entry.kind === 'legacy-tag') {
    const suffix = TAG_SUFFIX[entry.role]
    const want = suffix ? `sha256-${digestHex(subject)}.${suffix}` : undefined
    if (entry.tag !== want)
      return `${what} does not name its subject ${subject} with the ${entry.role} suffix (expected ${want ?? 'no legacy tag for this role'})`
    return undefined
  }
  const own = manifest?.parsed.subject?.digest
  if (own !== subject) return `${what} names ${own ? `the subject ${own}` : 'no subject'}, not ${subject}`
  return undefined
}
