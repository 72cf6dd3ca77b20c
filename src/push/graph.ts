// The content graph under one root, in push order: every blob, then manifests children-first, so a manifest is
// only ever written after everything it points at is in the registry (a half-finished push leaves no manifest
// with a missing child, and no tag pointing at one).
import {AirlockError} from '../errors.ts'
import type {Descriptor} from '../oci/descriptor.ts'
import {children, type RawManifest} from '../oci/manifest.ts'
import {isManifestType} from '../oci/media-types.ts'
import {fetchManifest} from '../content/read-manifest.ts'
import type {Fetcher} from '../content/types.ts'

export interface PushGraph {
  root: Descriptor
  /** Leaf blobs (configs, layers, signature payloads), each once. */
  blobs: Descriptor[]
  /** Manifests and indexes in post-order (children before parents); the root is last. */
  manifests: Array<{descriptor: Descriptor; manifest: RawManifest}>
}

/** Reads a manifest's bytes from `source` with the manifest size limit, checks and parses them strictly. */
export const readManifest: (source: Fetcher, descriptor: Descriptor) => Promise<RawManifest> = fetchManifest

/** Walks the graph under `root` (depth-first), deduplicating by digest. */
export async function collectGraph(source: Fetcher, root: Descriptor, read = readManifest): Promise<PushGraph> {
  const blobs = new Map<string, Descriptor>()
  const manifests: PushGraph['manifests'] = []
  const visited = new Set<string>()
  const visit = async (descriptor: Descriptor, depth: number): Promise<void> => {
    if (visited.has(descriptor.digest)) return
    visited.add(descriptor.digest)
    if (!isManifestType(descriptor.mediaType)) {
      blobs.set(descriptor.digest, descriptor)
      return
    }
    // Real graphs are 2-3 levels deep (index -> manifest -> blobs); a deep chain is a hostile archive.
    if (depth > 8)
      throw new AirlockError('MANIFEST_INVALID', `manifest ${descriptor.digest} is nested more than 8 levels deep`)
    const manifest = await read(source, descriptor)
    for (const child of children(manifest.parsed)) await visit(child, depth + 1)
    manifests.push({descriptor: {...descriptor, mediaType: manifest.mediaType}, manifest})
  }
  await visit(root, 0)
  return {root, blobs: [...blobs.values()], manifests}
}
