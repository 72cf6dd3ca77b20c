// OCI content for signatures as cosign writes it: legacy `.sig` / `.att` images and v0.3 bundle referrers.
// Pure data: manifests, configs and layers with their descriptors; pushing them is the caller's business.
import {randomBytes} from 'node:crypto'
import {sha256} from './keys.ts'
import {BUNDLE_V03_MEDIA_TYPE, type SigstoreBundleJSON} from './sign.ts'

export const MEDIA = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
  simpleSigning: 'application/vnd.dev.cosign.simplesigning.v1+json',
  dsseEnvelope: 'application/vnd.dsse.envelope.v1+json',
  sigstoreBundleV03: BUNDLE_V03_MEDIA_TYPE,
} as const

export interface OciDescriptor {
  mediaType: string
  digest: `sha256:${string}`
  size: number
  annotations?: Record<string, string>
  artifactType?: string
  platform?: {architecture: string; os: string; variant?: string}
}

export interface Blob {
  bytes: Buffer
  descriptor: OciDescriptor
}

export interface OciImage {
  /** Manifest bytes (what is pushed and hashed). */
  manifest: Buffer
  manifestDescriptor: OciDescriptor
  config: Blob
  layers: Blob[]
  /** Tag under which cosign stores it, when it has one (`sha256-<hex>.sig`, `.att`, or the referrers fallback). */
  tag?: string
}

export const digestOf = (bytes: Buffer): `sha256:${string}` => `sha256:${sha256(bytes).toString('hex')}`

export function blob(bytes: Buffer | string, mediaType: string, annotations?: Record<string, string>): Blob {
  const b = Buffer.from(bytes)
  return {
    bytes: b,
    descriptor: {mediaType, digest: digestOf(b), size: b.length, ...(annotations ? {annotations} : {})},
  }
}

/** The OCI empty descriptor's content `{}`. */
export const EMPTY_CONFIG = blob('{}', MEDIA.ociEmpty)

/** `sha256:<hex>` -> `sha256-<hex>` (+ suffix), cosign's tag scheme and the OCI referrers fallback tag. */
export const digestTag = (digest: string, suffix = ''): string => digest.replace(':', '-') + suffix

function manifestOf(
  obj: object,
  extra: Partial<OciImage> & {config: Blob; layers: Blob[]},
  artifactType?: string,
): OciImage {
  const manifest = Buffer.from(JSON.stringify(obj))
  return {
    manifest,
    manifestDescriptor: {
      mediaType: MEDIA.ociManifest,
      digest: digestOf(manifest),
      size: manifest.length,
      ...(artifactType ? {artifactType} : {}),
    },
    ...extra,
  }
}

/** go-containerregistry's config for a cosign signature image (empty platform, one diff_id per layer). */
function cosignConfig(layers: Blob[]): Blob {
  const zero = '0001-01-01T00:00:00Z'
  const cfg = {
    architecture: '',
    created: zero,
    history: layers.map(() => ({created: zero})),
    os: '',
    rootfs: {type: 'layers', diff_ids: layers.map(l => l.descriptor.digest)},
    config: {},
  }
  return blob(JSON.stringify(cfg), MEDIA.ociConfig)
}

function cosignImage(layers: Blob[], tag: string): OciImage {
  const config = cosignConfig(layers)
  return manifestOf(
    {
      schemaVersion: 2,
      mediaType: MEDIA.ociManifest,
      config: config.descriptor,
      layers: layers.map(l => l.descriptor),
    },
    {config, layers, tag},
  )
}

/** Legacy `.sig` image: one simplesigning layer per signature, tag `sha256-<hex>.sig`. */
export function legacySignatureImage(
  subjectDigest: string,
  signatures: {payload: Buffer; annotations: Record<string, string>}[],
): OciImage {
  const layers = signatures.map(s => blob(s.payload, MEDIA.simpleSigning, s.annotations))
  return cosignImage(layers, digestTag(subjectDigest, '.sig'))
}

/** Legacy `.att` image: one DSSE envelope layer per attestation, tag `sha256-<hex>.att`. */
export function legacyAttestationImage(
  subjectDigest: string,
  attestations: {envelopeBytes: Buffer; annotations: Record<string, string>}[],
): OciImage {
  const layers = attestations.map(a => blob(a.envelopeBytes, MEDIA.dsseEnvelope, a.annotations))
  return cosignImage(layers, digestTag(subjectDigest, '.att'))
}

