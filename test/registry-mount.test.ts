// Cross-repository mounting through a registry that declines some mounts (issue 18 item 11): a 202 answer is "not
// mounted this time" for that blob and source, the blob is uploaded, and later mounts from other sources still
// happen (as go-containerregistry and oras-go do); a clear refusal (403) stops mounts from that source only and
// never fails the push. The front (test/support/quirks-front.ts, mode harbor-mount-202) replays Harbor's answers
// over the real Distribution registry, which holds the content.
import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {exportImages} from '../src/export/export.ts'
import {MediaType} from '../src/oci/media-types.ts'
import {parseMirrorTarget, pushArchive} from '../src/push/index.ts'
import {RegistryClient} from '../src/registry/index.ts'
import {LayoutBuilder, tempDir} from './support/layouts.ts'
import {startQuirksFront, type QuirksFront, type QuirksFrontOptions} from './support/quirks-front.ts'
import {startRegistry, type StartedRegistry} from './support/registry.ts'

describe('mounts declined with 202 or refused by a registry (front over the real registry)', () => {
  let registry: StartedRegistry
  let dir: string
  let cleanup: () => Promise<void>
  let archive: string
  const fronts: QuirksFront[] = []

  before(async () => {
    ;({dir, cleanup} = await tempDir('airlock-mount-'))
    registry = await startRegistry({auth: 'none'})
    const b = await LayoutBuilder.create(join(dir, 'layout'))
    const layer = () => b.blob(randomBytes(2000), MediaType.OciLayerGzip)
    // a holds s1; b holds s1 and s2; c holds s2; d holds s1 and s3; e holds s3.
    const [s1, s2, s3] = [await layer(), await layer(), await layer()]
    const images: Record<string, Awaited<ReturnType<typeof layer>>[]> = {
      a: [s1],
      b: [s1, s2],
      c: [s2],
      d: [s1, s3],
      e: [s3],
    }
    for (const [name, layers] of Object.entries(images))
      await b.tag(await b.image([...layers, await layer()]), `example.com/t/${name}:1`)
    archive = join(dir, 'a.tar')
    await exportImages({
      sources: Object.keys(images).map(name => `oci:${dir}/layout:example.com/t/${name}:1`),
      output: archive,
    })
  })
  after(async () => {
    await Promise.all(fronts.map(f => f.stop()))
    await registry?.stop()
    await cleanup?.()
  })

  async function push(prefix: string, options: QuirksFrontOptions) {
    const front = await startQuirksFront(registry.host, 'harbor-mount-202', options)
    fronts.push(front)
    const client = new RegistryClient({insecure: [front.host]})
    try {
      // concurrency 1: images go in archive order, so which repository uploads and which mounts is fixed
      const result = await pushArchive({
        archive,
        target: parseMirrorTarget(`${front.host}/${prefix}`),
        client,
        skipVerify: true,
        concurrency: 1,
      })
      return {result, front}
    } finally {
      client.close()
    }
  }
  const mounts = (front: QuirksFront, from: string, status: number) =>
    front.count(new RegExp(`^POST \\S*mount=sha256%3A[a-f0-9]{64}&from=${from.replaceAll('/', '%2F')} -> ${status}$`))

  it('a 202 from one source does not stop later mounts from other sources', async () => {
    const {result, front} = await push('m1', {mountDeclinedFrom: /\/t\/a$/})
    // b: s1 from a declined (uploaded); c: s2 from b mounted; d: s1 from a declined again (a 202 is "not this
    // time"), s3 uploaded; e: s3 from d mounted.
    assert.equal(mounts(front, 'm1/t/a', 202), 2, front.log.join('\n'))
    assert.equal(mounts(front, 'm1/t/b', 201), 1, front.log.join('\n'))
    assert.equal(mounts(front, 'm1/t/d', 201), 1, front.log.join('\n'))
    assert.equal(result.totals.blobsMounted, 2, JSON.stringify(result.totals))
    assert.equal(result.capabilities.mount, true)
    // every image landed: its tag resolves on the real registry behind the front
    for (const name of ['a', 'b', 'c', 'd', 'e']) {
      const res = await fetch(`${registry.url}/v2/m1/t/${name}/manifests/1`, {
        method: 'HEAD',
        headers: {Accept: MediaType.OciManifest},
      })
      assert.equal(res.status, 200, name)
    }
  })

  it('a clear refusal (403) stops mounts from that source only, and the push completes', async () => {
    const {result, front} = await push('m2', {mountRefusedFrom: /\/t\/a$/})
    // b: s1 from a refused (asked once); d: s1 from a not asked again; c: s2 from b and e: s3 from d mounted.
    assert.equal(mounts(front, 'm2/t/a', 403), 1, front.log.join('\n'))
    assert.equal(mounts(front, 'm2/t/b', 201), 1, front.log.join('\n'))
    assert.equal(mounts(front, 'm2/t/d', 201), 1, front.log.join('\n'))
    assert.equal(result.totals.blobsMounted, 2, JSON.stringify(result.totals))
    assert.equal(result.images.length, 5)
  })
})
