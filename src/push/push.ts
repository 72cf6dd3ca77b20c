// `airlock push`: copy(archive -> mirror). For each image: its whole graph by digest, then its signature artifacts
// (legacy `.sig/.att/.sbom` tags, referrers and, without the referrers API, the merged fallback tag), and only
// then its tag, so a node that can pull the tag also finds the signatures its verifier will ask for.
import {AirlockError} from '../errors.ts'
import type {Descriptor} from '../oci/descriptor.ts'
import type {Digest} from '../oci/digest.ts'
import type {RawManifest} from '../oci/manifest.ts'
import {parseReference} from '../reference/index.ts'
import type {Target} from '../content/types.ts'
import {CopyEngine, type CopySource, type CopyTarget, type GraphCopier} from '../copy/copy.ts'
import {copyJudged} from './judged-copy.ts'
import {uploadHashedFirst} from './hash-on-upload.ts'
import type {Verdict, VerifiedImage} from '../verify/verdict.ts'
import {
  emptyCounters,
  type PushCounters,
  type PushEvent,
  resolveOptional,
  type TagWrite,
  updateFallbackTag,
  writeTag,
} from './tags.ts'
import {checkCollisions, mapRepository, type MirrorTarget} from '../reference/mirror-path.ts'
import {extendsSignatureManifest} from '../oci/extended-signature.ts'
import {fetchManifest} from '../content/read-manifest.ts'
import {Limiter, Mutex} from '../util/concurrency.ts'
import type {SignatureForms} from '../verify/mirror-check.ts'

/**
 * Images pushed at once: their manifests and tags are small requests, one after another within an image, so more
 * images than transfer slots keep the registry busy (blob transfers stay bounded by the engine's limiter).
 */
const IMAGES_AT_ONCE = 16

export {emptyCounters, type PushCounters, type PushEvent} from './tags.ts'

/** One repository of the mirror, as push needs it: a target, with the copy engine's optional capabilities. */
export type PushDestination = Target & CopyTarget

/** The mirror as push sees it: repositories by path, and whether the registry serves the referrers API. */
export interface MirrorRegistry {
  repository(path: string): PushDestination
  /**
   * Detects (never assumes) the referrers API: `GET /v2/<repo>/referrers/<digest>` answering an index. Called once
   * per run, on a repository and subject that exist.
   */
  supportsReferrers(
    repository: string,
    subject: Descriptor,
    referrers?: Array<Pick<Descriptor, 'digest' | 'size'>>,
  ): Promise<boolean>
}

export interface PushOptions {
  target: MirrorTarget
  keepHost?: boolean
  /** Move a tag that points at other content (else refused, naming the old digest). */
  force?: boolean
  concurrency?: number
  /** Blobs the caller already saw in the mirror (HEAD before verification): not asked about again. */
  held?: Array<{repository: string; digest: string; size?: number}>
  /** Tags the caller saw already pointing at their root (HEAD before verification): left as they are. */
  tagsInPlace?: Array<{repository: string; tag: string; descriptor: Descriptor}>
  /** Root manifests and blobs the caller saw missing in the mirror (HEAD before verification): not asked again. */
  absent?: Array<{repository: string; digest: string}>
  /**
   * Root manifests (images, signature artifacts) the caller already saw in the mirror: skipped without asking again
   * (the mirror holds a manifest only with its whole subtree).
   */
  heldManifests?: Array<{repository: string; digest: string}>
  /** 'legacy': write `.sig/.att/.sbom` tags only, no bundle referrers (said in the result). Default 'all'. */
  signatureForms?: SignatureForms
  onEvent?: (event: PushEvent & {image?: string}) => void
}

export interface ImagePushResult extends PushCounters {
  source: string
  target: string
  digest: Digest
  /** Bundle referrers of this image left out by `--signature-forms legacy` (present only then). */
  referrersNotPushed?: number
}

