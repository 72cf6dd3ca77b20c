// The one copy engine (src/copy/copy.ts) and push on it (src/push/push.ts), against the in-memory OCI target of
// test/support/memory-target.ts: order (successors before their node, signature tags and referrers after the
// image, the tag last), HEAD-skip with size check, mount, optional capabilities, in-flight dedup, bounded
// concurrency, errors with their operation and side as data, and that push copies only what the verdict judged.
// The same flows run against a real Distribution registry in push-registry, push-mount and faults-push tests.
import assert from 'node:assert/strict'
import {Readable} from 'node:stream'
import {describe, it} from 'node:test'
import {AirlockError} from '../src/errors.ts'
import type {Descriptor} from '../src/oci/descriptor.ts'
import type {Digest} from '../src/oci/digest.ts'
import {GRAPH_LIMITS, successors} from '../src/oci/graph.ts'
import {parseManifest, type RawManifest} from '../src/oci/manifest.ts'
import {isManifestType, MediaType} from '../src/oci/media-types.ts'
import {CopyEngine, copyErrorDetails, GraphCopier} from '../src/copy/copy.ts'
import {judgedSource} from '../src/push/judged-copy.ts'
import {pushVerdict, type MirrorRegistry} from '../src/push/push.ts'
import {fallbackTag} from '../src/push/referrers.ts'
import type {JudgedArtifact, JudgedGraph, Verdict} from '../src/verify/verdict.ts'
import type {VerifyReport} from '../src/verify/report-model.ts'
import {MemoryContent, MemoryRegistry, sha256} from './support/memory-target.ts'

function builder() {
  const c = new MemoryContent()
  const image = (layers: string[]) => {
    const config = c.add(JSON.stringify({layers}), MediaType.OciConfig)
    const ls = layers.map(l => c.add(l, MediaType.OciLayerGzip))
    return c.add(
      JSON.stringify({schemaVersion: 2, mediaType: MediaType.OciManifest, config, layers: ls}),
      MediaType.OciManifest,
    )
  }
  const index = (manifests: Descriptor[]) =>
    c.add(JSON.stringify({schemaVersion: 2, mediaType: MediaType.OciIndex, manifests}), MediaType.OciIndex)
  const referrer = (subject: Descriptor, n: string) => {
    const config = c.add('{}', MediaType.OciEmpty)
    const layer = c.add(`bundle ${n}`, MediaType.SigstoreBundle03)
    return c.add(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.OciManifest,
        artifactType: MediaType.SigstoreBundle03,
        config,
        layers: [layer],
        subject,
      }),
      MediaType.OciManifest,
    )
  }
  const raw = (d: Descriptor): RawManifest => parseManifest(c.store.get(d.digest)!, d.mediaType)
  /** The graph as verify walks it: leaf blobs once, manifests children-first, the root last (carried: root filter). */
  const judge = (root: Descriptor, carried?: Set<string>): JudgedGraph => {
    const blobs = new Map<string, {descriptor: Descriptor; offset: number}>()
    const manifests: Array<{descriptor: Descriptor; raw: RawManifest}> = []
    const seen = new Set<string>()
    const visit = (d: Descriptor, depth: number): void => {
      if (seen.has(d.digest)) return
      seen.add(d.digest)
      if (!isManifestType(d.mediaType)) {
        blobs.set(d.digest, {descriptor: {mediaType: d.mediaType, digest: d.digest, size: d.size}, offset: 0})
        return
      }
      const m = raw(d)
      for (const child of successors(m.parsed)) if (depth > 0 || !carried || carried.has(child.digest)) visit(child, 1)
      manifests.push({descriptor: {mediaType: m.mediaType, digest: d.digest, size: d.size}, raw: m})
    }
    visit(root, 0)
    return {root, blobs: [...blobs.values()], manifests}
  }
  return {c, image, index, referrer, raw, judge}
}

const target = {registry: 'mirror.example', prefix: 'm'}

