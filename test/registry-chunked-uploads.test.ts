// Chunked uploads against registries and proxies that constrain them (issue 18 item 10), through fronts replaying
// their answers over the real registry (test/support/quirks-front.ts): nginx's client_max_body_size (413 to a body
// over 1 MiB, chunks included), an OCI-Chunk-Min-Length on the upload session, and upload Locations that move to
// another path, another host or plain HTTP. Both upload paths are driven: from a re-readable file region (push from
// an archive) and from a stream (chunks copied into buffers). Every blob that is accepted is checked on the real
// registry behind the front: present under its digest with its size.
import assert from 'node:assert/strict'
import {createHash, randomBytes} from 'node:crypto'
import {createReadStream, writeFileSync} from 'node:fs'
import {open} from 'node:fs/promises'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import type {RereadableBlob} from '../src/content/types.ts'
import type {Descriptor} from '../src/oci/descriptor.ts'
import {MediaType} from '../src/oci/media-types.ts'
import {parseReference} from '../src/reference/index.ts'
import {RegistryClient, type RegistryOptions} from '../src/registry/index.ts'
import {makeWorkDir} from './support/images.ts'
import {startQuirksFront, type QuirkMode, type QuirksFront, type QuirksFrontOptions} from './support/quirks-front.ts'
import {makeCertificates, startRegistry, type StartedRegistry} from './support/registry.ts'

const MiB = 1024 * 1024

