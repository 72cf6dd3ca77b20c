// `airlock push`: copy(archive -> mirror). For each image: its whole graph by digest, then its signature artifacts
// (legacy `.sig/.att/.sbom` tags, referrers and, without the referrers API, the merged fallback tag), and only
// then its tag, so a node that can pull the tag also finds the signatures its verifier will ask for.
import {AirlockError} from '../errors.ts'
import type {Descriptor} from '../oci/descriptor.ts'
import type {Digest} from '../oci/digest.ts'
import type {RawManifest} from '../oci/manifest.ts'
import {parseReference} from '../reference/index.ts'
import type {Fetcher} from '../content/types.ts'
import type {JudgedGraph, Verdict, VerifiedImage} from '../verify/verdict.ts'
import {emptyCounters, PushEngine, type PushCounters, type PushDestination, type PushEvent} from './engine.ts'
import type {PushGraph} from './graph.ts'
import {checkCollisions, mapRepository, type MirrorTarget} from '../reference/mirror-path.ts'
import {extendsSignatureManifest} from '../oci/extended-signature.ts'
import {fetchManifest} from '../content/read-manifest.ts'
import type {SignatureForms} from '../verify/mirror-check.ts'

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

/** A judged graph in the engine's terms: leaf blobs, then manifests children-first (the root last). */
function pushGraphOf(graph: JudgedGraph): PushGraph {
  return {
    root: graph.root,
    blobs: graph.blobs.map(b => b.descriptor),
    manifests: graph.manifests.map(m => ({descriptor: m.descriptor, manifest: m.raw})),
  }
}

/**
 * Writes the verdict, and only the verdict, into the mirror: per image its judged graph, then the signature
 * artifacts that passed the binding checks (legacy tags, referrers and their fallback tag), then the image's tag.
 * `source` is the archive the verdict was judged from (blobs are streamed from it and hashed as they go).
 */
export async function pushVerdict(
  verdict: Verdict,
  source: Fetcher,
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
  const engine = new PushEngine(source, {
    concurrency: options.concurrency ?? 4,
    force: options.force ?? false,
    ...(options.onEvent ? {onEvent: options.onEvent} : {}),
  })
  for (const {repository, digest, size} of options.held ?? []) engine.markHeld(repository, digest, size)
  const forms = options.signatureForms ?? 'all'
  if (forms === 'legacy') refuseUnsignedUnderLegacy(verdict)
  const written = new Set<'legacy-tags' | 'referrers'>()
  let referrersNotPushed = 0
  let referrersApi: boolean | undefined
  const results: ImagePushResult[] = []
  for (const {image, ref} of refs) {
    const repository = mapRepository(ref, options.target, {keepHost: options.keepHost ?? false})
    const dst = mirror.repository(repository)
    const counters = emptyCounters()
    try {
      await engine.pushGraph(dst, repository, pushGraphOf(image.graph), counters)
    } catch (error) {
      throw filteredIndexHint(error, image)
    }

    for (const artifact of image.artifacts.filter(a => a.kind === 'tag')) {
      written.add('legacy-tags')
      await engine.pushGraph(dst, repository, pushGraphOf(artifact.graph), counters)
      const archived = artifact.graph.manifests.at(-1)!.raw
      await engine.tag(dst, repository, artifact.graph.root, artifact.tag!, counters, async current =>
        extendsSignatureManifest(await fetchManifest(dst, current), archived),
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
        await engine.pushGraph(dst, repository, pushGraphOf(referrer.graph), counters)
        if (counters.manifests.pushed > before) counters.referrers.pushed++
        else counters.referrers.skipped++
        const list = bySubject.get(referrer.subject) ?? []
        list.push(referrer.graph.manifests.at(-1)!.raw)
        bySubject.set(referrer.subject, list)
      }
      // Ask the registry once, after a referrer has landed, so the probe has something real to list.
      // Probe on a subject that has a referrer now, and count the API only if it lists what was just pushed.
      const [probeSubject, probeReferrers] = [...bySubject][0]!
      referrersApi ??= await mirror.supportsReferrers(
        repository,
        {mediaType: image.root.mediaType, digest: probeSubject, size: 0},
        probeReferrers.map(m => ({digest: m.digest, size: m.bytes.length})),
      )
      if (!referrersApi) {
        for (const [subject, manifests] of bySubject) {
          await engine.updateFallbackTag(dst, repository, subject, manifests, counters)
        }
      }
    }
    if (image.tag) await engine.tag(dst, repository, image.root, image.tag, counters)
    results.push({
      source: image.reference,
      target: `${options.target.registry}/${repository}${image.tag ? `:${image.tag}` : ''}@${image.root.digest}`,
      digest: image.root.digest as Digest,
      ...counters,
      ...(notPushed > 0 ? {referrersNotPushed: notPushed} : {}),
    })
  }
  return {
    registry: options.target.registry,
    prefix: options.target.prefix,
    keepHost: options.keepHost ?? false,
    capabilities: {...(referrersApi === undefined ? {} : {referrersApi}), mount: engine.mountAvailable},
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
    hint: `${image.reference} was exported with --platform (${image.children.length} of ${top.manifests.length} platforms carried); this registry may require every platform of an index: export without --platform, or use a registry that accepts partial indexes (Zot, Distribution 3 with validation.indexes.platforms)`,
  })
}
