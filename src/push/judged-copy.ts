// One judged graph copied into one repository: the verdict's nodes as a copy source (nothing else can be served),
// and the counters and events of what the copy did.
import {Readable} from 'node:stream'
import {AirlockError} from '../errors.ts'
import type {Descriptor} from '../oci/descriptor.ts'
import {successors} from '../oci/graph.ts'
import type {CopyGraphOptions, CopySource, GraphCopier} from '../copy/copy.ts'
import type {JudgedGraph} from '../verify/verdict.ts'
import type {PushCounters, PushEvent} from './tags.ts'

/** A blob committed to the mirror by a push that then failed: no manifest or tag names it. */
export interface UnreferencedBlob {
  repository: string
  digest: string
  size: number
}

/**
 * A judged graph as a copy source: it serves the judged manifests' verified bytes and the judged blobs from the
 * archive the verdict was judged from, and nothing else; its successors are the judged nodes, with the judged
 * descriptors. A node the verdict did not judge is refused, so the copy can only write the verdict.
 */
export function judgedSource(
  archive: CopySource,
  graph: JudgedGraph,
): {source: CopySource; root: Descriptor; findSuccessors: NonNullable<CopyGraphOptions['findSuccessors']>} {
  const manifests = new Map(graph.manifests.map(m => [m.descriptor.digest, m] as const))
  const blobs = new Map(graph.blobs.map(b => [b.descriptor.digest, b.descriptor] as const))
  const judged = (d: Descriptor): Descriptor => {
    const node = manifests.get(d.digest)?.descriptor ?? blobs.get(d.digest)
    if (!node || node.size !== d.size)
      throw new AirlockError('INTERNAL', `${d.digest} is not in the verdict; push writes only what was judged`)
    return node
  }
  const blob = (d: Descriptor): Descriptor => {
    const node = blobs.get(d.digest)
    if (!node || node.size !== d.size)
      throw new AirlockError('INTERNAL', `blob ${d.digest} is not in the verdict; push writes only what was judged`)
    return node
  }
  const source: CopySource = {
    async fetch(d) {
      const manifest = manifests.get(d.digest)
      if (manifest && manifest.descriptor.size === d.size) return Readable.from([manifest.raw.bytes])
      return archive.fetch(blob(d))
    },
    async rereadable(d) {
      return archive.rereadable?.(blob(d))
    },
  }
  const root = graph.manifests.at(-1)?.descriptor ?? judged(graph.root)
  return {
    source,
    root,
    findSuccessors: (node, manifest, depth) => {
      const all = successors(manifest.parsed)
      const carried = all.filter(d => manifests.has(d.digest) || blobs.has(d.digest))
      // Only the root index of an image exported with --platform may leave children out (verify judged which).
      if (carried.length !== all.length && !(depth === 0 && manifest.parsed.kind === 'index'))
        throw new AirlockError('INTERNAL', `${node.digest}: a successor is not in the verdict`)
      return carried.map(judged)
    },
  }
}

/**
 * The counters and progress events of a blob's copy, the same in both phases of a push; `committed` also collects
 * what reached the mirror (pushed or mounted), for the report of a push that fails after it.
 */
export function blobEvents(
  repository: string,
  counters: PushCounters,
  onEvent: (event: PushEvent) => void,
  committed?: UnreferencedBlob[],
) {
  return {
    start: (d: Descriptor) => onEvent({type: 'blob-start', repository, descriptor: d}),
    pushed: (d: Descriptor) => {
      committed?.push({repository, digest: d.digest, size: d.size})
      counters.blobs.pushed++
      counters.blobs.bytes += d.size
      onEvent({type: 'blob', repository, descriptor: d, action: 'pushed'})
    },
    skipped: (d: Descriptor) => {
      counters.blobs.skipped++
      onEvent({type: 'blob', repository, descriptor: d, action: 'skipped'})
    },
    mounted: (d: Descriptor) => {
      committed?.push({repository, digest: d.digest, size: d.size})
      counters.blobs.mounted++
      onEvent({type: 'blob', repository, descriptor: d, action: 'mounted'})
    },
  }
}

/** Copies one judged graph into one repository, counting what happened and reporting it as push events. */
export async function copyJudged(
  copier: GraphCopier,
  archive: CopySource,
  graph: JudgedGraph,
  repository: string,
  counters: PushCounters,
  onEvent: (event: PushEvent) => void,
  heldRoots?: ReadonlySet<string>,
): Promise<void> {
  const {source, root, findSuccessors} = judgedSource(archive, graph)
  if (heldRoots?.has(`${repository}@${root.digest}`)) {
    counters.manifests.skipped++
    onEvent({type: 'manifest', repository, descriptor: root, action: 'skipped'})
    return
  }
  const blob = (d: Descriptor) => !manifestNodes.has(d.digest)
  const manifestNodes = new Set(graph.manifests.map(m => m.descriptor.digest))
  const blobs = blobEvents(repository, counters, onEvent)
  await copier.copy(source, root, {
    findSuccessors,
    preCopy: d => {
      if (blob(d)) blobs.start(d)
    },
    postCopy: d => {
      if (blob(d)) blobs.pushed(d)
      else {
        counters.manifests.pushed++
        onEvent({type: 'manifest', repository, descriptor: d, action: 'pushed'})
      }
    },
    onCopySkipped: d => {
      if (blob(d)) blobs.skipped(d)
      else {
        counters.manifests.skipped++
        onEvent({type: 'manifest', repository, descriptor: d, action: 'skipped'})
      }
    },
    onMounted: blobs.mounted,
  })
}
