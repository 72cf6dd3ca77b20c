// Pushing content graphs into mirror repositories: HEAD-skip, cross-repository mount, upload, in that order of
// preference; blobs in parallel (bounded), manifests strictly after their children, tags after the content.
// The registry client does retries, auth and chunked uploads; this module decides what to send and in which order.
import {Readable} from 'node:stream'
import {AirlockError, toAirlockError} from '../errors.ts'
import type {Descriptor} from '../oci/descriptor.ts'
import type {Digest} from '../oci/digest.ts'
import {parseManifest, type RawManifest} from '../oci/manifest.ts'
import type {Fetcher, RangeFetcher, RereadableBlob, Target} from '../content/types.ts'
import {Limiter} from '../util/concurrency.ts'
import type {PushGraph} from './graph.ts'
import {fallbackTag, mergeReferrersIndex, referrerDescriptor} from './referrers.ts'

/** One repository of the mirror, as push needs it. `mount` is optional: not every client or registry has it. */
export interface PushDestination extends Target {
  /** Cross-repository mount; resolves false when the registry did not mount (it then wants an upload). */
  mount?(descriptor: Descriptor, fromRepository: string): Promise<boolean>
  /** Upload from a re-readable region (one streamed request, retried by re-reading); optional. */
  pushFrom?(descriptor: Descriptor, source: RereadableBlob): Promise<void>
  /** HEAD of a blob with the size the registry states (-1: present, size not stated); optional, else exists(). */
  blobSize?(descriptor: Descriptor): Promise<number | undefined>
}

export interface PushCounters {
  blobs: {pushed: number; mounted: number; skipped: number; bytes: number}
  manifests: {pushed: number; skipped: number}
  tags: {written: string[]; unchanged: string[]}
  referrers: {pushed: number; skipped: number}
  fallbackTags: string[]
}

export function emptyCounters(): PushCounters {
  return {
    blobs: {pushed: 0, mounted: 0, skipped: 0, bytes: 0},
    manifests: {pushed: 0, skipped: 0},
    tags: {written: [], unchanged: []},
    referrers: {pushed: 0, skipped: 0},
    fallbackTags: [],
  }
}

export type PushEvent =
  | {type: 'blob'; repository: string; descriptor: Descriptor; action: 'pushed' | 'mounted' | 'skipped'}
  | {type: 'blob-start'; repository: string; descriptor: Descriptor}
  | {type: 'manifest'; repository: string; descriptor: Descriptor; action: 'pushed' | 'skipped'}
  | {type: 'tag'; repository: string; tag: string; action: 'written' | 'unchanged'}

export interface EngineOptions {
  /** Blob transfers in flight at once, across all repositories. */
  concurrency?: number
  /** Move a tag that points at other content; without it such a tag is refused (issue 10, finding 1). */
  force?: boolean
  onEvent?: (event: PushEvent) => void
}

/**
 * State shared by every push of one run: which repository already holds which blob (the mount source), and the
 * blob transfers in flight (a blob shared by two images is sent once; the second waits and then mounts).
 */
export class PushEngine {
  private readonly source: Fetcher
  private readonly limiter: Limiter
  private readonly onEvent: (event: PushEvent) => void
  /** digest -> repositories of this registry known to hold it (seen by HEAD, pushed or mounted in this run). */
  private readonly holders = new Map<string, Set<string>>()
  /** digest -> the size the registry holds under it (HEAD Content-Length, or what this run pushed). */
  private readonly heldSizes = new Map<string, number>()
  /** `${repository}@${digest}` -> the transfer in progress. */
  private readonly inflight = new Map<string, Promise<void>>()
  /** digest -> the first transfer of that blob in this run, whatever the repository. */
  private readonly firstUpload = new Map<string, Promise<void>>()
  /** Set once the registry answers a mount with an upload session: stop trying (capability detection). */
  private mountUnsupported = false
  private readonly force: boolean

  constructor(source: Fetcher, options: EngineOptions = {}) {
    this.source = source
    this.force = options.force ?? false
    this.limiter = new Limiter(options.concurrency ?? 4)
    this.onEvent = options.onEvent ?? (() => {})
  }

  /** Whether cross-repository mount worked at least once or was never tried; false once the registry refused it. */
  get mountAvailable(): boolean {
    return !this.mountUnsupported
  }

  /**
   * Records that `repository` holds `digest` (seen by an earlier HEAD, with the size it stated): the blob is
   * skipped without asking again, once its size is checked against the descriptor that wants it.
   */
  markHeld(repository: string, digest: string, size?: number): void {
    const holders = this.holders.get(digest) ?? new Set<string>()
    holders.add(repository)
    this.holders.set(digest, holders)
    if (size !== undefined && size >= 0) this.heldSizes.set(digest, size)
  }

