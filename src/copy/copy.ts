// The one graph copy (in the spirit of oras-go's copy.go): resolve a root, walk manifests and indexes, copy every
// node's successors before the node itself, each digest once per destination, blobs with bounded concurrency.
// Export is copy(registry or layout -> ArchiveWriter); push is copy(verdict-backed archive source -> registry
// repository), per image, with the signature tags, referrers and the tag written by push after the copy.
//
// Optional capabilities are asked of the destination, never assumed (oras-go checks for registry.Mounter the same
// way): `blobSize` (HEAD with the size the registry states, so a held blob is skipped only at the descriptor's
// size), `mount` (cross-repository mount from another destination of the same engine that holds the blob), and
// `pushFrom` (an upload from a re-readable source region, so a retried upload re-reads instead of buffering).
//
// Manifests are fetched whole (bounded by GRAPH_LIMITS.maxManifestBytes) and pushed byte for byte; blobs are
// streams end to end and never sit in memory. Errors carry their operation and side as data (`details.copy`).
import {Readable} from 'node:stream'
import {AirlockError, toAirlockError} from '../errors.ts'
import type {Descriptor} from '../oci/descriptor.ts'
import {platformString} from '../oci/descriptor.ts'
import {checkDepth, successors} from '../oci/graph.ts'
import type {RawManifest} from '../oci/manifest.ts'
import {isManifestType} from '../oci/media-types.ts'
import type {ExistenceChecker, Fetcher, Pusher, RereadableBlob} from '../content/types.ts'
import {fetchManifest} from '../content/read-manifest.ts'
import {Limiter} from '../util/concurrency.ts'
import {matchesPlatform, type PlatformSpec} from './platform.ts'

/**
 * Manifests (small, and each one reveals more work) go before any waiting blob; waiting blobs go largest first
 * (Limiter priorities), so the longest downloads start early and do not finish last (docs/DECISIONS.md).
 */
const MANIFEST_PRIORITY = Number.MAX_SAFE_INTEGER

/** Where a copy writes. Only exists() and push() are required; the rest are capabilities used when present. */
export interface CopyTarget extends ExistenceChecker, Pusher {
  /** HEAD of a blob with the size the registry states (-1: present, size not stated; undefined: absent). */
  blobSize?(descriptor: Descriptor): Promise<number | undefined>
  /** Cross-repository mount; resolves false when the registry did not mount (it then wants an upload). */
  mount?(descriptor: Descriptor, fromRepository: string): Promise<boolean>
  /** Upload from a re-readable region (one streamed request, retried by re-reading). */
  pushFrom?(descriptor: Descriptor, source: RereadableBlob): Promise<void>
}

/** Where a copy reads. `rereadable` is optional (an archive region: retried uploads re-read instead of buffering). */
export interface CopySource extends Fetcher {
  rereadable?(descriptor: Descriptor): Promise<RereadableBlob | undefined>
}

export type CopyOperation = 'fetch' | 'exists' | 'push' | 'mount'
export type CopySide = 'source' | 'destination'

/** What `details.copy` of a copy error holds: which step failed, on which side, for which node and destination. */
export interface CopyErrorDetails {
  operation: CopyOperation
  side: CopySide
  digest: string
  destination: string
}

/** The copy facts of an error, if it came out of the copy engine. */
export function copyErrorDetails(error: unknown): CopyErrorDetails | undefined {
  return error instanceof AirlockError ? (error.details?.copy as CopyErrorDetails | undefined) : undefined
}

export interface CopyEvent {
  /** planned: first seen in a graph (its size joins the work known so far); then skipped, copied or mounted. */
  type: 'planned' | 'skipped' | 'copied' | 'mounted'
  descriptor: Descriptor
}

