// The lines verify prints for one image's signatures, in process (issue 13 item 5): src/sigstore/judge.ts on
// signatures made by the test Sigstore instance (real keys, certificates, SETs), stored in an OCI layout and read
// through the content reader export and verify use. Key-signed signatures say so instead of an identity, attestations
// name their predicate type, a signature without a log entry (--insecure-ignore-tlog) names no log index.
import assert from 'node:assert/strict'
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import type {TrustedRoot} from '@sigstore/protobuf-specs'
import type {Descriptor} from '../src/oci/descriptor.ts'
import {loadPolicy, type Policy} from '../src/policy/index.ts'
import {fetcherContentReader, legacyLogIndex, type ContentReader} from '../src/sigstore/artifacts.ts'
import {parseTrustedRoot} from '../src/sigstore/index.ts'
import {judgeImage, type JudgeInput} from '../src/sigstore/judge.ts'
import type {SignatureEntry} from '../src/sigstore/section.ts'
import {OciLayoutStore} from '../src/store/oci-layout.ts'
import {
  createTestSigstore,
  digestOf,
  MEDIA,
  sampleImage,
  type OciImage,
  type TestSigstore,
} from './support/sigstore/index.ts'

const IMAGE = 'registry.example/team/app:1.0'
const NAME = 'registry.example/team/app'
const SLSA = 'https://slsa.dev/provenance/v1'
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')

