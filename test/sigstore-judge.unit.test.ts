// One image's signature decision, in process (issue 13 item 5): src/sigstore/judge.ts over an OCI layout holding a
// two-platform index and cosign legacy signatures made by the test Sigstore instance (real certificates, SETs and
// log entries), read back through the same content reader export uses. Which signature decides (the index's, or
// every platform's when the index has none), the reasons verify prints, and the lines that say who signed.
import assert from 'node:assert/strict'
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import type {TrustedRoot} from '@sigstore/protobuf-specs'
import type {Descriptor} from '../src/oci/descriptor.ts'
import {loadPolicy, type Policy} from '../src/policy/index.ts'
import {fetcherContentReader, type ContentReader} from '../src/sigstore/artifacts.ts'
import {parseTrustedRoot, INSECURE_TLOG_WARNING} from '../src/sigstore/index.ts'
import {judgeImage, type JudgeInput} from '../src/sigstore/judge.ts'
import type {SignatureEntry} from '../src/sigstore/section.ts'
import {OciLayoutStore} from '../src/store/oci-layout.ts'
import {
  createTestSigstore,
  digestOf,
  MEDIA,
  sampleImage,
  sampleIndex,
  type OciImage,
  type SignOptions,
  type TestSigstore,
} from './support/sigstore/index.ts'

const IMAGE = 'registry.example/team/app:1.0'
const KEYLESS: Policy = loadPolicy({
  'certificate-identity': 'signer@airlock.test',
  'certificate-oidc-issuer': 'https://issuer.airlock.test',
})
const short = (d: string) => d.slice(0, 19)