  /**
   * A blob is skipped (held) or mounted only when what the registry holds under its digest has the descriptor's
   * size: a manifest whose descriptor states another size (a lying descriptor) would otherwise be pushed pointing
   * at content that no client can pull as described. Checked with verification on or off.
   */
  private checkHeldSize(repository: string, descriptor: Descriptor): void {
    const size = this.heldSizes.get(descriptor.digest)
    if (size !== undefined && size !== descriptor.size)
      throw new AirlockError(
        'SIZE_MISMATCH',
        `blob ${descriptor.digest} for ${repository}: the registry holds ${size} bytes under this digest, but the descriptor says ${descriptor.size}`,
        {hint: 'the archive describes this blob with the wrong size; airlock verify refuses it'},
      )
  }

  /** Whether the destination repository holds the blob (HEAD), remembering the size the registry stated. */
  private async held(dst: PushDestination, descriptor: Descriptor): Promise<boolean> {
    if (!dst.blobSize) return dst.exists(descriptor)
    const size = await dst.blobSize(descriptor)
    if (size === undefined) return false
    if (size >= 0) this.heldSizes.set(descriptor.digest, size)
    return true
  }

  /** Pushes every blob and then every manifest of `graph` (children first) into `repository`; no tag. */
  async pushGraph(dst: PushDestination, repository: string, graph: PushGraph, counters: PushCounters): Promise<void> {
    await Promise.all(graph.blobs.map(blob => this.pushBlob(dst, repository, blob, counters)))
    for (const {descriptor, manifest} of graph.manifests)
      await this.pushManifest(dst, repository, descriptor, manifest, counters)
  }

  private async pushBlob(
    dst: PushDestination,
    repository: string,
    descriptor: Descriptor,
    counters: PushCounters,
  ): Promise<void> {
    const key = `${repository}@${descriptor.digest}`
    const running = this.inflight.get(key)
    if (running) return running
    // Another repository already sending this blob: wait for it (outside the limiter, so waiting holds no slot),
    // then this one finds a holder and mounts instead of sending the bytes again.
    const first = this.firstUpload.get(descriptor.digest)
    const task = (async () => {
      if (first) await first.catch(() => undefined)
      await this.limiter.run(() => this.transferBlob(dst, repository, descriptor, counters))
    })()
    this.inflight.set(key, task)
    if (!first) this.firstUpload.set(descriptor.digest, task)
    try {
      await task
    } finally {
      this.inflight.delete(key)
      if (this.firstUpload.get(descriptor.digest) === task) this.firstUpload.delete(descriptor.digest)
    }
  }

  private async transferBlob(
    dst: PushDestination,
    repository: string,
    descriptor: Descriptor,
    counters: PushCounters,
  ): Promise<void> {
    const holders = this.holders.get(descriptor.digest) ?? new Set<string>()
    this.holders.set(descriptor.digest, holders)
    if (holders.has(repository) || (await this.held(dst, descriptor))) {
      this.checkHeldSize(repository, descriptor)
      holders.add(repository)
      counters.blobs.skipped++
      this.onEvent({type: 'blob', repository, descriptor, action: 'skipped'})
      return
    }
    // A blob another repository of this registry got in this run can be mounted instead of sent again.
    const from = [...holders][0]
    if (from !== undefined && dst.mount && !this.mountUnsupported) {
      this.checkHeldSize(repository, descriptor)
      if (await dst.mount(descriptor, from)) {
        holders.add(repository)
        counters.blobs.mounted++
        this.onEvent({type: 'blob', repository, descriptor, action: 'mounted'})
        return
      }
      this.mountUnsupported = true
    }
    this.onEvent({type: 'blob-start', repository, descriptor})
    const region = dst.pushFrom && isRangeFetcher(this.source) ? await this.source.rereadable(descriptor) : undefined
    if (region && dst.pushFrom)
      await pushRegion(dst.pushFrom.bind(dst), descriptor, region, `blob ${descriptor.digest} to ${repository}`)
    else
      await pushStream(
        dst,
        descriptor,
        await this.source.fetch(descriptor),
        `blob ${descriptor.digest} to ${repository}`,
      )
    this.heldSizes.set(descriptor.digest, descriptor.size)
    holders.add(repository)
    counters.blobs.pushed++
    counters.blobs.bytes += descriptor.size
    this.onEvent({type: 'blob', repository, descriptor, action: 'pushed'})
  }

  /** Pushes a manifest's exact bytes (never re-serialized) unless the repository already has that digest. */
  async pushManifest(
    dst: PushDestination,
    repository: string,
    descriptor: Descriptor,
    manifest: RawManifest,
    counters: PushCounters,
  ): Promise<boolean> {
    if (await dst.exists(descriptor)) {
      counters.manifests.skipped++
      this.onEvent({type: 'manifest', repository, descriptor, action: 'skipped'})
      return false
    }
    await pushStream(dst, descriptor, Readable.from([manifest.bytes]), `manifest ${descriptor.digest} to ${repository}`)
    counters.manifests.pushed++
    this.onEvent({type: 'manifest', repository, descriptor, action: 'pushed'})
    return true
  }

