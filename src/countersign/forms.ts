// The three places Talos looks for a signature (siderolabs/talos internal/pkg/containers/image/verify/internal/
// cosign/cosign.go), written so that each one alone verifies under the operator's key:
//   1. a bundle referrer (artifactType bundle v0.3, subject = the image digest), found through the referrers API;
//   2. the same referrer listed in the `sha256-<hex>` index (the referrers tag schema), merged with what is there;
//   3. one more simple-signing layer on `sha256-<hex>.sig`, upstream layers kept.
// Plus the receipt's legacy form, a DSSE layer on `sha256-<hex>.att`.
// Every writer first looks for a signature of ours that still verifies and adds nothing when it finds one, so a
// re-run (or a run after a mirror refused a write halfway) completes without duplicates. Blobs go before the
// manifest that names them and manifests before the tag, so no tag ever points at missing content.
import {bundleFromJSON} from '@sigstore/bundle'
import {verifyBytes, type SigningKey} from '../keys/index.ts'
import type {Descriptor} from '../oci/descriptor.ts'
import {digestHex, type Digest} from '../oci/digest.ts'
import {parseManifest, type RawManifest} from '../oci/manifest.ts'
import {MediaType} from '../oci/media-types.ts'
import {mergeReferrersIndex, referrerDescriptor} from '../push/referrers.ts'
import {COSIGN_ANNOTATIONS} from '../sigstore/index.ts'
import {SIMPLESIGNING_TYPE} from '../sigstore/payload.ts'
import {openEnvelope, signPayload, signStatementBundle, statementCovers} from './signer.ts'
import {manifestAtTag, pushSmallBlob, readSmallBlob, type CountersignTarget} from './target.ts'

export type FormOutcome = 'written' | 'present'

export const BUNDLE_ARTIFACT_TYPE = MediaType.SigstoreBundle03
/** Annotations cosign v3 puts on a bundle referrer manifest. */
export const BUNDLE_CONTENT_ANNOTATION = 'dev.sigstore.bundle.content'
export const BUNDLE_PREDICATE_ANNOTATION = 'dev.sigstore.bundle.predicateType'
const EMPTY_CONFIG = Buffer.from('{}')
const SIGNATURE_ANNOTATION = COSIGN_ANNOTATIONS.signature

export const sigTag = (subject: Digest): string => `sha256-${digestHex(subject)}.sig`
export const attTag = (subject: Digest): string => `sha256-${digestHex(subject)}.att`
export const referrersTag = (subject: Digest): string => `sha256-${digestHex(subject)}`

/** Whether a referrer manifest holds a bundle of ours, for `subject`, with `predicateType`. */
async function isOurBundleReferrer(
  target: CountersignTarget,
  key: SigningKey,
  referrer: Descriptor,
  subject: Digest,
  predicateType: string,
): Promise<boolean> {
  if (referrer.artifactType !== BUNDLE_ARTIFACT_TYPE) return false
  const predicate = referrer.annotations?.[BUNDLE_PREDICATE_ANNOTATION]
  if (predicate !== undefined && predicate !== predicateType) return false
  let manifest: RawManifest
  try {
    manifest = await target.fetchManifest(referrer.digest)
  } catch {
    return false
  }
  if (manifest.parsed.kind !== 'manifest' || manifest.parsed.subject?.digest !== subject) return false
  for (const layer of manifest.parsed.layers) {
    if (layer.mediaType !== BUNDLE_ARTIFACT_TYPE) continue
    const bytes = await readSmallBlob(target, layer).catch(() => undefined)
    if (!bytes) continue
    try {
      const bundle = JSON.parse(bytes.toString('utf8')) as {
        dsseEnvelope?: unknown
        verificationMaterial?: {publicKey?: {hint?: unknown}}
      }
      bundleFromJSON(bundle) // shape check by sigstore-js
      if (bundle.verificationMaterial?.publicKey?.hint !== key.hint) continue
      const statement = openEnvelope(key, bundle.dsseEnvelope)
      if (statement && statementCovers(statement, digestHex(subject), predicateType)) return true
    } catch {}
  }
  return false
}

