// The cosign tag of a signatures-section entry in process (issue 13 item 5, a survivor of the 2026-12-03 morning
// mutation round of src/sigstore/section.ts): the tag must be a string, not a value that only stringifies to a cosign
// tag (RegExp.test stringifies its argument, so an array of one tag would pass the pattern alone).
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {parseSignaturesSection} from '../src/sigstore/section.ts'

const TAG = `sha256-${'a1'.repeat(32)}.sig`
const entry = (tag: unknown) => ({
  kind: 'legacy-tag',
  tag,
  role: 'signature',
  descriptor: {mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'b2'.repeat(32)}`, size: 512},
})
const section = (tag: unknown) => ({
  version: 1,
  subjects: [{image: 'registry.example/app:1', digest: `sha256:${'a1'.repeat(32)}`, entries: [entry(tag)]}],
})

describe('airlock.json signatures: an entry tag', () => {
  it('is a string cosign tag; an array holding one is refused', () => {
    assert.equal(parseSignaturesSection(section(TAG))?.subjects[0]?.entries[0]?.tag, TAG)
    assert.throws(() => parseSignaturesSection(section([TAG])), {
      code: 'ARCHIVE_INVALID',
      message: 'airlock.json signatures: subjects[0].entries[0].tag is not a cosign tag',
    })
  })
})
