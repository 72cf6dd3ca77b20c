// `push --check` / `verify --registry`: read back from the mirror what push promised, the way a node or an
// in-cluster verifier will see it: each tag resolves to the archive's digest, every manifest of the graph comes
// back byte-identical (fetched by digest, verified), every blob is there with its size, every legacy signature tag
// points at the archive's signature manifest, and every referrer is listed (referrers API or fallback tag).
import {AirlockError} from '../errors.ts'
import type {Descriptor} from '../oci/descriptor.ts'
import {parseReference} from '../reference/index.ts'
import type {RegistryClient} from '../registry/index.ts'
import {ArchiveSource} from './archive-source.ts'
import {collectGraph} from './graph.ts'
import {archiveArtifacts} from './index.ts'
import {mapRepository, type MirrorTarget} from './mapping.ts'
import {RegistryMirror} from './mirror.ts'

export interface MirrorCheckOptions {
  archive: string
  target: MirrorTarget
  client: RegistryClient
  keepHost?: boolean
  /** Download every blob and check its sha256 (default: HEAD, digest and size only). */
  deep?: boolean
}

export interface ImageCheck {
  source: string
  target: string
  manifests: number
  blobs: number
  signatures: number
  referrers: number
  problems: string[]
}

export interface MirrorCheckResult {
  passed: boolean
  summary: string
  images: ImageCheck[]
  problems: string[]
}

export async function verifyMirror(options: MirrorCheckOptions): Promise<MirrorCheckResult> {
  const source = await ArchiveSource.open(options.archive)
  const mirror = new RegistryMirror(options.client, options.target)
  const artifacts = archiveArtifacts(source)
  const images: ImageCheck[] = []
  for (const image of source.airlock.images) {
    const ref = parseReference(image.reference)
    const path = mapRepository(ref, options.target, {keepHost: options.keepHost ?? false})
    const repo = mirror.repository(path)
    const root: Descriptor = {mediaType: image.mediaType, digest: image.digest, size: image.size}
    const check: ImageCheck = {source: image.reference, target: `${options.target.registry}/${path}`, manifests: 0, blobs: 0, signatures: 0, referrers: 0, problems: []}
    images.push(check)
    const problem = (text: string) => check.problems.push(`${check.target}: ${text}`)
    try {
      if (image.tag) {
        const tagged = await repo.resolve(image.tag).catch(notFound)
        if (!tagged) problem(`tag ${image.tag} is missing`)
        else if (tagged.digest !== image.digest) problem(`tag ${image.tag} points at ${tagged.digest}, the archive has ${image.digest}`)
      }
      // Walking the graph on the mirror fetches every manifest by digest: the client verifies the bytes.
      const graph = await collectGraph(repo, root)
      check.manifests = graph.manifests.length
      for (const blob of graph.blobs) {
        const present = options.deep ? await drain(repo, blob) : await repo.exists(blob)
        if (!present) problem(`blob ${blob.digest} is missing`)
        else check.blobs++
      }
      for (const artifact of artifacts.filter((a) => a.image === image.reference)) {
        if (artifact.kind === 'tag') {
          const tagged = await repo.resolve(artifact.tag).catch(notFound)
          if (tagged?.digest !== artifact.root.digest) problem(`signature tag ${artifact.tag} ${tagged ? `points at ${tagged.digest}` : 'is missing'}`)
          else check.signatures++
        } else {
          const listed = await repo.referrers({mediaType: root.mediaType, digest: artifact.subject, size: 0})
          if (!listed.some((d) => d.digest === artifact.root.digest)) problem(`referrer ${artifact.root.digest} of ${artifact.subject} is not listed`)
          else check.referrers++
        }
      }
    } catch (error) {
      problem(error instanceof Error ? error.message : String(error))
    }
  }
  const problems = images.flatMap((i) => i.problems)
  const ok = images.length - images.filter((i) => i.problems.length > 0).length
  return {
    passed: problems.length === 0,
    summary: `${ok}/${images.length} image(s) intact on ${options.target.registry}${options.target.prefix ? `/${options.target.prefix}` : ''}${problems.length ? `, ${problems.length} problem(s)` : ''}`,
    images,
    problems,
  }
}

function notFound(error: unknown): undefined {
  if (error instanceof AirlockError && error.code === 'NOT_FOUND') return undefined
  throw error
}

async function drain(repo: {fetch(d: Descriptor): Promise<NodeJS.ReadableStream>}, blob: Descriptor): Promise<boolean> {
  try {
    const stream = await repo.fetch(blob)
    for await (const _ of stream) void _
    return true
  } catch (error) {
    return notFound(error) ?? false
  }
}
