// The signature half of the mirror check: one image's signatures judged from what the MIRROR serves, the way an
// in-cluster verifier (Talos image verification, policy-controller, Kyverno, cosign) finds them there: legacy
// `sha256-<hex>.sig/.att` tags and referrers (API, else the fallback tag), for the image and, when the index is not
// signed itself, its platform manifests. The manifests, layers and bundles are fetched from the mirror (verified by
// digest while streaming, bounded sizes), turned into SignatureArtifact values by the same code as `verify`
// (src/sigstore/artifacts.ts) and judged by the same judgeImage with the same policy rule and trusted roots.
// The archive contributes only trust material: the TUF-verified trusted roots (resolved by the caller) and the
// inclusion proofs of sigstore/proofs/, which @sigstore/verify checks against the log's signed checkpoint.
import type {TrustedRoot} from '@sigstore/protobuf-specs'
import type {ArchiveReader} from '../archive/reader.ts'
import type {ErrorCode} from '../errors.ts'
import type {Descriptor} from '../oci/descriptor.ts'
import type {Digest} from '../oci/digest.ts'
import type {Policy} from '../policy/index.ts'
import type {Repository} from '../registry/index.ts'
import {fetcherContentReader} from '../sigstore/artifacts.ts'
import {discoverInRegistry} from '../sigstore/discover.ts'
import {judgeImage} from '../sigstore/judge.ts'
import type {SignatureRole} from '../sigstore/section.ts'
import {archiveContentReader} from './signatures.ts'

export interface MirrorSignatureOptions {
  policy: Policy
  trustedRoots: TrustedRoot[]
}

/** What the mirror check reports about one image's signatures. */
export interface MirrorSignatureResult {
  ok: boolean
  /** One line: who signed (verified), or why nothing verified. */
  reason: string
  /** For a failure: SIGNATURE_MISSING, SIGNATURE_INVALID or POLICY_DENIED. */
  errorCode?: ErrorCode
  /** Signature artifacts discovered ON THE MIRROR, per subject (the image root, then platform manifests). */
  found: Array<{subject: Digest; kind: 'legacy-tag' | 'referrer'; role: SignatureRole; tag?: string; digest: Digest}>
  /** The signer of the signature that satisfied the policy. */
  signer?: {identity?: string; issuer?: string; keyed: boolean}
  /** cosign-style lines: each signature checked and its outcome. */
  lines: string[]
  warnings: string[]
}

export async function judgeMirrorImage(input: {
  repo: Repository
  image: string
  root: Descriptor
  platforms: Descriptor[]
  archive: ArchiveReader
  options: MirrorSignatureOptions
}): Promise<MirrorSignatureResult> {
  const found = await discoverInRegistry(input.repo, [input.root, ...input.platforms], input.image)
  const judgement = await judgeImage({
    image: input.image,
    root: input.root,
    platforms: input.platforms,
    entriesFor: digest => found.filter(s => s.digest === digest).flatMap(s => s.entries),
    // Content from the mirror only; inclusion proofs from the archive (self-verifying: signed checkpoints).
    reader: fetcherContentReader(input.repo, archiveContentReader(input.archive).proof),
    policy: input.options.policy,
    trustedRoots: input.options.trustedRoots,
  })
  const result: MirrorSignatureResult = {
    ok: judgement.ok,
    reason: judgement.reason,
    found: found.flatMap(s =>
      s.entries.map(e => ({
        subject: s.digest,
        kind: e.kind,
        role: e.role,
        ...(e.tag ? {tag: e.tag} : {}),
        digest: e.descriptor.digest,
      })),
    ),
    lines: judgement.lines,
    warnings: judgement.warnings,
  }
  const errorCode = judgement.ok ? undefined : (judgement.subjects.find(r => !r.ok)?.errorCode ?? 'SIGNATURE_INVALID')
  if (errorCode) result.errorCode = errorCode
  if (judgement.ok) {
    const good = judgement.subjects.flatMap(s => s.results).find(r => r.ok && r.role === 'signature')
    const keyRule = judgement.subjects[0]?.rule.action === 'public-key'
    if (good) result.signer = keyRule ? {...good.signer, keyed: true} : good.signer
  }
  return result
}
