// Signature discovery at export, for the image root AND every platform manifest carried:
// - cosign legacy tags `sha256-<hex>.sig`, `.att`, `.sbom` (registry: one tag list, else a resolve per tag; OCI
//   layouts: index.json ref names, full `repo:tag` or a bare tag);
// - OCI 1.1 referrers (registry: Repository.referrers(), the API or the `sha256-<hex>` fallback tag; OCI layouts:
//   the fallback tag's index in index.json, plus index.json entries whose manifest has this subject).
// The roots found are copied unchanged by export (hook extraRoots) and recorded in airlock.json `signatures`.
import {AirlockError, isAirlockError} from '../errors.ts'
import type {Descriptor} from '../oci/descriptor.ts'
import {digestHex, type Digest} from '../oci/digest.ts'
import {parseManifest, type ImageIndex, type RawManifest} from '../oci/manifest.ts'
import {isManifestType, MAX_MANIFEST_BYTES} from '../oci/media-types.ts'
import {REF_NAME_ANNOTATION} from '../oci/media-types.ts'
import type {Source} from '../content/source.ts'
import type {Fetcher, ResolveOptions} from '../content/types.ts'
import {COSIGN_SIGN_PREDICATE} from './payload.ts'
import type {SignatureEntry, SignatureRole, SubjectSignatures} from './section.ts'

export const BUNDLE_ARTIFACT_PREFIX = 'application/vnd.dev.sigstore.bundle'
const LEGACY_SUFFIXES: Array<[string, SignatureRole]> = [
  ['.sig', 'signature'],
  ['.att', 'attestation'],
  ['.sbom', 'sbom'],
]

/** A registry repository as discovery needs it (src/registry Repository implements it). */
export interface RegistryLike {
  resolve(reference: string, options?: ResolveOptions): Promise<Descriptor>
  referrers(subject: Descriptor): Promise<Descriptor[]>
  tags?(): Promise<string[]>
}
interface LayoutLike {
  index(): Promise<ImageIndex> | ImageIndex
}

/** Reads and strictly parses a manifest from a store (verified stream, bounded size). */
export async function readManifest(store: Fetcher, descriptor: Descriptor): Promise<RawManifest> {
  if (descriptor.size > MAX_MANIFEST_BYTES)
    throw new AirlockError('TOO_LARGE', `manifest ${descriptor.digest} is over ${MAX_MANIFEST_BYTES} bytes`)
  const bytes = await readBlob(store, descriptor)
  return parseManifest(bytes, descriptor.mediaType, `manifest ${descriptor.digest}`)
}

/** Reads a small blob whole (signature layers, bundles: bounded by the manifest limit). */
export async function readBlob(store: Fetcher, descriptor: Descriptor, limit = MAX_MANIFEST_BYTES): Promise<Buffer> {
  if (descriptor.size > limit)
    throw new AirlockError(
      'TOO_LARGE',
      `blob ${descriptor.digest} is ${descriptor.size} bytes, over the ${limit} byte limit`,
    )
  const chunks: Buffer[] = []
  for await (const chunk of await store.fetch(descriptor)) chunks.push(Buffer.from(chunk as Buffer))
  return Buffer.concat(chunks)
}

function strip(d: Descriptor): Descriptor {
  return {mediaType: d.mediaType, digest: d.digest, size: d.size}
}

/** The role of a referrer, from its descriptor (artifactType and the bundle annotations cosign writes). */
export function referrerRole(d: Descriptor): SignatureRole {
  const type = d.artifactType ?? ''
  if (type.startsWith(BUNDLE_ARTIFACT_PREFIX)) {
    const predicate = d.annotations?.['dev.sigstore.bundle.predicateType']
    if (
      d.annotations?.['dev.sigstore.bundle.content'] === 'message-signature' ||
      predicate === undefined ||
      predicate === COSIGN_SIGN_PREDICATE
    )
      return 'signature'
    return 'attestation'
  }
  if (/sbom|spdx|cyclonedx/i.test(type)) return 'sbom'
  if (/signature|cosign/i.test(type)) return 'signature'
  return 'other'
}

function notFound(error: unknown): boolean {
  return isAirlockError(error) && error.code === 'NOT_FOUND'
}

/** Finds the signature artifacts of `subjects` (root first) in the source they were exported from. */
export async function discoverSignatures(
  source: Source,
  subjects: Descriptor[],
  image: string,
): Promise<SubjectSignatures[]> {
  const store = source.store as Source['store'] & Partial<RegistryLike> & Partial<LayoutLike>
  const out: SubjectSignatures[] = []
  if (typeof store.index === 'function') {
    const index = await store.index()
    for (const subject of subjects)
      out.push({image, digest: subject.digest, entries: await fromLayout(store, index, source.name, subject)})
  } else if (typeof store.referrers === 'function') {
    return discoverInRegistry(store as unknown as RegistryLike, subjects, image)
  }
  return out.filter(s => s.entries.length > 0)
}