/** Referrers already listed for `subject`: through the API where the mirror has it, and in the fallback index. */
async function listedReferrers(
  target: CountersignTarget,
  subject: Descriptor,
): Promise<{api: Descriptor[]; fallback: RawManifest | undefined}> {
  const capability = await target.referrersCapability()
  const api = capability === 'api' ? await target.referrers(subject, BUNDLE_ARTIFACT_TYPE) : []
  const fallback = await manifestAtTag(target, referrersTag(subject.digest))
  return {api, fallback}
}

function fallbackEntries(fallback: RawManifest | undefined): Descriptor[] {
  if (!fallback) return []
  if (fallback.parsed.kind === 'index') return fallback.parsed.manifests
  return [referrerDescriptor(fallback)]
}

export interface BundleReferrerResult {
  referrer: FormOutcome
  fallbackIndex: FormOutcome
  digest: Digest
}

/**
 * Form 1 and 2: a bundle referrer of `subject` signed with `key`, pushed (the registry's referrers API indexes it
 * by its subject) and listed in the `sha256-<hex>` index. The index keeps every entry it had; a tag that named a
 * single bundle manifest becomes an index of that manifest and ours (Talos reads both shapes).
 */
export async function ensureBundleReferrer(
  target: CountersignTarget,
  key: SigningKey,
  subject: Descriptor,
  predicateType: string,
  statement: () => Buffer,
): Promise<BundleReferrerResult> {
  const {api, fallback} = await listedReferrers(target, subject)
  let ours: RawManifest | undefined
  for (const candidate of [...api, ...fallbackEntries(fallback)]) {
    if (await isOurBundleReferrer(target, key, candidate, subject.digest, predicateType)) {
      ours = await target.fetchManifest(candidate.digest)
      break
    }
  }
  let referrer: FormOutcome = 'present'
  if (!ours) {
    const {bundle} = await signStatementBundle(key, statement())
    const config = await pushSmallBlob(target, MediaType.OciEmpty, EMPTY_CONFIG)
    const layer = await pushSmallBlob(target, BUNDLE_ARTIFACT_TYPE, bundle)
    const manifest = {
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      artifactType: BUNDLE_ARTIFACT_TYPE,
      config: {...config, data: EMPTY_CONFIG.toString('base64')},
      layers: [layer],
      subject: {mediaType: subject.mediaType, digest: subject.digest, size: subject.size},
      annotations: {[BUNDLE_CONTENT_ANNOTATION]: 'dsse-envelope', [BUNDLE_PREDICATE_ANNOTATION]: predicateType},
    }
    const bytes = Buffer.from(JSON.stringify(manifest))
    await target.pushManifest(bytes, MediaType.OciManifest)
    ours = parseManifest(bytes, MediaType.OciManifest, 'countersign referrer')
    referrer = 'written'
  }
  // The tag schema index: keep what is there, add ours once.
  const existingEntries = fallbackEntries(fallback)
  let fallbackIndex: FormOutcome = 'present'
  if (!existingEntries.some(d => d.digest === ours.digest)) {
    const base = fallback?.parsed.kind === 'index' ? fallback : undefined
    const add = [
      ...(fallback && fallback.parsed.kind !== 'index' ? [referrerDescriptor(fallback)] : []),
      referrerDescriptor(ours),
    ]
    const merged = mergeReferrersIndex(base, add)
    await target.pushManifest(merged.bytes, MediaType.OciIndex)
    await target.pushManifest(merged.bytes, MediaType.OciIndex, referrersTag(subject.digest))
    fallbackIndex = 'written'
  }
  return {referrer, fallbackIndex, digest: ours.digest}
}

/** A legacy cosign layer to add to a `.sig` or `.att` manifest. */
interface LegacyLayer {
  mediaType: string
  payload: Buffer
  annotations: Record<string, string>
}

/**
 * Adds `layer` to the manifest at `tag` (creating it cosign's way when absent) unless a layer there already
 * satisfies `isOurs`. Upstream layers are kept, in order, with the manifest's other fields.
 */
