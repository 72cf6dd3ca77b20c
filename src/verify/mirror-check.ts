// `push --check` / `verify --registry`: read back from the mirror what push promised, the way a node or an
// in-cluster verifier will see it: each tag resolves to the archive's digest, every manifest of the graph comes
// back byte-identical (fetched by digest, verified), every blob is there with its size, every legacy signature tag
// points at the archive's signature manifest, and every referrer is listed (referrers API or fallback tag).
// With a policy, each image's signatures are then discovered and verified from the mirror alone
// (check-signatures.ts), with the archive's trust material: what an in-cluster verifier will conclude.
import type {ArchiveReader} from '../archive/reader.ts'
import {AirlockError} from '../errors.ts'
import type {Descriptor} from '../oci/descriptor.ts'
import type {Digest} from '../oci/digest.ts'
import {isManifestType} from '../oci/media-types.ts'
import {parseReference} from '../reference/index.ts'
import type {RegistryClient} from '../registry/index.ts'
import {fetchManifest} from '../content/read-manifest.ts'
import type {Verdict} from './verdict.ts'
import {judgeMirrorImage, type MirrorSignatureOptions, type MirrorSignatureResult} from './mirror-signatures.ts'
import {mapRepository, type MirrorTarget} from '../reference/mirror-path.ts'
import {RegistryMirror} from '../registry/mirror.ts'
import {extendsSignatureManifest} from '../oci/extended-signature.ts'

export type {MirrorSignatureOptions, MirrorSignatureResult} from './mirror-signatures.ts'

/**
 * Which signature forms go to the mirror (`--signature-forms`): 'all' (legacy `.sig/.att/.sbom` tags and Sigstore
 * bundle referrers), or 'legacy' (the tags only, for registries that refuse bundle manifests: Quay <= 3.11).
 */
export type SignatureForms = 'all' | 'legacy'

export interface MirrorCheckOptions {
  /** What verification judged: the images, graphs, children and signature artifacts the mirror must serve. */
  verdict: Verdict
  /** The archive the verdict came from (inclusion proofs for the signature check). */
  archive: ArchiveReader
  target: MirrorTarget
  client: RegistryClient
  keepHost?: boolean
  /** Download every blob and check its sha256 (default: HEAD, digest and size only). */
  deep?: boolean
  /**
   * Verify every image's signatures from what the mirror serves, with this policy and these trusted roots (the
   * archive's TUF-verified roots plus --trusted-root). Without it only their presence is checked.
   */
  signatures?: MirrorSignatureOptions
  /** 'legacy': the archive's bundle referrers were not pushed (`push --signature-forms legacy`), so not expected. */
  signatureForms?: SignatureForms
}

export interface ImageCheck {
  source: string
  /** The mirror repository (and tag) the image was pushed to. */
  target: string
  digest: Digest
  /** The mirror's tag, resolved: ok when it names the archive's digest. */
  tag?: {name: string; digest?: Digest; ok: boolean}
  manifests: number
  blobs: number
  /** Legacy signature tags of the archive found pointing at the archive's signature manifests. */
  signatures: number
  /** Referrers of the archive listed by the mirror (referrers API or fallback tag). */
  referrers: number
  /** Referrers of the archive not looked for (`--signature-forms legacy`); present only then. */
  referrersNotExpected?: number
  /** Signatures discovered on the mirror and verified against the policy (with `signatures` only). */
  verification?: MirrorSignatureResult
  problems: string[]
  /** The image's root manifest is not in the mirror at all: not pushed there (yet). */
  notPushed?: boolean
}

export interface MirrorCheckResult {
  passed: boolean
  summary: string
  /** Whether signatures were verified from the mirror (a policy was given), or only their presence checked. */
  signaturesVerified: boolean
  images: ImageCheck[]
  problems: string[]
}

