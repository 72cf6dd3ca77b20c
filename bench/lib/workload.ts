// The benchmark workload: images in a local Distribution registry, generated from seeds and streamed to it.
//
// Per scale unit ("group"), about 2 GB (1910 MiB of layers):
//   10 app images, 4-6 layers each, sharing three base layers (64, 32, 16 MiB) between them,
//   1 image with a single 520 MiB layer,
//   1 multi-arch index (linux/amd64 + linux/arm64), whose platform images share a base layer with the apps.
// `--scale N` adds N groups (N x the images and N x the bytes, same shape), `--quick` divides every layer by 10.
//
// Layer bytes are AES-256-CTR keystream (incompressible, deterministic from the layer id) after a 10-byte gzip
// header, so tools that sniff compression (skopeo) see a compressed layer and copy it byte for byte, as real
// images are. Layers are generated in 1 MiB chunks, hashed as they go and streamed to the registry with a chunked
// PATCH upload (one pass, never in memory); a layer shared between repositories is cross-repository mounted.
import {createCipheriv, createHash} from 'node:crypto'
import {Readable} from 'node:stream'
import {http, expectStatus, header} from './http.ts'

const MiB = 1024 * 1024
const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff])

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json'
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json'
const OCI_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip'
export const SIMPLESIGNING = 'application/vnd.dev.cosign.simplesigning.v1+json'

export interface LayerPlan {
  id: string
  size: number
}
export interface PlatformPlan {
  os: string
  architecture: string
  layers: LayerPlan[]
}
export interface ImagePlan {
  repo: string
  tag: string
  platforms: PlatformPlan[] // one entry: a plain image; more: an index
}

export interface WorkloadPlan {
  scale: number
  quick: boolean
  images: ImagePlan[]
}

export function planWorkload(scale: number, quick: boolean): WorkloadPlan {
  const f = quick ? 0.1 : 1
  const mib = (n: number) => Math.round(n * f * MiB)
  const images: ImagePlan[] = []
  for (let g = 0; g < scale; g++) {
    const base = [
      {id: `g${g}-base0`, size: mib(64)},
      {id: `g${g}-base1`, size: mib(32)},
      {id: `g${g}-base2`, size: mib(16)},
    ]
    for (let i = 0; i < 10; i++) {
      const n = g * 10 + i
      const layers: LayerPlan[] = [base[i % 2]!]
      if (i % 3 === 0) layers.push(base[2]!)
      layers.push(
        {id: `app${n}-l0`, size: mib(56)},
        {id: `app${n}-l1`, size: mib(28)},
        {id: `app${n}-l2`, size: mib(14)},
        {id: `app${n}-l3`, size: mib(1)},
      )
      images.push({repo: `bench/app-${n}`, tag: 'v1', platforms: [{os: 'linux', architecture: 'amd64', layers}]})
    }
    images.push({
      repo: `bench/big-${g}`,
      tag: 'v1',
      platforms: [{os: 'linux', architecture: 'amd64', layers: [{id: `big${g}-l0`, size: mib(520)}]}],
    })
    images.push({
      repo: `bench/multi-${g}`,
      tag: 'v1',
      platforms: ['amd64', 'arm64'].map(arch => ({
        os: 'linux',
        architecture: arch,
        layers: [base[0]!, {id: `multi${g}-${arch}-l0`, size: mib(96)}, {id: `multi${g}-${arch}-l1`, size: mib(48)}],
      })),
    })
  }
  return {scale, quick, images}
}

/** Incompressible deterministic bytes for a layer, in 1 MiB chunks, hashing as they are produced. */
export function layerStream(layer: LayerPlan, onDone: (digest: string) => void): Readable {
  const key = createHash('sha256').update(`airlock-bench/${layer.id}`).digest()
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16))
  const zeros = Buffer.alloc(MiB)
  const hash = createHash('sha256')
  let left = layer.size
  let first = true
  return new Readable({
    highWaterMark: 2 * MiB,
    read() {
      if (left === 0) {
        onDone(`sha256:${hash.digest('hex')}`)
        this.push(null)
        return
      }
      const n = Math.min(MiB, left)
      const chunk = cipher.update(n === MiB ? zeros : zeros.subarray(0, n))
      if (first) {
        GZIP_HEADER.copy(chunk, 0, 0, Math.min(GZIP_HEADER.length, n))
        first = false
      }
      left -= n
      hash.update(chunk)
      this.push(chunk)
    },
  })
}