async function ensureLegacyLayer(
  target: CountersignTarget,
  tag: string,
  isOurs: (layer: Descriptor, payload: Buffer) => boolean,
  make: () => LegacyLayer,
): Promise<FormOutcome> {
  const existing = await manifestAtTag(target, tag)
  if (existing && existing.parsed.kind !== 'manifest')
    throw new Error(
      `${target.name}:${tag} is an index, not a cosign signature manifest; refusing to change another tool's tag`,
    )
  const layers = existing?.parsed.kind === 'manifest' ? existing.parsed.layers : []
  for (const layer of layers) {
    const payload = await readSmallBlob(target, layer).catch(() => undefined)
    if (payload && isOurs(layer, payload)) return 'present'
  }
  const add = make()
  const blob = await pushSmallBlob(target, add.mediaType, add.payload)
  const descriptor = {...blob, annotations: add.annotations}
  let manifest: Record<string, unknown>
  let mediaType: string
  if (existing) {
    manifest = JSON.parse(existing.bytes.toString('utf8')) as Record<string, unknown>
    manifest.layers = [...(manifest.layers as unknown[]), descriptor]
    mediaType = existing.mediaType
  } else {
    // cosign's signature image: a config that lists the layers as its rootfs, then the layers.
    const config = Buffer.from(
      JSON.stringify({
        architecture: '',
        created: '0001-01-01T00:00:00Z',
        history: [{created: '0001-01-01T00:00:00Z'}],
        os: '',
        rootfs: {type: 'layers', diff_ids: [blob.digest]},
        config: {},
      }),
    )
    const configDescriptor = await pushSmallBlob(target, MediaType.OciConfig, config)
    manifest = {schemaVersion: 2, mediaType: MediaType.OciManifest, config: configDescriptor, layers: [descriptor]}
    mediaType = MediaType.OciManifest
  }
  const bytes = Buffer.from(JSON.stringify(manifest))
  await target.pushManifest(bytes, mediaType)
  await target.pushManifest(bytes, mediaType, tag)
  return 'written'
}

/** Form 3: a simple-signing layer of ours on `sha256-<hex>.sig` (its payload names the original repository). */
export function ensureSigLayer(
  target: CountersignTarget,
  key: SigningKey,
  subject: Digest,
  payload: () => Buffer,
): Promise<FormOutcome> {
  return ensureLegacyLayer(
    target,
    sigTag(subject),
    (layer, bytes) => {
      if (layer.mediaType !== MediaType.CosignSimpleSigning) return false
      const signature = layer.annotations?.[SIGNATURE_ANNOTATION]
      if (!signature) return false
      if (!verifySignature(key, bytes, signature)) return false
      try {
        const p = JSON.parse(bytes.toString('utf8')) as {
          critical?: {type?: string; image?: {'docker-manifest-digest'?: string}}
        }
        return p.critical?.type === SIMPLESIGNING_TYPE && p.critical.image?.['docker-manifest-digest'] === subject
      } catch {
        return false
      }
    },
    () => {
      const bytes = payload()
      return {
        mediaType: MediaType.CosignSimpleSigning,
        payload: bytes,
        annotations: {[SIGNATURE_ANNOTATION]: signPayload(key, bytes)},
      }
    },
  )
}

function verifySignature(key: SigningKey, payload: Buffer, signatureB64: string): boolean {
  return verifyBytes(key.publicKey, payload, Buffer.from(signatureB64, 'base64'))
}

/** The receipt's legacy form: a DSSE layer of ours on `sha256-<hex>.att` (cosign's attestation layout). */
export async function ensureAttLayer(
  target: CountersignTarget,
  key: SigningKey,
  subject: Digest,
  predicateType: string,
  statement: () => Buffer,
): Promise<FormOutcome> {
  const isOurs = (layer: Descriptor, bytes: Buffer) => {
    if (layer.mediaType !== MediaType.DsseEnvelope || layer.annotations?.['predicateType'] !== predicateType)
      return false
    try {
      const opened = openEnvelope(key, JSON.parse(bytes.toString('utf8')))
      return opened !== undefined && statementCovers(opened, digestHex(subject), predicateType)
    } catch {
      return false
    }
  }
  // Signing is async and ensureLegacyLayer's maker is not: look first, sign only when no layer of ours is there.
  const existing = await manifestAtTag(target, attTag(subject))
  if (existing?.parsed.kind === 'manifest')
    for (const layer of existing.parsed.layers) {
      const bytes = await readSmallBlob(target, layer).catch(() => undefined)
      if (bytes && isOurs(layer, bytes)) return 'present'
    }
  const payload = (await signStatementBundle(key, statement())).envelope
  return ensureLegacyLayer(target, attTag(subject), isOurs, () => ({
    mediaType: MediaType.DsseEnvelope,
    payload,
    annotations: {[SIGNATURE_ANNOTATION]: '', predicateType},
  }))
}
