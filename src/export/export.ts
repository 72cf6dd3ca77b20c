// Export: for each source, copy its graph into one ArchiveWriter, record the image, let hooks add more (signature
// discovery adds roots per image), then commit the archive. Any failure aborts the archive: nothing appears at
// the output path, and an existing file there is left untouched.
import type {Descriptor} from '../oci/descriptor.ts'
import {MemoFetcher} from '../content/memo-fetcher.ts'
import {AirlockError} from '../errors.ts'
import {ArchiveWriter} from '../archive/writer.ts'
import type {VolumeSetSummary} from '../archive/volume-output.ts'
import type {ArchiveImage} from '../archive/schema.ts'
import {GraphCopier, type CopyEvent} from '../copy/copy.ts'
import {parsePlatform, type PlatformSpec} from '../copy/platform.ts'
import {StagingFetcher} from '../copy/staging.ts'
import {openSource, parseSource, type RegistryOpener, type Source} from '../store/source.ts'
import type {Fetcher} from '../content/types.ts'
import {TRUST_ONLY_SECTION} from '../archive/base-section.ts'
import {DeltaDestination, type DeltaBase} from './delta.ts'

/** Blob downloads at once (the CLI's --concurrency default too). */
export const DEFAULT_CONCURRENCY = 4
/**
 * Image graphs copied at once, ahead of the one being finished (see exportImages). A walk holds manifests only (blob
 * transfers are bounded by the copier's limiter, largest first), so all of them start early: with 4, a delta's last
 * image found its big layer late and downloaded it alone at the end (docs/DECISIONS.md).
 */
const LOOKAHEAD_IMAGES = 16
/**
 * How far ahead of the image being finished a copy may start: finished copies wait for their turn, and each has
 * its signature look-ups under way (ExportHooks.discover), so this bounds those too.
 */
const MAX_AHEAD_IMAGES = 16

export interface ExportHookContext {
  source: Source
  /** The image as recorded so far (root digest, platforms carried). */
  image: ArchiveImage
  /** Root plus the platform manifests carried: the subjects whose signatures belong in the archive. */
  subjects: Descriptor[]
  writer: ArchiveWriter
  /**
   * The source as hooks read it: small contents they read (signature manifests, payloads) are kept and served again
   * to the copy of the graphs they return (one GET each instead of two).
   */
  content: Fetcher
}

/**
 * Extension points for modules that carry more than images. Both run after an image's graph is in the archive.
 * - extraRoots: more graphs to copy from the same source (signature/attestation manifests, referrers); they are
 *   copied with the same dedup and concurrency, but are not listed as images in index.json.
 * - afterImage: record metadata (writer.setSection) or files (writer.addFile) about the image.
 * - beforeCommit: last chance to add archive-wide files and sections (TUF metadata, proofs, policy).
 */
export interface ExportHooks {
  /**
   * Started as soon as an image's graph is in the archive, for several images at once (the lookahead window),
   * while extraRoots runs image by image in order: everything that waits on the network or the CPU (signature
   * discovery, log proofs, the policy's judgement) goes here, so it overlaps instead of running one image after
   * another. Nothing it does may depend on order; extraRoots awaits its result and records it, in order.
   */
  discover?: (context: ExportHookContext) => void
  extraRoots?: (context: ExportHookContext) => Promise<Descriptor[]>
  afterImage?: (context: ExportHookContext & {extra: Descriptor[]}) => Promise<void>
  beforeCommit?: (writer: ArchiveWriter) => Promise<void>
}

export type ExportEvent =
  | {type: 'image-start'; source: string; index: number; total: number}
  | {type: 'image-done'; source: string; image: ArchiveImage; index: number; total: number}
  | {type: 'blob'; event: CopyEvent}
  | {type: 'bytes'; n: number}