export interface PushedImage {
  reference: string // host/repo:tag
  repo: string
  tag: string
  digest: string // root manifest or index digest
  mediaType: string
  manifests: number // manifests in the graph (index + platform manifests)
}

export interface Workload {
  plan: WorkloadPlan
  host: string
  images: PushedImage[]
  /** Unique bytes of all image blobs and manifests (what an archive stores once), signatures excluded. */
  imageBytes: number
  /** Unique blobs + manifests of the images. */
  imageObjects: number
  signatures: number
  generateSeconds: number
}

/** Annotations of a legacy cosign signature layer for this simple-signing payload. */
export type LegacySigner = (
  payload: Buffer,
  subject: {reference: string; digest: string},
) => Promise<Record<string, string>>

class Uploader {
  readonly url: string
  private readonly layerDigests = new Map<string, Promise<{digest: string; repo: string}>>()
  uniqueBytes = 0
  uniqueObjects = 0
  private readonly seen = new Set<string>()

  constructor(url: string) {
    this.url = url
  }

  private count(digest: string, size: number): void {
    if (this.seen.has(digest)) return
    this.seen.add(digest)
    this.uniqueBytes += size
    this.uniqueObjects++
  }

  private abs(location: string): string {
    return location.startsWith('http') ? location : `${this.url}${location}`
  }

  async layer(repo: string, layer: LayerPlan): Promise<{digest: string; size: number}> {
    const pending = this.layerDigests.get(layer.id)
    if (pending) {
      const known = await pending
      if (known.repo !== repo) {
        const res = await http(
          'POST',
          `${this.url}/v2/${repo}/blobs/uploads/?mount=${known.digest}&from=${known.repo}`,
          {'content-length': '0'},
        )
        if (res.status !== 201) {
          // mount refused: upload it again
          expectStatus(res, [202], `mount ${layer.id}`)
          await this.stream(this.abs(header(res, 'location')), layer)
        }
      }
      return {digest: known.digest, size: layer.size}
    }
    const upload = (async () => {
      const start = await http('POST', `${this.url}/v2/${repo}/blobs/uploads/`, {'content-length': '0'})
      expectStatus(start, [202], `start upload ${layer.id}`)
      const digest = await this.stream(this.abs(header(start, 'location')), layer)
      this.count(digest, layer.size)
      return {digest, repo}
    })()
    this.layerDigests.set(layer.id, upload)
    const {digest} = await upload
    return {digest, size: layer.size}
  }

  private async stream(location: string, layer: LayerPlan): Promise<string> {
    let digest = ''
    const body = layerStream(layer, d => (digest = d))
    const patch = await http('PATCH', location, {'content-type': 'application/octet-stream'}, body)
    expectStatus(patch, [202], `upload ${layer.id}`)
    const put = this.abs(header(patch, 'location'))
    const done = await http('PUT', `${put}${put.includes('?') ? '&' : '?'}digest=${digest}`, {'content-length': '0'})
    expectStatus(done, [201], `commit ${layer.id}`)
    return digest
  }

  async blob(repo: string, data: Buffer): Promise<{digest: string; size: number}> {
    const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`
    const start = await http('POST', `${this.url}/v2/${repo}/blobs/uploads/`, {'content-length': '0'})
    expectStatus(start, [202], `start upload ${digest}`)
    const loc = this.abs(header(start, 'location'))
    const res = await http(
      'PUT',
      `${loc}${loc.includes('?') ? '&' : '?'}digest=${digest}`,
      {'content-type': 'application/octet-stream', 'content-length': String(data.length)},
      data,
    )
    expectStatus(res, [201], `upload ${digest}`)
    this.count(digest, data.length)
    return {digest, size: data.length}
  }

  async manifest(repo: string, ref: string, mediaType: string, body: Buffer, counted = true): Promise<string> {
    const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`
    const res = await http(
      'PUT',
      `${this.url}/v2/${repo}/manifests/${ref}`,
      {'content-type': mediaType, 'content-length': String(body.length)},
      body,
    )
    expectStatus(res, [201], `manifest ${repo}:${ref}`)
    if (counted) this.count(digest, body.length)
    return digest
  }
}