function verdictOf(
  images: Array<{reference: string; tag?: string; root: Descriptor; graph: JudgedGraph; artifacts?: JudgedArtifact[]}>,
): Verdict {
  return {
    archive: 'memory',
    verified: true,
    report: {} as VerifyReport,
    images: images.map(i => ({...i, children: [], artifacts: i.artifacts ?? []})),
  }
}

function mirrorOf(reg: MemoryRegistry, referrersApi = false): MirrorRegistry {
  return {repository: path => reg.repository(path), supportsReferrers: async () => referrersApi}
}

const short = (d: Descriptor) => d.digest.slice(7, 15)

describe('copy engine', () => {
  it('copies every successor before its node, each digest once; a rerun asks one HEAD and sends nothing', async () => {
    const b = builder()
    const amd = b.image(['a1', 'shared'])
    const arm = b.image(['b1', 'shared'])
    const root = b.index([amd, arm])
    const reg = new MemoryRegistry()
    const copier = new GraphCopier(reg.repository('r'), {concurrency: 2})
    const result = await copier.copy(b.c, root)
    assert.deepEqual(
      result.platforms?.map(p => p.digest),
      [amd.digest, arm.digest],
    )
    const puts = reg.requests('PUT')
    assert.equal(puts.length, 8, 'two configs, three layers, two manifests, one index')
    assert.equal(new Set(puts).size, puts.length, 'each digest once')
    const at = (d: Descriptor) => puts.indexOf(`PUT r ${short(d)}`)
    for (const m of [amd, arm])
      for (const child of successors(b.raw(m).parsed)) assert.ok(at(child) < at(m), 'successors first')
    assert.equal(puts.at(-1), `PUT r ${short(root)}`, 'the root last')

    reg.log.length = 0
    const again = new GraphCopier(reg.repository('r'))
    const skipped: string[] = []
    await again.copy(b.c, root, {onCopySkipped: d => skipped.push(d.digest)})
    assert.deepEqual(reg.requests('PUT'), [])
    assert.deepEqual(skipped, [root.digest], 'a held manifest means a held subtree')
  })

  it('what a HEAD earlier in the run found missing is sent without asking again (markAbsent)', async () => {
    const b = builder()
    const one = b.image(['absent 1', 'absent 2'])
    const reg = new MemoryRegistry()
    const engine = new CopyEngine({concurrency: 2})
    const nodes = [one, ...successors(b.raw(one).parsed)]
    for (const d of nodes) engine.markAbsent('r', d.digest)
    await engine.to(reg.repository('r'), 'r').copy(b.c, one)
    assert.deepEqual(reg.requests('HEAD'), [], 'nothing asked again')
    assert.equal(reg.requests('PUT').length, nodes.length, 'every node sent')
    // the answer is per repository: another repository is still asked
    reg.log.length = 0
    await engine.to(reg.repository('s'), 's').copy(b.c, one)
    assert.ok(reg.requests('HEAD').length > 0)
  })

  it('a root is asked again after its children only when another copy of the same root ran', async () => {
    const b = builder()
    const one = b.image(['only layer'])
    const reg = new MemoryRegistry()
    await new GraphCopier(reg.repository('r')).copy(b.c, one)
    assert.equal(reg.requests('HEAD').filter(l => l.endsWith(short(one))).length, 1, 'one HEAD for a lone root')

    const two = b.image(['another layer'])
    const reg2 = new MemoryRegistry()
    const copier = new GraphCopier(reg2.repository('r'))
    await Promise.all([copier.copy(b.c, two), copier.copy(b.c, two)])
    assert.ok(reg2.requests('HEAD').filter(l => l.endsWith(short(two))).length >= 3, 'contended: asked again')
    assert.ok(reg2.requests('PUT').filter(l => l.endsWith(short(two))).length >= 1)
  })

  it('shares in-flight work: two images with a common layer send it once; transfers stay within the limit', async () => {
    const b = builder()
    const layers = Array.from({length: 12}, (_, i) => `layer ${i}`)
    const one = b.image([...layers.slice(0, 6), 'common'])
    const two = b.image([...layers.slice(6), 'common'])
    const reg = new MemoryRegistry()
    const copier = new GraphCopier(reg.repository('r'), {concurrency: 3})
    await Promise.all([copier.copy(b.c, one), copier.copy(b.c, two)])
    assert.equal(reg.requests('PUT').filter(l => l.endsWith(sha256('common').slice(7, 15))).length, 1)
    assert.ok(reg.maxActive <= 3, `at most 3 uploads at once, saw ${reg.maxActive}`)
    assert.ok(reg.maxActive > 1, 'uploads do run in parallel')
  })

  it('mounts a blob another destination of the same engine got; a declined mount (202) uploads and the next blob is still offered', async () => {
    const b = builder()
    const one = b.image(['x', 'common'])
    const two = b.image(['y', 'common'])
    const reg = new MemoryRegistry()
    const engine = new CopyEngine()
    const mounted: string[] = []
    await Promise.all([
      engine.to(reg.repository('one'), 'one').copy(b.c, one),
      engine
        .to(reg.repository('two'), 'two')
        .copy(b.c, two, {onMounted: (d, from) => mounted.push(`${short(d)} ${from}`)}),
    ])
    assert.equal(reg.requests('PUT').filter(l => l.endsWith(sha256('common').slice(7, 15))).length, 1, 'sent once')
    assert.equal(reg.requests('MOUNT').length, 1)
    assert.ok(reg.get('two', sha256('common')), 'the mounted repository holds it')

    const refusing = new MemoryRegistry()
    refusing.refuseMounts = true
    const engine2 = new CopyEngine()
    await engine2.to(refusing.repository('one'), 'one').copy(b.c, one)
    await engine2.to(refusing.repository('two'), 'two').copy(b.c, two)
    await engine2.to(refusing.repository('three'), 'three').copy(b.c, b.image(['z', 'common']))
    assert.equal(engine2.mountAvailable, false, 'no mount was done in this run')
    // A 202 means "not mounted this time" (go-containerregistry, oras-go): each later blob is offered again.
    assert.equal(refusing.requests('MOUNT').length, 2, 'asked for each destination, uploaded each time')
    assert.ok(refusing.get('three', sha256('common')), 'the declined blob was uploaded')
  })

  it('uses only the capabilities a destination has: no blobSize -> exists(), no mount -> upload, pushFrom -> regions', async () => {
    const b = builder()
    const one = b.image(['p', 'q'])
    const two = b.image(['p', 'r'])
    const plain = new MemoryRegistry()
    plain.capabilities = {blobSize: false, mount: false, pushFrom: false}
    const engine = new CopyEngine()
    await engine.to(plain.repository('one'), 'one').copy(b.c, one)
    await engine.to(plain.repository('two'), 'two').copy(b.c, two)
    assert.equal(plain.requests('MOUNT').length, 0)
    assert.ok(plain.get('two', sha256('p')))

    const regions = new MemoryRegistry()
    regions.capabilities = {blobSize: true, mount: false, pushFrom: true}
    b.c.fetched.length = 0
    await new GraphCopier(regions.repository('r')).copy(b.c, one)
    assert.deepEqual(b.c.fetched, [short(one)], 'blobs went up from re-readable regions; only the manifest was fetched')
    assert.ok(regions.get('r', sha256('q')))
  })

  it('keeps only the requested platforms of the root index and says the root was filtered', async () => {
    const b = builder()
    const amd = b.c.add(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.OciManifest,
        config: b.c.add('{"a":1}', MediaType.OciConfig),
        layers: [],
      }),
      MediaType.OciManifest,
    )
    const arm = b.image(['arm layer'])
    const root = b.index([
      {...amd, platform: {os: 'linux', architecture: 'amd64'}},
      {...arm, platform: {os: 'linux', architecture: 'arm64'}},
    ])
    const reg = new MemoryRegistry()
    const result = await new GraphCopier(reg.repository('r')).copy(b.c, root, {
      platforms: [{os: 'linux', architecture: 'amd64'}],
    })
    assert.equal(result.filtered, true)
    assert.deepEqual(
      result.platforms?.map(p => p.platform),
      ['linux/amd64'],
    )
    assert.equal(reg.get('r', arm.digest), undefined)
    await assert.rejects(
      new GraphCopier(new MemoryRegistry().repository('r')).copy(b.c, root, {
        platforms: [{os: 'windows', architecture: 'amd64'}],
      }),
      {code: 'NOT_FOUND'},
    )
  })

  it(`refuses manifests nested deeper than ${GRAPH_LIMITS.maxDepth} levels before writing any of them`, async () => {
    const b = builder()
    let node = b.image(['deep'])
    for (let i = 0; i <= GRAPH_LIMITS.maxDepth; i++) node = b.index([node])
    const reg = new MemoryRegistry()
    await assert.rejects(new GraphCopier(reg.repository('r')).copy(b.c, node), {code: 'MANIFEST_INVALID'})
    assert.deepEqual(reg.requests('PUT'), [], 'nothing written: the limit is met before the deepest node')
  })
})