/**
 * Discovery in a registry repository, the way cosign and in-cluster verifiers look: the legacy tags (one tag list,
 * else a resolve per tag) and the referrers (API, else the fallback tag). Used at export on the source and after
 * push on the mirror.
 */
export async function discoverInRegistry(
  repo: RegistryLike,
  subjects: Descriptor[],
  image: string,
): Promise<SubjectSignatures[]> {
  // The signature tags are asked for directly, never filtered through the tag list: registry.k8s.io lists tags
  // from regional backends that may lack new signature tags the canonical one serves (siderolabs/talos#13342).
  const tags: Set<string> | undefined = undefined
  // Every subject's look-ups at once (each is a few round trips of a few bytes); the result keeps subject order.
  const out: SubjectSignatures[] = await Promise.all(
    subjects.map(async subject => ({image, digest: subject.digest, entries: await fromRegistry(repo, tags, subject)})),
  )
  return out.filter(s => s.entries.length > 0)
}

async function fromRegistry(
  repo: RegistryLike,
  tags: Set<string> | undefined,
  subject: Descriptor,
): Promise<SignatureEntry[]> {
  const base = `sha256-${digestHex(subject.digest)}`
  // The legacy tags and the referrers are asked for at once: independent round trips, results in a fixed order.
  const legacy = Promise.all(
    LEGACY_SUFFIXES.map(async ([suffix, role]): Promise<SignatureEntry | undefined> => {
      const tag = base + suffix
      if (tags && tags.size > 0 && !tags.has(tag)) return undefined
      try {
        // Found signature manifests are read next (judged, copied): fetched now, one round trip instead of two.
        return {kind: 'legacy-tag', tag, role, descriptor: strip(await repo.resolve(tag, {read: true}))}
      } catch (error) {
        if (notFound(error)) return undefined
        throw error
      }
    }),
  )
  const referrers = repo.referrers(subject)
  // Both settle before either's failure is reported: no look-up is left running behind an error.
  const [tagged, referred] = await Promise.allSettled([legacy, referrers])
  if (tagged.status === 'rejected') throw tagged.reason
  if (referred.status === 'rejected') throw referred.reason
  return [...tagged.value.filter((e): e is SignatureEntry => e !== undefined), ...referred.value.map(referrerEntry)]
}

function referrerEntry(d: Descriptor): SignatureEntry {
  const entry: SignatureEntry = {kind: 'referrer', role: referrerRole(d), descriptor: strip(d)}
  if (d.artifactType) entry.artifactType = d.artifactType
  return entry
}

/** The name the layout gives `tag` of the exported repository: `repo:tag` (what airlock and cosign write) or `tag`. */
function layoutTagLookup(index: ImageIndex, sourceName: string): (tag: string) => Descriptor | undefined {
  const repo = sourceName.replace(/@sha256:[0-9a-f]{64}$/, '').replace(/:[^:/]+$/, '')
  return tag => {
    const hit = index.manifests.find(d => {
      const name = d.annotations?.[REF_NAME_ANNOTATION]
      return name === `${repo}:${tag}` || name === tag
    })
    return hit
  }
}

async function fromLayout(
  store: Fetcher,
  index: ImageIndex,
  sourceName: string,
  subject: Descriptor,
): Promise<SignatureEntry[]> {
  const lookup = layoutTagLookup(index, sourceName)
  const entries: SignatureEntry[] = []
  const base = `sha256-${digestHex(subject.digest)}`
  for (const [suffix, role] of LEGACY_SUFFIXES) {
    const tag = base + suffix
    const hit = lookup(tag)
    if (hit) entries.push({kind: 'legacy-tag', tag, role, descriptor: strip(hit)})
  }
  const seen = new Set<Digest>()
  const fallback = lookup(base)
  if (fallback && fallback.size <= MAX_MANIFEST_BYTES) {
    const raw = await readManifest(store, fallback)
    if (raw.parsed.kind === 'index')
      for (const d of raw.parsed.manifests)
        if (!seen.has(d.digest)) {
          seen.add(d.digest)
          entries.push(referrerEntry(d))
        }
  }
  // Referrers tagged on their own in the layout (oras, skopeo): read the manifests that look like artifacts.
  for (const d of index.manifests) {
    if (
      seen.has(d.digest) ||
      d.digest === subject.digest ||
      !isManifestType(d.mediaType) ||
      d.artifactType === undefined
    )
      continue
    const raw = await readManifest(store, d).catch(() => undefined)
    if (raw?.parsed.subject?.digest !== subject.digest) continue
    seen.add(d.digest)
    const art = raw.parsed.artifactType ?? d.artifactType
    entries.push(
      referrerEntry({
        ...strip(d),
        artifactType: art,
        ...(raw.parsed.annotations ? {annotations: raw.parsed.annotations} : {}),
      }),
    )
  }
  return entries
}
