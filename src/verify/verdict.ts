// The verdict: what verification judged, as the one thing push (and the mirror check) may act on. It is built by
// verify from the same open archive it checked, only when everything passed, and frozen. Push writes exactly this:
// the images, their root descriptors and tags, the nodes of each graph that were walked (blobs with their archive
// offsets, manifests with their verified bytes), the children that were judged, and the signature artifacts that
// passed the binding checks (tag named after its subject, subject inside the image, referrer's own subject).
// Nothing is taken from a second read of airlock.json or index.json.
import type {Descriptor} from '../oci/descriptor.ts'
import type {Digest} from '../oci/digest.ts'
import type {RawManifest} from '../oci/manifest.ts'
import type {VerifyReport} from './report-model.ts'
import type {SignatureRole} from '../sigstore/section.ts'

/** A content graph as walked: leaf blobs once each (where their bytes are), manifests children-first, root last. */
export interface JudgedGraph {
  readonly root: Descriptor
  readonly blobs: ReadonlyArray<{readonly descriptor: Descriptor; readonly offset: number}>
  readonly manifests: ReadonlyArray<{readonly descriptor: Descriptor; readonly raw: RawManifest}>
}

/** A signature artifact that passed the binding checks, with the graph that was walked under it. */
export interface JudgedArtifact {
  readonly kind: 'tag' | 'referrer'
  readonly role: SignatureRole
  /** The image's root or one of its judged manifests. */
  readonly subject: Digest
  /** For kind 'tag': `sha256-<subject hex>.sig|att|sbom`, checked against subject and role. */
  readonly tag?: string
  readonly graph: JudgedGraph
}

export interface VerifiedImage {
  /** The source reference the policy judged (`ghcr.io/siderolabs/installer:v1.11.0`). */
  readonly reference: string
  /** The tag push writes last; agrees with `reference`. */
  readonly tag?: string
  readonly root: Descriptor
  readonly graph: JudgedGraph
  /** The root index's children that were carried and judged (empty for a single manifest). */
  readonly children: readonly Descriptor[]
  readonly artifacts: readonly JudgedArtifact[]
}

export interface Verdict {
  readonly archive: string
  /** false only for push --skip-verify: structure and bindings checked, content and signatures NOT verified. */
  readonly verified: boolean
  readonly images: readonly VerifiedImage[]
  /**
   * push only: blobs of these graphs whose content hash was left to the upload (everything else was judged). The
   * verdict holds for them only once each matched: push commits each upload only after its hash matched, and
   * writes no manifest, signature, referrer or tag before every one did (docs/DECISIONS.md).
   */
  readonly hashOnUpload?: readonly Digest[]
  readonly report: VerifyReport
}

/** Deep-freezes the verdict's own structure (not the RawManifest buffers, which nothing writes). */
export function freezeVerdict(verdict: Verdict): Verdict {
  const graph = (g: JudgedGraph) =>
    Object.freeze({
      root: Object.freeze({...g.root}),
      blobs: Object.freeze(g.blobs.map(b => Object.freeze({...b}))),
      manifests: Object.freeze(g.manifests.map(m => Object.freeze({...m}))),
    })
  return Object.freeze({
    ...verdict,
    ...(verdict.hashOnUpload ? {hashOnUpload: Object.freeze([...verdict.hashOnUpload])} : {}),
    images: Object.freeze(
      verdict.images.map(image =>
        Object.freeze({
          ...image,
          root: Object.freeze({...image.root}),
          graph: graph(image.graph),
          children: Object.freeze(image.children.map(c => Object.freeze({...c}))),
          artifacts: Object.freeze(image.artifacts.map(a => Object.freeze({...a, graph: graph(a.graph)}))),
        }),
      ),
    ),
  })
}
