// What one archive claims, read for diff: its images (graphs walked, manifests checked against their digests), the
// signers named by the signing certificates it carries, its attestations, its TUF versions and trusted_root. Claims
// only: no signature, certificate chain or TUF signature is verified here (airlock verify does that), and diff says so.
import {X509Certificate} from '@sigstore/core'
import {createHash} from 'node:crypto'
import type {ArchiveReader} from '../archive/reader.ts'
import {digestFromBlobPath, REF_NAME_ANNOTATION} from '../archive/schema.ts'
import {AirlockError} from '../errors.ts'
import {collectArtifacts} from '../sigstore/artifacts.ts'
import {parseBundle} from '../sigstore/bundle.ts'
import {cosignAttestationToBundle, cosignSignatureToBundle} from '../sigstore/cosign-legacy.ts'
import type {SignatureArtifact} from '../sigstore/image.ts'
import {parseSignaturesSection, type SignatureEntry} from '../sigstore/section.ts'
import {signerFromCertificate} from '../sigstore/verify.ts'
import {TUF_PREFIX} from '../trust/pinned-roots.ts'
import {walkImage, archiveBudget} from '../verify/graph.ts'
import type {PlatformTree} from '../verify/report-model.ts'
import {archiveContentReader} from '../verify/signatures.ts'

/** A signer as a signing certificate names it (or a bare key), unverified. */
export interface ClaimedSigner {
  identity?: string
  issuer?: string
  /** Signed with a key, not a certificate: no identity to name. */
  keyed: boolean
}

export interface ClaimedAttestation {
  subject: string
  kind: string
  name: string
  digest: string
}

export interface ImageClaim {
  reference: string
  digest: string
  mediaType: string
  platforms: PlatformTree[]
  bytes: number
  signers: ClaimedSigner[]
  attestations: ClaimedAttestation[]
}

export interface TufClaim {
  mirror: string
  rootVersion: number | null
  timestampVersion: number | null
  snapshotVersion: number | null
  targetsVersion: number | null
  trustedRootSha256: string | null
}

export interface ArchiveClaims {
  archive: string
  bytes: number
  exportedAt?: string
  tool: {name: string; version: string}
  images: ImageClaim[]
  /** Every blob the archive holds, digest -> size. */
  blobs: Map<string, number>
  tuf: TufClaim[]
}

const MAX_TUF_FILE = 16 * 1024 * 1024

export function signerKey(s: ClaimedSigner): string {
  return s.keyed ? 'a key (no certificate)' : `${s.identity ?? '?'} (issuer ${s.issuer ?? '?'})`
}

function bundleOf(artifact: SignatureArtifact): unknown {
  switch (artifact.kind) {
    case 'bundle':
      return JSON.parse(artifact.bundle.toString('utf8'))
    case 'cosign-signature':
      return cosignSignatureToBundle(artifact.payload, artifact.annotations)
    case 'cosign-attestation':
      return cosignAttestationToBundle(artifact.envelope, artifact.annotations)
  }
}

/** The signer a signature artifact's certificate names; undefined when the artifact cannot be read at all. */
function claimedSigner(artifact: SignatureArtifact): ClaimedSigner | undefined {
  try {
    const material = parseBundle(bundleOf(artifact) as object).verificationMaterial.content
    const der =
      material.$case === 'x509CertificateChain'
        ? material.x509CertificateChain.certificates[0]?.rawBytes
        : material.$case === 'certificate'
          ? material.certificate.rawBytes
          : undefined
    if (!der) return {keyed: true}
    return {...signerFromCertificate(X509Certificate.parse(Buffer.from(der))), keyed: false}
  } catch {
    return undefined
  }
}

function describeEntry(subject: string, entry: SignatureEntry): ClaimedAttestation {
  const name =
    entry.kind === 'legacy-tag'
      ? (entry.tag ?? '').replace(/^sha256-[0-9a-f]{64}/, '')
      : (entry.artifactType ?? entry.descriptor.mediaType)
  return {subject, kind: entry.kind, name, digest: entry.descriptor.digest}
}

function versionOf(bytes: Buffer): number | null {
  try {
    const version = (JSON.parse(bytes.toString('utf8')) as {signed?: {version?: unknown}}).signed?.version
    return typeof version === 'number' && Number.isSafeInteger(version) ? version : null
  } catch {
    return null
  }
}