export interface CopyGraphOptions {
  /** Keep only these platforms when walking the root index (default: every child). */
  platforms?: readonly PlatformSpec[]
  /**
   * The successors of a manifest node (default: `successors()` of src/oci/graph.ts, the platform filter applied at
   * the root). Push passes the judged graph's own nodes here, so nothing the verdict did not judge is copied.
   */
  findSuccessors?: (node: Descriptor, manifest: RawManifest, depth: number) => Descriptor[] | Promise<Descriptor[]>
  /** Before a node's bytes are sent (after the skip and mount checks). */
  preCopy?: (descriptor: Descriptor) => void
  /** After a node's bytes are in the destination. */
  postCopy?: (descriptor: Descriptor) => void
  /** A node the destination already holds (a manifest held means its subtree is held: children go first). */
  onCopySkipped?: (descriptor: Descriptor) => void
  /** A blob mounted from another destination of the same engine. */
  onMounted?: (descriptor: Descriptor, from: string) => void
  /** Every outcome as one event (export's progress); called besides the specific hooks. */
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
 * State shared by every destination of one run: the transfer limiter, which destination holds which blob (the
 * mount sources, and what a HEAD answered before the copy), the sizes held under each digest, and the first
 * transfer of each blob (a blob shared by two destinations is sent once; the second waits, then mounts).
 */
export class CopyEngine {
  readonly limiter: Limiter
  /** digest -> names of destinations known to hold it. */
  private readonly holders = new Map<string, Set<string>>()
  /** digest -> the size held under it (a HEAD's Content-Length, or what this run sent). */
  private readonly heldSizes = new Map<string, number>()
  /** `name@digest` a HEAD earlier in this run found missing (markAbsent). */
  private readonly absent = new Set<string>()
  /** digest -> the first transfer of that blob in this run, whatever the destination. */
  private readonly firstTransfer = new Map<string, Promise<void>>()
  /** Mounts asked for and mounts done in this run (a declined mount, 202, is "not this time", not "never"). */
  private mountsTried = 0
  private mountsDone = 0

  constructor(options: {concurrency?: number} = {}) {
    this.limiter = new Limiter(options.concurrency ?? 4)
  }

  /** A copier into one destination; `name` is how mounts refer to it (a repository path). */
  to(dst: CopyTarget, name = ''): GraphCopier {
    return new GraphCopier(dst, {engine: this, name})
  }

  /**
   * Whether cross-repository mount worked at least once or was never tried; false when every one was declined.
   * Each blob is still offered for mounting: the registry decides per blob and per source (a refusing source is
   * remembered by the registry session, not here).
   */
  get mountAvailable(): boolean {
    return this.mountsTried === 0 || this.mountsDone > 0
  }

  /** @internal */
  mountAttempted(done: boolean): void {
    this.mountsTried++
    if (done) this.mountsDone++
  }

  /**
   * Records that `name` lacked `digest` when asked earlier in this run (a HEAD before the copy): it is sent without
   * asking again. A writer that added it since only costs a transfer the registry dedups.
   */
  markAbsent(name: string, digest: string): void {
    this.absent.add(`${name}@${digest}`)
  }

  /** @internal */
  knownAbsent(name: string, digest: string): boolean {
    return this.absent.has(`${name}@${digest}`)
  }

  /** Records that `name` holds `digest` (a HEAD made before the copy): skipped without asking again. */
  markHeld(name: string, digest: string, size?: number): void {
    this.holdersOf(digest).add(name)
    if (size !== undefined && size >= 0) this.heldSizes.set(digest, size)
  }

  /** @internal */
  holdersOf(digest: string): Set<string> {
    const holders = this.holders.get(digest) ?? new Set<string>()
    this.holders.set(digest, holders)
    return holders
  }

  /** @internal */
  recordSize(digest: string, size: number): void {
    if (size >= 0) this.heldSizes.set(digest, size)
  }

  /**
   * A blob is skipped or mounted only when what is held under its digest has the descriptor's size: a manifest
   * whose descriptor states another size (a lying descriptor) would otherwise land pointing at content that no
   * client can pull as described.
   */
  checkHeldSize(name: string, descriptor: Descriptor): void {
    const size = this.heldSizes.get(descriptor.digest)
    if (size !== undefined && size !== descriptor.size)
      throw new AirlockError(
        'SIZE_MISMATCH',
        `blob ${descriptor.digest} for ${name || 'the destination'}: the registry holds ${size} bytes under this digest, but the descriptor says ${descriptor.size}`,
        {
          hint: 'the archive describes this blob with the wrong size; airlock verify refuses it',
          details: {copy: {operation: 'exists', side: 'destination', digest: descriptor.digest, destination: name}},
        },
      )
  }

  /** @internal: runs `transfer` after any earlier transfer of the same digest elsewhere has settled. */
  async afterFirst(digest: string, transfer: () => Promise<void>): Promise<void> {
    const first = this.firstTransfer.get(digest)
    const task = (async () => {
      if (first) await first.catch(() => undefined)
      await transfer()
    })()
    if (!first) this.firstTransfer.set(digest, task)
    try {
      await task
    } finally {
      if (this.firstTransfer.get(digest) === task) this.firstTransfer.delete(digest)
    }
  }
}

/** Where a node is visited from: its source, the walk's options, its place in the graph (the root: the result). */
interface NodeVisit {
  src: CopySource
  options: CopyGraphOptions
  depth: number
  ancestors: ReadonlySet<string>
  /** Only for the root: what the caller learns about it. */
  result?: CopyGraphResult | undefined
}

/**
 * Copies graphs into one destination. Keep one instance per destination for a whole run: its memory of what was
 * copied (or is being copied) is what dedups content shared between images.
 */
export class GraphCopier {
  private readonly dst: CopyTarget
  private readonly engine: CopyEngine
  private readonly name: string
  private readonly inflight = new Map<string, Promise<void>>()
  /** root digest -> copies of it started on this copier (roots are not deduped: each caller wants its result). */
  private readonly rootCopies = new Map<string, number>()