export interface ExportOptions {
  sources: string[]
  output: string
  force?: boolean
  platforms?: string[]
  concurrency?: number
  /** Keep downloaded blobs here (an OCI layout) and reuse them on a re-run. */
  cacheDir?: string
  openRegistry?: RegistryOpener
  hooks?: ExportHooks
  policy?: unknown
  onEvent?: (event: ExportEvent) => void
  /** Write a volume set of volumes this large (bytes) instead of one archive (see src/archive/volume-output.ts). */
  volumeSize?: number
  /** Delta export (--since): layers the inventory lists are left out and recorded in airlock.json `base`. */
  base?: DeltaBase
  /** Trust-only export (--trust-only): no images; the hooks add the TUF repository. */
  trustOnly?: boolean
}

export interface ExportResult {
  archive: string
  /** Delta export: blobs left out because the inventory's base holds them. */
  base?: {inventory: string; blobs: number; bytes: number}
  bytes: number
  blobs: number
  images: ArchiveImage[]
  reusedFromCache: number
  seconds: number
  /** Present when written as a volume set. */
  volumes?: VolumeSetSummary
}

export async function exportImages(options: ExportOptions): Promise<ExportResult> {
  const started = performance.now()
  if (options.trustOnly && options.sources.length > 0)
    throw new AirlockError('USAGE', '--trust-only carries no images: drop the image arguments')
  if (options.sources.length === 0 && !options.trustOnly)
    throw new AirlockError('USAGE', 'no images to export', {hint: 'name images as arguments or with -f FILE'})
  const specs = options.sources.map(parseSource) // every source is checked before any work starts
  const platforms: PlatformSpec[] = (options.platforms ?? []).map(parsePlatform)
  const onEvent = options.onEvent
  const writer = await ArchiveWriter.create(options.output, {
    force: options.force ?? false,
    onBytes: onEvent ? n => onEvent({type: 'bytes', n}) : undefined,
    ...(options.volumeSize !== undefined ? {volumeSize: options.volumeSize} : {}),
  })
  const delta = options.base ? new DeltaDestination(writer, options.base) : undefined
  const copier = new GraphCopier(delta ?? writer, {concurrency: options.concurrency ?? DEFAULT_CONCURRENCY})
  const images: ArchiveImage[] = []
  let reused = 0
  const stagers: StagingFetcher[] = []
  const copyOptions = {platforms, ...(onEvent ? {onEvent: (event: CopyEvent) => onEvent({type: 'blob', event})} : {})}

  // The image graphs of the next few sources are copied ahead, concurrently, while hooks run image by image in
  // order: the writer takes blobs in parallel, and one image rarely has enough blobs (or one big layer has enough
  // bytes) to keep every download slot busy. Blob downloads stay bounded by the copier's limiter; the window bounds
  // how many graph copies (manifests, sources) are open at once, and a copy that finishes starts the next one, so
  // one image with a big layer does not hold the sources behind it back until its turn in the ordered loop.
  interface Copied {
    context: ExportHookContext
  }
  const copies: Array<Promise<Copied>> = []
  // The first failure of any copy ahead (or of a signature graph copied behind) fails the export now, not when
  // its image's turn comes.
  let fail: (error: unknown) => void = () => undefined
  const failed = new Promise<never>((_, reject) => (fail = reject))
  failed.catch(() => undefined)
  let running = 0
  let cursor = 0
  let stopped = false
  const startNext = (): void => {
    while (!stopped && running < LOOKAHEAD_IMAGES && copies.length < Math.min(specs.length, cursor + MAX_AHEAD_IMAGES))
      startCopy(copies.length)
  }
  const startCopy = (i: number): void => {
    const spec = specs[i]!
    running++
    const work = (async (): Promise<Copied> => {
      const source = await openSource(spec, options.openRegistry ? {openRegistry: options.openRegistry} : {})
      let fetcher: Fetcher = source.store
      if (!source.store.isLocal && options.cacheDir) {
        const stager = await StagingFetcher.create(source.store, options.cacheDir)
        stagers.push(stager)
        fetcher = stager
      }
      // Unstaged, the copy reads the root manifest at once: one GET by tag (bytes kept) instead of HEAD then GET.
      // Staged, HEAD stays: a manifest in the cache costs no pull on Docker Hub.
      const root = await source.store.resolve(source.reference, {read: fetcher === source.store})
      const copied = await copier.copy(fetcher, root, copyOptions)
      const image: ArchiveImage = {
        reference: source.name,
        source: spec.input,
        digest: root.digest,
        mediaType: root.mediaType,
        size: root.size,
      }
      if (source.tag) image.tag = source.tag
      if (copied.platforms) image.platforms = copied.platforms.map(({platform, digest}) => ({platform, digest}))
      if (copied.filtered) image.filtered = true
      const subjects = [root, ...(copied.platforms ?? []).map(p => p.descriptor)]
      // A local source reads cheaply and may offer re-readable regions the copy uses: only registries are kept.
      const content = source.store.isLocal ? fetcher : new MemoFetcher(fetcher)
      const context: ExportHookContext = {source, image, subjects, writer, content}
      options.hooks?.discover?.(context)
      return {context}
    })()
    const done = (): void => {
      running--
      startNext()
    }
    work.then(done, error => {
      stopped = true
      fail(error)
    })
    copies[i] = work
  }
  // Signature (and other extra) graphs of earlier images, still copying while later images are finished.
  const attached: Array<Promise<unknown>> = []
  try {
    startNext()
    for (const [i, spec] of specs.entries()) {
      cursor = i
      startNext()
      onEvent?.({type: 'image-start', source: spec.input, index: i, total: specs.length})
      const {context} = await Promise.race([copies[i]!, failed])
      const {image} = context
      const extra = (await options.hooks?.extraRoots?.(context)) ?? []
      // Extra graphs (signature artifacts) are small and many round trips: they are copied in parallel, without
      // holding the next image back; commit waits for them. afterImage is promised the image's graphs complete.
      const extraCopies = Promise.all(
        extra.filter(d => !writer.has(d.digest)).map(d => copier.copy(context.content, d, copyOptions)),
      )
      extraCopies.catch(fail)
      if (options.hooks?.afterImage) await Promise.race([extraCopies, failed])
      else attached.push(extraCopies)
      if (extra.length) image.attached = extra.map(d => ({mediaType: d.mediaType, digest: d.digest, size: d.size}))
      await options.hooks?.afterImage?.({...context, extra})
      // The same reference twice on the command line is one image.
      if (!images.some(x => x.reference === image.reference && x.digest === image.digest)) {
        images.push(image)
        writer.addImage(image)
      }
      onEvent?.({type: 'image-done', source: spec.input, image, index: i, total: specs.length})
    }
    await Promise.race([Promise.all(attached), failed])
    if (options.policy !== undefined) writer.setSection('policy', options.policy)
    if (options.trustOnly) writer.setSection(TRUST_ONLY_SECTION, true)
    delta?.record(writer)
    await options.hooks?.beforeCommit?.(writer)
    const summary = await writer.commit()
    reused = stagers.reduce((n, s) => n + s.reused, 0)
    return {
      // A volume set is read through its volumes.json: that is the archive argument for verify and push.
      archive: summary.volumes?.manifest ?? summary.path,
      bytes: summary.bytes,
      blobs: summary.blobs,
      images,
      reusedFromCache: reused,
      ...(delta
        ? {
            base: {
              inventory: options.base!.sha256,
              blobs: delta.section().blobs.length,
              bytes: delta.section().blobs.reduce((n, b) => n + b.size, 0),
            },
          }
        : {}),
      seconds: (performance.now() - started) / 1000,
      ...(summary.volumes ? {volumes: summary.volumes} : {}),
    }
  } catch (error) {
    stopped = true
    await writer.abort()
    throw error
  }
}
