// From stored signature manifests to the artifacts verify judges, in process (issue 13 item 5):
// src/sigstore/artifacts.ts over an OCI layout holding what cosign writes (legacy `.sig` and `.att` images, a v0.3
// bundle referrer, made by the test Sigstore instance with real certificates and log entries), read through the
// content reader export and verify use. Which layers become artifacts, with which source and inclusion proof; a
// repeated layer is one artifact and a repeated blob is read once; the caps on artifacts and bytes per subject.
import assert from 'node:assert/strict'
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import type {Descriptor} from '../src/oci/descriptor.ts'
import type {RekorInclusionProof} from '../src/sigstore/cosign-legacy.ts'
import {
  collectArtifacts,
  fetcherContentReader,
  legacyLogIndex,
  MAX_ARTIFACTS_PER_SUBJECT,
  MAX_SIGNATURE_BLOB,
  MAX_SIGNATURE_BYTES_PER_SUBJECT,
  type ContentReader,
} from '../src/sigstore/artifacts.ts'
import type {SignatureEntry} from '../src/sigstore/section.ts'
import {OciLayoutStore} from '../src/store/oci-layout.ts'
import {
  blob,
  createTestSigstore,
  digestOf,
  EMPTY_CONFIG,
  MEDIA,
  sampleImage,
  type Blob,
  type OciImage,
  type TestSigstore,
} from './support/sigstore/index.ts'

const BUNDLE_ANNOTATION = 'dev.sigstore.cosign/bundle'
const OTHER_MEDIA = 'application/vnd.example.unknown'

