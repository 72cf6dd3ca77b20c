// Generates fixtures/example/: a tiny OCI image layout for the README quick start and the demo. Run once with
// `node scripts/make-example-fixture.ts`; the output is committed. Content is deterministic (no randomness, fixed
// timestamps) so re-running gives identical files.
//   example.com/demo/hello:1.0   single image, linux/amd64
//   example.com/demo/multi:1.0   index: linux/amd64 + linux/arm64
// All three image manifests share one base layer.
import {rm} from 'node:fs/promises'
import {gzipSync} from 'node:zlib'
import {Readable} from 'node:stream'
import {Header} from 'tar'
import {sha256} from '../src/oci/digest.ts'
import type {Descriptor, Platform} from '../src/oci/descriptor.ts'
import {MediaType} from '../src/oci/media-types.ts'
import {OciLayoutStore} from '../src/store/oci-layout.ts'

const dir = new URL('../fixtures/example/', import.meta.url).pathname

/** A one-file tar, gzipped, as a layer (real layer format, so tools that unpack it are happy). */
function layer(path: string, content: string): Buffer {
  const body = Buffer.from(content)
  const block = Buffer.alloc(512)
  new Header({
    path,
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: body.length,
    mtime: new Date(0),
    type: 'File',
    uname: '',
    gname: '',
  }).encode(block, 0)
  const pad = Buffer.alloc((512 - (body.length % 512)) % 512)
  return gzipSync(Buffer.concat([block, body, pad, Buffer.alloc(1024)]), {level: 9})
}

await rm(dir, {recursive: true, force: true})
const store = await OciLayoutStore.open(dir, {create: true})
async function put(bytes: Buffer, mediaType: string): Promise<Descriptor> {
  const d: Descriptor = {mediaType, digest: sha256(bytes), size: bytes.length}
  await store.push(d, Readable.from([bytes]))
  return d
}
async function image(layers: Descriptor[], platform: Platform, cmd: string): Promise<Descriptor> {
  const config = Buffer.from(
    JSON.stringify({
      architecture: platform.architecture,
      os: platform.os,
      config: {Cmd: ['/bin/sh', '-c', cmd]},
      rootfs: {type: 'layers', diff_ids: layers.map(l => l.digest)},
      created: '1970-01-01T00:00:00Z',
    }),
  )
  const c = await put(config, MediaType.OciConfig)
  return put(
    Buffer.from(JSON.stringify({schemaVersion: 2, mediaType: MediaType.OciManifest, config: c, layers})),
    MediaType.OciManifest,
  )
}

const base = await put(layer('etc/os-release', 'NAME="airlock example base"\n'), MediaType.OciLayerGzip)
const hello = await image(
  [base, await put(layer('hello.txt', 'hello from airlock\n'), MediaType.OciLayerGzip)],
  {os: 'linux', architecture: 'amd64'},
  'cat /hello.txt',
)
const amd64 = await image(
  [base, await put(layer('arch.txt', 'amd64\n'), MediaType.OciLayerGzip)],
  {os: 'linux', architecture: 'amd64'},
  'cat /arch.txt',
)
const arm64 = await image(
  [base, await put(layer('arch.txt', 'arm64\n'), MediaType.OciLayerGzip)],
  {os: 'linux', architecture: 'arm64'},
  'cat /arch.txt',
)
const index = await put(
  Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OciIndex,
      manifests: [
        {...amd64, platform: {os: 'linux', architecture: 'amd64'}},
        {...arm64, platform: {os: 'linux', architecture: 'arm64'}},
      ],
    }),
  ),
  MediaType.OciIndex,
)
await store.tag(hello, 'example.com/demo/hello:1.0')
await store.tag(index, 'example.com/demo/multi:1.0')
process.stdout.write(`wrote ${dir}\n`)
