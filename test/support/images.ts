// Test images, generated and pushed with the project's own Repository API. Layers are random (incompressible)
// bytes written to temporary files while they are hashed, so a 300 MB layer costs 300 MB of disk and a few
// hundred KB of memory; pushes stream from those files. Configs and manifests are small and built in memory.
import {createHash, randomBytes} from 'node:crypto'
import {createReadStream, createWriteStream, mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {Readable} from 'node:stream'
import {finished} from 'node:stream/promises'
import type {Descriptor, Platform} from '../../src/oci/descriptor.ts'
import {sha256, type Digest} from '../../src/oci/digest.ts'
import {MediaType} from '../../src/oci/media-types.ts'
import type {Repository} from '../../src/registry/index.ts'

export type Flavor = 'oci' | 'docker'

/** A blob kept in a file (layers) or in memory (configs, manifests). */
export interface TestBlob {
  descriptor: Descriptor
  path?: string
  bytes?: Buffer
}

export interface TestImage {
  /** Descriptor of the image manifest. */
  descriptor: Descriptor
  manifestBytes: Buffer
  config: TestBlob
  layers: TestBlob[]
  platform: Platform
}

export interface TestIndex {
  descriptor: Descriptor
  indexBytes: Buffer
  images: TestImage[]
}

/** A scratch directory for layer files; call cleanup() when the suite ends. */
export function makeWorkDir(prefix = 'airlock-images-'): {dir: string; cleanup(): void} {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  return {dir, cleanup: () => rmSync(dir, {recursive: true, force: true})}
}

const WRITE_CHUNK = 1024 * 1024

/** Streams `size` random bytes into a new file under `dir`, hashing as it goes. */
export async function randomLayerFile(
  dir: string,
  size: number,
  mediaType: string = MediaType.OciLayer,
): Promise<TestBlob> {
  const hash = createHash('sha256')
  const path = join(dir, `layer-${randomBytes(8).toString('hex')}`)
  const out = createWriteStream(path)
  for (let written = 0; written < size; ) {
    const chunk = randomBytes(Math.min(WRITE_CHUNK, size - written))
    hash.update(chunk)
    written += chunk.length
    if (!out.write(chunk)) await new Promise<void>(resolve => out.once('drain', () => resolve()))
  }
  out.end()
  await finished(out)
  return {descriptor: {mediaType, digest: `sha256:${hash.digest('hex')}` as Digest, size}, path}
}

export function blobStream(blob: TestBlob): Readable {
  if (blob.path) return createReadStream(blob.path)
  return Readable.from([blob.bytes ?? Buffer.alloc(0)])
}

function memoryBlob(mediaType: string, bytes: Buffer): TestBlob {
  return {descriptor: {mediaType, digest: sha256(bytes), size: bytes.length}, bytes}
}

export interface ImageSpec {
  flavor?: Flavor
  /** Sizes of new random layers. */
  layerSizes?: number[]
  /** Existing layers to include first (shared between images). */
  sharedLayers?: TestBlob[]
  platform?: Platform
  annotations?: Record<string, string>
}

/** Builds an image (files for layers, bytes for config and manifest) without pushing it. */
export async function buildImage(dir: string, spec: ImageSpec = {}): Promise<TestImage> {
  const flavor = spec.flavor ?? 'oci'
  const layerType = flavor === 'oci' ? MediaType.OciLayer : MediaType.DockerLayerGzip
  const layers = [...(spec.sharedLayers ?? [])]
  for (const size of spec.layerSizes ?? [1024]) layers.push(await randomLayerFile(dir, size, layerType))
  const platform = spec.platform ?? {os: 'linux', architecture: 'amd64'}
  const configJson = {
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant ? {variant: platform.variant} : {}),
    created: '2024-01-01T00:00:00Z',
    config: {Env: ['PATH=/usr/bin'], Labels: {nonce: randomBytes(8).toString('hex')}},
    rootfs: {type: 'layers', diff_ids: layers.map(l => l.descriptor.digest)},
  }
  const config = memoryBlob(
    flavor === 'oci' ? MediaType.OciConfig : MediaType.DockerConfig,
    Buffer.from(JSON.stringify(configJson)),
  )
  const manifestType = flavor === 'oci' ? MediaType.OciManifest : MediaType.DockerManifest
  const manifestBytes = Buffer.from(
    JSON.stringify(
      {
        schemaVersion: 2,
        mediaType: manifestType,
        config: config.descriptor,
        layers: layers.map(l => l.descriptor),
        ...(spec.annotations ? {annotations: spec.annotations} : {}),
      },
      null,
      2, // indented on purpose: byte-for-byte handling must not depend on compact JSON
    ),
  )
  return {
    descriptor: {mediaType: manifestType, digest: sha256(manifestBytes), size: manifestBytes.length},
    manifestBytes,
    config,
    layers,
    platform,
  }
}

