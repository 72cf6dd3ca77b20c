// The content graph's one definition of "what a node points at" and its one set of limits, shared by every walk:
// the copy engine (export and push), verify's integrity walk and inspect (which reads verify's walk).
import {AirlockError} from '../errors.ts'
import type {Descriptor} from './descriptor.ts'
import type {Manifest} from './manifest.ts'
import {MAX_MANIFEST_BYTES} from './media-types.ts'

/**
 * Limits on any content graph airlock walks. Real graphs are 2-3 levels deep (index -> manifest -> blobs) and a
 * Talos release is ~50 images: these are far above honest use and far below exhaustion.
 */
export const GRAPH_LIMITS = Object.freeze({
  /** Manifest levels under a root (index -> manifest -> ...); also stops reference loops early. */
  maxDepth: 8,
  /** Manifests one image may expand (a fan-out DAG has astronomically many paths: each manifest is expanded once). */
  maxManifestNodes: 50_000,
  /** Descriptors (manifests, configs, layers, repeats included) one archive may name across all its walks. */
  maxArchiveNodes: 200_000,
  /** Bytes of one manifest or index (read whole, so bounded). */
  maxManifestBytes: MAX_MANIFEST_BYTES,
})

/**
 * The successors of a manifest node, in document order: an index's manifests, or an image manifest's config then
 * its layers. A manifest's `subject` is not a successor: a referrer points back at content copied on its own (the
 * image first, its referrers after it, as push orders them).
 */
export function successors(manifest: Manifest): Descriptor[] {
  return manifest.kind === 'index' ? [...manifest.manifests] : [manifest.config, ...manifest.layers]
}

/** Throws when a node sits deeper than the depth limit (`depth` 0 is the root). */
export function checkDepth(depth: number, digest: string): void {
  if (depth > GRAPH_LIMITS.maxDepth)
    throw new AirlockError(
      'MANIFEST_INVALID',
      `manifests nest deeper than ${GRAPH_LIMITS.maxDepth} levels at ${digest}`,
    )
}
