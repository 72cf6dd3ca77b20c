// The one graph copy (after oras-go copy.go): resolve a root, walk manifests and indexes, push every node's
// children before the node itself, each digest once per destination, leaf blobs with bounded concurrency.
// Export is copy(source -> ArchiveWriter); an archive -> registry push can use the same function.
//
// Manifests are fetched whole (they are small and bounded by MAX_MANIFEST_BYTES) and pushed byte for byte; blobs
// are streams end to end and never sit in memory.
import {Readable} from 'node:stream'
import {AirlockError} from '../errors.ts'
import type {Descriptor} from '../oci/descriptor.ts'
import {platformString} from '../oci/descriptor.ts'
import {children, type RawManifest} from '../oci/manifest.ts'
import {isManifestType} from '../oci/media-types.ts'
import type {ExistenceChecker, Fetcher, Pusher} from '../content/types.ts'
import {fetchManifest} from '../content/read-manifest.ts'
import {Limiter} from '../util/concurrency.ts'
import {matchesPlatform, type PlatformSpec} from './platform.ts'

/** Manifests nest index -> manifest; a few levels is plenty, and the limit also stops reference loops. */
const MAX_DEPTH = 8

export type CopyDestination = ExistenceChecker & Pusher

export interface CopyEvent {
  /** planned: first seen in a graph (its size joins the work known so far); then skipped or copied. */
  type: 'planned' | 'skipped' | 'copied'
  descriptor: Descriptor
}

export interface CopyGraphOptions {
  /** Keep only these platforms when walking an index (default: every child). */
  platforms?: readonly PlatformSpec[]
  /**
   * Hook: more successors of a manifest node besides its children (e.g. referrers). Called once per manifest
   * node copied; the returned descriptors are copied like children, before the node.
   */
  findSuccessors?: (node: Descriptor, manifest: RawManifest) => Promise<Descriptor[]>
  onEvent?: (event: CopyEvent) => void
}

export interface CopyGraphResult {
  root: Descriptor
  rootManifest: RawManifest | undefined
  /** For an index root: the children carried (all, or the ones matching the platform filter). */
  platforms?: Array<{platform: string; digest: Descriptor['digest']; descriptor: Descriptor}>
  filtered: boolean
}

export {fetchManifest} from '../content/read-manifest.ts'

/**
 * Copies graphs into one destination. Keep one instance per destination for a whole export: its memory of what
 * was copied (or is being copied) is what dedups blobs shared between images.
 */
export class GraphCopier {
  private readonly dst: CopyDestination
  private readonly limiter: Limiter
  private readonly inflight = new Map<string, Promise<void>>()

  constructor(dst: CopyDestination, options: {concurrency?: number} = {}) {
    this.dst = dst
    this.limiter = new Limiter(options.concurrency ?? 4)
  }

  async copy(src: Fetcher, root: Descriptor, options: CopyGraphOptions = {}): Promise<CopyGraphResult> {
    const result: CopyGraphResult = {root, rootManifest: undefined, filtered: false}
    await this.node(src, root, options, 0, new Set(), result)
    return result
  }

  /** Copies one node (and its subtree) once; concurrent requests for the same digest share the work. */
  private node(
    src: Fetcher,
    descriptor: Descriptor,
    options: CopyGraphOptions,
    depth: number,
    ancestors: Set<string>,
    result?: CopyGraphResult,
  ): Promise<void> {
    if (ancestors.has(descriptor.digest))
      throw new AirlockError('MANIFEST_INVALID', `manifest ${descriptor.digest} refers to itself`)
    const known = this.inflight.get(descriptor.digest)
    if (known && !result) return known
    if (!known) options.onEvent?.({type: 'planned', descriptor})
    const work = this.copyNode(src, descriptor, options, depth, ancestors, result)
    if (!known) this.inflight.set(descriptor.digest, work)
    return work
  }

  private async copyNode(
    src: Fetcher,
    descriptor: Descriptor,
    options: CopyGraphOptions,
    depth: number,
    ancestors: Set<string>,
    result?: CopyGraphResult,
  ): Promise<void> {
    if (depth > MAX_DEPTH)
      throw new AirlockError(
        'MANIFEST_INVALID',
        `manifests nest deeper than ${MAX_DEPTH} levels at ${descriptor.digest}`,
      )
    const manifestNode = isManifestType(descriptor.mediaType)
    // The destination only holds a manifest once all of its children are in (children go first), so a manifest
    // it has means a complete subtree. The root is still read when the caller needs its platforms.
    if (!result && (await this.dst.exists(descriptor))) {
      options.onEvent?.({type: 'skipped', descriptor})
      return
    }
    if (!manifestNode) {
      await this.limiter.run(async () => this.dst.push(descriptor, await src.fetch(descriptor)))
      options.onEvent?.({type: 'copied', descriptor})
      return
    }
    const manifest = await this.limiter.run(() => fetchManifest(src, descriptor))
    let successors = children(manifest.parsed)
    if (manifest.parsed.kind === 'index' && options.platforms?.length) {
      const all = successors
      successors = all.filter(d => matchesPlatform(d.platform, options.platforms!))
      if (successors.length === 0)
        throw new AirlockError(
          'NOT_FOUND',
          `index ${descriptor.digest} has no manifest for the requested platform(s)`,
          {
            hint: `platforms in it: ${all.map(d => platformString(d.platform)).join(', ')}`,
          },
        )
      if (result) result.filtered = successors.length !== all.length
    }
    if (result) {
      result.rootManifest = manifest
      if (manifest.parsed.kind === 'index')
        result.platforms = successors.map(d => ({
          platform: platformString(d.platform),
          digest: d.digest,
          descriptor: d,
        }))
    }
    if (options.findSuccessors) successors = [...successors, ...(await options.findSuccessors(descriptor, manifest))]
    const path = new Set(ancestors).add(descriptor.digest)
    await Promise.all(successors.map(child => this.node(src, child, options, depth + 1, path)))
    if (!(await this.dst.exists(descriptor))) await this.dst.push(descriptor, Readable.from([manifest.bytes]))
    options.onEvent?.({type: 'copied', descriptor})
  }
}
