// airlock diff OLD.tar NEW.tar: what changed between two transfers, for the change review. Both archives are read
// through the one archive reader (structure checked, manifests checked against their digests as they are read; blob
// bodies are not hashed) and compared by what they claim. No policy is applied and nothing is verified: the result
// says so (`verified: false`), and `airlock verify` remains the step that vouches for NEW.tar.
import {ArchiveReader} from '../archive/reader.ts'
import type {NodeInfo, PlatformTree} from '../verify/report-model.ts'
import {
  readClaims,
  signerKey,
  type ArchiveClaims,
  type ClaimedAttestation,
  type ClaimedSigner,
  type ImageClaim,
} from './claims.ts'

export const NOT_VERIFIED_NOTICE =
  'diff compares what the two archives claim; it verifies nothing (no blob hashed, no signature, certificate or TUF metadata checked): run airlock verify on the new archive before trusting it'

export interface ArchiveSummary {
  archive: string
  bytes: number
  images: number
  blobs: number
  exportedAt?: string
  tool: {name: string; version: string}
}

export interface ImageBrief {
  reference: string
  digest: string
  platforms: string[]
  bytes: number
}

export interface LayerBrief {
  digest: string
  mediaType: string
  size: number
}

export interface PlatformChange {
  platform: string
  change: 'added' | 'removed' | 'changed' | 'unchanged'
  oldDigest?: string
  newDigest?: string
  configChanged: boolean
  layersAdded: LayerBrief[]
  layersRemoved: LayerBrief[]
  /** Sum of the added layers' sizes. */
  layersAddedBytes: number
}

export interface ImageChange {
  reference: string
  oldDigest: string
  newDigest: string
  platforms: PlatformChange[]
}

export interface SignerChange {
  reference: string
  old: ClaimedSigner[]
  new: ClaimedSigner[]
  appeared: ClaimedSigner[]
  gone: ClaimedSigner[]
}

export interface TufChange {
  mirror: string
  old: TufVersions | null
  new: TufVersions | null
  trustedRootChanged: boolean
}

export interface TufVersions {
  rootVersion: number | null
  timestampVersion: number | null
  snapshotVersion: number | null
  targetsVersion: number | null
  trustedRootSha256: string | null
}

export interface DiffResult {
  /** Always false: diff never verifies (see `notice`). */
  verified: false
  notice: string
  old: ArchiveSummary
  new: ArchiveSummary
  imagesAdded: ImageBrief[]
  imagesRemoved: ImageBrief[]
  imagesChanged: ImageChange[]
  imagesUnchanged: string[]
  signersChanged: SignerChange[]
  attestationsAdded: Array<ClaimedAttestation & {reference: string}>
  tuf: TufChange[]
  trustedRootChanged: boolean
  blobs: {
    /** Blobs both archives hold: what the second transfer did not need. */
    shared: number
    sharedBytes: number
    /** Blobs only the new archive holds. */
    added: number
    addedBytes: number
    /** Blobs only the old archive held. */
    removed: number
    removedBytes: number
  }
}

function brief(image: ImageClaim): ImageBrief {
  return {
    reference: image.reference,
    digest: image.digest,
    platforms: image.platforms.map(p => p.platform),
    bytes: image.bytes,
  }
}

function leaves(tree: PlatformTree): NodeInfo[] {
  return tree.layers
}

function layerBrief(n: NodeInfo): LayerBrief {
  return {digest: n.digest, mediaType: n.mediaType, size: n.size}
}

function comparePlatform(platform: string, before?: PlatformTree, after?: PlatformTree): PlatformChange {
  const oldLayers = new Map((before ? leaves(before) : []).map(l => [l.digest, l]))
  const newLayers = new Map((after ? leaves(after) : []).map(l => [l.digest, l]))
  const layersAdded = [...newLayers.values()].filter(l => !oldLayers.has(l.digest)).map(layerBrief)
  const layersRemoved = [...oldLayers.values()].filter(l => !newLayers.has(l.digest)).map(layerBrief)
  const change = !before
    ? 'added'
    : !after
      ? 'removed'
      : before.manifest.digest === after.manifest.digest
        ? 'unchanged'
        : 'changed'
  return {
    platform,
    change,
    ...(before ? {oldDigest: before.manifest.digest} : {}),
    ...(after ? {newDigest: after.manifest.digest} : {}),
    configChanged: before?.config?.digest !== after?.config?.digest,
    layersAdded,
    layersRemoved,
    layersAddedBytes: layersAdded.reduce((n, l) => n + l.size, 0),
  }
}

