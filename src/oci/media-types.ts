// Media types airlock understands. Manifests and indexes are the nodes of the content graph; everything else
// is a leaf blob that is copied byte for byte.

export const MediaType = {
  OciManifest: 'application/vnd.oci.image.manifest.v1+json',
  OciIndex: 'application/vnd.oci.image.index.v1+json',
  OciConfig: 'application/vnd.oci.image.config.v1+json',
  OciLayer: 'application/vnd.oci.image.layer.v1.tar',
  OciLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  OciLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  OciEmpty: 'application/vnd.oci.empty.v1+json',
  DockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  DockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  DockerConfig: 'application/vnd.docker.container.image.v1+json',
  DockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  CosignSimpleSigning: 'application/vnd.dev.cosign.simplesigning.v1+json',
  DsseEnvelope: 'application/vnd.dsse.envelope.v1+json',
  SigstoreBundle03: 'application/vnd.dev.sigstore.bundle.v0.3+json',
} as const

export const IMAGE_MANIFEST_TYPES: readonly string[] = [MediaType.OciManifest, MediaType.DockerManifest]
export const INDEX_TYPES: readonly string[] = [MediaType.OciIndex, MediaType.DockerManifestList]
export const MANIFEST_TYPES: readonly string[] = [...IMAGE_MANIFEST_TYPES, ...INDEX_TYPES]

/** The Accept header for manifest requests: every manifest type we can parse. */
export const MANIFEST_ACCEPT = MANIFEST_TYPES.join(', ')

/** Manifests are small JSON documents; anything bigger is refused before it is read (GUIDE section 2, issue 2). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024

export function isManifestType(mediaType: string | undefined): boolean {
  return mediaType !== undefined && MANIFEST_TYPES.includes(mediaType)
}

export function isIndexType(mediaType: string | undefined): boolean {
  return mediaType !== undefined && INDEX_TYPES.includes(mediaType)
}

/** The OCI image layout's name for an index.json entry (image-layout spec). */
export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name'
