// Signature discovery at export, in process (issue 13 item 5): src/sigstore/discover.ts over an OCI layout written
// here and over a real registry (Distribution's docker-registry, no referrers API: the fallback tag), with signatures
// made by the test Sigstore instance (real crypto) in the forms cosign writes: legacy `.sig`/`.att` tags and v0.3
// bundle referrers, plus an oras-style artifact tagged on its own in the layout.
import assert from 'node:assert/strict'
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {Readable} from 'node:stream'
import {after, before, describe, it} from 'node:test'
import type {Descriptor} from '../src/oci/descriptor.ts'
import {parseReference} from '../src/reference/index.ts'
import {RegistryClient} from '../src/registry/index.ts'
import {discoverInRegistry, discoverSignatures, readBlob, readManifest, referrerRole} from '../src/sigstore/discover.ts'
import {openSource, parseSource} from '../src/store/source.ts'
import {startRegistry, type StartedRegistry} from './support/registry.ts'
import {putImage} from './support/sigstore/registry-images.ts'
import {
  blob,
  createTestSigstore,
  digestOf,
  digestTag,
  EMPTY_CONFIG,
  MEDIA,
  referrersIndex,
  sampleImage,
  type OciDescriptor,
  type OciImage,
  type TestSigstore,
} from './support/sigstore/index.ts'

const REF_NAME = 'org.opencontainers.image.ref.name'
const SBOM_TYPE = 'application/spdx+json'
const strip = (d: OciDescriptor) => ({mediaType: d.mediaType, digest: d.digest, size: d.size})

/** An oras-style artifact manifest: one layer, artifactType, subject. */
function artifact(subject: OciDescriptor, artifactType: string, body: string): OciImage {
  const layer = blob(body, artifactType)
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA.ociManifest,
      artifactType,
      config: EMPTY_CONFIG.descriptor,
      layers: [layer.descriptor],
      subject: strip(subject),
      annotations: {'org.example.kind': 'sbom'},
    }),
  )
  return {
    manifest,
    manifestDescriptor: {mediaType: MEDIA.ociManifest, digest: digestOf(manifest), size: manifest.length, artifactType},
    config: EMPTY_CONFIG,
    layers: [layer],
  }
}