describe('copy engine: errors carry their operation and side as data', () => {
  it('a source that cannot serve a blob: fetch, source', async () => {
    const b = builder()
    const image = b.image(['gone'])
    b.c.store.delete(sha256('gone'))
    const error = await new GraphCopier(new MemoryRegistry().repository('r'), {name: 'r'})
      .copy(b.c, image)
      .catch((e: unknown) => e)
    assert.ok(error instanceof AirlockError)
    assert.deepEqual(copyErrorDetails(error), {
      operation: 'fetch',
      side: 'source',
      digest: sha256('gone'),
      destination: 'r',
    })
  })

  it('a destination that refuses an upload: push, destination (the registry error code kept)', async () => {
    const b = builder()
    const image = b.image(['refused'])
    const reg = new MemoryRegistry()
    reg.fail('PUT', new AirlockError('UNAUTHORIZED', 'denied'), {digest: sha256('refused')})
    const error = await new GraphCopier(reg.repository('r'), {name: 'r'}).copy(b.c, image).catch((e: unknown) => e)
    assert.ok(error instanceof AirlockError)
    assert.equal(error.code, 'UNAUTHORIZED')
    assert.deepEqual(copyErrorDetails(error), {
      operation: 'push',
      side: 'destination',
      digest: sha256('refused'),
      destination: 'r',
    })
    assert.equal(reg.requests('PUT').filter(l => l.endsWith(short(image))).length, 0, 'no manifest after a failed blob')
  })

  it('a source stream that breaks during the upload: push, source', async () => {
    const b = builder()
    const image = b.image(['torn'])
    const broken = {
      fetch: async (d: Descriptor) =>
        d.digest === sha256('torn')
          ? new Readable({
              read() {
                this.destroy(new AirlockError('IO_ERROR', 'archive: short read'))
              },
            })
          : b.c.fetch(d),
    }
    const error = await new GraphCopier(new MemoryRegistry().repository('r'))
      .copy(broken, image)
      .catch((e: unknown) => e)
    assert.equal(copyErrorDetails(error)?.side, 'source')
    assert.equal(copyErrorDetails(error)?.operation, 'push')
  })
})

