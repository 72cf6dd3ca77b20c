// The `signatures` section of airlock.json in process (issue 13 item 5): it comes from an archive an attacker may
// have written, so every field is checked before it names anything (src/sigstore/section.ts). Each refusal names the
// field at fault; a valid section comes back with only the fields airlock knows (extra descriptor fields dropped).
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {parseSignaturesSection, PROOFS_DIR, SIGNATURES_SECTION} from '../src/sigstore/section.ts'

const SUBJECT = `sha256:${'a1'.repeat(32)}`
const SIG = `sha256:${'b2'.repeat(32)}`
const REFERRER = `sha256:${'c3'.repeat(32)}`
const TAG = `sha256-${'a1'.repeat(32)}.sig`
const MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
const BUNDLE = 'application/vnd.dev.sigstore.bundle.v0.3+json'

const legacy = () => ({
  kind: 'legacy-tag',
  tag: TAG,
  role: 'signature',
  descriptor: {mediaType: MANIFEST, digest: SIG, size: 512, annotations: {x: 'dropped'}},
})
const referrer = () => ({
  kind: 'referrer',
  role: 'attestation',
  artifactType: BUNDLE,
  descriptor: {mediaType: MANIFEST, digest: REFERRER, size: 0},
})
const section = (entries: unknown[] = [legacy(), referrer()], extra: Record<string, unknown> = {}) => ({
  version: 1,
  subjects: [{image: 'registry.example/app:1', digest: SUBJECT, entries}],
  ...extra,
})
const refused = (value: unknown, message: string) =>
  assert.throws(() => parseSignaturesSection(value), {
    code: 'ARCHIVE_INVALID',
    message: `airlock.json signatures: ${message}`,
  })