  /** Points `tag` at `descriptor`, unless it already does (a rerun rewrites nothing). */
  /**
   * Points `tag` at `descriptor`. `keep(current)` may say the content already there is to stay (a countersigned
   * `.sig` that extends the archive's); otherwise a tag naming other content moves only with --force.
   */
  async tag(
    dst: PushDestination,
    repository: string,
    descriptor: Descriptor,
    tag: string,
    counters: PushCounters,
    keep?: (current: Descriptor) => Promise<boolean>,
  ): Promise<void> {
    const current = await resolveOptional(dst, tag)
    if (current?.digest === descriptor.digest || (current && keep && (await keep(current)))) {
      counters.tags.unchanged.push(tag)
      this.onEvent({type: 'tag', repository, tag, action: 'unchanged'})
      return
    }
    if (current && !this.force)
      throw new AirlockError(
        'TAG_CONFLICT',
        `${repository}:${tag} already points at ${current.digest}, not at ${descriptor.digest}; refusing to move it`,
        {
          hint: "pass --force to move the tag (the mirror then serves the archive's content under it)",
        },
      )
    await dst.tag(descriptor, tag)
    counters.tags.written.push(tag)
    this.onEvent({type: 'tag', repository, tag, action: 'written'})
  }

  /**
   * Lists `referrers` of `subject` in its fallback tag (registries without the referrers API): reads the index
   * there, merges, and writes it back only if something is new.
   */
  async updateFallbackTag(
    dst: PushDestination,
    repository: string,
    subject: Digest,
    referrers: RawManifest[],
    counters: PushCounters,
  ): Promise<void> {
    const tag = fallbackTag(subject)
    const current = await resolveOptional(dst, tag)
    let existing: RawManifest | undefined
    if (current) {
      const stream = await dst.fetch(current)
      existing = parseManifest(
        await readAll(stream, current.size),
        current.mediaType,
        `fallback tag ${repository}:${tag}`,
      )
      if (existing.parsed.kind !== 'index')
        throw new AirlockError(
          'REGISTRY_ERROR',
          `${repository}:${tag} is not an image index; refusing to overwrite another tool's tag`,
        )
    }
    const merged = mergeReferrersIndex(existing, referrers.map(referrerDescriptor))
    if (!merged.changed) {
      counters.tags.unchanged.push(tag)
      return
    }
    const index = parseManifest(merged.bytes, undefined, `fallback index ${tag}`)
    const descriptor: Descriptor = {mediaType: index.mediaType, digest: index.digest, size: index.bytes.length}
    await this.pushManifest(dst, repository, descriptor, index, counters)
    await dst.tag(descriptor, tag)
    counters.fallbackTags.push(tag)
    this.onEvent({type: 'tag', repository, tag, action: 'written'})
  }
}

async function pushStream(dst: PushDestination, descriptor: Descriptor, stream: Readable, what: string): Promise<void> {
  try {
    await dst.push(descriptor, stream)
  } catch (error) {
    stream.destroy()
    const e = toAirlockError(error, 'REGISTRY_ERROR')
    if (e.message.includes(descriptor.digest)) throw e
    throw new AirlockError(e.code, `push ${what}: ${e.message}`, {cause: error, ...(e.hint ? {hint: e.hint} : {})})
  }
}

function isRangeFetcher(source: Fetcher): source is RangeFetcher {
  return typeof (source as Partial<RangeFetcher>).rereadable === 'function'
}

async function pushRegion(
  push: (d: Descriptor, r: RereadableBlob) => Promise<void>,
  descriptor: Descriptor,
  region: RereadableBlob,
  what: string,
): Promise<void> {
  try {
    await push(descriptor, region)
  } catch (error) {
    const e = toAirlockError(error, 'REGISTRY_ERROR')
    if (e.message.includes(descriptor.digest)) throw e
    throw new AirlockError(e.code, `push ${what}: ${e.message}`, {cause: error, ...(e.hint ? {hint: e.hint} : {})})
  }
}

/** resolve() that answers undefined for a tag that does not exist (and only then). */
export async function resolveOptional(dst: Target, reference: string): Promise<Descriptor | undefined> {
  try {
    return await dst.resolve(reference)
  } catch (error) {
    if (error instanceof AirlockError && error.code === 'NOT_FOUND') return undefined
    throw error
  }
}

async function readAll(stream: Readable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > limit) {
      stream.destroy()
      throw new AirlockError('SIZE_MISMATCH', `content is larger than its declared ${limit} bytes`)
    }
    chunks.push(chunk)
  }
  return Buffer.concat(chunks)
}