describe('copy engine: a held or mounted blob must have the size its descriptor states (lying descriptor)', () => {
  const layer = Buffer.from('the layer the mirror already holds')
  const honest: Descriptor = {mediaType: MediaType.OciLayerGzip, digest: sha256(layer), size: layer.length}
  const lying: Descriptor = {...honest, size: layer.length + 10}
  const source = {fetch: async () => Readable.from([layer])}

  it('HEAD-skip: the registry holds the digest with another size -> SIZE_MISMATCH', async () => {
    const reg = new MemoryRegistry()
    reg.repoData('r').content.set(honest.digest, layer)
    await assert.rejects(
      new GraphCopier(reg.repository('r')).copy(source, lying),
      (e: AirlockError) => e.code === 'SIZE_MISMATCH' && /descriptor says/.test(e.message),
    )
    await new GraphCopier(reg.repository('r')).copy(source, honest)
  })

  it('held (HEAD before verification, size recorded): refused without asking again', async () => {
    const reg = new MemoryRegistry()
    const engine = new CopyEngine()
    engine.markHeld('r', honest.digest, honest.size)
    await assert.rejects(engine.to(reg.repository('r'), 'r').copy(source, lying), {code: 'SIZE_MISMATCH'})
    assert.deepEqual(reg.requests('HEAD'), [])
  })

  it('mount: a blob sent to one repository is not mounted into another under a lying descriptor', async () => {
    const reg = new MemoryRegistry()
    const engine = new CopyEngine()
    await engine.to(reg.repository('a'), 'a').copy(source, honest)
    await assert.rejects(engine.to(reg.repository('b'), 'b').copy(source, lying), {code: 'SIZE_MISMATCH'})
    assert.deepEqual(reg.requests('MOUNT'), [])
  })
})

