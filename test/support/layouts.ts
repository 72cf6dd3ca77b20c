// Builds OCI layouts for tests: random layers (large ones streamed to disk, never held in memory), image
// manifests, multi-arch indexes, names in index.json.
import {createHash, randomBytes} from 'node:crypto'
import {createWriteStream} from 'node:fs'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {Readable} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import type {Descriptor, Platform} from '../../src/oci/descriptor.ts'
import type {Digest} from '../../src/oci/digest.ts'
import {sha256} from '../../src/oci/digest.ts'
import {MediaType} from '../../src/oci/media-types.ts'
import {exportImages} from '../../src/export/export.ts'
import {OciLayoutStore} from '../../src/store/oci-layout.ts'

export async function tempDir(prefix = 'airlock-test-'): Promise<{dir: string; cleanup: () => Promise<void>}> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  return {dir, cleanup: () => rm(dir, {recursive: true, force: true})}
}

export class LayoutBuilder {
  readonly store: OciLayoutStore
  private constructor(store: OciLayoutStore) {
    this.store = store
  }

  static async create(dir: string): Promise<LayoutBuilder> {
    return new LayoutBuilder(await OciLayoutStore.open(dir, {create: true}))
  }

  get dir(): string {
    return this.store.dir
  }

  async blob(bytes: Buffer, mediaType: string): Promise<Descriptor> {
    const d: Descriptor = {mediaType, digest: sha256(bytes), size: bytes.length}
    await this.store.push(d, Readable.from([bytes]))
    return d
  }

  /** A random layer of `size` bytes, generated in 1 MiB chunks straight to disk. */
  async randomLayer(size: number): Promise<Descriptor> {
    const tmp = join(this.dir, `tmp-${randomBytes(4).toString('hex')}`)
    const hash = createHash('sha256')
    async function* gen(): AsyncGenerator<Buffer> {
      for (let left = size; left > 0; ) {
        const n = Math.min(left, 1024 * 1024)
        const chunk = randomBytes(n)
        hash.update(chunk)
        left -= n
        yield chunk
      }
    }
    await pipeline(Readable.from(gen()), createWriteStream(tmp))
    const d: Descriptor = {mediaType: MediaType.OciLayerGzip, digest: `sha256:${hash.digest('hex')}` as Digest, size}
    const {rename} = await import('node:fs/promises')
    await rename(tmp, this.store.blobFile(d))
    return d
  }

  async image(layers: Descriptor[], platform: Platform = {os: 'linux', architecture: 'amd64'}): Promise<Descriptor> {
    const config = await this.blob(
      Buffer.from(
        JSON.stringify({
          architecture: platform.architecture,
          os: platform.os,
          ...(platform.variant ? {variant: platform.variant} : {}),
          rootfs: {type: 'layers', diff_ids: layers.map(l => l.digest)},
        }),
      ),
      MediaType.OciConfig,
    )
    const manifest = Buffer.from(JSON.stringify({schemaVersion: 2, mediaType: MediaType.OciManifest, config, layers}))
    return this.blob(manifest, MediaType.OciManifest)
  }

  async index(children: Array<{descriptor: Descriptor; platform: Platform}>): Promise<Descriptor> {
    const body = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.OciIndex,
        manifests: children.map(c => ({...c.descriptor, platform: c.platform})),
      }),
    )
    return this.blob(body, MediaType.OciIndex)
  }

  async tag(d: Descriptor, name: string): Promise<void> {
    await this.store.tag(d, name)
  }
}

/** The standard test layout: a single-arch image and a 3-platform index sharing a layer. */
export async function standardLayout(
  dir: string,
): Promise<{builder: LayoutBuilder; single: Descriptor; multi: Descriptor; shared: Descriptor}> {
  const b = await LayoutBuilder.create(dir)
  const shared = await b.blob(randomBytes(3000), MediaType.OciLayerGzip)
  const single = await b.image([shared, await b.blob(randomBytes(1000), MediaType.OciLayerGzip)])
  const children = []
  for (const platform of [
    {os: 'linux', architecture: 'amd64'},
    {os: 'linux', architecture: 'arm64'},
    {os: 'linux', architecture: 'arm', variant: 'v7'},
  ] as Platform[]) {
    children.push({
      descriptor: await b.image([shared, await b.blob(randomBytes(2000), MediaType.OciLayerGzip)], platform),
      platform,
    })
  }
  const multi = await b.index(children)
  await b.tag(single, 'example.com/test/single:1.0')
  await b.tag(multi, 'example.com/test/multi:1.0')
  return {builder: b, single, multi, shared}
}

/** The standard layout under DIR/layout, exported (both images) into OUT: the archive most integrity tests start from. */
export async function standardArchive(dir: string, out: string): Promise<Awaited<ReturnType<typeof standardLayout>>> {
  const layout = await standardLayout(join(dir, 'layout'))
  await exportImages({
    sources: [`oci:${dir}/layout:example.com/test/single:1.0`, `oci:${dir}/layout:example.com/test/multi:1.0`],
    output: out,
  })
  return layout
}

export {writeFile}
