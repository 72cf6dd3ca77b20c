// The push engine against an in-memory registry: order (children before parents, tag last), HEAD-skip, mount,
// and fallback-tag merging. The same behaviours are tested against a real Distribution in push-registry.test.ts.
import assert from 'node:assert/strict'
import {Readable} from 'node:stream'
import {describe, it} from 'node:test'
import {AirlockError} from '../src/errors.ts'
import type {Descriptor} from '../src/oci/descriptor.ts'
import {sha256} from '../src/oci/digest.ts'
import {parseManifest} from '../src/oci/manifest.ts'
import {MediaType} from '../src/oci/media-types.ts'
import {emptyCounters, PushEngine, type PushDestination} from '../src/push/engine.ts'
import {collectGraph} from '../src/push/graph.ts'
import {fallbackTag} from '../src/push/referrers.ts'
import type {Fetcher} from '../src/content/types.ts'

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const c of stream) chunks.push(c as Buffer)
  return Buffer.concat(chunks)
}

class MemoryRegistry {
  readonly log: string[] = []
  readonly repos = new Map<string, {blobs: Map<string, Buffer>; tags: Map<string, Descriptor>}>()
  mountSupported = true
  repo(name: string): PushDestination {
    let r = this.repos.get(name)
    if (!r) this.repos.set(name, (r = {blobs: new Map(), tags: new Map()}))
    const repo = r
    const log = this.log
    const registry = this
    return {
      async exists(d) {
        log.push(`HEAD ${name} ${d.digest.slice(7, 15)}`)
        return repo.blobs.has(d.digest)
      },
      async fetch(d) {
        const b = repo.blobs.get(d.digest)
        if (!b) throw new AirlockError('NOT_FOUND', `no ${d.digest}`)
        return Readable.from([b])
      },
      async push(d, content) {
        const bytes = await readAll(content)
        assert.equal(sha256(bytes), d.digest)
        log.push(`PUT ${name} ${d.digest.slice(7, 15)}`)
        repo.blobs.set(d.digest, bytes)
      },
      async resolve(ref) {
        const d = repo.tags.get(ref)
        if (!d) throw new AirlockError('NOT_FOUND', `no tag ${ref}`)
        return d
      },
      async tag(d, ref) {
        assert.ok(repo.blobs.has(d.digest), 'tag points at present content')
        log.push(`TAG ${name} ${ref}`)
        repo.tags.set(ref, d)
      },
      async mount(d, from) {
        if (!registry.mountSupported) return false
        const src = registry.repos.get(from)?.blobs.get(d.digest)
        if (!src) return false
        log.push(`MOUNT ${name} ${d.digest.slice(7, 15)}`)
        repo.blobs.set(d.digest, src)
        return true
      },
    }
  }
}

function content() {
  const store = new Map<string, Buffer>()
  const add = (bytes: Buffer, mediaType: string): Descriptor => {
    const d = {mediaType, digest: sha256(bytes), size: bytes.length}
    store.set(d.digest, bytes)
    return d
  }
  const source: Fetcher = {fetch: async d => Readable.from([store.get(d.digest)!])}
  const image = (layers: string[]) => {
    const config = add(Buffer.from(JSON.stringify({layers})), MediaType.OciConfig)
    const ls = layers.map(l => add(Buffer.from(l), MediaType.OciLayerGzip))
    return add(
      Buffer.from(JSON.stringify({schemaVersion: 2, mediaType: MediaType.OciManifest, config, layers: ls})),
      MediaType.OciManifest,
    )
  }
  const index = (manifests: Descriptor[]) =>
    add(Buffer.from(JSON.stringify({schemaVersion: 2, mediaType: MediaType.OciIndex, manifests})), MediaType.OciIndex)
  const referrer = (subject: Descriptor, n: string) => {
    const config = add(Buffer.from('{}'), MediaType.OciEmpty)
    const layer = add(Buffer.from(`bundle ${n}`), MediaType.SigstoreBundle03)
    return add(
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MediaType.OciManifest,
          artifactType: MediaType.SigstoreBundle03,
          config,
          layers: [layer],
          subject,
        }),
      ),
      MediaType.OciManifest,
    )
  }
  return {store, source, image, index, referrer}
}

