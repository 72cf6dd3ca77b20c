// From signature manifests (as stored: legacy `.sig`/`.att` images, bundle referrers) to SignatureArtifact values
// for verifyImageSignatures. The same code reads the archive at verify, the source at export and the mirror after
// push, through a small content reader, so a bad signature is judged the same way on every side of the air gap.
import {AirlockError} from '../errors.ts'
import type {Descriptor} from '../oci/descriptor.ts'
import type {RawManifest} from '../oci/manifest.ts'
import type {Fetcher} from '../content/types.ts'
import {COSIGN_ANNOTATIONS, type RekorInclusionProof} from './cosign-legacy.ts'
import {readBlob, readManifest} from './discover.ts'
import type {SignatureArtifact} from './image.ts'
import type {SignatureEntry} from './section.ts'

export const SIMPLESIGNING_MEDIA_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json'
export const DSSE_MEDIA_TYPE = 'application/vnd.dsse.envelope.v1+json'

/** Signature layers, envelopes and bundles are small; anything bigger is not read whole. */
export const MAX_SIGNATURE_BLOB = 16 * 1024 * 1024

export interface ContentReader {
  manifest(descriptor: Descriptor): Promise<RawManifest>
  blob(descriptor: Descriptor): Promise<Buffer>
  /** The inclusion proof stored for a log index, if any. */
  proof?(logIndex: string): Promise<RekorInclusionProof | undefined>
}

/**
 * A content reader over any store (a registry repository, an OCI layout): manifests strictly parsed under the
 * manifest limit, blobs under MAX_SIGNATURE_BLOB, both verified by digest while streaming. Inclusion proofs come
 * from `proof` (export: fetched from Rekor; mirror check: the archive's sigstore/proofs/).
 */
export function fetcherContentReader(store: Fetcher, proof?: ContentReader['proof']): ContentReader {
  return {
    manifest: d => readManifest(store, d),
    blob: d => readBlob(store, d, MAX_SIGNATURE_BLOB),
    ...(proof ? {proof} : {}),
  }
}

/** The Rekor log index named by a legacy layer's `dev.sigstore.cosign/bundle` annotation, if it has one. */
export function legacyLogIndex(annotations: Record<string, string> | undefined): string | undefined {
  const text = annotations?.[COSIGN_ANNOTATIONS.bundle]
  if (!text) return undefined
  try {
    const value = JSON.parse(text) as {Payload?: {logIndex?: unknown}}
    const index = value.Payload?.logIndex
    return Number.isSafeInteger(index) && (index as number) >= 0 ? String(index) : undefined
  } catch {
    return undefined
  }
}

/** Signature artifacts judged for one subject, at most: cosign appends one layer per signature, so real counts are small. */
export const MAX_ARTIFACTS_PER_SUBJECT = 1000
/** Bytes of signature material (distinct blobs) read for one subject, at most. */
export const MAX_SIGNATURE_BYTES_PER_SUBJECT = 64 * 1024 * 1024

/**
 * Signature and attestation artifacts of the entries (SBOMs and other referrers are carried, not verified). A layer
 * repeated (same digest and annotations) is one artifact, and a blob named many times is read and held once
 * (issue 10, finding 8: thousands of layers naming one blob must not mean thousands of copies).
 */
export async function collectArtifacts(entries: SignatureEntry[], reader: ContentReader): Promise<SignatureArtifact[]> {
  const artifacts: SignatureArtifact[] = []
  const blobs = new Map<string, Promise<Buffer>>()
  const seen = new Set<string>()
  let bytes = 0
  const read = (layer: Descriptor): Promise<Buffer> => {
    let blob = blobs.get(layer.digest)
    if (!blob) {
      bytes += layer.size
      if (bytes > MAX_SIGNATURE_BYTES_PER_SUBJECT)
        throw new AirlockError(
          'TOO_LARGE',
          `signature material of one subject is over ${MAX_SIGNATURE_BYTES_PER_SUBJECT} bytes; refusing to read more`,
        )
      blob = reader.blob(layer)
      blobs.set(layer.digest, blob)
    }
    return blob
  }
  for (const entry of entries) {
    if (entry.role !== 'signature' && entry.role !== 'attestation') continue
    const manifest = await reader.manifest(entry.descriptor)
    if (manifest.parsed.kind !== 'manifest') continue
    const where = entry.tag ?? `referrer ${entry.descriptor.digest.slice(0, 19)}`
    for (const [i, layer] of manifest.parsed.layers.entries()) {
      const source = `${where} layer ${i}`
      const annotations = layer.annotations ?? {}
      const key = `${layer.mediaType}\0${layer.digest}\0${JSON.stringify(annotations)}`
      if (seen.has(key)) continue
      seen.add(key)
      if (seen.size > MAX_ARTIFACTS_PER_SUBJECT)
        throw new AirlockError(
          'TOO_LARGE',
          `more than ${MAX_ARTIFACTS_PER_SUBJECT} signature artifacts for one subject; refusing to verify them all`,
        )
      if (layer.mediaType === SIMPLESIGNING_MEDIA_TYPE || layer.mediaType === DSSE_MEDIA_TYPE) {
        const bytes = await read(layer)
        const logIndex = legacyLogIndex(annotations)
        const proof = logIndex !== undefined ? await reader.proof?.(logIndex) : undefined
        const common = {annotations, source, ...(proof ? {inclusionProof: proof} : {})}
        artifacts.push(
          layer.mediaType === SIMPLESIGNING_MEDIA_TYPE
            ? {kind: 'cosign-signature', payload: bytes, ...common}
            : {kind: 'cosign-attestation', envelope: bytes, ...common},
        )
      } else if (layer.mediaType.startsWith('application/vnd.dev.sigstore.bundle')) {
        artifacts.push({kind: 'bundle', bundle: await read(layer), source})
      }
    }
  }
  return artifacts
}