describe('collectArtifacts: the signature artifacts of one subject', () => {
  let ss: TestSigstore
  let dir: string
  let store: OciLayoutStore
  const subject = sampleImage('artifacts-subject')
  const subjectDigest = subject.manifestDescriptor.digest
  let sig: OciImage & {signature: {payload: Buffer; annotations: Record<string, string>}}
  let sig2: OciImage & {signature: {payload: Buffer; annotations: Record<string, string>}}
  let att: OciImage
  let bundle: OciImage
  /** Blobs read and proofs asked for, per reader made by `reader()`. */
  let reads: string[]
  let asked: string[]

  const put = (b: Buffer) => writeFileSync(join(dir, 'blobs', 'sha256', digestOf(b).slice(7)), b)
  const putImage = (img: OciImage) => {
    for (const b of [img.manifest, img.config.bytes, ...img.layers.map(l => l.bytes)]) put(b)
  }
  /** A signature manifest over these layers (config: the empty descriptor), stored in the layout. */
  const manifestOver = (layers: Blob[], descriptors = layers.map(l => l.descriptor)): Descriptor => {
    for (const l of layers) put(l.bytes)
    put(EMPTY_CONFIG.bytes)
    const bytes = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA.ociManifest,
        config: EMPTY_CONFIG.descriptor,
        layers: descriptors,
      }),
    )
    put(bytes)
    return {mediaType: MEDIA.ociManifest, digest: digestOf(bytes), size: bytes.length} as Descriptor
  }
  const entry = (img: OciImage | Descriptor, extra: Partial<SignatureEntry> = {}): SignatureEntry => {
    const descriptor = ('manifestDescriptor' in img ? img.manifestDescriptor : img) as Descriptor
    // cosign's `.sig`/`.att` tags; a bundle referrer is found through the referrers API, not its fallback tag
    const tag = 'manifestDescriptor' in img && /\.(sig|att)$/.test(img.tag ?? '') ? img.tag : undefined
    return {kind: tag ? 'legacy-tag' : 'referrer', ...(tag ? {tag} : {}), role: 'signature', descriptor, ...extra}
  }
  /** The layout's reader, recording the blobs it reads and, with `proofs`, answering the proof lookups. */
  const reader = (proofs?: Map<string, RekorInclusionProof>): ContentReader => {
    reads = []
    asked = []
    const inner = fetcherContentReader(
      store,
      proofs
        ? async index => {
            asked.push(index)
            return proofs.get(index)
          }
        : undefined,
    )
    return {
      ...inner,
      blob: d => {
        reads.push(d.digest)
        return inner.blob(d)
      },
    }
  }

  before(async () => {
    ss = await createTestSigstore({listen: false})
    dir = mkdtempSync(join(tmpdir(), 'airlock-artifacts-'))
    mkdirSync(join(dir, 'blobs', 'sha256'), {recursive: true})
    writeFileSync(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}')
    writeFileSync(join(dir, 'index.json'), JSON.stringify({schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests: []}))
    sig = ss.signImageLegacy('registry.example/team/app', subjectDigest)
    sig2 = ss.signImageLegacy('registry.example/team/app', subjectDigest, {identity: 'second@airlock.test'})
    att = ss.attestImageLegacy('registry.example/team/app', subjectDigest)
    bundle = ss.signImageBundle(subject.manifestDescriptor, 'registry.example/team/app')
    for (const img of [subject, sig, sig2, att, bundle]) putImage(img)
    store = await OciLayoutStore.open(dir)
  })
  after(async () => {
    await ss?.stop()
    if (dir) rmSync(dir, {recursive: true, force: true})
  })

  it('legacyLogIndex reads the log index of the SET annotation, and nothing else', () => {
    const real = legacyLogIndex(sig.signature.annotations)
    const set = JSON.parse(sig.signature.annotations[BUNDLE_ANNOTATION]!) as {Payload: {logIndex: number}}
    assert.equal(real, String(set.Payload.logIndex))
    const withIndex = (logIndex: unknown) => ({[BUNDLE_ANNOTATION]: JSON.stringify({Payload: {logIndex}})})
    assert.equal(legacyLogIndex(withIndex(0)), '0')
    assert.equal(legacyLogIndex(withIndex(12345)), '12345')
    for (const bad of [-1, 1.5, '7', null, Number.MAX_SAFE_INTEGER + 1])
      assert.equal(legacyLogIndex(withIndex(bad)), undefined, String(bad))
    assert.equal(legacyLogIndex(undefined), undefined)
    assert.equal(legacyLogIndex({}), undefined)
    assert.equal(legacyLogIndex({[BUNDLE_ANNOTATION]: ''}), undefined)
    assert.equal(legacyLogIndex({[BUNDLE_ANNOTATION]: '{not json'}), undefined)
    assert.equal(legacyLogIndex({[BUNDLE_ANNOTATION]: 'null'}), undefined)
    assert.equal(legacyLogIndex({[BUNDLE_ANNOTATION]: '{}'}), undefined)
  })

  it('signature, attestation and bundle layers become artifacts with their source; other roles and layers do not', async () => {
    const sbom = manifestOver([blob('{"sbom":true}', MEDIA.simpleSigning)])
    const mixed = manifestOver([
      blob('not a signature', MEDIA.ociLayer),
      blob('{"critical":{}}', MEDIA.simpleSigning, {note: 'mixed'}),
    ])
    const r = reader()
    const artifacts = await collectArtifacts(
      [
        entry(sig),
        entry(att, {role: 'attestation'}),
        entry(bundle),
        entry(sbom, {role: 'sbom'}),
        entry(sbom, {role: 'other'}),
        entry(mixed),
      ],
      r,
    )
    assert.deepEqual(
      artifacts.map(a => [a.kind, a.source]),
      [
        ['cosign-signature', `${sig.tag} layer 0`],
        ['cosign-attestation', `${att.tag} layer 0`],
        ['bundle', `referrer ${bundle.manifestDescriptor.digest.slice(0, 19)} layer 0`],
        ['cosign-signature', `referrer ${mixed.digest.slice(0, 19)} layer 1`],
      ],
    )
    const [s, a, b] = artifacts as unknown as [
      {payload: Buffer; annotations: Record<string, string>},
      {envelope: Buffer; annotations: Record<string, string>},
      {bundle: Buffer},
    ]
    assert.deepEqual(s.payload, sig.layers[0]!.bytes)
    assert.deepEqual(s.annotations, sig.signature.annotations)
    assert.deepEqual(a.envelope, att.layers[0]!.bytes)
    assert.deepEqual(a.annotations, att.layers[0]!.descriptor.annotations)
    assert.deepEqual(b.bundle, bundle.layers[0]!.bytes)
    // no reader without proofs: no inclusion proof on any artifact
    assert.ok(artifacts.every(x => !('inclusionProof' in x)))
    // the sbom's layer, the plain layer and the bundle manifest's config are never read
    assert.deepEqual(
      [...reads].sort(),
      [sig.layers[0]!, att.layers[0]!, bundle.layers[0]!]
        .map(l => l.descriptor.digest)
        .concat(digestOf(Buffer.from('{"critical":{}}')))
        .sort(),
    )
  })

  it('an entry naming an index instead of a manifest holds no signature layers: skipped', async () => {
    const indexBytes = Buffer.from(
      JSON.stringify({schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests: [sig.manifestDescriptor]}),
    )
    put(indexBytes)
    const index = {mediaType: MEDIA.ociIndex, digest: digestOf(indexBytes), size: indexBytes.length} as Descriptor
    assert.deepEqual(await collectArtifacts([entry(index)], reader()), [])
    assert.deepEqual(reads, [])
  })

  it('a legacy layer gets the inclusion proof stored for its log index; bundles carry their own', async () => {
    const index = legacyLogIndex(sig.signature.annotations)!
    const proof = ss.tlog.inclusionProof(ss.tlog.find({logIndex: Number(index)})!)
    const r = reader(new Map([[index, proof]]))
    const artifacts = await collectArtifacts([entry(sig), entry(sig2), entry(bundle)], r)
    assert.equal(artifacts.length, 3)
    assert.equal((artifacts[0] as {inclusionProof?: unknown}).inclusionProof, proof)
    // sig2's index has no stored proof: none attached, and the key is absent rather than undefined
    assert.ok(!('inclusionProof' in artifacts[1]!))
    assert.ok(!('inclusionProof' in artifacts[2]!))
    assert.deepEqual(asked, [index, legacyLogIndex(sig2.signature.annotations)])
    // a layer without a SET asks for nothing
    const unlogged = manifestOver([blob('{"critical":{}}', MEDIA.simpleSigning, {other: 'x'})])
    const r2 = reader(new Map([[index, proof]]))
    await collectArtifacts([entry(unlogged)], r2)
    assert.deepEqual(asked, [])
  })

  it('a repeated layer is one artifact and a repeated blob is read once', async () => {
    const layer = sig.layers[0]!
    const sameBlobOtherAnnotations = {...layer.descriptor, annotations: {...layer.descriptor.annotations, extra: '1'}}
    const repeated = manifestOver([layer], [layer.descriptor, layer.descriptor, sameBlobOtherAnnotations])
    const r = reader()
    // the .sig listed twice and a manifest repeating its layer: two artifacts (the annotations differ once)
    const artifacts = await collectArtifacts([entry(sig), entry(sig), entry(repeated)], r)
    assert.deepEqual(
      artifacts.map(a => a.source),
      [`${sig.tag} layer 0`, `referrer ${repeated.digest.slice(0, 19)} layer 2`],
    )
    assert.deepEqual(reads, [layer.descriptor.digest])
    // the same digest under another media type is another artifact
    const asAttestation = manifestOver([layer], [{...layer.descriptor, mediaType: MEDIA.dsseEnvelope}])
    const both = await collectArtifacts([entry(sig), entry(asAttestation)], reader())
    assert.deepEqual(
      both.map(a => a.kind),
      ['cosign-signature', 'cosign-attestation'],
    )
  })

  it(`at most ${MAX_ARTIFACTS_PER_SUBJECT} distinct artifacts per subject, repeats not counted`, async () => {
    const unknown = blob('x', OTHER_MEDIA)
    const layers = (n: number) =>
      Array.from({length: n}, (_, i) => ({...unknown.descriptor, annotations: {n: String(i)}}))
    const atCap = manifestOver([unknown], layers(MAX_ARTIFACTS_PER_SUBJECT))
    assert.deepEqual(await collectArtifacts([entry(atCap)], reader()), [])
    const withRepeat = manifestOver(
      [unknown],
      [...layers(MAX_ARTIFACTS_PER_SUBJECT), unknown.descriptor, unknown.descriptor].slice(1),
    )
    assert.deepEqual(await collectArtifacts([entry(withRepeat)], reader()), [])
    const over = manifestOver([unknown], layers(MAX_ARTIFACTS_PER_SUBJECT + 1))
    await assert.rejects(collectArtifacts([entry(over)], reader()), {
      code: 'TOO_LARGE',
      message: `more than ${MAX_ARTIFACTS_PER_SUBJECT} signature artifacts for one subject; refusing to verify them all`,
    })
    // counted per subject across entries
    const half = manifestOver([unknown], layers(MAX_ARTIFACTS_PER_SUBJECT / 2 + 1))
    const otherHalf = manifestOver(
      [unknown],
      layers(MAX_ARTIFACTS_PER_SUBJECT + 1).slice(MAX_ARTIFACTS_PER_SUBJECT / 2),
    )
    await assert.rejects(collectArtifacts([entry(half), entry(otherHalf)], reader()), {code: 'TOO_LARGE'})
  })

  it(`at most ${MAX_SIGNATURE_BYTES_PER_SUBJECT} bytes of distinct signature blobs per subject, checked before reading`, async () => {
    assert.equal(MAX_SIGNATURE_BYTES_PER_SUBJECT, 4 * MAX_SIGNATURE_BLOB)
    const big = [1, 2, 3, 4].map(i => blob(Buffer.alloc(MAX_SIGNATURE_BLOB, i), MEDIA.simpleSigning))
    const small = blob('{"one":"byte more"}', MEDIA.simpleSigning)
    // exactly the cap, one blob named twice: read once, counted once
    const atCap = manifestOver(big, [...big.map(b => b.descriptor), {...big[0]!.descriptor, annotations: {again: '1'}}])
    const r = reader()
    const artifacts = await collectArtifacts([entry(atCap)], r)
    assert.equal(artifacts.length, 5)
    assert.equal(reads.length, 4)
    const over = manifestOver([...big, small])
    const r2 = reader()
    await assert.rejects(collectArtifacts([entry(over)], r2), {
      code: 'TOO_LARGE',
      message: `signature material of one subject is over ${MAX_SIGNATURE_BYTES_PER_SUBJECT} bytes; refusing to read more`,
    })
    assert.deepEqual(
      reads,
      big.map(b => b.descriptor.digest),
    )
  })
})