function compareImage(before: ImageClaim, after: ImageClaim): ImageChange {
  const platforms = new Map<string, {before?: PlatformTree; after?: PlatformTree}>()
  for (const p of before.platforms) platforms.set(p.platform, {before: p})
  for (const p of after.platforms) platforms.set(p.platform, {...platforms.get(p.platform), after: p})
  return {
    reference: after.reference,
    oldDigest: before.digest,
    newDigest: after.digest,
    platforms: [...platforms.entries()].map(([name, pair]) => comparePlatform(name, pair.before, pair.after)),
  }
}

function summary(claims: ArchiveClaims): ArchiveSummary {
  return {
    archive: claims.archive,
    bytes: claims.bytes,
    images: claims.images.length,
    blobs: claims.blobs.size,
    ...(claims.exportedAt ? {exportedAt: claims.exportedAt} : {}),
    tool: claims.tool,
  }
}

function versions(t: TufVersions): TufVersions {
  return {
    rootVersion: t.rootVersion,
    timestampVersion: t.timestampVersion,
    snapshotVersion: t.snapshotVersion,
    targetsVersion: t.targetsVersion,
    trustedRootSha256: t.trustedRootSha256,
  }
}

export function compareClaims(before: ArchiveClaims, after: ArchiveClaims): DiffResult {
  const oldImages = new Map(before.images.map(i => [i.reference, i]))
  const newImages = new Map(after.images.map(i => [i.reference, i]))
  const imagesChanged: ImageChange[] = []
  const imagesUnchanged: string[] = []
  const signersChanged: SignerChange[] = []
  const attestationsAdded: DiffResult['attestationsAdded'] = []
  for (const image of after.images) {
    const prior = oldImages.get(image.reference)
    if (prior && prior.digest !== image.digest) imagesChanged.push(compareImage(prior, image))
    else if (prior) imagesUnchanged.push(image.reference)
    const oldSigners = new Map((prior?.signers ?? []).map(s => [signerKey(s), s]))
    const newSigners = new Map(image.signers.map(s => [signerKey(s), s]))
    const appeared = [...newSigners].filter(([k]) => !oldSigners.has(k)).map(([, s]) => s)
    const gone = [...oldSigners].filter(([k]) => !newSigners.has(k)).map(([, s]) => s)
    if (appeared.length || gone.length)
      signersChanged.push({reference: image.reference, old: prior?.signers ?? [], new: image.signers, appeared, gone})
    const oldAttestations = new Set((prior?.attestations ?? []).map(a => a.digest))
    for (const a of image.attestations)
      if (!oldAttestations.has(a.digest)) attestationsAdded.push({reference: image.reference, ...a})
  }
  const oldTuf = new Map(before.tuf.map(t => [t.mirror, t]))
  const newTuf = new Map(after.tuf.map(t => [t.mirror, t]))
  const tuf: TufChange[] = [...new Set([...oldTuf.keys(), ...newTuf.keys()])].sort().map(mirror => {
    const o = oldTuf.get(mirror)
    const n = newTuf.get(mirror)
    return {
      mirror,
      old: o ? versions(o) : null,
      new: n ? versions(n) : null,
      trustedRootChanged: (o?.trustedRootSha256 ?? null) !== (n?.trustedRootSha256 ?? null),
    }
  })
  const blobs = {shared: 0, sharedBytes: 0, added: 0, addedBytes: 0, removed: 0, removedBytes: 0}
  for (const [digest, size] of after.blobs) {
    if (before.blobs.has(digest)) {
      blobs.shared++
      blobs.sharedBytes += size
    } else {
      blobs.added++
      blobs.addedBytes += size
    }
  }
  for (const [digest, size] of before.blobs)
    if (!after.blobs.has(digest)) {
      blobs.removed++
      blobs.removedBytes += size
    }
  return {
    verified: false,
    notice: NOT_VERIFIED_NOTICE,
    old: summary(before),
    new: summary(after),
    imagesAdded: after.images.filter(i => !oldImages.has(i.reference)).map(brief),
    imagesRemoved: before.images.filter(i => !newImages.has(i.reference)).map(brief),
    imagesChanged,
    imagesUnchanged,
    signersChanged,
    attestationsAdded,
    tuf,
    trustedRootChanged: tuf.some(t => t.trustedRootChanged),
    blobs,
  }
}

async function claimsOf(path: string): Promise<ArchiveClaims> {
  // Structure is checked in the one pass (names, links, duplicates, truncation, layout files); bodies are skipped.
  const archive = await ArchiveReader.open(path, {hash: false})
  try {
    return await readClaims(archive)
  } finally {
    await archive.close()
  }
}

export async function diffArchives(oldPath: string, newPath: string): Promise<DiffResult> {
  const before = await claimsOf(oldPath)
  const after = await claimsOf(newPath)
  return compareClaims(before, after)
}
