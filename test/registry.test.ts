// The registry client against a real Distribution 2.8: every manifest type round trips byte for byte, resolve,
// tags with pagination, referrers API detection and the fallback tag, mounts, chunked uploads.
import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import {createReadStream} from 'node:fs'
import {Readable} from 'node:stream'
import {buffer} from 'node:stream/consumers'
import {after, before, describe, it} from 'node:test'
import type {Descriptor} from '../src/oci/descriptor.ts'
import {sha256} from '../src/oci/digest.ts'
import {MediaType} from '../src/oci/media-types.ts'
import {parseReference} from '../src/reference/index.ts'
import {referrersTag, RegistryClient, type Repository} from '../src/registry/index.ts'
import {startFaultProxy} from './support/fault-proxy.ts'
import {
  blobStream,
  buildImage,
  buildIndex,
  makeWorkDir,
  pushImage,
  pushIndex,
  pushMultiPlatformImage,
  randomLayerFile,
} from './support/images.ts'
import {startRegistry, type StartedRegistry} from './support/registry.ts'

async function digestOf(stream: Readable): Promise<{digest: string; size: number}> {
  const hash = createHash('sha256')
  let size = 0
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    hash.update(chunk)
    size += chunk.length
  }
  return {digest: `sha256:${hash.digest('hex')}`, size}
}