describe('chunked uploads under body limits, minimum chunk sizes and moved upload locations', () => {
  let registry: StartedRegistry
  const work = makeWorkDir('airlock-chunks-')
  const fronts: QuirksFront[] = []
  let file = ''
  let blob: Descriptor
  let n = 0

  before(async () => {
    registry = await startRegistry({auth: 'none'})
    const bytes = randomBytes(3 * MiB + 40 * 1024)
    file = join(work.dir, 'layer')
    writeFileSync(file, bytes)
    blob = {
      mediaType: MediaType.OciLayerGzip,
      digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`,
      size: bytes.length,
    }
  })
  after(async () => {
    await Promise.all(fronts.map(f => f.stop()))
    await registry?.stop()
    work.cleanup()
  })

  const region: () => RereadableBlob = () => ({
    size: blob.size,
    open: (offset, length) => createReadStream(file, {start: offset, end: offset + length - 1}),
  })
  /** The same region with positional reads, as the archive reader offers it (pooled upload buffers). */
  const readableRegion = (): RereadableBlob => ({
    ...region(),
    read: async (target, offset) => {
      const fh = await open(file)
      try {
        return (await fh.read(target, 0, target.length, offset)).bytesRead
      } finally {
        await fh.close()
      }
    },
  })

  async function front(mode: QuirkMode, options: QuirksFrontOptions = {}): Promise<QuirksFront> {
    const f = await startQuirksFront(registry.host, mode, options)
    fronts.push(f)
    return f
  }

  /** Pushes the blob through `f` into a fresh repository, from the file region or from a stream. */
  async function push(
    f: QuirksFront,
    how: 'region' | 'stream' | 'readable-region',
    options: Partial<RegistryOptions> = {},
  ) {
    const repository = `chunks/r${++n}`
    const client = new RegistryClient({insecure: [f.host], retryBaseMs: 1, ...options})
    try {
      const repo = client.repository(parseReference(`${f.host}/${repository}`))
      if (how === 'region') await repo.pushFrom(blob, region())
      else if (how === 'readable-region') await repo.pushFrom(blob, readableRegion())
      else await repo.push(blob, createReadStream(file))
    } finally {
      client.close()
    }
    return repository
  }

  async function held(repository: string): Promise<boolean> {
    const res = await fetch(`${registry.url}/v2/${repository}/blobs/${blob.digest}`, {method: 'HEAD'})
    return res.status === 200 && Number(res.headers.get('content-length')) === blob.size
  }

  it('nginx 413: the whole blob is refused, then chunks shrink until nginx takes them (file region)', async () => {
    const f = await front('nginx-413')
    const repository = await push(f, 'region', {chunkSize: 4 * MiB})
    assert.ok(await held(repository))
    assert.equal(f.count(/^PUT .*digest=.* -> 413$/), 1, f.log.join('\n'))
    // all 3 MiB + 40 KiB refused, then half of it refused, then four quarters taken
    assert.equal(f.count(/^PATCH .* -> 413$/), 2, f.log.join('\n'))
    assert.equal(f.count(/^PATCH .* -> 202$/), 4, f.log.join('\n'))
  })

  it('nginx 413: the same with positional reads into pooled buffers (the archive reader)', async () => {
    const f = await front('nginx-413')
    const repository = await push(f, 'readable-region', {chunkSize: 4 * MiB})
    assert.ok(await held(repository))
    assert.equal(f.count(/^PATCH .* -> 413$/), 2, f.log.join('\n'))
    assert.equal(f.count(/^PATCH .* -> 202$/), 4, f.log.join('\n'))
  })

  it('nginx 413: a chunk refused is split and sent again (stream)', async () => {
    const f = await front('nginx-413')
    const repository = await push(f, 'stream', {chunkSize: 2 * MiB})
    assert.ok(await held(repository))
    assert.equal(f.count(/^PATCH .* -> 413$/), 1, f.log.join('\n'))
  })

  it('a body limit no chunk fits under fails in one line that names the proxy setting', async () => {
    const f = await front('nginx-413', {bodyLimit: 16 * 1024})
    await assert.rejects(push(f, 'region', {chunkSize: 4 * MiB}), (error: Error & {hint?: string}) => {
      assert.match(error.message, /HTTP 413/)
      assert.doesNotMatch(error.message, /\n|<html>/)
      assert.match(error.hint ?? '', /client_max_body_size/)
      return true
    })
  })

  it('OCI-Chunk-Min-Length is honoured when it is above the chunk size (file region and stream)', async () => {
    const f = await front('chunk-min-length', {chunkMinLength: MiB})
    const a = await push(f, 'region', {chunkSize: 256 * 1024, monolithicMax: 512 * 1024})
    const b = await push(f, 'stream', {chunkSize: 256 * 1024})
    assert.ok((await held(a)) && (await held(b)))
    assert.equal(f.count(/-> 416$/), 0, f.log.join('\n'))
    assert.equal(f.count(/^PATCH .* -> 202$/), 8, 'four chunks each: 1 MiB x3 and the rest')
  })

  it('an upload Location on another path of the same host is followed', async () => {
    const f = await front('upload-location', {uploadLocation: 'other-path'})
    const repository = await push(f, 'region', {chunkSize: MiB, monolithicMax: 512 * 1024})
    assert.ok(await held(repository))
    assert.ok(f.count(/^PATCH \/upload-sessions\/.* -> 202$/) >= 1, f.log.join('\n'))
    assert.equal(f.count(/^PUT \/upload-sessions\/.*digest=.* -> 201$/), 1, f.log.join('\n'))
  })

  it('an upload Location on a host this run was not given is refused, saying why, and nothing is sent there', async () => {
    const f = await front('upload-location', {uploadLocation: 'other-host'})
    await assert.rejects(push(f, 'region'), (error: Error & {hint?: string}) => {
      assert.match(error.message, new RegExp(`upload location on another host \\(${f.elsewhere}\\)`))
      assert.match(error.message, /not a registry this run was given/)
      assert.doesNotMatch(error.message, /\n/)
      assert.match(error.hint ?? '', /external URL|--insecure-registry/)
      return true
    })
    assert.equal(f.count(/^elsewhere: /), 0, 'no request went to the other host')
  })

  it('an upload Location on another host that is a configured registry host is followed (without our credentials)', async () => {
    const f = await front('upload-location', {uploadLocation: 'other-host'})
    const repository = await push(f, 'region', {insecure: [f.host, f.elsewhere!]})
    assert.ok(await held(repository))
    assert.equal(f.count(/^elsewhere: PUT .*digest=/), 1, f.log.join('\n'))
  })

  it('an https upload whose Location downgrades to http is refused even when that host is listed as insecure', async () => {
    const tls = makeCertificates(work.dir, 'front')
    const f = await front('upload-location', {uploadLocation: 'downgrade', tls})
    const client = new RegistryClient({caFile: tls.caFile, insecure: [f.elsewhere!], retryBaseMs: 1})
    try {
      await assert.rejects(
        client.repository(parseReference(`${f.host}/chunks/tls`)).pushFrom(blob, region()),
        (error: Error) => {
          assert.match(error.message, /downgrades .* to plain HTTP/)
          assert.doesNotMatch(error.message, /\n/)
          return true
        },
      )
    } finally {
      client.close()
    }
    assert.equal(f.count(/^elsewhere: /), 0, 'nothing was sent over plain HTTP')
  })
})
