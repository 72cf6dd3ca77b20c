// Shared by the OCI layout directory and the OCI archive stores: reading index.json and resolving a reference
// the way skopeo's `oci:` and `oci-archive:` transports do (by the org.opencontainers.image.ref.name annotation).
import {AirlockError} from '../errors.ts'
import type {Descriptor} from '../oci/descriptor.ts'
import {isDigest} from '../oci/digest.ts'
import {parseManifest, type ImageIndex} from '../oci/manifest.ts'
import {REF_NAME_ANNOTATION} from '../oci/media-types.ts'

export function parseLayoutIndex(bytes: Buffer, where: string): ImageIndex {
  const raw = parseManifest(bytes, undefined, `${where} index.json`)
  if (raw.parsed.kind !== 'index')
    throw new AirlockError('ARCHIVE_INVALID', `${where} index.json is not an image index`)
  return raw.parsed
}

/**
 * Finds the entry for `reference` in a layout's index: an exact ref.name match, a digest (`sha256:...` or
 * `@sha256:...`), or, with no reference, the only entry.
 */
export function resolveInIndex(index: ImageIndex, reference: string | undefined, where: string): Descriptor {
  const entries = index.manifests
  if (!reference) {
    if (entries.length === 1) return strip(entries[0]!)
    throw new AirlockError('USAGE', `${where} holds ${entries.length} images; name one (${where}:NAME)`, {
      hint: `names in it: ${names(index).slice(0, 10).join(', ') || '(none)'}`,
    })
  }
  const asDigest = reference.startsWith('@') ? reference.slice(1) : reference
  const matches = isDigest(asDigest)
    ? entries.filter(d => d.digest === asDigest)
    : entries.filter(d => d.annotations?.[REF_NAME_ANNOTATION] === reference)
  if (matches.length === 0)
    throw new AirlockError('NOT_FOUND', `${where} has no image named ${JSON.stringify(reference)}`, {
      hint: `names in it: ${names(index).slice(0, 10).join(', ') || '(none)'}`,
    })
  const first = matches[0]!
  if (matches.some(d => d.digest !== first.digest))
    throw new AirlockError(
      'ARCHIVE_INVALID',
      `${where} has several different images named ${JSON.stringify(reference)}`,
    )
  return strip(first)
}

function names(index: ImageIndex): string[] {
  return index.manifests
    .map(d => d.annotations?.[REF_NAME_ANNOTATION])
    .filter((n): n is string => typeof n === 'string')
}

/** The root descriptor without the layout's own annotations (they describe the layout entry, not the content). */
function strip(d: Descriptor): Descriptor {
  const out: Descriptor = {mediaType: d.mediaType, digest: d.digest, size: d.size}
  if (d.platform) out.platform = d.platform
  if (d.artifactType) out.artifactType = d.artifactType
  return out
}
