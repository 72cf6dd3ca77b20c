// airlock.json `base` of a delta archive, in process (issue 13 item 5): src/archive/base-section.ts reads a claim an
// attacker may have written (which blobs the archive leaves out), so every field is checked and each refusal says
// which. The delta CLI tests (built dist/) cannot be used by mutation testing; this pins the parser itself.
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {BASE_SECTION, MAX_BASE_BLOBS, parseBaseSection, TRUST_ONLY_SECTION} from '../src/archive/base-section.ts'

const INV = `sha256:${'1f'.repeat(32)}`
const KEY = `sha256:${'2e'.repeat(32)}`
const A = `sha256:${'a0'.repeat(32)}`
const B = `sha256:${'b0'.repeat(32)}`
const blob = (digest = A, extra: Record<string, unknown> = {}) => ({digest, size: 10, repository: 'team/app', ...extra})
const refused = (value: unknown, message: string) =>
  assert.throws(() => parseBaseSection(value), {code: 'ARCHIVE_INVALID', message: `airlock.json base: ${message}`})

describe('airlock.json base section', () => {
  it('names and limits', () => {
    assert.equal(BASE_SECTION, 'base')
    assert.equal(TRUST_ONLY_SECTION, 'trustOnly')
    assert.equal(MAX_BASE_BLOBS, 200_000)
  })

  it('absent is undefined; a valid section comes back as written, the signer only when given', () => {
    assert.equal(parseBaseSection(undefined), undefined)
    assert.deepEqual(parseBaseSection({inventory: {sha256: INV}, blobs: []}), {inventory: {sha256: INV}, blobs: []})
    const parsed = parseBaseSection({
      inventory: {sha256: INV, signer: KEY},
      blobs: [blob(A), {digest: B, size: 0, repository: 'x'.repeat(255)}],
    })
    assert.deepEqual(parsed, {
      inventory: {sha256: INV, signer: KEY},
      blobs: [
        {digest: A, size: 10, repository: 'team/app'},
        {digest: B, size: 0, repository: 'x'.repeat(255)},
      ],
    })
    assert.equal('signer' in parseBaseSection({inventory: {sha256: INV}, blobs: []})!.inventory, false)
  })

  it('refuses a section of the wrong shape or with fields it does not know', () => {
    for (const v of [null, [], 'base', 3]) refused(v, 'is not an object')
    refused({inventory: {sha256: INV}, blobs: [], extra: 1}, 'unexpected field "extra"')
    for (const inventory of [
      undefined,
      null,
      [],
      {},
      {sha256: 5},
      {sha256: 'sha256:ABC'},
      {sha256: INV.slice(1)},
      {sha256: `${INV}0`},
      {sha256: `x${INV}`},
      // an array's string form is the digest: the type is checked, not only the text
      {sha256: [INV]},
    ])
      refused({inventory, blobs: []}, 'inventory must be {sha256, signer?}')
    for (const signer of [5, '', 'key', `${KEY}0`, `x${KEY}`, KEY.toUpperCase(), [KEY]])
      refused({inventory: {sha256: INV, signer}, blobs: []}, 'inventory.signer must be a key fingerprint (sha256:…)')
    refused({inventory: {sha256: INV, by: 'x'}, blobs: []}, 'inventory has an unexpected field "by"')
    refused({inventory: {sha256: INV}}, 'blobs must be an array')
    refused({inventory: {sha256: INV}, blobs: {}}, 'blobs must be an array')
  })

  it('refuses each lying blob, naming its position, and a blob listed twice', () => {
    const bad: unknown[] = [
      null,
      [],
      blob(A, {size: '10'}),
      blob(A, {size: 1.5}),
      blob(A, {size: -1}),
      blob(A, {size: 2 ** 53}),
      blob(A, {repository: 5}),
      blob(A, {repository: ''}),
      blob(A, {repository: 'x'.repeat(256)}),
      blob(A, {mediaType: 'x'}),
      {digest: A, size: 1},
    ]
    for (const b of bad)
      refused({inventory: {sha256: INV}, blobs: [blob(B), b]}, 'blobs[1] must be {digest, size, repository}')
    // three fields, but no digest among them: the digest check names the blob
    assert.throws(() => parseBaseSection({inventory: {sha256: INV}, blobs: [{size: 1, repository: 'r', other: A}]}), {
      code: 'MANIFEST_INVALID',
      message: 'airlock.json base.blobs[0].digest is not a valid sha256 digest: "undefined"',
    })
    assert.throws(() => parseBaseSection({inventory: {sha256: INV}, blobs: [blob('sha256:12')]}), {
      code: 'MANIFEST_INVALID',
      message: 'airlock.json base.blobs[0].digest is not a valid sha256 digest: "sha256:12"',
    })
    refused({inventory: {sha256: INV}, blobs: [blob(A), blob(B), blob(A, {size: 11})]}, `lists ${A} twice`)
  })

  it(`refuses more than ${MAX_BASE_BLOBS} blobs before reading them`, () => {
    // the entries past the limit are not even objects: the count is refused first
    refused(
      {inventory: {sha256: INV}, blobs: new Array(MAX_BASE_BLOBS + 1).fill(0)},
      `lists more than ${MAX_BASE_BLOBS} blobs`,
    )
    const max = Array.from({length: MAX_BASE_BLOBS}, (_, i) => blob(`sha256:${i.toString(16).padStart(64, '0')}`))
    assert.equal(parseBaseSection({inventory: {sha256: INV}, blobs: max})!.blobs.length, MAX_BASE_BLOBS)
  })
})
