// Export's per-image signature work (discovery, the Rekor proof of each SET-only entry, the policy's judgement) runs
// for several images at once, while what it finds is recorded in image order (issue 11 item 6, issue 17 item 5: on a
// delta export that serial tail was most of the time not spent on bytes). Real registry, the test Sigstore instance;
// the only thing added is a pass-through HTTP front on Rekor that holds the FIRST proof lookup back until a second
// one has arrived: with the proofs fetched one image after another that never happens (the test fails, it does not
// hang), with the work concurrent it does, and the archive still lists subjects, proofs and judgements in order.
import assert from 'node:assert/strict'
import http from 'node:http'
import type {AddressInfo} from 'node:net'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {TrustedRoot} from '@sigstore/protobuf-specs'
import {ArchiveReader} from '../src/archive/reader.ts'
import {exportImages} from '../src/export/export.ts'
import {signatureExportHooks} from '../src/export/signature-hook.ts'
import {loadPolicy} from '../src/policy/index.ts'
import {parseReference} from '../src/reference/index.ts'
import {RegistryClient} from '../src/registry/index.ts'
import {discoverInRegistry} from '../src/sigstore/discover.ts'
import {parseSignaturesSection} from '../src/sigstore/section.ts'
import {makeWorkDir} from './support/images.ts'
import {startFaultProxy} from './support/fault-proxy.ts'
import {startRegistry, type StartedRegistry} from './support/registry.ts'
import {createTestSigstore, sampleImage, type TestSigstore} from './support/sigstore/index.ts'
import {putImage} from './support/sigstore/registry-images.ts'

const ID = 'release@airlock.test'
const ISSUER = 'https://accounts.airlock.test'

