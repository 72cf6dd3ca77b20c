// Countersigning at the gap (issue 14 items 3, 4): the library writes every form Talos reads into a real
// Distribution 2.8 (no referrers API: forms 2 and 3 matter) and into Distribution behind the referrers front
// (test/support/referrers-front.ts: form 1 matters). An independent checker written from Talos's lookup code
// (test/support/talos-lookup.ts: @sigstore/verify for bundles, raw node:crypto for .sig layers) accepts each form
// alone under the operator key, rejects another key, and shows the short-circuit traps: an upstream keyless bundle
// alone in the referrers API (or in the sha256-<hex> index) makes a publicKey rule fail until airlock adds its own.
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {
  countersignImages,
  RECEIPT_PREDICATE,
  type VerificationRecord,
  type VerifiedImage,
} from '../src/countersign/index.ts'
import {generateKeyPair, parseSigningKey, type SigningKey} from '../src/keys/index.ts'
import type {Descriptor} from '../src/oci/descriptor.ts'
import {parseReference} from '../src/reference/index.ts'
import {RegistryClient, type Repository} from '../src/registry/index.ts'
import {startReferrersFront, type ReferrersFront} from './support/referrers-front.ts'
import {startRegistry, type StartedRegistry} from './support/registry.ts'
import {createTestSigstore, sampleImage, type TestSigstore} from './support/sigstore/index.ts'
import {pushBundleSignedIndex, putImage} from './support/sigstore/registry-images.ts'
import {TalosChecker} from './support/talos-lookup.ts'

const id = {identity: 'release@airlock.test', issuer: 'https://accounts.airlock.test'}
const ORIGINAL = 'ghcr.io/acme/app'

async function key(): Promise<SigningKey> {
  const pair = await generateKeyPair(Buffer.from('pw'))
  return parseSigningKey(pair.privatePem, 'cosign.key', () => Buffer.from('pw'))
}

const record: VerificationRecord = {
  trust: {trustedRootSha256: 'ab'.repeat(32), source: ['TUF mirror https://tuf.airlock.test (root v3)']},
  policySha256: 'cd'.repeat(32),
  policySource: 'policy.yaml',
  archiveSha256: 'ef'.repeat(32),
  archive: 'talos.tar',
  airlockVersion: '0.1.0',
  verifiedAt: '2026-12-02T06:00:00.000Z',
}

interface Mirror {
  url: string
  host: string
  repo: Repository
  multi: {root: Descriptor; platforms: Descriptor[]}
  legacy: Descriptor
}

async function del(url: string, repository: string, digest: string): Promise<void> {
  const res = await fetch(`${url}/v2/${repository}/manifests/${digest}`, {method: 'DELETE'})
  assert.equal(res.status, 202, `DELETE ${digest}`)
}

