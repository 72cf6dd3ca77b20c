import assert from 'node:assert/strict'
import {Readable} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import {describe, it} from 'node:test'
import {sha256, VerifyingStream} from '../src/oci/digest.ts'
import {parseManifest} from '../src/oci/manifest.ts'
import {MediaType} from '../src/oci/media-types.ts'

const layer = {mediaType: MediaType.OciLayerGzip, digest: sha256('layer'), size: 5}
const config = {mediaType: MediaType.OciConfig, digest: sha256('{}'), size: 2}

describe('parseManifest', () => {
  it('parses an OCI image manifest and keeps the raw bytes and their digest', () => {
    const bytes = Buffer.from(
      JSON.stringify({schemaVersion: 2, mediaType: MediaType.OciManifest, config, layers: [layer]}),
    )
    const raw = parseManifest(bytes)
    assert.equal(raw.parsed.kind, 'manifest')
    assert.equal(raw.digest, sha256(bytes))
    assert.equal(raw.bytes, bytes)
  })

  it('rejects a body whose mediaType contradicts the declared one', () => {
    const bytes = Buffer.from(JSON.stringify({schemaVersion: 2, mediaType: MediaType.OciManifest, config, layers: []}))
    assert.throws(() => parseManifest(bytes, MediaType.OciIndex), /says mediaType/)
  })

  it('rejects unknown digest algorithms and malformed digests', () => {
    const bad = (digest: string) =>
      Buffer.from(
        JSON.stringify({schemaVersion: 2, mediaType: MediaType.OciManifest, config: {...config, digest}, layers: []}),
      )
    assert.throws(() => parseManifest(bad('md5:abcd')), {code: 'UNSUPPORTED'})
    assert.throws(() => parseManifest(bad('sha256:XYZ')), {code: 'MANIFEST_INVALID'})
  })

  it('refuses manifests over 4 MiB and JSON nested too deep', () => {
    assert.throws(() => parseManifest(Buffer.alloc(4 * 1024 * 1024 + 1, 0x20)), {code: 'TOO_LARGE'})
    assert.throws(() => parseManifest(Buffer.from('['.repeat(100) + ']'.repeat(100))), /deeper/)
  })
})

describe('VerifyingStream', () => {
  const data = Buffer.from('hello world')
  it('passes content that matches digest and size', async () => {
    const chunks: Buffer[] = []
    await pipeline(
      Readable.from([data]),
      new VerifyingStream({digest: sha256(data), size: data.length}),
      async function* (source) {
        for await (const c of source) chunks.push(c as Buffer)
      },
    )
    assert.deepEqual(Buffer.concat(chunks), data)
  })
  it('fails on a flipped byte and on a short body', async () => {
    const flipped = Buffer.from(data)
    flipped[0] = flipped[0]! ^ 1
    await assert.rejects(
      pipeline(
        Readable.from([flipped]),
        new VerifyingStream({digest: sha256(data), size: data.length}),
        async function* (s) {
          for await (const _ of s);
        },
      ),
      {code: 'DIGEST_MISMATCH'},
    )
    await assert.rejects(
      pipeline(
        Readable.from([data.subarray(1)]),
        new VerifyingStream({digest: sha256(data), size: data.length}),
        async function* (s) {
          for await (const _ of s);
        },
      ),
      {code: 'SIZE_MISMATCH'},
    )
  })
})
