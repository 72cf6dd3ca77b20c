// The OCI 1.1 referrers tag schema (distribution-spec "Referrers Tag Schema"): on a registry without the referrers
// API, the referrers of `sha256:<hex>` are listed in an image index tagged `sha256-<hex>`. That tag is shared
// state: other tools (cosign, oras, notation) and earlier pushes write to it too, so it is read, merged and
// written back, never replaced with only what this push knows about (the bug in cosign #4641 and hauler).
import type {Descriptor} from '../oci/descriptor.ts'
import {digestHex, type Digest} from '../oci/digest.ts'
import type {Manifest, RawManifest} from '../oci/manifest.ts'
import {MediaType} from '../oci/media-types.ts'

/** The fallback tag under which a registry without the referrers API lists the referrers of `subject`. */
export function fallbackTag(subject: Digest): string {
  return `sha256-${digestHex(subject)}`
}

/** Legacy cosign tags of `subject`: `sha256-<hex>.sig`, `.att`, `.sbom`. */
export function isLegacySignatureTag(tag: string): boolean {
  return /^sha256-[a-f0-9]{64}\.(?:sig|att|sbom)$/.test(tag)
}

/**
 * The descriptor of a referrer as it appears in a referrers list: artifactType from the manifest (or, per the
 * spec, its config media type), and the manifest's annotations so filters and verifiers can read them.
 */
export function referrerDescriptor(manifest: RawManifest): Descriptor {
  const parsed: Manifest = manifest.parsed
  const descriptor: Descriptor = {mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.bytes.length}
  const artifactType = parsed.artifactType ?? (parsed.kind === 'manifest' ? parsed.config.mediaType : undefined)
  if (artifactType) descriptor.artifactType = artifactType
  if (parsed.annotations && Object.keys(parsed.annotations).length > 0) descriptor.annotations = {...parsed.annotations}
  return descriptor
}

export interface MergedReferrers {
  /** The index to write under the fallback tag (new bytes only when `changed`). */
  bytes: Buffer
  /** Referrers added by this merge (digests not already listed). */
  added: Descriptor[]
  /** False when every referrer was already listed: the tag is left alone. */
  changed: boolean
}

/**
 * Merges `add` into the existing fallback index (if any), keeping every existing entry and the index's own fields
 * (annotations, other tools' extensions). Entries are deduplicated by digest; existing entries win, so a rerun
 * never rewrites the tag. The existing index must already be parsed strictly by the caller.
 */
export function mergeReferrersIndex(existing: RawManifest | undefined, add: Descriptor[]): MergedReferrers {
  const base: Record<string, unknown> = existing
    ? (JSON.parse(existing.bytes.toString('utf8')) as Record<string, unknown>)
    : {}
  const current: Descriptor[] = existing?.parsed.kind === 'index' ? existing.parsed.manifests : []
  // Keep the existing entries exactly as they were written (raw JSON objects, unknown fields included).
  const rawEntries: unknown[] = Array.isArray(base.manifests) ? (base.manifests as unknown[]) : []
  const known = new Set<string>(current.map(d => d.digest))
  const added: Descriptor[] = []
  for (const descriptor of add) {
    if (known.has(descriptor.digest)) continue
    known.add(descriptor.digest)
    added.push(descriptor)
  }
  if (existing && added.length === 0) return {bytes: existing.bytes, added, changed: false}
  const index = {
    ...base,
    schemaVersion: 2,
    mediaType: MediaType.OciIndex,
    manifests: [...rawEntries, ...added],
  }
  return {bytes: Buffer.from(JSON.stringify(index)), added, changed: true}
}