describe('registry client on Distribution 2.8', () => {
  let registry: StartedRegistry
  let client: RegistryClient
  const work = makeWorkDir()
  const repo = (name: string): Repository => client.repository(parseReference(`${registry.host}/${name}`))

  before(async () => {
    registry = await startRegistry({auth: 'none'})
    client = new RegistryClient({insecure: registry.insecure, chunkSize: 64 * 1024, retryBaseMs: 10})
  })
  after(async () => {
    client?.close()
    await registry?.stop()
    work.cleanup()
  })

  for (const flavor of ['oci', 'docker'] as const) {
    it(`round trips a ${flavor} image manifest byte for byte`, async () => {
      const repository = repo(`roundtrip/${flavor}`)
      const image = await buildImage(work.dir, {flavor, layerSizes: [3000, 10]})
      await pushImage(repository, image, 'v1')

      const byTag = await repository.resolve('v1')
      assert.deepEqual(byTag, image.descriptor)
      assert.deepEqual(await repository.resolve(image.descriptor.digest), image.descriptor)

      const raw = await repository.fetchManifest('v1')
      assert.ok(raw.bytes.equals(image.manifestBytes))
      assert.equal(raw.mediaType, image.descriptor.mediaType)
      assert.equal(raw.parsed.kind, 'manifest')
      assert.ok((await buffer(await repository.fetch(image.descriptor))).equals(image.manifestBytes))
      assert.ok((await buffer(await repository.fetch(image.config.descriptor))).equals(image.config.bytes!))
      for (const layer of image.layers)
        assert.deepEqual(await digestOf(await repository.fetch(layer.descriptor)), {
          digest: layer.descriptor.digest,
          size: layer.descriptor.size,
        })
    })

    it(`round trips a multi-platform ${flavor === 'oci' ? 'OCI index' : 'Docker manifest list'} with a shared layer`, async () => {
      const repository = repo(`multi/${flavor}`)
      const index = await pushMultiPlatformImage(repository, work.dir, {flavor, tag: 'latest'})
      const root = await repository.resolve('latest')
      assert.deepEqual(root, index.descriptor)
      const raw = await repository.fetchManifest(root.digest)
      assert.ok(raw.bytes.equals(index.indexBytes))
      assert.equal(raw.parsed.kind, 'index')
      const children = raw.parsed.kind === 'index' ? raw.parsed.manifests : []
      assert.deepEqual(
        children.map(d => d.platform?.architecture),
        ['amd64', 'arm64'],
      )
      const shared = index.images.map(i => i.layers[0]!.descriptor.digest)
      assert.equal(new Set(shared).size, 1)
      for (const child of children) assert.equal((await repository.fetchManifest(child.digest)).parsed.kind, 'manifest')
    })
  }

  it('answers exists() for blobs and manifests, and NOT_FOUND for unknown tags and blobs', async () => {
    const repository = repo('exists/one')
    const image = await buildImage(work.dir)
    assert.equal(await repository.exists(image.layers[0]!.descriptor), false)
    await pushImage(repository, image, 'x')
    assert.equal(await repository.exists(image.layers[0]!.descriptor), true)
    assert.equal(await repository.exists(image.descriptor), true)
    await assert.rejects(repository.resolve('nope'), {code: 'NOT_FOUND'})
    await assert.rejects(repository.fetch({mediaType: MediaType.OciLayer, digest: sha256('absent'), size: 6}), {
      code: 'NOT_FOUND',
    })
  })

  it('refuses to push content that does not match its descriptor', async () => {
    const repository = repo('push/lies')
    const wrong: Descriptor = {mediaType: MediaType.OciLayer, digest: sha256('something else'), size: 5}
    await assert.rejects(repository.push(wrong, Readable.from([Buffer.from('hello')])), {code: 'DIGEST_MISMATCH'})
    assert.equal(await repository.exists(wrong), false)
    const short: Descriptor = {mediaType: MediaType.OciLayer, digest: sha256('hello'), size: 6}
    await assert.rejects(repository.push(short, Readable.from([Buffer.from('hello')])), {code: 'SIZE_MISMATCH'})
    const manifest = Buffer.from('{"schemaVersion":2}')
    await assert.rejects(
      repository.push(
        {mediaType: MediaType.OciManifest, digest: sha256('x'), size: manifest.length},
        Readable.from([manifest]),
      ),
      {code: 'DIGEST_MISMATCH'},
    )
  })

  it('uploads a large blob in PATCH chunks and a small one in a single PUT', async () => {
    const proxy = await startFaultProxy(registry.host)
    const viaProxy = new RegistryClient({insecure: [proxy.host], chunkSize: 64 * 1024})
    try {
      const repository = viaProxy.repository(parseReference(`${proxy.host}/chunked/one`))
      const big = await randomLayerFile(work.dir, 200 * 1024 + 17)
      await repository.push(big.descriptor, blobStream(big))
      const patches = proxy.requests.filter(r => r.method === 'PATCH')
      assert.equal(patches.length, 4)
      assert.deepEqual(
        patches.map(p => p.headers['content-range']),
        ['0-65535', '65536-131071', '131072-196607', '196608-204816'],
      )
      assert.deepEqual(await digestOf(await repository.fetch(big.descriptor)), {
        digest: big.descriptor.digest,
        size: big.descriptor.size,
      })

      const before = proxy.requests.length
      const small = await randomLayerFile(work.dir, 1000)
      await repository.push(small.descriptor, blobStream(small))
      const methods = proxy.requests.slice(before).map(r => r.method)
      assert.deepEqual(methods, ['POST', 'PUT'])
    } finally {
      viaProxy.close()
      await proxy.stop()
    }
  })

  /** A file region as pushFrom takes it; `opens` counts the reads (a retry re-reads). */
  const region = (file: string | undefined, size: number) => {
    const path = file!
    const opens: Array<[number, number]> = []
    return {
      opens,
      source: {
        size,
        open: (offset: number, length: number) => (
          opens.push([offset, length]), createReadStream(path, {start: offset, end: offset + length - 1})
        ),
      },
    }
  }

  it('pushes a re-readable blob in one streamed PUT, and a reset mid-body is retried by re-reading', async () => {
    const proxy = await startFaultProxy(registry.host)
    const viaProxy = new RegistryClient({insecure: [proxy.host], retryBaseMs: 10})
    try {
      const repository = viaProxy.repository(parseReference(`${proxy.host}/whole/one`))
      const big = await randomLayerFile(work.dir, 3 * 1024 * 1024 + 5)
      const first = region(big.path, big.descriptor.size)
      await repository.pushFrom(big.descriptor, first.source)
      assert.deepEqual(
        proxy.requests.filter(r => r.path.includes('/blobs/uploads/')).map(r => r.method),
        ['POST', 'PUT'],
      )
      assert.deepEqual(first.opens, [[0, big.descriptor.size]])
      assert.deepEqual(await digestOf(await repository.fetch(big.descriptor)), {
        digest: big.descriptor.digest,
        size: big.descriptor.size,
      })

      const other = await randomLayerFile(work.dir, 3 * 1024 * 1024)
      const isPut = (r: {method: string; path: string}) => r.method === 'PUT' && r.path.includes('/blobs/uploads/')
      proxy.add({match: isPut, times: 1, resetAfterRequestBytes: 1024 * 1024})
      const second = region(other.path, other.descriptor.size)
      await repository.pushFrom(other.descriptor, second.source)
      assert.equal(second.opens.length, 2, 'the reset upload was not re-read')
      assert.deepEqual(await digestOf(await repository.fetch(other.descriptor)), {
        digest: other.descriptor.digest,
        size: other.descriptor.size,
      })
    } finally {
      viaProxy.close()
      await proxy.stop()
    }
  })

  it('pushes a re-readable blob over the monolithic limit in streamed PATCH chunks, retrying a reset chunk', async () => {
    const proxy = await startFaultProxy(registry.host)
    const viaProxy = new RegistryClient({
      insecure: [proxy.host],
      chunkSize: 64 * 1024,
      monolithicMax: 100 * 1024,
      retryBaseMs: 10,
    })
    try {
      const repository = viaProxy.repository(parseReference(`${proxy.host}/chunked/ranges`))
      const big = await randomLayerFile(work.dir, 200 * 1024 + 17)
      const isPatch = (r: {method: string}) => r.method === 'PATCH'
      proxy.add({match: isPatch, times: 1, resetAfterRequestBytes: 16 * 1024})
      const mark = proxy.requests.length
      await repository.pushFrom(big.descriptor, region(big.path, big.descriptor.size).source)
      const patches = proxy.requests.slice(mark).filter(isPatch)
      // the first PATCH was reset: the blob is sent again in a new session, chunk by chunk
      assert.deepEqual(
        patches.slice(1).map(p => p.headers['content-range']),
        ['0-65535', '65536-131071', '131072-196607', '196608-204816'],
      )
      assert.deepEqual(await digestOf(await repository.fetch(big.descriptor)), {
        digest: big.descriptor.digest,
        size: big.descriptor.size,
      })
    } finally {
      viaProxy.close()
      await proxy.stop()
    }
  })

  it('refuses a re-readable blob whose bytes do not match, at once and without storing it', async () => {
    const repository = repo('whole/lies')
    const blob = await randomLayerFile(work.dir, 300 * 1024)
    const wrong: Descriptor = {...blob.descriptor, digest: sha256('not this')}
    const started = Date.now()
    await assert.rejects(repository.pushFrom(wrong, region(blob.path, blob.descriptor.size).source), {
      code: 'DIGEST_MISMATCH',
    })
    assert.ok(Date.now() - started < 5000)
    assert.equal(await repository.exists(wrong), false)
    const chunkedClient = new RegistryClient({
      insecure: registry.insecure,
      chunkSize: 64 * 1024,
      monolithicMax: 64 * 1024,
      retryBaseMs: 10,
    })
    try {
      const chunked = chunkedClient.repository(parseReference(`${registry.host}/chunked/lies`))
      await assert.rejects(chunked.pushFrom(wrong, region(blob.path, blob.descriptor.size).source), {
        code: 'DIGEST_MISMATCH',
      })
      assert.equal(await chunked.exists(wrong), false)
    } finally {
      chunkedClient.close()
    }
  })

  it('mounts a blob from another repository instead of uploading it', async () => {
    const source = repo('mount/source')
    const target = repo('mount/target')
    const layer = await randomLayerFile(work.dir, 5000)
    await source.push(layer.descriptor, blobStream(layer))
    assert.equal(await target.exists(layer.descriptor), false)
    assert.equal(await target.mount(layer.descriptor, 'mount/source'), true)
    assert.equal(await target.exists(layer.descriptor), true)
    // a blob the source does not have: the registry opens an upload instead, which we cancel and report as false
    const absent: Descriptor = {mediaType: MediaType.OciLayer, digest: sha256('not there'), size: 9}
    assert.equal(await target.mount(absent, 'mount/source'), false)
  })

  it('lists tags across pages (n=2, Link header)', async () => {
    const repository = repo('tags/many')
    const image = await buildImage(work.dir)
    await pushImage(repository, image)
    const names = ['a', 'b', 'c', 'd', 'e']
    for (const tag of names) await repository.tag(image.descriptor, tag)
    assert.deepEqual((await repository.tags()).sort(), names)

    // Distribution 2.8 ignores `n` on tag lists, so the pages come from the proxy, in the spec's wire format.
    const proxy = await startFaultProxy(registry.host)
    const page = (tags: string[], next?: string) => ({
      status: 200,
      headers: {'Content-Type': 'application/json', ...(next ? {Link: `<${next}>; rel="next"`} : {})},
      body: JSON.stringify({name: 'tags/many', tags}),
    })
    proxy.add({
      match: r => r.path === '/v2/tags/many/tags/list?n=2',
      respond: page(['a', 'b'], '/v2/tags/many/tags/list?n=2&last=b'),
    })
    proxy.add({
      match: r => r.path === '/v2/tags/many/tags/list?n=2&last=b',
      respond: page(['c', 'd'], `http://${proxy.host}/v2/tags/many/tags/list?n=2&last=d`),
    })
    proxy.add({match: r => r.path === '/v2/tags/many/tags/list?n=2&last=d', respond: page(['e'])})
    proxy.add({
      match: r => r.path === '/v2/tags/evil/tags/list?n=2',
      respond: page(['a'], 'http://elsewhere.example/v2/tags/evil/tags/list?last=a'),
    })
    const paged = new RegistryClient({insecure: [proxy.host], tagPageSize: 2})
    try {
      assert.deepEqual(await paged.repository(parseReference(`${proxy.host}/tags/many`)).tags(), names)
      assert.equal(proxy.requests.filter(r => r.path.includes('/tags/list')).length, 3)
      await assert.rejects(paged.repository(parseReference(`${proxy.host}/tags/evil`)).tags(), /another origin/)
    } finally {
      paged.close()
      await proxy.stop()
    }
  })

  it('detects that Distribution 2.8 lacks the referrers API and reads the sha256-<hex> fallback tag', async () => {
    const repository = repo('referrers/app')
    const subjectImage = await buildImage(work.dir)
    const subject = await pushImage(repository, subjectImage, 'v1')
    assert.equal(await repository.referrersCapability(), 'tag-schema')
    assert.deepEqual(await repository.referrers(subject), [])

    // a referrer (a signature-like artifact) and the fallback index that points at it
    const empty = Buffer.from('{}')
    await repository.push({mediaType: MediaType.OciEmpty, digest: sha256(empty), size: 2}, Readable.from([empty]))
    const artifact = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.OciManifest,
        artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
        config: {mediaType: MediaType.OciEmpty, digest: sha256(empty), size: 2},
        layers: [{mediaType: MediaType.OciEmpty, digest: sha256(empty), size: 2}],
        subject,
      }),
    )
    const artifactDescriptor = await repository.pushManifest(artifact, MediaType.OciManifest)
    const fallback = buildIndex([])
    const indexBytes = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.OciIndex,
        manifests: [{...artifactDescriptor, artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json'}],
      }),
    )
    assert.ok(fallback.indexBytes.length > 0)
    await repository.pushManifest(indexBytes, MediaType.OciIndex, referrersTag(subject.digest))

    const referrers = await repository.referrers(subject)
    assert.equal(referrers.length, 1)
    assert.equal(referrers[0]!.digest, artifactDescriptor.digest)
    assert.deepEqual(await repository.referrers(subject, 'application/other'), [])
    assert.equal(referrersTag(subject.digest), `sha256-${subject.digest.slice(7)}`)
  })

  it('re-pushes manifests byte for byte, whitespace included', async () => {
    const from = repo('bytes/from')
    const to = repo('bytes/to')
    const image = await buildImage(work.dir, {flavor: 'docker'})
    await pushImage(from, image, 'v1')
    const raw = await from.fetchManifest('v1')
    for (const d of [...image.layers.map(l => l.descriptor), image.config.descriptor])
      await to.push(d, await from.fetch(d))
    await to.push(image.descriptor, await from.fetch(image.descriptor))
    assert.ok((await to.fetchManifest(image.descriptor.digest)).bytes.equals(raw.bytes))
    assert.ok(raw.bytes.includes('\n  '))
  })

  it('pushes and resolves an index whose children are already there', async () => {
    const repository = repo('index/again')
    const a = await buildImage(work.dir, {platform: {os: 'linux', architecture: 'amd64'}})
    const index = buildIndex([a])
    await pushIndex(repository, index, 'i')
    assert.deepEqual(await repository.resolve('i'), index.descriptor)
  })
})