export interface PushResult {
  registry: string
  prefix: string
  keepHost: boolean
  capabilities: {referrersApi?: boolean; mount: boolean}
  /** The signature forms asked for and written; what `legacy` left out is counted, never dropped silently. */
  signatureForms: {requested: SignatureForms; written: Array<'legacy-tags' | 'referrers'>; referrersNotPushed: number}
  images: ImagePushResult[]
  totals: {
    blobsPushed: number
    blobsMounted: number
    blobsSkipped: number
    bytesPushed: number
    manifestsPushed: number
    tagsWritten: number
  }
}

/**
 * Writes the verdict, and only the verdict, into the mirror: per image its judged graph, then the signature
 * artifacts that passed the binding checks (legacy tags, referrers and their fallback tag), then the image's tag.
 * `source` is the archive the verdict was judged from (blobs are streamed from it and hashed as they go).
 */
export async function pushVerdict(
  verdict: Verdict,
  source: CopySource,
  mirror: MirrorRegistry,
  options: PushOptions,
): Promise<PushResult> {
  const refs = verdict.images.map(image => ({image, ref: parseReference(image.reference)}))
  // Fail before the first byte if two source repositories would share a mirror repository.
  checkCollisions(
    refs.map(({ref}) => ref),
    options.target,
    {keepHost: options.keepHost ?? false},
  )
  const engine = new CopyEngine({concurrency: options.concurrency ?? 4})
  const heldRoots = new Set((options.heldManifests ?? []).map(m => `${m.repository}@${m.digest}`))
  for (const {repository, digest, size} of options.held ?? []) engine.markHeld(repository, digest, size)
  for (const {repository, digest} of options.absent ?? []) engine.markAbsent(repository, digest)
  const forms = options.signatureForms ?? 'all'
  if (forms === 'legacy') refuseUnsignedUnderLegacy(verdict)
  const written = new Set<'legacy-tags' | 'referrers'>()
  let referrersNotPushed = 0
  const onEvent = options.onEvent ?? (() => undefined)
  const force = options.force ?? false
  // One copier per repository (its in-flight map dedups what two images of one repository share); the engine's
  // limiter bounds transfers across all of them, and its holders make a blob sent to one repository a mount source.
  const copiers = new Map<string, GraphCopier>()
  const copierFor = (repository: string): GraphCopier => {
    const copier = copiers.get(repository) ?? engine.to(mirror.repository(repository), repository)
    copiers.set(repository, copier)
    return copier
  }
  // Asked once per run, after a referrer has landed, so the probe has something real to list.
  let referrersApi: Promise<boolean> | undefined
  let referrersApiAnswer: boolean | undefined
  // The fallback tag is read, merged and written back: one writer per repository at a time.
  const fallbackLocks = new Map<string, Mutex>()

  const repositoryOf = (ref: (typeof refs)[number]['ref']) =>
    mapRepository(ref, options.target, {keepHost: options.keepHost ?? false})
  const countersOf = new Map(refs.map(({image}) => [image, emptyCounters()] as const))
  // The blobs verification left to the upload go first, all of them, and nothing else is written until every one
  // matched: a corrupt blob then leaves no manifest and no tag, only the blobs already committed (named).
  if (verdict.hashOnUpload?.length)
    await uploadHashedFirst(
      verdict,
      source,
      forms,
      (image, ref) => {
        const repository = repositoryOf(ref)
        return {copier: copierFor(repository), repository, counters: countersOf.get(image)!}
      },
      refs,
      onEvent,
      options.concurrency ?? 4,
    )

  // A second push: the roots are in the mirror, so their tags are asked now, every image's at once (bounded),
  // instead of one after the other at each image's end. Only for roots the mirror holds: a tag cannot point at a
  // manifest it lacks, so a first push asks nothing more; an answer naming other content is asked again when the
  // tag is written (writeTag).
  const early = new Map<string, Promise<Descriptor | undefined>>(
    (options.tagsInPlace ?? []).map(t => [`${t.repository}:${t.tag}`, Promise.resolve(t.descriptor)]),
  )
  const asks = new Limiter(8)
  for (const {image, ref} of refs) {
    const repository = repositoryOf(ref)
    const dst = mirror.repository(repository)
    const askEarly = (tag: string | undefined, root: Descriptor): void => {
      if (!tag || !heldRoots.has(`${repository}@${root.digest}`) || early.has(`${repository}:${tag}`)) return
      const answer = asks.run(() => resolveOptional(dst, tag))
      answer.catch(() => undefined)
      early.set(`${repository}:${tag}`, answer)
    }
    for (const artifact of image.artifacts) if (artifact.kind === 'tag') askEarly(artifact.tag, artifact.graph.root)
    askEarly(image.tag, image.root)
  }

  const pushImage = async ({image, ref}: (typeof refs)[number]): Promise<ImagePushResult> => {
    const repository = repositoryOf(ref)
    const dst = mirror.repository(repository)
    const copier = copierFor(repository)
    const counters = countersOf.get(image)!
    const write: TagWrite = {dst, repository, counters, onEvent}
    try {
      await copyJudged(copier, source, image.graph, repository, counters, onEvent, heldRoots)
    } catch (error) {
      throw filteredIndexHint(error, image)
    }

    for (const artifact of image.artifacts.filter(a => a.kind === 'tag')) {
      written.add('legacy-tags')
      await copyJudged(copier, source, artifact.graph, repository, counters, onEvent, heldRoots)
      const archived = artifact.graph.manifests.at(-1)!
      await writeTag(
        write,
        artifact.graph.root,
        artifact.tag!,
        force,
        async current => extendsSignatureManifest(await fetchManifest(dst, current), archived.raw),
        early.get(`${repository}:${artifact.tag!}`),
      )
    }
    const allReferrers = image.artifacts.filter(a => a.kind === 'referrer')
    // --signature-forms legacy: bundle manifests stay out (Quay <= 3.11 refuses them); counted and reported.
    const referrers = forms === 'legacy' ? [] : allReferrers
    const notPushed = allReferrers.length - referrers.length
    referrersNotPushed += notPushed
    if (referrers.length > 0) {
      written.add('referrers')
      const bySubject = new Map<Digest, RawManifest[]>()
      for (const referrer of referrers) {
        const before = counters.manifests.pushed
        await copyJudged(copier, source, referrer.graph, repository, counters, onEvent, heldRoots)
        if (counters.manifests.pushed > before) counters.referrers.pushed++
        else counters.referrers.skipped++
        const list = bySubject.get(referrer.subject) ?? []
        list.push(referrer.graph.manifests.at(-1)!.raw)
        bySubject.set(referrer.subject, list)
      }
      // Probe on a subject that has a referrer now, and count the API only if it lists what was just pushed.
      const [probeSubject, probeReferrers] = [...bySubject][0]!
      referrersApi ??= mirror.supportsReferrers(
        repository,
        {mediaType: image.root.mediaType, digest: probeSubject, size: 0},
        probeReferrers.map(m => ({digest: m.digest, size: m.bytes.length})),
      )
      referrersApiAnswer = await referrersApi
      if (!referrersApiAnswer) {
        const lock = fallbackLocks.get(repository) ?? new Mutex()
        fallbackLocks.set(repository, lock)
        for (const [subject, manifests] of bySubject)
          await lock.lock(() => updateFallbackTag(write, subject, manifests))
      }
    }
    if (image.tag)
      await writeTag(write, image.root, image.tag, force, undefined, early.get(`${repository}:${image.tag}`))
    return {
      source: image.reference,
      target: `${options.target.registry}/${repository}${image.tag ? `:${image.tag}` : ''}@${image.root.digest}`,
      digest: image.root.digest as Digest,
      ...counters,
      ...(notPushed > 0 ? {referrersNotPushed: notPushed} : {}),
    }
  }

  // Images go concurrently (a few at a time; blob transfers stay bounded by the engine), each in its own order:
  // graph, signature tags, referrers, its tag last. After the first failure no image starts, the ones under way
  // settle (no write continues after push returns), and that first failure is what push reports.
  // --concurrency 1 also means one image at a time (in archive order)
  const images = new Limiter(options.concurrency === 1 ? 1 : IMAGES_AT_ONCE)
  let failure: {error: unknown} | undefined
  const settled = await Promise.allSettled(
    refs.map(entry =>
      images.run(async () => {
        if (failure) return undefined
        try {
          return await pushImage(entry)
        } catch (error) {
          failure ??= {error}
          return undefined
        }
      }),
    ),
  )
  if (failure) throw failure.error
  const results = settled.map(s => (s.status === 'fulfilled' ? s.value : undefined)).filter(r => r !== undefined)
  return {
    registry: options.target.registry,
    prefix: options.target.prefix,
    keepHost: options.keepHost ?? false,
    capabilities: {
      ...(referrersApiAnswer === undefined ? {} : {referrersApi: referrersApiAnswer}),
      mount: engine.mountAvailable,
    },
    signatureForms: {requested: forms, written: [...written], referrersNotPushed},
    images: results,
    totals: {
      blobsPushed: sum(results, r => r.blobs.pushed),
      blobsMounted: sum(results, r => r.blobs.mounted),
      blobsSkipped: sum(results, r => r.blobs.skipped),
      bytesPushed: sum(results, r => r.blobs.bytes),
      manifestsPushed: sum(results, r => r.manifests.pushed),
      tagsWritten: sum(results, r => r.tags.written.length + r.fallbackTags.length),
    },
  }
}