describe('signature discovery', () => {
  let ss: TestSigstore
  let dir: string
  let registry: StartedRegistry
  const app = sampleImage('discover-app')
  const other = sampleImage('discover-other')
  const subject = app.manifestDescriptor
  let legacySig: OciImage
  let legacyAtt: OciImage
  let bundleSig: OciImage
  let bundleAtt: OciImage
  let sbom: OciImage
  let foreign: OciImage

  before(async () => {
    ss = await createTestSigstore({listen: false})
    legacySig = ss.signImageLegacy('example.test/app', subject.digest)
    legacyAtt = ss.attestImageLegacy('example.test/app', subject.digest)
    bundleSig = ss.signImageBundle(subject, 'example.test/app')
    bundleAtt = ss.attestImageBundle(subject, 'example.test/app')
    sbom = artifact(subject, SBOM_TYPE, '{"spdxVersion":"SPDX-2.3"}')
    foreign = artifact(other.manifestDescriptor, SBOM_TYPE, '{"spdxVersion":"SPDX-2.3","other":1}')
    dir = mkdtempSync(join(tmpdir(), 'airlock-discover-'))
    registry = await startRegistry()
  })
  after(async () => {
    await registry?.stop()
    await ss?.stop()
    if (dir) rmSync(dir, {recursive: true, force: true})
  })

  /** Writes an OCI layout holding `images` (and `extra` blobs) with index.json = `manifests`. */
  function layout(name: string, images: OciImage[], manifests: object[], extra: Buffer[] = []): string {
    const root = join(dir, name)
    mkdirSync(join(root, 'blobs', 'sha256'), {recursive: true})
    writeFileSync(join(root, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}')
    const put = (b: Buffer) => writeFileSync(join(root, 'blobs', 'sha256', digestOf(b).slice(7)), b)
    for (const img of images) for (const b of [img.manifest, img.config.bytes, ...img.layers.map(l => l.bytes)]) put(b)
    for (const b of extra) put(b)
    writeFileSync(join(root, 'index.json'), JSON.stringify({schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests}))
    return root
  }
  const tagged = (img: OciImage | {descriptor: OciDescriptor}, name: string) => ({
    ...('manifestDescriptor' in img ? img.manifestDescriptor : img.descriptor),
    annotations: {[REF_NAME]: name},
  })

  it('the role of a referrer, from its artifact type and bundle annotations', () => {
    const d = (artifactType: string | undefined, annotations?: Record<string, string>): Descriptor =>
      ({mediaType: MEDIA.ociManifest, digest: subject.digest, size: 1, artifactType, annotations}) as Descriptor
    const bundle = 'application/vnd.dev.sigstore.bundle.v0.3+json'
    assert.equal(referrerRole(d(bundle)), 'signature')
    assert.equal(referrerRole(d(bundle, {'dev.sigstore.bundle.content': 'message-signature'})), 'signature')
    assert.equal(
      referrerRole(
        d(bundle, {
          'dev.sigstore.bundle.content': 'message-signature',
          'dev.sigstore.bundle.predicateType': 'https://slsa.dev/provenance/v1',
        }),
      ),
      'signature',
    )
    assert.equal(
      referrerRole(d(bundle, {'dev.sigstore.bundle.predicateType': 'https://sigstore.dev/cosign/sign/v1'})),
      'signature',
    )
    assert.equal(
      referrerRole(
        d('application/vnd.dev.sigstore.bundle+json;version=0.2', {
          'dev.sigstore.bundle.content': 'dsse-envelope',
          'dev.sigstore.bundle.predicateType': 'https://slsa.dev/provenance/v1',
        }),
      ),
      'attestation',
    )
    assert.equal(referrerRole(d(SBOM_TYPE)), 'sbom')
    assert.equal(referrerRole(d('application/vnd.cyclonedx+json')), 'sbom')
    assert.equal(referrerRole(d('application/vnd.example.SBOM')), 'sbom')
    assert.equal(referrerRole(d('application/vnd.cncf.notary.signature')), 'signature')
    assert.equal(referrerRole(d('application/vnd.dev.cosign.artifact.sig.v1+json')), 'signature')
    assert.equal(referrerRole(d('application/vnd.example.thing')), 'other')
    assert.equal(referrerRole(d(undefined)), 'other')
    // the bundle prefix must start the type
    assert.equal(referrerRole(d('x-application/vnd.dev.sigstore.bundle.v0.3+json')), 'other')
  })

  it('in an OCI layout: legacy tags by repo:tag or bare tag, the fallback index, and artifacts tagged alone', async () => {
    const fallback = referrersIndex([bundleSig, bundleAtt])
    const hex = subject.digest.slice(7)
    const root = layout(
      'layout',
      [app, other, legacySig, legacyAtt, bundleSig, bundleAtt, sbom, foreign],
      [
        tagged(app, 'example.test/app:v1'),
        tagged(legacySig, `example.test/app:sha256-${hex}.sig`),
        tagged(legacyAtt, `sha256-${hex}.att`),
        // another repository's .sbom tag is not this image's
        tagged(foreign, `example.test/elsewhere:sha256-${hex}.sbom`),
        tagged(fallback, `example.test/app:sha256-${hex}`),
        // the bundle signature is also tagged on its own: listed once
        tagged(bundleSig, 'bundle-sig'),
        {...tagged(sbom, 'sbom'), artifactType: SBOM_TYPE},
        // an artifact of another image, and one whose manifest is missing from the layout, are passed over
        {...tagged(foreign, 'foreign'), artifactType: SBOM_TYPE},
        {mediaType: MEDIA.ociManifest, digest: `sha256:${'9'.repeat(64)}`, size: 10, artifactType: SBOM_TYPE},
        // not a manifest, or no artifactType: never read
        {mediaType: 'application/octet-stream', digest: `sha256:${'8'.repeat(64)}`, size: 1, artifactType: SBOM_TYPE},
        tagged(other, 'example.test/app:other'),
      ],
      [fallback.bytes],
    )
    const source = await openSource(parseSource(`oci:${root}:example.test/app:v1`))
    const found = await discoverSignatures(source, [subject, other.manifestDescriptor], 'example.test/app:v1')
    // the other image's only artifact is the one tagged on its own (its legacy-looking tag is another repository's)
    assert.equal(found.length, 2)
    assert.deepEqual(found[1], {
      image: 'example.test/app:v1',
      digest: other.manifestDescriptor.digest,
      entries: [
        {kind: 'referrer', role: 'sbom', artifactType: SBOM_TYPE, descriptor: strip(foreign.manifestDescriptor)},
      ],
    })
    assert.equal(found[0]!.image, 'example.test/app:v1')
    assert.equal(found[0]!.digest, subject.digest)
    assert.deepEqual(found[0]!.entries, [
      {
        kind: 'legacy-tag',
        tag: `sha256-${hex}.sig`,
        role: 'signature',
        descriptor: strip(legacySig.manifestDescriptor),
      },
      {
        kind: 'legacy-tag',
        tag: `sha256-${hex}.att`,
        role: 'attestation',
        descriptor: strip(legacyAtt.manifestDescriptor),
      },
      {
        kind: 'referrer',
        role: 'signature',
        artifactType: MEDIA.sigstoreBundleV03,
        descriptor: strip(bundleSig.manifestDescriptor),
      },
      {
        kind: 'referrer',
        role: 'attestation',
        artifactType: MEDIA.sigstoreBundleV03,
        descriptor: strip(bundleAtt.manifestDescriptor),
      },
      {kind: 'referrer', role: 'sbom', artifactType: SBOM_TYPE, descriptor: strip(sbom.manifestDescriptor)},
    ])
  })

  it('in an OCI layout: an artifact manifest read for its subject says its own type and annotations', async () => {
    // index.json claims a signature type; the manifest itself says it is an SBOM: the manifest wins
    const root = layout(
      'layout-types',
      [app, sbom],
      [
        tagged(app, 'example.test/app:v1'),
        {...tagged(sbom, 'x'), artifactType: 'application/vnd.cncf.notary.signature'},
      ],
    )
    const source = await openSource(parseSource(`oci:${root}:example.test/app:v1`))
    const [found] = await discoverSignatures(source, [subject], 'example.test/app:v1')
    assert.deepEqual(found!.entries, [
      {kind: 'referrer', role: 'sbom', artifactType: SBOM_TYPE, descriptor: strip(sbom.manifestDescriptor)},
    ])
    // nothing signed: nothing listed
    const bare = layout('layout-bare', [app], [tagged(app, 'example.test/app:v1')])
    assert.deepEqual(
      await discoverSignatures(await openSource(parseSource(`oci:${bare}:example.test/app:v1`)), [subject], 'x'),
      [],
    )
  })

  it('in a registry: the legacy tags and the referrers fallback tag, for every subject given', async () => {
    const client = new RegistryClient({insecure: registry.insecure})
    const repo = client.repository(parseReference(`${registry.host}/discover/app`))
    await putImage(repo, app, 'v1')
    await putImage(repo, other, 'other')
    await putImage(repo, legacySig, legacySig.tag)
    await putImage(repo, legacyAtt, legacyAtt.tag)
    await putImage(repo, bundleSig)
    await putImage(repo, bundleAtt)
    const fallback = referrersIndex([bundleSig, bundleAtt])
    await repo.pushManifest(fallback.bytes, fallback.descriptor.mediaType, digestTag(subject.digest))
    const found = await discoverInRegistry(repo, [other.manifestDescriptor as Descriptor, subject as Descriptor], 'ref')
    assert.equal(found.length, 1)
    assert.equal(found[0]!.digest, subject.digest)
    assert.deepEqual(
      found[0]!.entries.map(e => [e.kind, e.role, e.tag, e.descriptor.digest, e.artifactType]),
      [
        ['legacy-tag', 'signature', legacySig.tag, legacySig.manifestDescriptor.digest, undefined],
        ['legacy-tag', 'attestation', legacyAtt.tag, legacyAtt.manifestDescriptor.digest, undefined],
        ['referrer', 'signature', undefined, bundleSig.manifestDescriptor.digest, MEDIA.sigstoreBundleV03],
        ['referrer', 'attestation', undefined, bundleAtt.manifestDescriptor.digest, MEDIA.sigstoreBundleV03],
      ],
    )
    // the descriptors recorded carry no annotations (only mediaType, digest, size)
    for (const e of found[0]!.entries)
      assert.deepEqual(Object.keys(e.descriptor).sort(), ['digest', 'mediaType', 'size'])
    // the same through discoverSignatures on a registry source
    const viaSource = await discoverSignatures(
      {spec: {transport: 'registry', input: 'x', ref: 'x'}, store: repo as never, reference: 'v1', name: 'ref'},
      [subject as Descriptor],
      'ref',
    )
    assert.deepEqual(viaSource, found)
  })

  it('in a registry: an error other than "not found" while resolving a tag is not swallowed', async () => {
    const failing = {
      resolve: async () => {
        throw Object.assign(new Error('registry down'), {code: 'REGISTRY_ERROR'})
      },
      referrers: async () => [],
    }
    await assert.rejects(discoverInRegistry(failing, [subject as Descriptor], 'ref'), /registry down/)
  })

  it('reads blobs and manifests whole, refusing sizes over the limit before reading', async () => {
    const store = {
      fetch: async (d: Descriptor) => {
        assert.equal(d.digest, subject.digest)
        return Readable.from([app.manifest.subarray(0, 10), app.manifest.subarray(10)])
      },
    }
    assert.deepEqual(await readBlob(store as never, subject as Descriptor), app.manifest)
    const raw = await readManifest(store as never, subject as Descriptor)
    assert.equal(raw.parsed.kind, 'manifest')
    await assert.rejects(readBlob(store as never, {...subject, size: 11} as Descriptor, 10), {
      code: 'TOO_LARGE',
      message: `blob ${subject.digest} is 11 bytes, over the 10 byte limit`,
    })
    assert.equal((await readBlob(store as never, {...subject, size: 10} as Descriptor, 10)).length, app.manifest.length)
    await assert.rejects(readManifest(store as never, {...subject, size: 4 * 1024 * 1024 + 1} as Descriptor), {
      code: 'TOO_LARGE',
      message: `manifest ${subject.digest} is over 4194304 bytes`,
    })
  })
})