describe('push engine', () => {
  it('pushes blobs, then manifests children-first, then the tag; a rerun sends nothing', async () => {
    const c = content()
    const amd = c.image(['a1', 'shared'])
    const arm = c.image(['b1', 'shared'])
    const root = c.index([amd, arm])
    const graph = await collectGraph(c.source, root)
    assert.equal(graph.blobs.length, 5, 'config x2, three distinct layers')
    assert.deepEqual(
      graph.manifests.map(m => m.descriptor.digest),
      [amd.digest, arm.digest, root.digest],
    )

    const reg = new MemoryRegistry()
    const dst = reg.repo('m/app')
    const engine = new PushEngine(c.source, {concurrency: 2})
    const counters = emptyCounters()
    await engine.pushGraph(dst, 'm/app', graph, counters)
    await engine.tag(dst, 'm/app', root, 'v1', counters)
    const puts = reg.log.filter(l => l.startsWith('PUT') || l.startsWith('TAG'))
    const idx = (d: Descriptor) => puts.indexOf(`PUT m/app ${d.digest.slice(7, 15)}`)
    const lastBlob = Math.max(...graph.blobs.map(b => puts.indexOf(`PUT m/app ${b.digest.slice(7, 15)}`)))
    assert.ok(Math.min(idx(amd), idx(arm)) > lastBlob, 'manifests after all blobs')
    assert.ok(idx(root) > idx(amd) && idx(root) > idx(arm))
    assert.equal(puts.at(-1), 'TAG m/app v1')
    assert.deepEqual(counters.blobs, {
      pushed: 5,
      mounted: 0,
      skipped: 0,
      bytes: graph.blobs.reduce((n, b) => n + b.size, 0),
    })
    assert.deepEqual(counters.manifests, {pushed: 3, skipped: 0})

    reg.log.length = 0
    const again = emptyCounters()
    const engine2 = new PushEngine(c.source)
    await engine2.pushGraph(dst, 'm/app', graph, again)
    await engine2.tag(dst, 'm/app', root, 'v1', again)
    assert.deepEqual(
      reg.log.filter(l => !l.startsWith('HEAD')),
      [],
    )
    assert.deepEqual(again.tags, {written: [], unchanged: ['v1']})
    assert.equal(again.blobs.skipped, 5)
  })

  it('mounts a blob another repository received in this run, and stops trying when the registry cannot', async () => {
    const c = content()
    const one = await collectGraph(c.source, c.image(['x', 'common']))
    const two = await collectGraph(c.source, c.image(['y', 'common']))
    const reg = new MemoryRegistry()
    const engine = new PushEngine(c.source)
    const counters = emptyCounters()
    await Promise.all([
      engine.pushGraph(reg.repo('one'), 'one', one, counters),
      engine.pushGraph(reg.repo('two'), 'two', two, counters),
    ])
    assert.equal(counters.blobs.mounted, 1)
    assert.equal(
      reg.log.filter(l => l.startsWith('PUT') && l.includes(sha256('common').slice(7, 15))).length,
      1,
      'shared layer sent once',
    )

    const reg2 = new MemoryRegistry()
    reg2.mountSupported = false
    const engine2 = new PushEngine(c.source)
    const c2 = emptyCounters()
    await engine2.pushGraph(reg2.repo('one'), 'one', one, c2)
    await engine2.pushGraph(reg2.repo('two'), 'two', two, c2)
    assert.equal(c2.blobs.mounted, 0)
    assert.equal(engine2.mountAvailable, false)
  })

  it('merges referrers into an existing fallback tag and keeps the referrer that was there', async () => {
    const c = content()
    const subject = c.image(['s'])
    const mine = c.referrer(subject, 'mine')
    const theirs = c.referrer(subject, 'theirs')
    const reg = new MemoryRegistry()
    const dst = reg.repo('r')
    // Another tool already listed its referrer under the fallback tag.
    const engine = new PushEngine(c.source)
    const counters = emptyCounters()
    const theirsRaw = parseManifest(c.store.get(theirs.digest)!)
    await engine.pushGraph(dst, 'r', await collectGraph(c.source, theirs), counters)
    await engine.updateFallbackTag(dst, 'r', subject.digest, [theirsRaw], counters)

    const mineRaw = parseManifest(c.store.get(mine.digest)!)
    await engine.pushGraph(dst, 'r', await collectGraph(c.source, mine), counters)
    await engine.updateFallbackTag(dst, 'r', subject.digest, [mineRaw], counters)
    const tagged = await dst.resolve(fallbackTag(subject.digest))
    const index = parseManifest(await readAll(await dst.fetch(tagged)))
    assert.equal(index.parsed.kind, 'index')
    if (index.parsed.kind === 'index')
      assert.deepEqual(
        index.parsed.manifests.map(m => m.digest),
        [theirs.digest, mine.digest],
      )

    const before = reg.log.length
    await engine.updateFallbackTag(dst, 'r', subject.digest, [mineRaw, theirsRaw], counters)
    assert.deepEqual(
      reg.log.slice(before).filter(l => !l.startsWith('HEAD')),
      [],
      'nothing new: tag untouched',
    )
  })
})