/**
 * `--signature-forms legacy` must never turn a signed image into an unsigned one on the mirror: an image whose
 * signatures are all Sigstore bundles (no legacy `.sig`) is refused before anything is written.
 */
function refuseUnsignedUnderLegacy(verdict: Verdict): void {
  for (const image of verdict.images) {
    const bundles = image.artifacts.filter(a => a.kind === 'referrer' && a.role === 'signature').length
    if (bundles === 0 || image.artifacts.some(a => a.kind === 'tag' && a.role === 'signature')) continue
    throw new AirlockError(
      'UNSUPPORTED',
      `--signature-forms legacy would push ${image.reference} without a signature: its ${bundles === 1 ? 'signature is a Sigstore bundle' : `${bundles} signatures are Sigstore bundles`} with no legacy .sig form; nothing was pushed`,
      {
        hint: 'push with --signature-forms all into a registry that accepts bundle manifests (on Quay <= 3.11 the admin allows them in ALLOWED_OCI_ARTIFACT_TYPES), or have the image signed in the legacy .sig form too',
      },
    )
  }
}

function sum<T>(items: T[], pick: (item: T) => number): number {
  return items.reduce((n, item) => n + pick(item), 0)
}

/**
 * An index exported with --platform is pushed as it is (its bytes are what was signed): carried children, then the
 * index. Registries that require every child of an index (Distribution 2.x) refuse it; say why and what to do.
 */
function filteredIndexHint(error: unknown, image: VerifiedImage): unknown {
  const top = image.graph.manifests.at(-1)?.raw.parsed
  if (!(error instanceof AirlockError) || top?.kind !== 'index' || top.manifests.length === image.children.length)
    return error
  return new AirlockError(error.code, error.message, {
    cause: error,
    ...(error.details ? {details: error.details} : {}),
    hint: `${image.reference} was exported with --platform (${image.children.length} of ${top.manifests.length} platforms carried); this registry may require every platform of an index: export without --platform, or use a registry that accepts partial indexes (Zot, Distribution 3 with validation.indexes.platforms)`,
  })
}