/**
 * Sigstore bundle referrer (BUNDLE_SPEC.md): artifactType bundle v0.3, config = the empty descriptor, one layer =
 * the bundle JSON, subject = the signed image. `tag` is the referrers fallback tag `sha256-<subject hex>`, which
 * names the index from `referrersIndex()`, not this manifest.
 */
export function bundleReferrer(
  subject: OciDescriptor,
  bundle: SigstoreBundleJSON | Buffer,
  created = new Date(),
): OciImage {
  const bytes = Buffer.isBuffer(bundle) ? bundle : Buffer.from(JSON.stringify(bundle))
  const parsed = JSON.parse(bytes.toString()) as SigstoreBundleJSON
  const layer = blob(bytes, MEDIA.sigstoreBundleV03)
  const annotations: Record<string, string> = {
    'dev.sigstore.bundle.content': parsed.dsseEnvelope ? 'dsse-envelope' : 'message-signature',
  }
  if (parsed.dsseEnvelope) {
    try {
      const st = JSON.parse(Buffer.from(parsed.dsseEnvelope.payload, 'base64').toString()) as {predicateType?: string}
      if (st.predicateType) annotations['dev.sigstore.bundle.predicateType'] = st.predicateType
    } catch {
      /* not an in-toto statement */
    }
  }
  annotations['org.opencontainers.image.created'] = created.toISOString()
  return manifestOf(
    {
      mediaType: MEDIA.ociManifest,
      schemaVersion: 2,
      artifactType: MEDIA.sigstoreBundleV03,
      config: EMPTY_CONFIG.descriptor,
      layers: [layer.descriptor],
      subject: {mediaType: subject.mediaType, digest: subject.digest, size: subject.size},
      annotations,
    },
    {config: EMPTY_CONFIG, layers: [layer], tag: digestTag(subject.digest)},
    MEDIA.sigstoreBundleV03,
  )
}

/** The referrers index (API response or fallback-tag content) listing `referrers`, annotations propagated. */
export function referrersIndex(referrers: OciImage[]): {bytes: Buffer; descriptor: OciDescriptor} {
  const manifests = referrers.map(r => {
    const m = JSON.parse(r.manifest.toString()) as {artifactType?: string; annotations?: Record<string, string>}
    return {
      mediaType: MEDIA.ociManifest,
      digest: r.manifestDescriptor.digest,
      size: r.manifestDescriptor.size,
      ...(m.artifactType ? {artifactType: m.artifactType} : {}),
      ...(m.annotations ? {annotations: m.annotations} : {}),
    }
  })
  const bytes = Buffer.from(JSON.stringify({schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests}))
  return {bytes, descriptor: {mediaType: MEDIA.ociIndex, digest: digestOf(bytes), size: bytes.length}}
}

/** A tiny runnable-looking OCI image (one layer) to sign in tests; `seed` makes distinct images. */
export function sampleImage(seed = 'airlock', platform = {architecture: 'amd64', os: 'linux'}): OciImage {
  const layer = blob(Buffer.from(`layer:${seed}`), MEDIA.ociLayer)
  const config = blob(
    JSON.stringify({...platform, config: {}, rootfs: {type: 'layers', diff_ids: [layer.descriptor.digest]}}),
    MEDIA.ociConfig,
  )
  return manifestOf(
    {schemaVersion: 2, mediaType: MEDIA.ociManifest, config: config.descriptor, layers: [layer.descriptor]},
    {config, layers: [layer]},
  )
}

/** An amd64 OCI image over the given layers (configs differ by `seed`), for tests that share layers across images. */
export function layeredImage(layers: Blob[], seed: string): OciImage {
  const config = blob(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: {Labels: {seed}},
      rootfs: {type: 'layers', diff_ids: layers.map(l => l.descriptor.digest)},
    }),
    MEDIA.ociConfig,
  )
  return manifestOf(
    {schemaVersion: 2, mediaType: MEDIA.ociManifest, config: config.descriptor, layers: layers.map(l => l.descriptor)},
    {config, layers},
  )
}

/** A layer of `size` random (incompressible, unique) bytes. */
export const randomLayer = (size: number): Blob => blob(randomBytes(size), MEDIA.ociLayer)

/** An image index over `images` (multi-platform). */
export function sampleIndex(images: {image: OciImage; platform: {architecture: string; os: string}}[]): {
  bytes: Buffer
  descriptor: OciDescriptor
} {
  const bytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA.ociIndex,
      manifests: images.map(({image, platform}) => ({...image.manifestDescriptor, platform})),
    }),
  )
  return {bytes, descriptor: {mediaType: MEDIA.ociIndex, digest: digestOf(bytes), size: bytes.length}}
}