  constructor(dst: CopyTarget, options: {concurrency?: number; engine?: CopyEngine; name?: string} = {}) {
    this.dst = dst
    this.engine = options.engine ?? new CopyEngine(options.concurrency ? {concurrency: options.concurrency} : {})
    this.name = options.name ?? ''
  }

  async copy(src: CopySource, root: Descriptor, options: CopyGraphOptions = {}): Promise<CopyGraphResult> {
    const result: CopyGraphResult = {root, rootManifest: undefined, filtered: false}
    this.rootCopies.set(root.digest, (this.rootCopies.get(root.digest) ?? 0) + 1)
    await this.node(root, {src, options, depth: 0, ancestors: new Set(), result})
    return result
  }

  /** Copies one node (and its subtree) once; concurrent requests for the same digest share the work. */
  private node(descriptor: Descriptor, visit: NodeVisit): Promise<void> {
    const {options, ancestors, result} = visit
    if (ancestors.has(descriptor.digest))
      throw new AirlockError('MANIFEST_INVALID', `manifest ${descriptor.digest} refers to itself`)
    const known = this.inflight.get(descriptor.digest)
    if (known && !result) return known
    if (!known) options.onEvent?.({type: 'planned', descriptor})
    const work = this.copyNode(descriptor, visit)
    if (!known) this.inflight.set(descriptor.digest, work)
    return work
  }

  private async copyNode(descriptor: Descriptor, visit: NodeVisit): Promise<void> {
    const {src, options, depth, ancestors, result} = visit
    checkDepth(depth, descriptor.digest)
    if (!isManifestType(descriptor.mediaType)) return this.copyBlob(src, descriptor, options)
    // The destination only holds a manifest once all of its successors are in (they go first), so a manifest it
    // has means a complete subtree. The root is still read when the caller needs its platforms.
    const held =
      !this.engine.knownAbsent(this.name, descriptor.digest) &&
      (await this.step('exists', 'destination', descriptor, () => this.dst.exists(descriptor)))
    if (held && !result) return this.skipped(descriptor, options)
    const manifest = await this.engine.limiter.run(
      () => this.step('fetch', 'source', descriptor, () => fetchManifest(src, descriptor)),
      MANIFEST_PRIORITY,
    )
    let next = options.findSuccessors
      ? await options.findSuccessors(descriptor, manifest, depth)
      : successors(manifest.parsed)
    if (!options.findSuccessors && manifest.parsed.kind === 'index' && depth === 0 && options.platforms?.length) {
      const all = next
      next = all.filter(d => matchesPlatform(d.platform, options.platforms!))
      if (next.length === 0)
        throw new AirlockError(
          'NOT_FOUND',
          `index ${descriptor.digest} has no manifest for the requested platform(s)`,
          {hint: `platforms in it: ${all.map(d => platformString(d.platform)).join(', ')}`},
        )
      if (result) result.filtered = next.length !== all.length
    }
    if (result) {
      result.rootManifest = manifest
      if (manifest.parsed.kind === 'index')
        result.platforms = next.map(d => ({platform: platformString(d.platform), digest: d.digest, descriptor: d}))
    }
    if (held) return this.skipped(descriptor, options)
    const path = new Set(ancestors).add(descriptor.digest)
    await Promise.all(next.map(child => this.node(child, {src, options, depth: depth + 1, ancestors: path})))
    // A root copied while the same root was in flight elsewhere (no dedup for roots): the other may have landed.
    const contended = result && (this.rootCopies.get(descriptor.digest) ?? 0) > 1
    if (contended && (await this.step('exists', 'destination', descriptor, () => this.dst.exists(descriptor))))
      return this.skipped(descriptor, options)
    options.preCopy?.(descriptor)
    await this.engine.limiter.run(
      () =>
        this.step('push', 'destination', descriptor, () => this.dst.push(descriptor, Readable.from([manifest.bytes]))),
      MANIFEST_PRIORITY,
    )
    options.postCopy?.(descriptor)
    options.onEvent?.({type: 'copied', descriptor})
  }

  private skipped(descriptor: Descriptor, options: CopyGraphOptions): void {
    options.onCopySkipped?.(descriptor)
    options.onEvent?.({type: 'skipped', descriptor})
  }