/** Builds an OCI index or Docker manifest list over images (each entry carries its platform). */
export function buildIndex(
  images: TestImage[],
  flavor: Flavor = 'oci',
  annotations?: Record<string, string>,
): TestIndex {
  const mediaType = flavor === 'oci' ? MediaType.OciIndex : MediaType.DockerManifestList
  const indexBytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType,
      manifests: images.map(image => ({...image.descriptor, platform: image.platform})),
      ...(annotations ? {annotations} : {}),
    }),
  )
  return {descriptor: {mediaType, digest: sha256(indexBytes), size: indexBytes.length}, indexBytes, images}
}

/** Pushes a blob unless the repository already has it. */
export async function pushBlob(repository: Repository, blob: TestBlob): Promise<void> {
  if (await repository.exists(blob.descriptor)) return
  await repository.push(blob.descriptor, blobStream(blob))
}

/** Pushes layers, config and manifest; tags the manifest when `tag` is given. */
export async function pushImage(repository: Repository, image: TestImage, tag?: string): Promise<Descriptor> {
  await Promise.all(image.layers.map(layer => pushBlob(repository, layer)))
  await pushBlob(repository, image.config)
  await repository.push(image.descriptor, Readable.from([image.manifestBytes]))
  if (tag) await repository.tag(image.descriptor, tag)
  return image.descriptor
}

/** Pushes every image of an index, then the index; tags the index when `tag` is given. */
export async function pushIndex(repository: Repository, index: TestIndex, tag?: string): Promise<Descriptor> {
  for (const image of index.images) await pushImage(repository, image)
  await repository.push(index.descriptor, Readable.from([index.indexBytes]))
  if (tag) await repository.tag(index.descriptor, tag)
  return index.descriptor
}

/**
 * A multi-platform image whose platforms share one base layer: the common shape of real images, and what dedup
 * tests need. Returns the index (its images hold every descriptor) after pushing it.
 */
export async function pushMultiPlatformImage(
  repository: Repository,
  dir: string,
  options: {
    flavor?: Flavor
    platforms?: Platform[]
    sharedLayerSize?: number
    layerSizes?: number[]
    tag?: string
  } = {},
): Promise<TestIndex> {
  const platforms = options.platforms ?? [
    {os: 'linux', architecture: 'amd64'},
    {os: 'linux', architecture: 'arm64', variant: 'v8'},
  ]
  const flavor = options.flavor ?? 'oci'
  const shared = await randomLayerFile(
    dir,
    options.sharedLayerSize ?? 2048,
    flavor === 'oci' ? MediaType.OciLayer : MediaType.DockerLayerGzip,
  )
  const images: TestImage[] = []
  for (const platform of platforms)
    images.push(
      await buildImage(dir, {flavor, platform, sharedLayers: [shared], layerSizes: options.layerSizes ?? [1024]}),
    )
  const index = buildIndex(images, flavor)
  await pushIndex(repository, index, options.tag)
  return index
}
