// Cross-repository blob mounting at the push level, on a real registry (Debian docker-registry, Distribution):
// two images of one archive share a layer; the first repository receives it by upload, the second by a mount
// (POST /v2/<second>/blobs/uploads/?mount=<digest>&from=<first>, answered 201), never a second upload. The fault
// proxy in front only records the requests (no fault is set), so the wire exchange can be asserted.
import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {parseMirrorTarget, pushArchive} from '../src/push/index.ts'
import {RegistryClient} from '../src/registry/index.ts'
import {startFaultProxy, type FaultProxy} from './support/fault-proxy.ts'
import {standardArchive, tempDir} from './support/layouts.ts'
import {startRegistry, type StartedRegistry} from './support/registry.ts'

describe('push mounts a blob shared by two images from the repository that received it first (real registry)', () => {
  let registry: StartedRegistry
  let proxy: FaultProxy
  let dir: string
  let cleanup: () => Promise<void>
  let archive: string
  let shared: string

  before(async () => {
    ;({dir, cleanup} = await tempDir('airlock-push-mount-'))
    archive = join(dir, 'a.tar')
    shared = (await standardArchive(dir, archive)).shared.digest
    registry = await startRegistry({auth: 'none'})
    proxy = await startFaultProxy(registry.host)
  })
  after(async () => {
    await proxy?.stop()
    await registry?.stop()
    await cleanup?.()
  })

  it('uploads the shared layer once and mounts it into the second repository', async () => {
    const client = new RegistryClient({insecure: [proxy.host]})
    // concurrency 1: the two images go one after the other, so which repository uploads and which mounts is fixed
    const result = await pushArchive({
      archive,
      target: parseMirrorTarget(`${proxy.host}/m`),
      client,
      skipVerify: true,
      concurrency: 1,
    })
    client.close()
    assert.equal(result.capabilities.mount, true)
    assert.equal(result.totals.blobsMounted, 1, JSON.stringify(result.totals))

    const hex = shared.slice('sha256:'.length)
    const mounts = proxy.requests.filter(
      r => r.method === 'POST' && new URL(r.path, 'http://x').searchParams.get('mount') === shared,
    )
    assert.equal(
      mounts.length,
      1,
      `one mount request: ${proxy.requests
        .filter(r => r.method === 'POST')
        .map(r => r.path)
        .join(', ')}`,
    )
    const mount = new URL(mounts[0]!.path, 'http://x')
    const into = /^\/v2\/(.+)\/blobs\/uploads\/$/.exec(mount.pathname)?.[1]
    const from = mount.searchParams.get('from')
    assert.ok(into && from && into !== from, `mount names two repositories: ${mounts[0]!.path}`)
    assert.deepEqual([into, from].sort(), ['m/test/multi', 'm/test/single'])
    // the bytes went up once: one upload completed with ?digest=<shared>, into the repository mounted from
    const uploads = proxy.requests.filter(
      r => r.method === 'PUT' && new URL(r.path, 'http://x').searchParams.get('digest') === shared,
    )
    assert.equal(uploads.length, 1, uploads.map(r => r.path).join(', '))
    assert.ok(uploads[0]!.path.startsWith(`/v2/${from}/blobs/uploads/`), `uploaded into ${from}: ${uploads[0]!.path}`)

    // the registry really holds it in the mounted repository: same bytes, straight from the registry (no proxy)
    const res = await fetch(`${registry.url}/v2/${into}/blobs/${shared}`)
    assert.equal(res.status, 200)
    assert.equal(
      createHash('sha256')
        .update(Buffer.from(await res.arrayBuffer()))
        .digest('hex'),
      hex,
    )
  })
})
