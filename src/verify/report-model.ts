// One result model for verify and inspect; the command layer renders it as text or returns it as --json.
import type {ErrorCode} from '../errors.ts'
import type {Digest} from '../oci/digest.ts'
import type {Forecast} from '../trust/forecast.ts'

export interface Problem {
  code: ErrorCode
  /** The archive entry concerned, when there is one. */
  entry?: string
  message: string
}

export interface CheckReport {
  /** 'integrity', 'signatures', 'trust', ... */
  name: string
  ok: boolean
  /** One line each, naming the entry or object concerned. */
  reasons: string[]
  /** Set when the check did not run (e.g. signatures are not checked on an image that failed integrity). */
  skipped?: string
  /** Lines shown for a passing check (e.g. the signatures verified and who signed them). */
  info?: string[]
  details?: unknown
}

export interface NodeInfo {
  digest: Digest
  mediaType: string
  size: number
}

export interface PlatformTree {
  platform: string
  /** the platform manifest's digest (the same as manifest.digest, flat) */
  digest: Digest
  manifest: NodeInfo
  config?: NodeInfo
  layers: NodeInfo[]
  /** Manifest + config + layers. */
  bytes: number
}

export interface ImageReport {
  reference: string
  digest: Digest
  mediaType: string
  ok: boolean
  platforms: PlatformTree[]
  /** Platforms of the index that were left out on purpose at export (--platform). */
  omittedPlatforms: string[]
  /** Bytes of every distinct blob of the image (shared ones counted once per image). */
  bytes: number
  checks: CheckReport[]
  /** Who signed, from the signatures that satisfied the policy (empty when none did or none were checked). */
  signers?: SignerSummary[]
}

/** One signature that satisfied the policy, flat: the auditor's row. */
export interface SignerSummary {
  /** the manifest digest the signature names (the index, or a platform manifest) */
  subject: string
  role: 'signature' | 'attestation'
  predicateType?: string
  /** signed with a public key (no certificate identity) */
  keyed: boolean
  identity: string | null
  issuer: string | null
  /** the transparency log entry checked (null with --insecure-ignore-tlog or none) */
  logIndex: string | null
  /** ISO-8601 time the log integrated the entry */
  integratedTime: string | null
  /** the policy rule that accepted it */
  rule: string
  /** the checks that passed, by name */
  checks: string[]
}

export interface PolicySummary {
  /** the policy file, `flags`, or `none` (signatures not checked) */
  source: string
  /** sha256 (hex) of the policy file as read, null for flags */
  sha256: string | null
  /** `--key FILE`, when the policy is a key */
  keyFile?: string
  rules: number
}

export interface TrustSummary {
  sources: Array<
    | {
        kind: 'tuf'
        name: string
        rootVersion: number
        pinnedRootVersion: number
        trustedRootSha256: string | null
        /** signed expiry of every role used, by label (e.g. "timestamp v762") */
        expires: Record<string, string>
        /** the roles accepted only within the grace period */
        graceUsedBy: string[]
      }
    | {kind: 'trusted-root'; name: string; trustedRootSha256: string}
  >
  /** --tuf-grace in seconds, 'unlimited', or null when no TUF metadata was judged */
  graceSeconds: number | 'unlimited' | null
  forecast: Forecast
}

export interface VerifyReport {
  archive: string
  ok: boolean
  entries: number
  bytes: number
  blobs: number
  /** Blobs whose bodies were not hashed, and why (push: the mirror already holds them under their digest). */
  hashSkipped?: {blobs: number; bytes: number; reason: string}
  /**
   * Push only: blobs whose bodies were not hashed before the push but while they upload (each upload is committed
   * only after its hash matched, and no manifest or tag is written unless every one did).
   */
  hashDeferred?: {blobs: number; bytes: number}
  /**
   * Delta archives (export --since): the blobs left out, expected in the mirror holding the base. `status`:
   * 'unconfirmed' (no --registry: complete only together with the base), 'confirmed' (each found in `registry`
   * with its size), 'missing' (`missing` names each blob not there).
   */
  base?: {
    inventory: {sha256: string; signer?: string}
    blobs: number
    bytes: number
    expected: Array<{digest: string; size: number; repository: string; images: string[]}>
    status: 'unconfirmed' | 'confirmed' | 'missing'
    registry?: string
    missing?: string[]
  }
  /** A trust-only archive (export --trust-only): the TUF repository, no images. */
  trustOnly?: boolean
  seconds: number
  /** Archive-level findings (unexpected entries, corrupt blobs, airlock.json inconsistencies). */
  problems: Problem[]
  /** Archive-level checks added by other modules (e.g. trust). */
  checks: CheckReport[]
  images: ImageReport[]
  /** sha256 (hex) of the archive file verified (verify only: push reads it once, for the push) */
  archiveSha256?: string
  policy?: PolicySummary
  trust?: TrustSummary
}

export interface InspectReport {
  archive: string
  formatVersion: number
  tool: {name: string; version: string}
  exportedAt?: string
  entries: number
  bytes: number
  blobs: number
  files: string[]
  images: Array<
    Omit<ImageReport, 'ok' | 'checks'> & {
      source: string
      tag?: string
      attached: number
      signatures: CarriedSignature[]
      problems: string[]
    }
  >
  /** Delta archives: the layers left out, as airlock.json `base` claims them (verify checks them in the mirror). */
  base?: {inventory: {sha256: string; signer?: string}; blobs: number; bytes: number}
  /** airlock executables carried by export --include-airlock (and their Sigstore bundles), as airlock.json lists them */
  airlockExecutables: Array<{entry: string; size: number; digest: string}>
  /** What could not be read: missing or oversized manifests, cycles, self references, nesting too deep. */
  problems: string[]
}

/** A signature artifact the archive says it carries for an image (a claim until verify checks it). */
export interface CarriedSignature {
  subject: string
  kind: string
  role: string
  name: string
  digest: string
}