async function tagDigest(url: string, repository: string, tag: string): Promise<string | undefined> {
  const res = await fetch(`${url}/v2/${repository}/manifests/${tag}`, {
    method: 'HEAD',
    headers: {Accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json'},
  })
  return res.status === 200 ? (res.headers.get('docker-content-digest') ?? undefined) : undefined
}

describe('countersign: every form Talos reads, each alone enough', () => {
  let plain: StartedRegistry
  let backend: StartedRegistry
  let front: ReferrersFront
  let ss: TestSigstore
  let client: RegistryClient
  let operator: SigningKey
  let other: SigningKey
  const mirrors: Record<'plain' | 'api', Mirror> = {} as never

  async function populate(host: string, url: string): Promise<Mirror> {
    const repo = client.repository(parseReference(`${host}/acme/app`))
    const {index} = await pushBundleSignedIndex(repo, ss, ORIGINAL, `cs-${host}`, id)
    const manifests = (JSON.parse(index.bytes.toString()) as {manifests: Descriptor[]}).manifests
    const single = sampleImage(`cs-legacy-${host}`)
    await putImage(repo, single, 'legacy')
    const digest = single.manifestDescriptor.digest
    await putImage(repo, ss.signImageLegacy(ORIGINAL, digest, id), `${digest.replace(':', '-')}.sig`)
    return {
      url,
      host,
      repo,
      multi: {
        root: index.descriptor as Descriptor,
        platforms: manifests.map(m => ({mediaType: m.mediaType, digest: m.digest, size: m.size})),
      },
      legacy: single.manifestDescriptor as Descriptor,
    }
  }

  const images = (m: Mirror): VerifiedImage[] => [
    {
      repository: ORIGINAL,
      reference: `${ORIGINAL}:v1`,
      root: m.multi.root,
      platforms: m.multi.platforms,
      upstream: {
        identity: id.identity,
        issuer: id.issuer,
        keyed: false,
        logIndex: '7',
        integratedTime: '2026-12-01T00:00:00.000Z',
        subjects: [m.multi.root.digest],
      },
    },
    {
      repository: ORIGINAL,
      reference: `${ORIGINAL}:legacy`,
      root: m.legacy,
      platforms: [],
      upstream: {identity: id.identity, issuer: id.issuer, keyed: false, subjects: [m.legacy.digest]},
    },
  ]
  const run = (m: Mirror) =>
    countersignImages({key: operator, jobs: images(m).map(image => ({image, target: m.repo})), record})
  const subjects = (m: Mirror) => [m.multi.root.digest, ...m.multi.platforms.map(p => p.digest), m.legacy.digest]

  before(async () => {
    ;[plain, backend, ss] = await Promise.all([startRegistry(), startRegistry(), createTestSigstore({listen: false})])
    front = await startReferrersFront(backend.host)
    client = new RegistryClient({insecure: [plain.host, front.host]})
    ;[operator, other] = await Promise.all([key(), key()])
    mirrors.plain = await populate(plain.host, plain.url)
    mirrors.api = await populate(front.host, front.url)
  })

  after(async () => {
    client?.close()
    await front?.stop()
    await Promise.all([plain?.stop(), backend?.stop(), ss?.stop()])
  })

  it('before countersigning, the upstream keyless bundle short-circuits a publicKey rule (the trap) in both mirrors', async () => {
    const api = await new TalosChecker(mirrors.api.url, operator.publicKeyPem).check(
      'acme/app',
      mirrors.api.multi.root.digest,
    )
    assert.deepEqual([api.verified, api.form], [false, 'referrers'], api.message)
    const tagged = await new TalosChecker(mirrors.plain.url, operator.publicKeyPem).check(
      'acme/app',
      mirrors.plain.multi.root.digest,
    )
    assert.deepEqual([tagged.verified, tagged.form], [false, 'bundle-tag'], tagged.message)
    // The legacy image: its .sig has only the keyless layer.
    const legacy = await new TalosChecker(mirrors.plain.url, operator.publicKeyPem).check(
      'acme/app',
      mirrors.plain.legacy.digest,
    )
    assert.deepEqual([legacy.verified, legacy.form], [false, 'legacy-sig'], legacy.message)
  })

  it('countersigns index, platforms and single images; Talos finds them first where it looks first', async () => {
    for (const [name, m] of Object.entries(mirrors)) {
      const report = await run(m)
      assert.equal(report.signed.length, 2)
      assert.equal(report.signed[0]!.subjects.length, 3)
      assert.ok(report.written > 0)
      for (const digest of subjects(m)) {
        const result = await new TalosChecker(m.url, operator.publicKeyPem).check('acme/app', digest)
        assert.equal(result.verified, true, `${name} ${digest}: ${result.message}`)
        assert.equal(result.form, name === 'api' ? 'referrers' : 'bundle-tag')
        const wrong = await new TalosChecker(m.url, other.publicKeyPem).check('acme/app', digest)
        assert.equal(wrong.verified, false, `${name}: another key must not verify`)
      }
    }
    // The front indexed the countersign referrer beside the upstream keyless one.
    const listed = front.referrersOf('acme/app', mirrors.api.multi.root.digest)
    assert.ok(listed.length >= 4, JSON.stringify(listed)) // upstream sig + att, countersign, receipt
  })

  it('a re-run adds nothing: no new signature, every tag unchanged', async () => {
    for (const m of Object.values(mirrors)) {
      const tags = ['', '.sig', '.att'].flatMap(suffix => subjects(m).map(d => `${d.replace(':', '-')}${suffix}`))
      const before = await Promise.all(tags.map(t => tagDigest(m.url, 'acme/app', t)))
      const report = await run(m)
      assert.equal(report.written, 0)
      assert.ok(
        report.signed.every(s =>
          s.subjects.every(x => x.referrer === 'present' && x.fallbackIndex === 'present' && x.sig === 'present'),
        ),
      )
      assert.deepEqual(await Promise.all(tags.map(t => tagDigest(m.url, 'acme/app', t))), before)
    }
  })

  it('the .sig manifest keeps the upstream layers and adds one simple-signing layer naming the original repository', async () => {
    const m = mirrors.plain
    const sig = await m.repo.fetchManifest(`${m.legacy.digest.replace(':', '-')}.sig`)
    assert.equal(sig.parsed.kind, 'manifest')
    const layers = sig.parsed.kind === 'manifest' ? sig.parsed.layers : []
    assert.equal(layers.length, 2)
    assert.ok(layers[0]!.annotations?.['dev.sigstore.cosign/certificate'], 'upstream keyless layer first, untouched')
    const payload = JSON.parse((await readAll(await m.repo.fetch(layers[1]!))).toString())
    assert.equal(payload.critical.identity['docker-reference'], ORIGINAL)
    assert.equal(payload.critical.image['docker-manifest-digest'], m.legacy.digest)
  })

  it('each form alone is enough (forms deleted through the raw registry API)', async () => {
    const hex = (d: string) => d.replace(':', '-')
    // Plain Distribution: the sha256-<hex> index alone (.sig deleted) ...
    {
      const m = mirrors.plain
      const digest = m.multi.platforms[0]!.digest
      const sig = await tagDigest(m.url, 'acme/app', `${hex(digest)}.sig`)
      await del(m.url, 'acme/app', sig!)
      const r = await new TalosChecker(m.url, operator.publicKeyPem).check('acme/app', digest)
      assert.deepEqual([r.verified, r.form], [true, 'bundle-tag'], r.message)
    }
    // ... and the .sig layer alone (the sha256-<hex> index deleted): every layer is tried, ours verifies.
    {
      const m = mirrors.plain
      const digest = m.multi.root.digest
      const index = await tagDigest(m.url, 'acme/app', hex(digest))
      await del(m.url, 'acme/app', index!)
      const r = await new TalosChecker(m.url, operator.publicKeyPem).check('acme/app', digest)
      assert.deepEqual([r.verified, r.form], [true, 'legacy-sig'], r.message) // a .sig made by airlock (none upstream)
    }
    {
      const m = mirrors.plain
      const digest = m.legacy.digest
      const index = await tagDigest(m.url, 'acme/app', hex(digest))
      await del(m.url, 'acme/app', index!)
      const r = await new TalosChecker(m.url, operator.publicKeyPem).check('acme/app', digest)
      assert.deepEqual([r.verified, r.form], [true, 'legacy-sig'], r.message)
    }
    // Referrers API mirror: the referrer alone (sha256-<hex> index and .sig deleted).
    {
      const m = mirrors.api
      const digest = m.multi.root.digest
      await del(m.url, 'acme/app', (await tagDigest(m.url, 'acme/app', hex(digest)))!)
      await del(m.url, 'acme/app', (await tagDigest(m.url, 'acme/app', `${hex(digest)}.sig`))!)
      const r = await new TalosChecker(m.url, operator.publicKeyPem).check('acme/app', digest)
      assert.deepEqual([r.verified, r.form], [true, 'referrers'], r.message)
    }
    // A re-run after the damage restores the deleted forms and only those.
    const report = await run(mirrors.plain)
    assert.ok(report.written > 0)
    assert.equal((await run(mirrors.plain)).written, 0)
  })

  it('each image carries a signed receipt of what the gap verified (.att layer and referrer)', async () => {
    const m = mirrors.plain
    const att = await m.repo.fetchManifest(`${m.multi.root.digest.replace(':', '-')}.att`)
    const layers = att.parsed.kind === 'manifest' ? att.parsed.layers : []
    const ours = layers.filter(l => l.annotations?.['predicateType'] === RECEIPT_PREDICATE)
    assert.equal(ours.length, 1)
    const envelope = JSON.parse((await readAll(await m.repo.fetch(ours[0]!))).toString())
    const statement = JSON.parse(Buffer.from(envelope.payload, 'base64').toString())
    assert.equal(statement.predicateType, RECEIPT_PREDICATE)
    assert.deepEqual(
      statement.subject.map((s: {digest: {sha256: string}}) => `sha256:${s.digest.sha256}`),
      [m.multi.root.digest, ...m.multi.platforms.map(p => p.digest)],
    )
    assert.equal(statement.predicate.upstreamSignature.identity, id.identity)
    assert.equal(statement.predicate.upstreamSignature.issuer, id.issuer)
    assert.equal(statement.predicate.upstreamSignature.logIndex, '7')
    assert.equal(statement.predicate.trustedRoot.sha256, record.trust.trustedRootSha256)
    assert.equal(statement.predicate.policy.sha256, record.policySha256)
    assert.equal(statement.predicate.archive.sha256, record.archiveSha256)
    // The receipt bundle referrer verifies under the operator key (an auditor's check).
    const checker = new TalosChecker(m.url, operator.publicKeyPem)
    const listed = front
      .referrersOf('acme/app', mirrors.api.multi.root.digest)
      .filter(
        d =>
          (d.annotations as Record<string, string> | undefined)?.['dev.sigstore.bundle.predicateType'] ===
          RECEIPT_PREDICATE,
      )
    assert.equal(listed.length, 1)
    const manifest = await mirrors.api.repo.fetchManifest(listed[0]!.digest as string)
    const layer = manifest.parsed.kind === 'manifest' ? manifest.parsed.layers[0]! : assert.fail('not a manifest')
    assert.equal(
      checker.verifyBundle(await readAll(await mirrors.api.repo.fetch(layer)), mirrors.api.multi.root.digest),
      undefined,
    )
  })
})

async function readAll(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const c of stream) chunks.push(c as Buffer)
  return Buffer.concat(chunks)
}