describe('push on the copy engine: only the verdict, in order, tag last', () => {
  it('writes the graph, then the .sig tag, then the image tag; a rerun writes nothing', async () => {
    const b = builder()
    const amd = b.image(['a1', 'shared'])
    const arm = b.image(['b1', 'shared'])
    const root = b.index([amd, arm])
    const sig = b.image(['simple signing payload'])
    const sigTag = `sha256-${root.digest.slice(7)}.sig`
    const verdict = verdictOf([
      {
        reference: 'docker.io/library/app:v1',
        tag: 'v1',
        root,
        graph: b.judge(root),
        artifacts: [{kind: 'tag', role: 'signature', subject: root.digest as Digest, tag: sigTag, graph: b.judge(sig)}],
      },
    ])
    const reg = new MemoryRegistry()
    const events: string[] = []
    const result = await pushVerdict(verdict, b.c, mirrorOf(reg), {target, onEvent: e => events.push(e.type)})
    const writes = reg.log.filter(l => l.startsWith('PUT') || l.startsWith('TAG'))
    assert.equal(writes.at(-1), 'TAG m/library/app v1', 'the image tag last')
    assert.ok(writes.indexOf(`TAG m/library/app ${sigTag}`) > writes.indexOf(`PUT m/library/app ${short(root)}`))
    assert.ok(writes.indexOf(`PUT m/library/app ${short(sig)}`) < writes.indexOf(`TAG m/library/app ${sigTag}`))
    assert.deepEqual(result.images[0]!.tags.written, [sigTag, 'v1'])
    assert.equal(result.totals.blobsPushed, 7, 'configs x3, layers a1 b1 shared, signature payload')
    assert.equal(result.totals.manifestsPushed, 4)
    assert.ok(events.includes('blob-start') && events.includes('manifest') && events.includes('tag'))

    reg.log.length = 0
    const again = await pushVerdict(verdict, b.c, mirrorOf(reg), {target})
    assert.deepEqual(
      reg.log.filter(l => l.startsWith('PUT') || l.startsWith('TAG')),
      [],
    )
    assert.deepEqual(again.images[0]!.tags.unchanged, [sigTag, 'v1'])
  })

  it('a filtered index: only the judged children are written, never a child the source also holds', async () => {
    const b = builder()
    const amd = b.image(['amd only'])
    const arm = b.image(['arm only'])
    const root = b.index([amd, arm])
    const verdict = verdictOf([
      {reference: 'docker.io/library/app:v1', tag: 'v1', root, graph: b.judge(root, new Set([amd.digest]))},
    ])
    const reg = new MemoryRegistry()
    await pushVerdict(verdict, b.c, mirrorOf(reg), {target})
    assert.ok(reg.get('m/library/app', amd.digest))
    assert.equal(reg.get('m/library/app', arm.digest), undefined, 'not judged, not written (the source had it)')
    assert.equal(reg.get('m/library/app', sha256('arm only')), undefined)
  })

  it('the judged source refuses what the verdict does not hold, and a judged manifest naming an unjudged node', async () => {
    const b = builder()
    const image = b.image(['judged'])
    const {source, findSuccessors} = judgedSource(b.c, b.judge(image))
    await assert.rejects(source.fetch(b.c.add('extra', MediaType.OciLayerGzip)), {code: 'INTERNAL'})
    await assert.rejects(source.fetch({...image, size: image.size + 1}), {code: 'INTERNAL'})
    // A graph whose manifest names a layer the verdict lacks (a walk that left it out) is refused, not skipped.
    const partial = b.judge(image)
    const without: JudgedGraph = {
      ...partial,
      blobs: partial.blobs.filter(x => x.descriptor.digest !== sha256('judged')),
    }
    assert.throws(() => judgedSource(b.c, without).findSuccessors(image, b.raw(image), 0), {code: 'INTERNAL'})
    assert.equal((await findSuccessors(image, b.raw(image), 0)).length, 2)
  })

  it("merges referrers into an existing fallback tag, keeping another tool's entry; a rerun leaves it alone", async () => {
    const b = builder()
    const subject = b.image(['s'])
    const theirs = b.referrer(subject, 'theirs')
    const mine = b.referrer(subject, 'mine')
    const reg = new MemoryRegistry()
    const referrer = (d: Descriptor): JudgedArtifact => ({
      kind: 'referrer',
      role: 'signature',
      subject: subject.digest as Digest,
      graph: b.judge(d),
    })
    const push = (r: Descriptor) =>
      pushVerdict(
        verdictOf([
          {
            reference: 'docker.io/library/s:v1',
            tag: 'v1',
            root: subject,
            graph: b.judge(subject),
            artifacts: [referrer(r)],
          },
        ]),
        b.c,
        mirrorOf(reg),
        {target},
      )
    await push(theirs)
    const first = await push(mine)
    assert.deepEqual(first.images[0]!.fallbackTags, [fallbackTag(subject.digest as Digest)])
    const repo = reg.repository('m/library/s')
    const index = parseManifest(
      reg.get('m/library/s', (await repo.resolve(fallbackTag(subject.digest as Digest))).digest)!,
    )
    assert.equal(index.parsed.kind, 'index')
    if (index.parsed.kind === 'index')
      assert.deepEqual(
        index.parsed.manifests.map(m => m.digest),
        [theirs.digest, mine.digest],
      )
    reg.log.length = 0
    await push(mine)
    assert.deepEqual(
      reg.log.filter(l => l.startsWith('PUT') || l.startsWith('TAG')),
      [],
      'nothing new: tag untouched',
    )
  })

  it('images run concurrently but each keeps its order; the first failure is reported and no later image starts', async () => {
    const b = builder()
    const images = Array.from({length: 6}, (_, i) => b.image([`only ${i}`, 'base']))
    const verdict = verdictOf(
      images.map((root, i) => ({reference: `docker.io/library/app${i}:v1`, tag: 'v1', root, graph: b.judge(root)})),
    )
    const reg = new MemoryRegistry()
    const result = await pushVerdict(verdict, b.c, mirrorOf(reg), {target})
    assert.deepEqual(
      result.images.map(i => i.source),
      verdict.images.map(i => i.reference),
      'results in verdict order',
    )
    assert.equal(result.totals.blobsMounted, 5, 'the shared base went up once and was mounted into the others')
    for (const [i, root] of images.entries()) {
      const writes = reg.log.filter(
        l => l.includes(`m/library/app${i} `) && (l.startsWith('PUT') || l.startsWith('TAG')),
      )
      assert.equal(writes.at(-1), `TAG m/library/app${i} v1`)
      assert.equal(writes.at(-2), `PUT m/library/app${i} ${short(root)}`)
    }

    const failing = new MemoryRegistry()
    failing.fail('PUT', new AirlockError('REGISTRY_ERROR', 'disk full'), {digest: sha256('only 0')})
    await assert.rejects(pushVerdict(verdict, b.c, mirrorOf(failing), {target, concurrency: 1}), (e: AirlockError) => {
      assert.equal(copyErrorDetails(e)?.side, 'destination')
      return /disk full/.test(e.message)
    })
    assert.deepEqual(
      failing.requests('TAG').filter(l => l.startsWith('TAG m/library/app0 ')),
      [],
      'no tag for the failed image',
    )
    assert.ok(
      failing.requests('PUT').every(l => !l.includes('app5')),
      'images after the failure never start',
    )
  })
})