async function pushPlatform(
  up: Uploader,
  repo: string,
  name: string,
  p: PlatformPlan,
): Promise<{digest: string; size: number; body: Buffer}> {
  const layers = []
  for (const l of p.layers) layers.push(await up.layer(repo, l))
  const config = Buffer.from(
    JSON.stringify({
      architecture: p.architecture,
      os: p.os,
      config: {Labels: {'airlock.bench': name}},
      rootfs: {type: 'layers', diff_ids: layers.map(l => l.digest)},
    }),
  )
  const cfg = await up.blob(repo, config)
  const body = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: {mediaType: OCI_CONFIG, digest: cfg.digest, size: cfg.size},
      layers: layers.map(l => ({mediaType: OCI_LAYER_GZIP, digest: l.digest, size: l.size})),
    }),
  )
  const digest = createHash('sha256').update(body).digest('hex')
  return {digest: `sha256:${digest}`, size: body.length, body}
}

async function pushImage(up: Uploader, host: string, img: ImagePlan): Promise<PushedImage> {
  const reference = `${host}/${img.repo}:${img.tag}`
  if (img.platforms.length === 1) {
    const m = await pushPlatform(up, img.repo, reference, img.platforms[0]!)
    const digest = await up.manifest(img.repo, img.tag, OCI_MANIFEST, m.body)
    return {reference, repo: img.repo, tag: img.tag, digest, mediaType: OCI_MANIFEST, manifests: 1}
  }
  const entries = []
  for (const p of img.platforms) {
    const m = await pushPlatform(up, img.repo, `${reference} ${p.os}/${p.architecture}`, p)
    await up.manifest(img.repo, m.digest, OCI_MANIFEST, m.body)
    entries.push({
      mediaType: OCI_MANIFEST,
      digest: m.digest,
      size: m.size,
      platform: {os: p.os, architecture: p.architecture},
    })
  }
  const index = Buffer.from(JSON.stringify({schemaVersion: 2, mediaType: OCI_INDEX, manifests: entries}))
  const digest = await up.manifest(img.repo, img.tag, OCI_INDEX, index)
  return {reference, repo: img.repo, tag: img.tag, digest, mediaType: OCI_INDEX, manifests: 1 + entries.length}
}

/** The simple-signing payload cosign signs for an image (legacy `.sig`). */
export function simpleSigningPayload(repoWithHost: string, digest: string): Buffer {
  return Buffer.from(
    JSON.stringify({
      critical: {
        identity: {'docker-reference': repoWithHost},
        image: {'docker-manifest-digest': digest},
        type: 'cosign container image signature',
      },
      optional: null,
    }),
  )
}

/** Attaches a legacy cosign signature (`sha256-<hex>.sig` tag) to an image. */
export async function attachLegacySignature(
  up: Uploader,
  host: string,
  image: PushedImage,
  signer: LegacySigner,
): Promise<void> {
  const payload = simpleSigningPayload(`${host}/${image.repo}`, image.digest)
  const annotations = await signer(payload, {reference: image.reference, digest: image.digest})
  const layer = await up.blob(image.repo, payload)
  const config = await up.blob(
    image.repo,
    Buffer.from(
      JSON.stringify({architecture: '', os: '', config: {}, rootfs: {type: 'layers', diff_ids: [layer.digest]}}),
    ),
  )
  const body = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: {mediaType: OCI_CONFIG, digest: config.digest, size: config.size},
      layers: [{mediaType: SIMPLESIGNING, digest: layer.digest, size: layer.size, annotations}],
    }),
  )
  await up.manifest(image.repo, `sha256-${image.digest.slice(7)}.sig`, OCI_MANIFEST, body, false)
}

export async function generateWorkload(
  url: string,
  host: string,
  plan: WorkloadPlan,
  signer: LegacySigner | undefined,
  log: (line: string) => void = () => {},
): Promise<Workload> {
  const started = process.hrtime.bigint()
  const up = new Uploader(url)
  const images: PushedImage[] = []
  // two images at a time: the generator (AES + sha256) and the registry share the 2 cores
  const queue = [...plan.images]
  const workers = [0, 1].map(async () => {
    for (let img = queue.shift(); img; img = queue.shift()) {
      const pushed = await pushImage(up, host, img)
      images.push(pushed)
      log(`  pushed ${pushed.reference} ${pushed.digest.slice(0, 19)}`)
    }
  })
  await Promise.all(workers)
  const imageBytes = up.uniqueBytes
  const imageObjects = up.uniqueObjects
  let signatures = 0
  if (signer) {
    for (const image of images) {
      await attachLegacySignature(up, host, image, signer)
      signatures++
    }
  }
  images.sort((a, b) => a.reference.localeCompare(b.reference, 'en', {numeric: true}))
  const generateSeconds = Number(process.hrtime.bigint() - started) / 1e9
  return {plan, host, images, imageBytes, imageObjects, signatures, generateSeconds}
}
