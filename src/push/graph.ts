// The content graph under one root, in push order: every blob, then manifests children-first, so a manifest is
// only ever written after everything it points at is in the registry (a half-finished push leaves no manifest
// with a missing child, and no tag pointing at one).
import type {Readable} from 'node:stream'
import {AirlockError} from '../errors.ts'
import type {Descriptor} from '../oci/descriptor.ts'
import {children, parseManifest, type RawManifest} from '../oci/manifest.ts'
import {isManifestType, MAX_MANIFEST_BYTES} from '../oci/media-types.ts'
import type {Fetcher} from '../store/types.ts'

export interface PushGraph {
  root: Descriptor
  /** Leaf blobs (configs, layers, signature payloads), each once. */
  blobs: Descriptor[]
  /** Manifests and indexes in post-order (children before parents); the root is last. */
  manifests: Array<{descriptor: Descriptor; manifest: RawManifest}>
}

/** Reads a manifest's bytes from `source` with the manifest size limit, and parses them strictly. */
export async function readManifest(source: Fetcher, descriptor: Descriptor): Promise<RawManifest> {
  if (descriptor.size > MAX_MANIFEST_BYTES)
    throw new AirlockError('TOO_LARGE', `manifest ${descriptor.digest} is ${descriptor.size} bytes, over the ${MAX_MANIFEST_BYTES} byte limit`)
  const stream: Readable = await source.fetch(descriptor)
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > descriptor.size) {
      stream.destroy()
      throw new AirlockError('SIZE_MISMATCH', `manifest ${descriptor.digest}: more than the expected ${descriptor.size} bytes`)
    }
    chunks.push(chunk)
  }
  const manifest = parseManifest(Buffer.concat(chunks), descriptor.mediaType, `manifest ${descriptor.digest}`)
  if (manifest.digest !== descriptor.digest)
    throw new AirlockError('DIGEST_MISMATCH', `manifest ${descriptor.digest} hashes to ${manifest.digest}`)
  return manifest
}

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
    if (depth > 8) throw new AirlockError('MANIFEST_INVALID', `manifest ${descriptor.digest} is nested more than 8 levels deep`)
    const manifest = await read(source, descriptor)
    for (const child of children(manifest.parsed)) await visit(child, depth + 1)
    manifests.push({descriptor: {...descriptor, mediaType: manifest.mediaType}, manifest})
  }
  await visit(root, 0)
  return {root, blobs: [...blobs.values()], manifests}
}
