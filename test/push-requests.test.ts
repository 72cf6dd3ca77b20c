// What push asks a real registry (Distribution, through a recording proxy): a first push asks each blob's presence
// once (the pre-scan's answer is not asked again by the copy), and a second push of the same archive asks one HEAD
// per root, by its tag (the answer says both "the root is held" and "the tag is in place"), and writes nothing.
import assert from 'node:assert/strict'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {parseMirrorTarget, pushArchive} from '../src/push/index.ts'
import {RegistryClient} from '../src/registry/index.ts'
import {startFaultProxy, type FaultProxy} from './support/fault-proxy.ts'
import {standardArchive, tempDir} from './support/layouts.ts'
import {skipAllPolicy} from './support/policies.ts'
import {startRegistry, type StartedRegistry} from './support/registry.ts'

describe('push: the requests a first and a second push make', () => {
  let dir: string
  let cleanup: () => Promise<void>
  let archive: string
  let registry: StartedRegistry
  let proxy: FaultProxy

  before(async () => {
    ;({dir, cleanup} = await tempDir())
    archive = join(dir, 'bundle.tar')
    await standardArchive(dir, archive)
    registry = await startRegistry()
    proxy = await startFaultProxy(registry.host)
  })
  after(async () => {
    await proxy?.stop()
    await registry?.stop()
    await cleanup()
  })

  const push = async () => {
    const client = new RegistryClient({insecure: [proxy.host]})
    try {
      return await pushArchive({archive, target: parseMirrorTarget(`${proxy.host}/m`), client, policy: skipAllPolicy()})
    } finally {
      client.close()
    }
  }

  it('first push: no blob or manifest is asked about twice; second push: one HEAD per tag, nothing written', async () => {
    const first = await push()
    // (a tag is asked in the pre-scan and again right before it is written: another writer may have moved it)
    const byDigest = proxy.requests.filter(r => r.method === 'HEAD' && r.path.includes('/sha256:')).map(r => r.path)
    assert.ok(byDigest.length > 0)
    assert.deepEqual(
      byDigest.filter((path, i) => byDigest.indexOf(path) !== i),
      [],
      'no blob or manifest asked twice by digest',
    )
    assert.equal(first.totals.tagsWritten, 2)

    proxy.requests.length = 0
    const second = await push()
    assert.equal(second.totals.blobsPushed + second.totals.manifestsPushed + second.totals.tagsWritten, 0)
    const asked = proxy.requests.map(r => `${r.method} ${r.path}`)
    assert.deepEqual(
      asked.sort(),
      ['HEAD /v2/m/test/multi/manifests/1.0', 'HEAD /v2/m/test/single/manifests/1.0'],
      asked.join('\n'),
    )
  })
})