async function tufClaims(archive: ArchiveReader): Promise<TufClaim[]> {
  const mirrors = new Map<string, TufClaim>()
  for (const name of [...archive.entries.keys()].sort()) {
    if (!name.startsWith(TUF_PREFIX)) continue
    const rest = name.slice(TUF_PREFIX.length)
    const slash = rest.indexOf('/')
    if (slash <= 0) continue
    const mirror = rest.slice(0, slash)
    const path = rest.slice(slash + 1)
    let claim = mirrors.get(mirror)
    if (!claim) {
      claim = {
        mirror,
        rootVersion: null,
        timestampVersion: null,
        snapshotVersion: null,
        targetsVersion: null,
        trustedRootSha256: null,
      }
      mirrors.set(mirror, claim)
    }
    const read = () => archive.readEntry(name, MAX_TUF_FILE)
    if (/^metadata\/\d+\.root\.json$/.test(path)) {
      const v = versionOf(await read())
      if (v !== null && (claim.rootVersion === null || v > claim.rootVersion)) claim.rootVersion = v
    } else if (path === 'metadata/timestamp.json') claim.timestampVersion = versionOf(await read())
    else if (path === 'metadata/snapshot.json') claim.snapshotVersion = versionOf(await read())
    else if (path === 'metadata/targets.json') claim.targetsVersion = versionOf(await read())
    else if (path === 'targets/trusted_root.json')
      claim.trustedRootSha256 = createHash('sha256')
        .update(await read())
        .digest('hex')
  }
  return [...mirrors.values()]
}

/**
 * Reads an opened archive's claims. A broken content graph (a blob missing, a manifest that does not hash to its
 * name) is an error: a diff of a partly readable archive would present an incomplete picture as complete.
 */
export async function readClaims(archive: ArchiveReader): Promise<ArchiveClaims> {
  const section = parseSignaturesSection(archive.airlock['signatures'])
  const records = new Map(archive.airlock.images.map(r => [r.reference, r]))
  const reader = archiveContentReader(archive)
  const budget = archiveBudget()
  const images: ImageClaim[] = []
  const seen = new Set<string>()
  for (const [i, root] of archive.index.manifests.entries()) {
    const reference = root.annotations?.[REF_NAME_ANNOTATION] ?? `index.json manifests[${i}]`
    if (seen.has(reference))
      throw new AirlockError('ARCHIVE_INVALID', `${archive.path}: index.json lists ${reference} more than once`)
    seen.add(reference)
    const record = records.get(reference)
    const carried = record?.filtered ? new Set((record.platforms ?? []).map(p => p.digest)) : undefined
    const walk = await walkImage(archive, root, carried, budget)
    if (walk.reasons.length > 0)
      throw new AirlockError('ARCHIVE_INVALID', `${archive.path}: ${reference}: ${walk.reasons[0]}`, {
        hint: `airlock verify ${archive.path} names every problem`,
      })
    const subjects = section?.subjects.filter(s => s.image === reference) ?? []
    const signers = new Map<string, ClaimedSigner>()
    const attestations: ClaimedAttestation[] = []
    for (const subject of subjects) {
      for (const artifact of await collectArtifacts(subject.entries, reader)) {
        const signer = claimedSigner(artifact)
        if (signer) signers.set(signerKey(signer), signer)
      }
      for (const entry of subject.entries)
        if (entry.role === 'attestation' || entry.role === 'sbom')
          attestations.push(describeEntry(subject.digest, entry))
    }
    images.push({
      reference,
      digest: root.digest,
      mediaType: root.mediaType,
      platforms: walk.platforms,
      bytes: walk.bytes,
      signers: [...signers.values()],
      attestations,
    })
  }
  const blobs = new Map<string, number>()
  for (const record of archive.entries.values()) {
    const digest = digestFromBlobPath(record.name)
    if (digest) blobs.set(digest, record.size)
  }
  return {
    archive: archive.path,
    bytes: archive.totalBytes,
    ...(archive.airlock.exportedAt ? {exportedAt: archive.airlock.exportedAt} : {}),
    tool: archive.airlock.tool,
    images,
    blobs,
    tuf: await tufClaims(archive),
  }
}