describe('judgeImage: which signature decides an image', () => {
  let ss: TestSigstore
  let root: TrustedRoot
  let dir: string
  let reader: ContentReader
  const amd = sampleImage('judge-amd64')
  const arm = sampleImage('judge-arm64', {architecture: 'arm64', os: 'linux'})
  const index = sampleIndex([
    {image: amd, platform: {architecture: 'amd64', os: 'linux'}},
    {image: arm, platform: {architecture: 'arm64', os: 'linux'}},
  ])
  const platforms = [amd.manifestDescriptor, arm.manifestDescriptor] as Descriptor[]
  /** digest -> signature entries, filled per test */
  let signatures = new Map<string, SignatureEntry[]>()
  const images: OciImage[] = []

  const sign = (digest: string, opts: SignOptions = {}): SignatureEntry => {
    const img = ss.signImageLegacy('registry.example/team/app', digest, opts)
    images.push(img)
    return {kind: 'legacy-tag', tag: img.tag!, role: 'signature', descriptor: img.manifestDescriptor as Descriptor}
  }
  const input = (extra: Partial<JudgeInput> = {}): JudgeInput => ({
    image: IMAGE,
    root: index.descriptor as Descriptor,
    platforms,
    entriesFor: d => signatures.get(d) ?? [],
    reader,
    policy: KEYLESS,
    trustedRoots: [root],
    ...extra,
  })

  before(async () => {
    ss = await createTestSigstore({listen: false})
    root = parseTrustedRoot(ss.trustedRootJSON())
    dir = mkdtempSync(join(tmpdir(), 'airlock-judge-'))
    const entries = {
      indexGood: sign(index.descriptor.digest),
      amdGood: sign(amd.manifestDescriptor.digest),
      armGood: sign(arm.manifestDescriptor.digest),
      armStranger: sign(arm.manifestDescriptor.digest, {identity: 'stranger@airlock.test'}),
      indexStranger: sign(index.descriptor.digest, {identity: 'stranger@airlock.test'}),
    }
    mkdirSync(join(dir, 'blobs', 'sha256'), {recursive: true})
    writeFileSync(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}')
    const put = (b: Buffer) => writeFileSync(join(dir, 'blobs', 'sha256', digestOf(b).slice(7)), b)
    for (const img of [amd, arm, ...images])
      for (const b of [img.manifest, img.config.bytes, ...img.layers.map(l => l.bytes)]) put(b)
    put(index.bytes)
    writeFileSync(
      join(dir, 'index.json'),
      JSON.stringify({schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests: [index.descriptor]}),
    )
    reader = fetcherContentReader(await OciLayoutStore.open(dir))
    Object.assign(named, entries)
  })
  after(async () => {
    await ss?.stop()
    if (dir) rmSync(dir, {recursive: true, force: true})
  })
  const named: Record<string, SignatureEntry> = {}
  const set = (map: Record<string, string[]>) => {
    signatures = new Map(Object.entries(map).map(([d, names]) => [d, names.map(n => named[n]!)]))
  }

  it('a signed index decides for its platforms', async () => {
    set({[index.descriptor.digest]: ['indexGood']})
    const j = await judgeImage(input())
    assert.equal(j.ok, true, j.reason)
    assert.equal(j.coveredBy, 'root')
    assert.equal(j.subjects.length, 1)
    assert.equal(j.subjects[0]!.subjectDigest, index.descriptor.digest)
    assert.match(j.reason, /signer@airlock\.test/)
    assert.equal(
      j.lines[0],
      `verified ${short(index.descriptor.digest)} (flags: ${j.subjects[0]!.rule.requirement}): ${j.reason}`,
    )
    assert.match(
      j.lines[1]!,
      new RegExp(
        `^  ok   signature \\[${named.indexGood!.tag!.replace(/\./g, '\\.')} layer 0\\]: identity signer@airlock\\.test, issuer https://issuer\\.airlock\\.test, log index \\d+, integrated \\S+; checks: `,
      ),
    )
    assert.equal(j.lines.length, 2)
    assert.deepEqual(j.warnings, [])
  })

  it('an unsigned index passes when every platform manifest carried is signed', async () => {
    set({[amd.manifestDescriptor.digest]: ['amdGood'], [arm.manifestDescriptor.digest]: ['armGood']})
    const j = await judgeImage(input({children: {listed: 2, carried: 2}}))
    assert.equal(j.ok, true, j.reason)
    assert.equal(j.coveredBy, 'platforms')
    assert.deepEqual(
      j.subjects.map(s => s.subjectDigest),
      [index.descriptor.digest, amd.manifestDescriptor.digest, arm.manifestDescriptor.digest],
    )
    assert.equal(j.reason, `index not signed; every platform manifest verified (${j.subjects[1]!.reason})`)
    // no line for the unsigned index: one verdict line and one signature line per platform
    assert.equal(j.lines.length, 4)
    assert.ok(j.lines[0]!.startsWith(`verified ${short(amd.manifestDescriptor.digest)} `))
    assert.ok(j.lines[2]!.startsWith(`verified ${short(arm.manifestDescriptor.digest)} `))
  })

  it('an unsigned index fails on the first platform whose signatures fail, saying which', async () => {
    set({[amd.manifestDescriptor.digest]: ['amdGood'], [arm.manifestDescriptor.digest]: ['armStranger']})
    const j = await judgeImage(input())
    assert.equal(j.ok, false)
    assert.equal(j.coveredBy, 'platforms')
    const bad = j.subjects[2]!
    assert.equal(bad.ok, false)
    assert.equal(
      j.reason,
      `the index is not signed and platform manifest ${arm.manifestDescriptor.digest} fails: ${bad.reason}`,
    )
    assert.ok(j.lines.some(l => l.startsWith(`FAILED ${short(arm.manifestDescriptor.digest)} `)))
    assert.ok(
      j.lines.some(l => /^ {2}FAIL signature \[sha256-[0-9a-f]{64}\.sig layer 0\]: \S+: /.test(l)),
      j.lines.join('\n'),
    )
  })

  it('an unsigned index with one platform unsigned is judged as the index: no signature', async () => {
    set({[amd.manifestDescriptor.digest]: ['amdGood']})
    const j = await judgeImage(input())
    assert.equal(j.ok, false)
    assert.equal(j.coveredBy, 'root')
    assert.equal(j.subjects.length, 1)
    assert.equal(j.reason, j.subjects[0]!.reason)
    assert.equal(j.subjects[0]!.errorCode, 'SIGNATURE_MISSING')
    assert.equal(j.lines.length, 1)
    assert.ok(j.lines[0]!.startsWith(`FAILED ${short(index.descriptor.digest)} `))
  })

  it('an unsigned index with platforms left out cannot pass through its platforms', async () => {
    set({[amd.manifestDescriptor.digest]: ['amdGood']})
    const j = await judgeImage(input({platforms: [platforms[0]!], children: {listed: 2, carried: 1}}))
    assert.equal(j.ok, false)
    assert.equal(
      j.reason,
      'the index is not signed and only 1 of its 2 platforms are carried: without a signature on the index, every platform must be carried and signed',
    )
    assert.equal(j.coveredBy, 'root')
    // all carried: the same platform alone decides
    const whole = await judgeImage(input({platforms: [platforms[0]!], children: {listed: 1, carried: 1}}))
    assert.equal(whole.ok, true, whole.reason)
    assert.equal(whole.coveredBy, 'platforms')
  })

  it('a signed index that fails is not rescued by its platforms', async () => {
    set({
      [index.descriptor.digest]: ['indexStranger'],
      [amd.manifestDescriptor.digest]: ['amdGood'],
      [arm.manifestDescriptor.digest]: ['armGood'],
    })
    const j = await judgeImage(input())
    assert.equal(j.ok, false)
    assert.equal(j.coveredBy, 'root')
    assert.equal(j.subjects.length, 1)
  })

  it('a single manifest has no platforms to fall back on; keyless without a trusted root says what to pass', async () => {
    set({})
    const j = await judgeImage(input({root: amd.manifestDescriptor as Descriptor, platforms: []}))
    assert.equal(j.ok, false)
    assert.equal(j.subjects[0]!.errorCode, 'SIGNATURE_MISSING')
    assert.equal(j.reason, j.subjects[0]!.reason)
    set({[amd.manifestDescriptor.digest]: ['amdGood']})
    const noRoot = await judgeImage(
      input({root: amd.manifestDescriptor as Descriptor, platforms: [], trustedRoots: []}),
    )
    assert.equal(noRoot.ok, false)
    assert.ok(noRoot.reason.endsWith(' (no trusted root was given: pass --trusted-root FILE)'), noRoot.reason)
    assert.equal(noRoot.reason.split('(no trusted root').length, 2)
  })

  it('policy options reach the verification: --insecure-ignore-tlog warns once, a container identity is checked', async () => {
    set({[amd.manifestDescriptor.digest]: ['amdGood', 'amdGood']})
    const insecure = {...KEYLESS, insecureIgnoreTlog: true}
    const j = await judgeImage(input({root: amd.manifestDescriptor as Descriptor, platforms: [], policy: insecure}))
    // without the log's time a keyless certificate has nothing to be judged by (the instance has no TSA)
    assert.equal(j.ok, false)
    assert.match(j.reason, /no RFC 3161 timestamp to judge the certificate by/)
    assert.deepEqual(j.warnings, [INSECURE_TLOG_WARNING])
    // the payload names registry.example/team/app: another repository under --require-container-identity fails
    const strict = {...KEYLESS, requireContainerIdentity: true}
    const same = await judgeImage(input({root: amd.manifestDescriptor as Descriptor, platforms: [], policy: strict}))
    assert.equal(same.ok, true, same.reason)
    const other = await judgeImage(
      input({
        root: amd.manifestDescriptor as Descriptor,
        platforms: [],
        policy: strict,
        image: 'registry.example/other:1',
      }),
    )
    assert.equal(other.ok, false)
    // an attestation type nobody attested fails the image
    const attest = {...KEYLESS, attestationType: 'https://slsa.dev/provenance/v1'}
    const noAtt = await judgeImage(input({root: amd.manifestDescriptor as Descriptor, platforms: [], policy: attest}))
    assert.equal(noAtt.ok, false)
    assert.match(noAtt.reason, /attestation/)
  })
})