describe('airlock.json signatures section', () => {
  it('names: the section key and the proofs folder', () => {
    assert.equal(SIGNATURES_SECTION, 'signatures')
    assert.equal(PROOFS_DIR, 'sigstore/proofs')
  })

  it('absent is undefined; a valid section keeps the known fields only', () => {
    assert.equal(parseSignaturesSection(undefined), undefined)
    assert.deepEqual(parseSignaturesSection(section(undefined, {proofs: {'42': 'sigstore/proofs/42.json'}})), {
      version: 1,
      subjects: [
        {
          image: 'registry.example/app:1',
          digest: SUBJECT,
          entries: [
            {
              kind: 'legacy-tag',
              tag: TAG,
              role: 'signature',
              descriptor: {mediaType: MANIFEST, digest: SIG, size: 512},
            },
            {
              kind: 'referrer',
              role: 'attestation',
              artifactType: BUNDLE,
              descriptor: {mediaType: MANIFEST, digest: REFERRER, size: 0},
            },
          ],
        },
      ],
      proofs: {'42': 'sigstore/proofs/42.json'},
    })
    // no proofs: no proofs key; every role and tag suffix is accepted
    const roles = ['signature', 'attestation', 'sbom', 'other'].map((role, i) => ({
      ...referrer(),
      role,
      ...(i < 3 ? {tag: `sha256-${'a1'.repeat(32)}.${['sig', 'att', 'sbom'][i]}`} : {}),
    }))
    const parsed = parseSignaturesSection(section(roles))!
    assert.equal('proofs' in parsed, false)
    assert.deepEqual(
      parsed.subjects[0]!.entries.map(e => [e.role, e.tag]),
      [
        ['signature', `sha256-${'a1'.repeat(32)}.sig`],
        ['attestation', `sha256-${'a1'.repeat(32)}.att`],
        ['sbom', `sha256-${'a1'.repeat(32)}.sbom`],
        ['other', undefined],
      ],
    )
    assert.deepEqual(parseSignaturesSection({version: 1, subjects: []}), {version: 1, subjects: []})
  })

  it('refuses a section of the wrong shape', () => {
    refused(null, 'not an object')
    refused([], 'not an object')
    refused('x', 'not an object')
    refused({version: 2, subjects: []}, 'unsupported version 2')
    refused({version: '1', subjects: []}, 'unsupported version "1"')
    refused({subjects: []}, 'unsupported version undefined')
    refused({version: 1}, 'subjects must be an array')
    refused({version: 1, subjects: {}}, 'subjects must be an array')
  })

  it('refuses a subject without image, digest or entries', () => {
    for (const s of [
      null,
      [],
      {digest: SUBJECT, entries: []},
      {image: 7, digest: SUBJECT, entries: []},
      {image: 'x', digest: SUBJECT},
      {image: 'x', digest: SUBJECT, entries: {}},
    ])
      refused({version: 1, subjects: [s]}, 'subjects[0] must be {image, digest, entries}')
    assert.throws(
      () => parseSignaturesSection({version: 1, subjects: [{image: 'x', digest: 'sha256:zz', entries: []}]}),
      {
        code: 'MANIFEST_INVALID',
        message: 'airlock.json signatures subjects[0].digest is not a valid sha256 digest: "sha256:zz"',
      },
    )
  })

  it('refuses each lying entry field, naming subject and entry', () => {
    const at = 'subjects[0].entries[1]'
    const with2 = (e: unknown) => section([legacy(), e])
    refused(with2(null), `${at}.kind must be legacy-tag or referrer`)
    refused(with2([]), `${at}.kind must be legacy-tag or referrer`)
    refused(with2({...referrer(), kind: 'tag'}), `${at}.kind must be legacy-tag or referrer`)
    refused(with2({...referrer(), role: 'owner'}), `${at}.role is not one of signature, attestation, sbom, other`)
    refused(with2({...referrer(), role: undefined}), `${at}.role is not one of signature, attestation, sbom, other`)
    const badDescriptors = [
      undefined,
      [],
      {digest: REFERRER, size: 1},
      {mediaType: 5, digest: REFERRER, size: 1},
      {mediaType: MANIFEST, digest: REFERRER},
      {mediaType: MANIFEST, digest: REFERRER, size: '1'},
      {mediaType: MANIFEST, digest: REFERRER, size: 1.5},
      {mediaType: MANIFEST, digest: REFERRER, size: -1},
      {mediaType: MANIFEST, digest: REFERRER, size: 2 ** 53},
    ]
    for (const descriptor of badDescriptors)
      refused(with2({...referrer(), descriptor}), `${at}.descriptor must be {mediaType, digest, size}`)
    assert.throws(
      () => parseSignaturesSection(with2({...referrer(), descriptor: {mediaType: MANIFEST, digest: 'md5:x', size: 1}})),
      {
        code: 'UNSUPPORTED',
        message: `airlock.json ${at}.descriptor.digest uses an unsupported algorithm: md5:x`,
      },
    )
    for (const tag of [
      7,
      '',
      `sha256-${'a1'.repeat(32)}.exe`,
      `sha256-${'A1'.repeat(32)}.sig`,
      `x${TAG}`,
      `${TAG}x`,
      'sha256-ab.sig',
    ])
      refused(with2({...legacy(), tag}), `${at}.tag is not a cosign tag`)
    refused(with2({...legacy(), tag: undefined}), `${at} is a legacy-tag without a tag`)
    refused(with2({...referrer(), artifactType: 3}), `${at}.artifactType must be a string`)
  })

  it('refuses proofs that name anything but sigstore/proofs/<logIndex>.json', () => {
    refused(section(undefined, {proofs: []}), 'proofs must be an object')
    refused(section(undefined, {proofs: null}), 'proofs must be an object')
    const bad: Array<[string, unknown]> = [
      ['12', 'sigstore/proofs/13.json'],
      ['12', '../12.json'],
      ['12', 12],
      ['-1', 'sigstore/proofs/-1.json'],
      ['1e3', 'sigstore/proofs/1e3.json'],
      ['../x', 'sigstore/proofs/../x.json'],
      ['12345678901234567890', 'sigstore/proofs/12345678901234567890.json'],
      ['', 'sigstore/proofs/.json'],
    ]
    for (const [k, v] of bad)
      refused(
        section(undefined, {proofs: {[k]: v}}),
        `proofs[${JSON.stringify(k)}] must name sigstore/proofs/<logIndex>.json`,
      )
    // 19 digits is the largest index accepted
    const max = '1234567890123456789'
    assert.deepEqual(parseSignaturesSection(section([], {proofs: {[max]: `sigstore/proofs/${max}.json`}}))!.proofs, {
      [max]: `sigstore/proofs/${max}.json`,
    })
  })
})