  /** A leaf blob: skip if held (at the right size), else mount from a destination that holds it, else send it. */
  private async copyBlob(src: CopySource, descriptor: Descriptor, options: CopyGraphOptions): Promise<void> {
    await this.engine.afterFirst(descriptor.digest, () =>
      this.engine.limiter.run(() => this.transferBlob(src, descriptor, options), descriptor.size),
    )
  }

  private async transferBlob(src: CopySource, descriptor: Descriptor, options: CopyGraphOptions): Promise<void> {
    const engine = this.engine
    const holders = engine.holdersOf(descriptor.digest)
    if (holders.has(this.name) || (await this.held(descriptor))) {
      engine.checkHeldSize(this.name, descriptor)
      holders.add(this.name)
      return this.skipped(descriptor, options)
    }
    const from = [...holders][0]
    if (from !== undefined && this.dst.mount) {
      engine.checkHeldSize(this.name, descriptor)
      const mount = this.dst.mount.bind(this.dst)
      const mounted = await this.step('mount', 'destination', descriptor, () => mount(descriptor, from))
      engine.mountAttempted(mounted)
      if (mounted) {
        holders.add(this.name)
        options.onMounted?.(descriptor, from)
        options.onEvent?.({type: 'mounted', descriptor})
        return
      }
      // Not mounted this time: upload it; later blobs are still offered for mounting.
    }
    options.preCopy?.(descriptor)
    const region =
      this.dst.pushFrom && src.rereadable
        ? await this.step('fetch', 'source', descriptor, () => src.rereadable!(descriptor))
        : undefined
    if (region && this.dst.pushFrom) {
      const pushFrom = this.dst.pushFrom.bind(this.dst)
      await this.step('push', 'destination', descriptor, () => pushFrom(descriptor, region))
    } else {
      const stream = await this.step('fetch', 'source', descriptor, () => src.fetch(descriptor))
      await this.pushStream(descriptor, stream)
    }
    engine.recordSize(descriptor.digest, descriptor.size)
    holders.add(this.name)
    options.postCopy?.(descriptor)
    options.onEvent?.({type: 'copied', descriptor})
  }

  /** Whether the destination holds the blob, remembering the size it states. */
  private async held(descriptor: Descriptor): Promise<boolean> {
    if (this.engine.knownAbsent(this.name, descriptor.digest)) return false
    const dst = this.dst
    if (!dst.blobSize) return this.step('exists', 'destination', descriptor, () => dst.exists(descriptor))
    const size = await this.step('exists', 'destination', descriptor, () => dst.blobSize!(descriptor))
    if (size === undefined) return false
    this.engine.recordSize(descriptor.digest, size)
    return true
  }

  /** push() of a source stream: an error the source stream raised is the source's, not the destination's. */
  private async pushStream(descriptor: Descriptor, stream: Readable): Promise<void> {
    let sourceError: unknown
    stream.once('error', error => (sourceError ??= error))
    try {
      await this.dst.push(descriptor, stream)
    } catch (error) {
      stream.destroy()
      // A source that failed mid-stream (a short read, a digest mismatch) made the push fail: the source's fault.
      // So is content the destination hashed itself and found not to match (an archive writer hashing on a worker).
      const fromSource =
        sourceError !== undefined || (error instanceof AirlockError && error.code === 'DIGEST_MISMATCH')
      throw this.wrap(error, 'push', fromSource ? 'source' : 'destination', descriptor)
    }
  }

  private async step<T>(
    operation: CopyOperation,
    side: CopySide,
    descriptor: Descriptor,
    run: () => Promise<T>,
  ): Promise<T> {
    try {
      return await run()
    } catch (error) {
      throw this.wrap(error, operation, side, descriptor)
    }
  }

  /** The error as an AirlockError with `details.copy`; one that already has them (an inner node) passes as it is. */
  private wrap(error: unknown, operation: CopyOperation, side: CopySide, descriptor: Descriptor): AirlockError {
    if (copyErrorDetails(error)) return error as AirlockError
    const e = toAirlockError(error, side === 'source' ? 'IO_ERROR' : 'REGISTRY_ERROR')
    const copy: CopyErrorDetails = {operation, side, digest: descriptor.digest, destination: this.name}
    const what = `${isManifestType(descriptor.mediaType) ? 'manifest' : 'blob'} ${descriptor.digest}`
    const message = e.message.includes(descriptor.digest)
      ? e.message
      : `${operation} ${what}${this.name ? ` ${side === 'source' ? 'for' : 'to'} ${this.name}` : ''}: ${e.message}`
    return new AirlockError(e.code, message, {
      cause: error,
      ...(e.hint ? {hint: e.hint} : {}),
      details: {...e.details, copy},
    })
  }
}