describe('push engine: a skipped or mounted blob must have the size its descriptor states (lying descriptor)', () => {
  const layer = Buffer.from('the layer the mirror already holds')
  const honest: Descriptor = {mediaType: MediaType.OciLayerGzip, digest: sha256(layer), size: layer.length}
  const lying: Descriptor = {...honest, size: layer.length + 10}
  const graph = (d: Descriptor) => ({root: d, blobs: [d], manifests: []})
  const source: Fetcher = {fetch: async () => Readable.from([layer])}
  const sized = (reg: MemoryRegistry, name: string): PushDestination => {
    const dst = reg.repo(name)
    return {...dst, blobSize: async d => reg.repos.get(name)?.blobs.get(d.digest)?.length}
  }

  it('HEAD-skip: the registry holds the digest with another size -> SIZE_MISMATCH', async () => {
    const reg = new MemoryRegistry()
    const dst = sized(reg, 'r')
    reg.repos.get('r')!.blobs.set(honest.digest, layer)
    const engine = new PushEngine(source)
    await assert.rejects(
      engine.pushGraph(dst, 'r', graph(lying), emptyCounters()),
      (e: AirlockError) => e.code === 'SIZE_MISMATCH' && /descriptor says/.test(e.message),
    )
    await engine.pushGraph(dst, 'r', graph(honest), emptyCounters())
  })

  it('held (HEAD before verify, size recorded): refused without asking again', async () => {
    const reg = new MemoryRegistry()
    const engine = new PushEngine(source)
    engine.markHeld('r', honest.digest, honest.size)
    await assert.rejects(engine.pushGraph(reg.repo('r'), 'r', graph(lying), emptyCounters()), {code: 'SIZE_MISMATCH'})
  })

  it('mount: a blob pushed for one repository is not mounted into another under a lying descriptor', async () => {
    const reg = new MemoryRegistry()
    const engine = new PushEngine(source)
    await engine.pushGraph(sized(reg, 'a'), 'a', graph(honest), emptyCounters())
    await assert.rejects(engine.pushGraph(sized(reg, 'b'), 'b', graph(lying), emptyCounters()), {code: 'SIZE_MISMATCH'})
    assert.equal(reg.log.filter(l => l.startsWith('MOUNT b')).length, 0)
  })
})
