// MemoFetcher (src/content/memo-fetcher.ts): export's signature judgement and the copy of the same signature graph
// share one read of each small item. What it serves again must be exactly what was verified; large items and
// content that does not match its descriptor are never kept.
import assert from 'node:assert/strict'
import {createHash, randomBytes} from 'node:crypto'
import {Readable} from 'node:stream'
import {describe, it} from 'node:test'
import {MemoFetcher} from '../src/content/memo-fetcher.ts'
import type {Fetcher} from '../src/content/types.ts'
import type {Descriptor} from '../src/oci/descriptor.ts'
import {MediaType} from '../src/oci/media-types.ts'

const describeBytes = (bytes: Buffer): Descriptor => ({
  mediaType: MediaType.OciLayerGzip,
  digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`,
  size: bytes.length,
})

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

/** A source that serves `content` by digest in small chunks (as a registry body arrives) and counts its reads. */
function source(content: Map<string, Buffer>): Fetcher & {reads: string[]} {
  const reads: string[] = []
  return {
    reads,
    async fetch(d) {
      reads.push(d.digest)
      const bytes = content.get(d.digest)
      if (!bytes) throw new Error(`not found: ${d.digest}`)
      return Readable.from(
        Array.from({length: Math.ceil(bytes.length / 1000)}, (_, i) => bytes.subarray(i * 1000, i * 1000 + 1000)),
      )
    },
  }
}

describe('MemoFetcher: small contents read once per run', () => {
  it('a small item is read from the source once, then served again byte for byte', async () => {
    const payload = randomBytes(5000)
    const d = describeBytes(payload)
    const inner = source(new Map([[d.digest, payload]]))
    const memo = new MemoFetcher(inner)
    assert.ok((await readAll(await memo.fetch(d))).equals(payload))
    assert.ok((await readAll(await memo.fetch(d))).equals(payload))
    assert.deepEqual(inner.reads, [d.digest], 'one read of the source')
  })

  it('a large item passes through and is read again each time', async () => {
    const layer = randomBytes(300 * 1024)
    const d = describeBytes(layer)
    const inner = source(new Map([[d.digest, layer]]))
    const memo = new MemoFetcher(inner)
    assert.ok((await readAll(await memo.fetch(d))).equals(layer))
    assert.ok((await readAll(await memo.fetch(d))).equals(layer))
    assert.equal(inner.reads.length, 2)
  })

  it('content that is not what its descriptor names is refused and never kept', async () => {
    const payload = randomBytes(3000)
    const d = describeBytes(payload)
    const other = randomBytes(3000)
    // a source that does not check (a broken contract): the memo checks what it will serve again
    const lying = source(new Map([[d.digest, other]]))
    const memo = new MemoFetcher(lying)
    await assert.rejects(memo.fetch(d), (error: Error & {code?: string}) => error.code === 'DIGEST_MISMATCH')
    await assert.rejects(memo.fetch(d), (error: Error & {code?: string}) => error.code === 'DIGEST_MISMATCH')
    assert.equal(lying.reads.length, 2, 'asked again: nothing was kept')

    const longer = source(new Map([[d.digest, Buffer.concat([payload, Buffer.from('x')])]]))
    await assert.rejects(
      new MemoFetcher(longer).fetch(d),
      (error: Error & {code?: string}) => error.code === 'SIZE_MISMATCH',
    )
  })

  it('a descriptor of another size for a kept digest is not served from the memo', async () => {
    const payload = randomBytes(2000)
    const d = describeBytes(payload)
    const inner = source(new Map([[d.digest, payload]]))
    const memo = new MemoFetcher(inner)
    await readAll(await memo.fetch(d))
    await assert.rejects(memo.fetch({...d, size: d.size + 1}), /DIGEST_MISMATCH|content hashes/)
    assert.equal(inner.reads.length, 2)
  })
})