export async function verifyMirror(options: MirrorCheckOptions): Promise<MirrorCheckResult> {
  const mirror = new RegistryMirror(options.client, options.target)
  const images: ImageCheck[] = []
  for (const image of options.verdict.images) {
    const ref = parseReference(image.reference)
    const path = mapRepository(ref, options.target, {keepHost: options.keepHost ?? false})
    const repo = mirror.repository(path)
    const root = image.root
    const check: ImageCheck = {
      source: image.reference,
      target: `${options.target.registry}/${path}${image.tag ? `:${image.tag}` : ''}`,
      digest: root.digest as Digest,
      manifests: 0,
      blobs: 0,
      signatures: 0,
      referrers: 0,
      problems: [],
    }
    images.push(check)
    const problem = (text: string) => check.problems.push(`${check.target}: ${text}`)
    // The children verify judged, and only those (a platform left out of a filtered index is not expected).
    const platforms: Descriptor[] = image.children.filter(d => isManifestType(d.mediaType))
    try {
      if (image.tag) {
        const tagged = await repo.resolve(image.tag).catch(notFound)
        check.tag = {name: image.tag, ...(tagged ? {digest: tagged.digest} : {}), ok: tagged?.digest === root.digest}
        if (!tagged) problem(`tag ${image.tag} is missing`)
        else if (tagged.digest !== root.digest)
          problem(`tag ${image.tag} points at ${tagged.digest}, the archive has ${root.digest}`)
      }
      // Every judged manifest fetched from the mirror by digest (the bytes are verified), every judged blob present.
      for (const {descriptor} of image.graph.manifests) {
        const fetched = await fetchManifest(repo, descriptor).catch(notFound)
        if (!fetched) {
          problem(`manifest ${descriptor.digest} is missing`)
          if (descriptor.digest === root.digest) check.notPushed = true
        } else check.manifests++
      }
      for (const {descriptor: blob} of image.graph.blobs) {
        const present = options.deep ? await drain(repo, blob) : await repo.exists(blob)
        if (!present) problem(`blob ${blob.digest} is missing`)
        else check.blobs++
      }
      for (const artifact of image.artifacts) {
        if (artifact.kind === 'tag' && artifact.tag) {
          const tagged = await repo.resolve(artifact.tag).catch(notFound)
          const archived = artifact.graph.root
          // Countersigning (issue 14) extends the .sig/.att manifest: the archive's layers first, then the operator's.
          const extended =
            tagged &&
            tagged.digest !== archived.digest &&
            (await fetchManifest(repo, tagged)
              .then(m => extendsSignatureManifest(m, artifact.graph.manifests.at(-1)!.raw))
              .catch(() => false))
          if (tagged?.digest !== archived.digest && !extended)
            problem(
              `signature tag ${artifact.tag} ${tagged ? `points at ${tagged.digest}, the archive has ${archived.digest}` : 'is missing'}`,
            )
          else check.signatures++
        } else if (options.signatureForms === 'legacy') {
          check.referrersNotExpected = (check.referrersNotExpected ?? 0) + 1
        } else {
          const listed = await repo.referrers({mediaType: root.mediaType, digest: artifact.subject, size: 0})
          if (!listed.some(d => d.digest === artifact.graph.root.digest))
            problem(`referrer ${artifact.graph.root.digest} of ${artifact.subject} is not listed`)
          else check.referrers++
        }
      }
    } catch (error) {
      problem(error instanceof Error ? error.message : String(error))
    }
    if (options.signatures) {
      // Judged on its own: a broken graph above must not hide what a verifier would conclude about the signatures.
      try {
        const verification = await judgeMirrorImage({
          repo,
          image: image.reference,
          root,
          platforms,
          archive: options.archive,
          options: options.signatures,
        })
        check.verification = verification
        if (!verification.ok) problem(`signatures: ${verification.reason}`)
      } catch (error) {
        problem(`signatures: ${error instanceof Error ? error.message : String(error)}`)
      }
    }
  }
  const problems = images.flatMap(i => i.problems)
  const ok = images.length - images.filter(i => i.problems.length > 0).length
  const where = `${options.target.registry}${options.target.prefix ? `/${options.target.prefix}` : ''}`
  const notExpected = images.reduce((n, i) => n + (i.referrersNotExpected ?? 0), 0)
  const legacyOnly =
    notExpected > 0 ? ` (legacy signature forms only: ${notExpected} bundle referrer(s) not expected)` : ''
  return {
    passed: problems.length === 0 && images.length > 0,
    summary: `${ok}/${images.length} image(s) intact on ${where}${options.signatures ? ', signatures verified from the mirror' : ' (signature presence only: no policy given)'}${legacyOnly}${problems.length ? `, ${problems.length} problem(s)` : ''}`,
    signaturesVerified: options.signatures !== undefined,
    images,
    problems,
  }
}

/** The error a failed mirror check is reported with: the signature verdict when that failed, else DIGEST_MISMATCH. */
export function mirrorCheckError(result: MirrorCheckResult): AirlockError {
  const bad = result.images.find(i => i.problems.length > 0)
  const code = bad?.verification?.errorCode ?? 'DIGEST_MISMATCH'
  return new AirlockError(code, `mirror check failed: ${result.problems[0] ?? result.summary}`, {
    hint:
      result.problems.length > 1
        ? `${result.problems.length} problems in all; see the report (--json for details)`
        : undefined,
    details: {check: result},
  })
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