/** Forwards every request to `target`; the first request is answered only once `holdUntil` more have arrived. */
async function holdingFront(target: string, holdUntil: number, maxHoldMs: number) {
  const events: string[] = []
  let arrived = 0
  let release: () => void = () => undefined
  const released = new Promise<void>(resolve => (release = resolve))
  const timer = setTimeout(() => release(), maxHoldMs)
  const server = http.createServer((req, res) => {
    const n = ++arrived
    events.push(`request ${n} ${req.url}`)
    if (n > holdUntil) release()
    const forward = (): void => {
      const upstream = http.request(new URL(req.url ?? '/', target), {method: req.method, headers: req.headers}, up => {
        res.writeHead(up.statusCode ?? 502, up.headers)
        up.pipe(res)
        up.on('end', () => events.push(`answered ${n}`))
      })
      upstream.on('error', () => res.destroy())
      req.pipe(upstream)
    }
    if (n === 1) void released.then(forward)
    else forward()
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    events,
    stop: () => {
      clearTimeout(timer)
      server.closeAllConnections()
      return new Promise<void>(resolve => server.close(() => resolve()))
    },
  }
}

describe('export: signature work of several images at once, recorded in image order', () => {
  let registry: StartedRegistry
  let ss: TestSigstore
  let client: RegistryClient
  let work: {dir: string; cleanup(): void}
  const names = ['a', 'b', 'c', 'd']
  const refs: string[] = []

  before(async () => {
    ;[registry, ss] = await Promise.all([startRegistry(), createTestSigstore()])
    client = new RegistryClient({insecure: registry.insecure})
    work = makeWorkDir('airlock-sigconc-')
    for (const name of names) {
      const ref = `${registry.host}/t/${name}:v1`
      const repo = client.repository(parseReference(ref))
      const img = sampleImage(name)
      await putImage(repo, img, 'v1')
      const digest = img.manifestDescriptor.digest
      await putImage(
        repo,
        ss.signImageLegacy(ref.replace(/:v1$/, ''), digest, {identity: ID, issuer: ISSUER}),
        `${digest.replace(':', '-')}.sig`,
      )
      refs.push(ref)
    }
  })
  after(async () => {
    await Promise.all([registry?.stop(), ss?.stop()])
    work?.cleanup()
  })

  it('a second image fetches its Rekor proof while the first one waits; subjects, proofs and judgements stay in order', async () => {
    const front = await holdingFront(ss.url, 1, 20_000)
    try {
      const judged: string[] = []
      const trustedRoots = [TrustedRoot.fromJSON(JSON.parse(ss.trustedRootJSON()))]
      const {hooks, state} = signatureExportHooks({
        mode: 'required',
        rekorUrl: front.url,
        trustedRoots,
        policy: loadPolicy({'certificate-identity': ID, 'certificate-oidc-issuer': ISSUER}),
        onJudgement: (image, judgement) => judged.push(`${image} ${judgement.ok}`),
      })
      const output = join(work.dir, 'out.tar')
      const result = await exportImages({
        sources: refs,
        output,
        hooks,
        openRegistry: async reference => {
          const ref = parseReference(reference)
          return {store: client.repository(ref), name: ref.toString(), reference: ref.reference, tag: ref.tag!}
        },
      })
      // The held lookup was answered only after another image's lookup arrived: the proofs overlapped.
      const firstAnswered = front.events.indexOf('answered 1')
      const second = front.events.findIndex(e => e.startsWith('request 2 '))
      assert.ok(second >= 0 && second < firstAnswered, `proof lookups one after another: ${front.events.join(', ')}`)
      assert.equal(front.events.filter(e => e.startsWith('request ')).length, names.length, 'one lookup per entry')
      // Recorded in image order, whatever order the work finished in.
      assert.deepEqual(
        result.images.map(i => i.reference),
        refs,
      )
      assert.deepEqual(
        judged,
        refs.map(r => `${r} true`),
      )
      assert.deepEqual(
        state.section.subjects.map(s => s.image),
        refs,
      )
      assert.equal(Object.keys(state.section.proofs ?? {}).length, names.length)
      const reader = await ArchiveReader.open(output)
      try {
        const section = parseSignaturesSection(reader.airlock.signatures)
        assert.deepEqual(
          section?.subjects.map(s => s.image),
          refs,
        )
        for (const path of Object.values(section?.proofs ?? {}))
          assert.ok(reader.entries.has(path), `${path} is in the archive`)
        for (const image of result.images)
          assert.equal(image.attached?.length, 1, `${image.reference}: its .sig carried`)
      } finally {
        await reader.close()
      }
    } finally {
      await front.stop()
    }
  })

  it('each manifest is asked for once: the image tag and its .sig tag by one GET, never HEAD then GET', async () => {
    const proxy = await startFaultProxy(registry.host)
    const viaProxy = new RegistryClient({insecure: [proxy.host]})
    try {
      const trustedRoots = [TrustedRoot.fromJSON(JSON.parse(ss.trustedRootJSON()))]
      const {hooks} = signatureExportHooks({
        mode: 'required',
        rekorUrl: ss.url,
        trustedRoots,
        policy: loadPolicy({'certificate-identity': ID, 'certificate-oidc-issuer': ISSUER}),
      })
      const sources = refs.map(r => r.replace(registry.host, proxy.host))
      const result = await exportImages({
        sources,
        output: join(work.dir, 'once.tar'),
        hooks,
        openRegistry: async reference => {
          const ref = parseReference(reference)
          return {store: viaProxy.repository(ref), name: ref.toString(), reference: ref.reference, tag: ref.tag!}
        },
      })
      assert.equal(result.images.length, names.length)
      const manifests = proxy.requests.filter(r => r.path.includes('/manifests/')).map(r => `${r.method} ${r.path}`)
      for (const image of result.images) {
        const repo = `/v2/t/${image.reference.split('/t/')[1]!.replace(/:v1$/, '')}`
        const sig = `${repo}/manifests/${image.digest.replace(':', '-')}.sig`
        assert.deepEqual(
          manifests.filter(m => m.endsWith(`${repo}/manifests/v1`)),
          [`GET ${repo}/manifests/v1`],
          'the image tag: one GET',
        )
        assert.deepEqual(
          manifests.filter(m => m.endsWith(sig)),
          [`GET ${sig}`],
          'the .sig tag: one GET',
        )
        assert.equal(image.attached?.length, 1, `${image.reference}: its .sig carried`)
      }
      // What the tags named was kept: nothing is fetched again by digest, and nothing is asked twice.
      assert.deepEqual(
        manifests.filter(m => m.startsWith('GET ') && m.includes('/manifests/sha256:')),
        [],
      )
      assert.deepEqual(
        manifests.filter((m, i) => manifests.indexOf(m) !== i),
        [],
      )
    } finally {
      viaProxy.close()
      await proxy.stop()
    }
  })

  it("one subject's look-ups (.sig, .att, .sbom tags and the referrers) are asked at once, not one after another", async () => {
    // The front holds the first look-up (the .sig tag) back until another request arrives.
    const front = await holdingFront(registry.url, 1, 20_000)
    try {
      const frontHost = new URL(front.url).host
      const viaFront = new RegistryClient({insecure: [frontHost]})
      const ref = parseReference(refs[0]!.replace(registry.host, frontHost))
      const repo = viaFront.repository(ref)
      const subject = await client.repository(parseReference(refs[0]!)).resolve('v1')
      const found = await discoverInRegistry(repo, [subject], ref.toString())
      const firstAnswered = front.events.indexOf('answered 1')
      const second = front.events.findIndex(e => e.startsWith('request 2 '))
      assert.ok(second >= 0 && second < firstAnswered, `look-ups one after another: ${front.events.join(', ')}`)
      assert.equal(found.length, 1)
      assert.deepEqual(
        found[0]!.entries.map(e => e.kind === 'legacy-tag' && (e.tag ?? '').endsWith('.sig')),
        [true],
        'the .sig tag, found whatever order the answers came in',
      )
    } finally {
      await front.stop()
    }
  })
})
