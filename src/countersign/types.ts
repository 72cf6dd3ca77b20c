// The input of countersigning: images that passed verification, described by what the gap checked. Minimal and
// independent of push's internals, so any verification result (push, `airlock countersign`, a future verdict
// type) can be mapped onto it at one call site.
import type {Descriptor} from '../oci/descriptor.ts'

/** The upstream signature that satisfied the policy for an image (from the verification report). */
export interface UpstreamSigner {
  /** Keyless: certificate identity and OIDC issuer. Key-signed: keyed is true and neither is set. */
  identity?: string
  issuer?: string
  keyed: boolean
  /** Transparency log index and integrated time of the entry that was checked, when there was one. */
  logIndex?: string
  integratedTime?: string
  /** The digest the signature named (the index, or each platform manifest). */
  subjects: string[]
  /** How it was carried (bundle referrer, .sig tag, ...), for the record. */
  form?: string
}

export interface TrustRecord {
  /** sha256 hex of the trusted_root.json bytes verification used (absent for key-only policies). */
  trustedRootSha256?: string
  /** Where it came from: TUF mirror URL and root version, a pinned root, grace used ... one line each. */
  source: string[]
}

/** One image that passed verification under the policy. */
export interface VerifiedImage {
  /** The original repository name nodes pull by (mirrors are transparent): `ghcr.io/siderolabs/installer`. */
  repository: string
  /** Full source reference, for messages (`ghcr.io/siderolabs/installer:v1.11.0`). */
  reference: string
  /** The root the tag names: an index or a manifest. */
  root: Descriptor
  /** Every platform manifest carried under an index (empty for a single manifest). */
  platforms: Descriptor[]
  upstream: UpstreamSigner
}

/** What the gap checked, shared by every image of a run (goes in each receipt). */
export interface VerificationRecord {
  trust: TrustRecord
  /** sha256 hex of the policy file, or of the canonical flags policy. */
  policySha256: string
  policySource: string
  /** sha256 hex of the archive file. */
  archiveSha256: string
  archive: string
  airlockVersion: string
  /** ISO time of the verification. */
  verifiedAt: string
}

/** An image that was not countersigned, and why (failed verification, a `skip` rule, ...). */
export interface UnsignedImage {
  reference: string
  reason: string
}