describe('judgeImage: the lines that say who signed', () => {
  let ss: TestSigstore
  let root: TrustedRoot
  let dir: string
  let reader: ContentReader
  let keyPolicy: Policy
  const keyless = loadPolicy({
    'certificate-identity': 'signer@airlock.test',
    'certificate-oidc-issuer': 'https://issuer.airlock.test',
  })
  const image = sampleImage('judge-lines')
  const subject = image.manifestDescriptor as Descriptor
  let keySig: OciImage & {signature: {annotations: Record<string, string>}}
  let keylessSig: OciImage
  let attestation: OciImage & {attestation: {annotations: Record<string, string>}}
  let unlogged: OciImage
  let entries: SignatureEntry[] = []

  const entry = (img: OciImage, role: SignatureEntry['role'] = 'signature'): SignatureEntry => ({
    kind: img.tag?.endsWith('.sig') || img.tag?.endsWith('.att') ? 'legacy-tag' : 'referrer',
    ...(img.tag?.endsWith('.sig') || img.tag?.endsWith('.att') ? {tag: img.tag} : {}),
    role,
    descriptor: img.manifestDescriptor as Descriptor,
  })
  const input = (extra: Partial<JudgeInput>): JudgeInput => ({
    image: IMAGE,
    root: subject,
    platforms: [],
    entriesFor: d => (d === subject.digest ? entries : []),
    reader,
    policy: keyless,
    trustedRoots: [root],
    ...extra,
  })

  before(async () => {
    ss = await createTestSigstore({listen: false})
    root = parseTrustedRoot(ss.trustedRootJSON())
    dir = mkdtempSync(join(tmpdir(), 'airlock-judge-lines-'))
    const keyFile = join(dir, 'cosign.pub')
    writeFileSync(keyFile, ss.staticKeyPem)
    keyPolicy = loadPolicy({key: keyFile})
    keySig = ss.signImageLegacy(NAME, subject.digest, {key: true})
    keylessSig = ss.signImageLegacy(NAME, subject.digest)
    attestation = ss.attestImageLegacy(NAME, subject.digest, {predicateType: SLSA})
    unlogged = ss.signImageBundle(image.manifestDescriptor, NAME, {key: true, noTlog: true})
    mkdirSync(join(dir, 'blobs', 'sha256'), {recursive: true})
    writeFileSync(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}')
    writeFileSync(join(dir, 'index.json'), JSON.stringify({schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests: []}))
    for (const img of [image, keySig, keylessSig, attestation, unlogged])
      for (const b of [img.manifest, img.config.bytes, ...img.layers.map(l => l.bytes)])
        writeFileSync(join(dir, 'blobs', 'sha256', digestOf(b).slice(7)), b)
    reader = fetcherContentReader(await OciLayoutStore.open(dir))
  })
  after(async () => {
    await ss?.stop()
    if (dir) rmSync(dir, {recursive: true, force: true})
  })

  it('a key-signed signature says key-signed, with its log index and time', async () => {
    entries = [entry(keySig)]
    const j = await judgeImage(input({policy: keyPolicy}))
    assert.equal(j.ok, true, j.reason)
    assert.equal(j.lines.length, 2)
    const result = j.subjects[0]!.results[0]!
    assert.equal(result.signer.keyed, true)
    const index = legacyLogIndex(keySig.signature.annotations)!
    assert.equal(String(result.tlog[0]!.logIndex), index)
    assert.match(
      j.lines[1]!,
      new RegExp(
        `^  ok   signature \\[${esc(keySig.tag!)} layer 0\\]: key-signed, log index ${index}, integrated ${esc(result.tlog[0]!.integratedTime!)}; checks: \\S`,
      ),
    )
    assert.ok(!j.lines[1]!.includes('identity'))
    // the same signature under a keyless policy fails, and its line says which check and why
    const failed = await judgeImage(input({}))
    assert.equal(failed.ok, false)
    const r = failed.subjects[0]!.results[0]!
    assert.equal(failed.lines[1], `  FAIL signature [${keySig.tag} layer 0]: ${r.failure!.check}: ${r.failure!.reason}`)
  })

  it('an attestation names its predicate type; a keyless signature its identity and issuer', async () => {
    entries = [entry(keylessSig), entry(attestation, 'attestation')]
    const j = await judgeImage(input({policy: {...keyless, attestationType: SLSA}}))
    assert.equal(j.ok, true, j.reason)
    assert.equal(j.lines.length, 3)
    const index = legacyLogIndex(attestation.attestation.annotations)!
    assert.match(
      j.lines[1]!,
      new RegExp(
        `^  ok   signature \\[${esc(keylessSig.tag!)} layer 0\\]: identity signer@airlock\\.test, issuer https://issuer\\.airlock\\.test, log index \\d+, integrated \\S+; checks: \\S`,
      ),
    )
    assert.match(
      j.lines[2]!,
      new RegExp(
        `^  ok   attestation ${esc(SLSA)} \\[${esc(attestation.tag!)} layer 0\\]: identity signer@airlock\\.test, issuer https://issuer\\.airlock\\.test, log index ${index}, integrated \\S+; checks: \\S`,
      ),
    )
  })

  it('a key-signed bundle without a log entry, under --insecure-ignore-tlog: no log index in its line', async () => {
    entries = [entry(unlogged)]
    const j = await judgeImage(input({policy: {...keyPolicy, insecureIgnoreTlog: true}}))
    assert.equal(j.ok, true, j.reason)
    const result = j.subjects[0]!.results[0]!
    assert.deepEqual(result.tlog, [])
    assert.match(
      j.lines[1]!,
      new RegExp(
        // cosign v3 signs an in-toto statement of predicate type https://sigstore.dev/cosign/sign/v1
        `^  ok   signature ${esc('https://sigstore.dev/cosign/sign/v1')} \\[referrer ${esc(unlogged.manifestDescriptor.digest.slice(0, 19))} layer 0\\]: key-signed; checks: subject-digest, public-key, signature$`,
      ),
    )
    // a key policy with no trusted root says nothing about --trusted-root when it fails
    entries = []
    const none = await judgeImage(input({policy: keyPolicy, trustedRoots: []}))
    assert.equal(none.ok, false)
    assert.ok(!none.reason.includes('--trusted-root'), none.reason)
  })

  it('only the checks that passed are listed: the log checks skipped by --insecure-ignore-tlog are not', async () => {
    entries = [entry(unlogged)]
    const j = await judgeImage(input({policy: {...keyPolicy, insecureIgnoreTlog: true}}))
    const checks = j.subjects[0]!.results[0]!.checks
    assert.ok(
      checks.some(c => c.status === 'skipped' && c.name === 'tlog'),
      JSON.stringify(checks),
    )
    assert.ok(!j.lines[1]!.includes('tlog'))
  })

  it('a signed index lacking the required attestation is not rescued by attested platforms', async () => {
    const platform = sampleImage('judge-lines-platform')
    const pSig = ss.signImageLegacy(NAME, platform.manifestDescriptor.digest)
    const pAtt = ss.attestImageLegacy(NAME, platform.manifestDescriptor.digest, {predicateType: SLSA})
    for (const img of [platform, pSig, pAtt])
      for (const b of [img.manifest, img.config.bytes, ...img.layers.map(l => l.bytes)])
        writeFileSync(join(dir, 'blobs', 'sha256', digestOf(b).slice(7)), b)
    const byDigest = new Map<string, SignatureEntry[]>([
      [subject.digest, [entry(keylessSig)]],
      [platform.manifestDescriptor.digest, [entry(pSig), entry(pAtt, 'attestation')]],
    ])
    const policy = {...keyless, attestationType: SLSA}
    const j = await judgeImage(
      input({policy, platforms: [platform.manifestDescriptor as Descriptor], entriesFor: d => byDigest.get(d) ?? []}),
    )
    assert.equal(j.ok, false)
    assert.equal(j.coveredBy, 'root')
    assert.equal(j.subjects[0]!.errorCode, 'SIGNATURE_MISSING')
    assert.equal(j.reason, `no attestation found for this image (required: ${SLSA})`)
    // the platform alone, judged as the root, passes: the refusal above is the index's
    const alone = await judgeImage(
      input({policy, root: platform.manifestDescriptor as Descriptor, entriesFor: d => byDigest.get(d) ?? []}),
    )
    assert.equal(alone.ok, true, alone.reason)
  })

  it('an unsigned image with no platform carried keeps its own reason, whatever the index lists', async () => {
    entries = []
    const j = await judgeImage(input({children: {listed: 2, carried: 0}}))
    assert.equal(j.ok, false)
    assert.equal(j.reason, j.subjects[0]!.reason)
    assert.equal(j.reason, 'no signature found for this image')
  })

  it('without --require-container-identity the payload may name another repository', async () => {
    entries = [entry(keylessSig)]
    const j = await judgeImage(input({image: 'registry.example/other:1'}))
    assert.equal(j.ok, true, j.reason)
    assert.ok(!j.subjects[0]!.results[0]!.checks.some(c => c.name === 'container-identity'))
  })
})
