// The first phase of a push whose verdict left blob hashes to the upload: those blobs go first, each committed only
// once its hash matched; a failure names the blob and the blobs it left unreferenced.
import {AirlockError, toAirlockError} from '../errors.ts'
import type {Descriptor} from '../oci/descriptor.ts'
import type {parseReference} from '../reference/index.ts'
import type {CopySource, GraphCopier} from '../copy/copy.ts'
import type {JudgedGraph, Verdict, VerifiedImage} from '../verify/verdict.ts'
import {Limiter} from '../util/concurrency.ts'
import type {SignatureForms} from '../verify/mirror-check.ts'
import type {PushCounters, PushEvent} from './tags.ts'
import {blobEvents, judgedSource, type UnreferencedBlob} from './judged-copy.ts'

/**
 * The first phase of a push whose verdict left blob hashes to the upload (`verdict.hashOnUpload`): every such blob
 * is uploaded (largest first, so the long transfers overlap the short ones), hashed as it streams and committed only
 * once it matched (src/registry/uploads.ts), or hashed from the archive when the push will not send it (a bundle
 * left out by `--signature-forms legacy`). A blob the mirror holds or mounts is the registry's content, not the
 * archive's. After the first failure nothing more starts and what is under way settles; the error names the blob
 * and lists, in `details.unreferencedBlobs`, every blob this phase committed (no manifest or tag names them).
 */
export async function uploadHashedFirst(
  verdict: Verdict,
  source: CopySource,
  forms: SignatureForms,
  destination: (
    image: VerifiedImage,
    ref: ReturnType<typeof parseReference>,
  ) => {
    copier: GraphCopier
    repository: string
    counters: PushCounters
  },
  refs: Array<{image: VerifiedImage; ref: ReturnType<typeof parseReference>}>,
  onEvent: (event: PushEvent) => void,
  concurrency: number,
): Promise<void> {
  const pending = new Set<string>(verdict.hashOnUpload)
  const uploads = new Map<
    string,
    {image: VerifiedImage; ref: (typeof refs)[number]['ref']; graph: JudgedGraph; descriptor: Descriptor}
  >()
  const local = new Map<string, {graph: JudgedGraph; descriptor: Descriptor}>()
  for (const {image, ref} of refs) {
    const {repository} = destination(image, ref)
    const sent = [image.graph, ...image.artifacts.filter(a => forms === 'all' || a.kind === 'tag').map(a => a.graph)]
    const kept = image.artifacts.filter(a => !(forms === 'all' || a.kind === 'tag')).map(a => a.graph)
    for (const graph of sent)
      for (const {descriptor} of graph.blobs)
        if (pending.has(descriptor.digest) && !uploads.has(`${repository}@${descriptor.digest}`))
          uploads.set(`${repository}@${descriptor.digest}`, {image, ref, graph, descriptor})
    for (const graph of kept)
      for (const {descriptor} of graph.blobs)
        if (pending.has(descriptor.digest)) local.set(descriptor.digest, {graph, descriptor})
  }
  const uploaded = new Set<string>([...uploads.values()].map(u => u.descriptor.digest))
  for (const digest of uploaded) local.delete(digest)
  const lost = [...pending].filter(d => !uploaded.has(d) && !local.has(d))
  if (lost.length > 0)
    throw new AirlockError('INTERNAL', `${lost[0]} was left to be hashed on upload, but no judged graph names it`)
  const sources = new Map<JudgedGraph, CopySource>()
  const judged = (graph: JudgedGraph): CopySource => {
    const known = sources.get(graph) ?? judgedSource(source, graph).source
    sources.set(graph, known)
    return known
  }

  const committed: UnreferencedBlob[] = []
  let failure: {error: unknown; image?: VerifiedImage} | undefined
  const gate = new Limiter(concurrency)
  const work = [...uploads.values()].sort((a, b) => b.descriptor.size - a.descriptor.size)
  await Promise.all([
    ...work.map(({image, ref, graph, descriptor}) =>
      gate.run(async () => {
        if (failure) return
        const {copier, repository, counters} = destination(image, ref)
        try {
          const blobs = blobEvents(repository, counters, onEvent, committed)
          await copier.copy(judged(graph), descriptor, {
            preCopy: blobs.start,
            postCopy: blobs.pushed,
            onCopySkipped: blobs.skipped,
            onMounted: blobs.mounted,
          })
        } catch (error) {
          failure ??= {error, image}
        }
      }),
    ),
    ...[...local.values()].map(({graph, descriptor}) =>
      gate.run(async () => {
        if (failure) return
        try {
          // the stream checks size and digest at its end
          for await (const _ of await judged(graph).fetch(descriptor));
        } catch (error) {
          failure ??= {error}
        }
      }),
    ),
  ])
  if (!failure) return
  throw hashOnUploadFailure(failure.error, failure.image, committed)
}

/** The one error of a failed first phase: the blob and its cause, and the blobs left unreferenced as data. */
function hashOnUploadFailure(
  error: unknown,
  image: VerifiedImage | undefined,
  committed: UnreferencedBlob[],
): AirlockError {
  const e = toAirlockError(error)
  const content = e.code === 'DIGEST_MISMATCH' || e.code === 'SIZE_MISMATCH'
  const left =
    committed.length > 0
      ? `${committed.length === 1 ? '1 blob' : `${committed.length} blobs`} already uploaded ${committed.length === 1 ? 'is' : 'are'} left unreferenced in the mirror (listed; the registry's garbage collection removes them)`
      : ''
  // Said as verify says it (the uploader's "expected D" is the blob's own name here)
  const digest = (e.details?.['copy'] as {digest?: string} | undefined)?.digest
  const cause = digest ? e.message.replace(`, expected ${digest}`, ', not to its name') : e.message
  const message = content
    ? `verification failed while uploading, no manifest or tag was pushed: ${image ? `${image.reference}: ` : ''}${cause}`
    : e.message
  const hint = content
    ? `the archive does not hold what it was signed with: copy it again (compare its sha256 with the one export printed)${left ? `; ${left}` : ''}`
    : [e.hint, left].filter(Boolean).join('; ')
  return new AirlockError(e.code, message, {
    cause: error,
    ...(hint ? {hint} : {}),
    details: {...e.details, unreferencedBlobs: committed},
  })
}
