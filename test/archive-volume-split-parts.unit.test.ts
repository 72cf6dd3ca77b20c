// Hashing a volume set at export with fewer reads (issue 17 item 5): a split entry's first part takes its sha256
// from the blob's own running hash at the part boundary (StreamHash.checkpoint) instead of hashing those bytes a
// second time, and a volume's (or a part's) hash takes bytes from a blob's read back of them when it has got there
// (a `follow` step: one read, two hash states). Held to the property that matters: every part's and every volume's
// sha256 in volumes.json is the sha256 of those bytes in the file, whichever way the blob was hashed (on a worker,
// or in the stream for a blob under the offload size); the running hash goes on to the blob's full digest after a
// checkpoint; and the shared read is proven by changing the file after it (the follower keeps what was read).
import assert from 'node:assert/strict'
import {createHash, randomBytes} from 'node:crypto'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'
import {HashPool} from '../src/archive/hash-pool.ts'
import {StreamHashes} from '../src/archive/hash-ranges.ts'
import {blobPath} from '../src/archive/schema.ts'
import {KeepSink, scanTar} from '../src/archive/tar.ts'
import {parseVolumesJson} from '../src/archive/volumes.ts'
import {ArchiveWriter, bufferStream} from '../src/archive/writer.ts'
import type {Digest} from '../src/oci/digest.ts'

const work = mkdtempSync(join(tmpdir(), 'airlock-split-parts-'))
after(() => rmSync(work, {recursive: true, force: true}))
let n = 0
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

async function bodies(path: string): Promise<Map<string, Buffer>> {
  const found = new Map<string, Buffer>()
  await scanTar(path, e => new KeepSink(body => found.set(e.name, body)))
  return found
}

/** Writes `blobs` as a volume set and checks every split part's sha256 against the bytes in its volume. */
async function writeAndCheck(blobs: Buffer[], offloadHashBytes: number): Promise<number> {
  const dir = mkdtempSync(join(work, `${n++}-`))
  const writer = await ArchiveWriter.create(join(dir, 'set.tar'), {volumeSize: 65536, offloadHashBytes})
  await Promise.all(
    blobs.map(bytes =>
      writer.push(
        {mediaType: 'application/octet-stream', digest: `sha256:${sha(bytes)}` as Digest, size: bytes.length},
        bufferStream(bytes),
      ),
    ),
  )
  await writer.commit()
  const set = parseVolumesJson(readFileSync(join(dir, 'set.volumes.json')), 'set.volumes.json')
  let parts = 0
  for (const split of set.split) {
    const joined: Buffer[] = []
    for (const part of split.parts) {
      const volume = set.volumes.find(v => v.volume === part.volume)!
      const body = (await bodies(join(dir, volume.file))).get(part.name)
      assert.ok(body, `${part.name} is in ${volume.file}`)
      assert.equal(body.length, part.size, part.name)
      assert.equal(part.sha256, sha(body), `${part.name}: volumes.json's sha256 is not the sha256 of the part`)
      joined.push(body)
      parts++
    }
    const whole = blobs.find(b => blobPath(`sha256:${sha(b)}`) === split.entry)
    assert.ok(whole, `${split.entry} is one of the blobs`)
    assert.deepEqual(Buffer.concat(joined), whole)
  }
  for (const v of set.volumes) assert.equal(sha(readFileSync(join(dir, v.file))), v.sha256, v.file)
  return parts
}

describe('split parts hashed at export', () => {
  it('blobs hashed on a worker: each part (the first one from the running hash) is the sha256 of its bytes', async () => {
    // two split blobs written at once (their parts interleave over the volumes) and a whole one between them
    const parts = await writeAndCheck([randomBytes(150_000), randomBytes(20_000), randomBytes(200_003)], 1000)
    assert.ok(parts >= 6, `parts: ${parts}`)
  })

  it('blobs hashed in their stream (under the offload size): each part hashed on its own', async () => {
    const parts = await writeAndCheck([randomBytes(150_000), randomBytes(200_003)], 10 * 1024 * 1024)
    assert.ok(parts >= 5, `parts: ${parts}`)
  })

  it("a running hash's checkpoint is the digest of the bytes so far; the stream goes on to the digest of all", async () => {
    const pool = HashPool.startStreaming()
    try {
      const file = join(work, 'checkpoint.bin')
      const bytes = randomBytes(3 * 1024 * 1024 + 77)
      writeFileSync(file, bytes)
      const hash = pool.stream()
      hash.range(file, 0, 1024 * 1024)
      hash.range(file, 1024 * 1024, 1000)
      const first = hash.checkpoint()
      hash.bytes(bytes.subarray(1024 * 1024 + 1000, 1024 * 1024 + 1500))
      const second = hash.checkpoint()
      hash.range(file, 1024 * 1024 + 1500, bytes.length - (1024 * 1024 + 1500))
      assert.equal(await hash.digest(), `sha256:${sha(bytes)}`)
      assert.equal(await first, `sha256:${sha(bytes.subarray(0, 1024 * 1024 + 1000))}`)
      assert.equal(await second, `sha256:${sha(bytes.subarray(0, 1024 * 1024 + 1500))}`)
    } finally {
      await pool.close()
    }
  })

  it('a checkpoint of a stream whose read back failed fails, naming the read', async () => {
    const pool = HashPool.startStreaming()
    try {
      const hash = pool.stream()
      hash.range(join(work, 'not-there.bin'), 0, 10)
      await assert.rejects(hash.checkpoint(), /cannot read back what was written: .*not-there\.bin/)
      hash.discard()
    } finally {
      await pool.close()
    }
  })

  describe("a follower fed from another stream's read", () => {
    const MiB = 1024 * 1024
    const header = Buffer.alloc(512, 7)
    const run = async (hashes: StreamHashes, job: Parameters<StreamHashes['run']>[0]) => {
      const reply = await hashes.run(job)
      if (reply?.type === 'stream-error') throw new Error(reply.message)
      return reply
    }
    const digestOf = async (hashes: StreamHashes, stream: number): Promise<string> => {
      const reply = await hashes.run({stream, end: 'digest'})
      assert.equal(reply?.type, 'stream-digest', JSON.stringify(reply))
      return (reply as {digest: string}).digest
    }

    it('bytes the blob read back are hashed into the volume once; its own range for them is not read again', async () => {
      const file = join(work, 'follow.bin')
      const body = randomBytes(5 * MiB + 123)
      writeFileSync(file, Buffer.concat([header, body]))
      const hashes = new StreamHashes(Buffer.allocUnsafe(2 * MiB))
      // stream 1: the volume (header known, body written); stream 2: the blob, reading its body back
      await run(hashes, {stream: 1, follow: file, from: 0})
      await run(hashes, {stream: 1, bytes: header})
      await run(hashes, {stream: 2, file, offset: 512, length: 3 * MiB})
      // the file changes after the blob's read: the volume hash keeps the bytes that read saw
      const changed = Buffer.from(body)
      changed[10] = changed[10]! ^ 1
      changed[4 * MiB] = changed[4 * MiB]! ^ 1
      writeFileSync(file, Buffer.concat([header, changed]))
      await run(hashes, {stream: 2, file, offset: 512 + 3 * MiB, length: body.length - 3 * MiB})
      await run(hashes, {stream: 1, file, offset: 512, length: body.length})
      assert.equal(
        await digestOf(hashes, 2),
        `sha256:${sha(Buffer.concat([body.subarray(0, 3 * MiB), changed.subarray(3 * MiB)]))}`,
      )
      // both of the blob's reads fed the volume (it was there each time): nothing was read for the volume itself
      assert.equal(
        await digestOf(hashes, 1),
        `sha256:${sha(Buffer.concat([header, body.subarray(0, 3 * MiB), changed.subarray(3 * MiB)]))}`,
      )
      await hashes.closeFile(file)
    })

    it('a follower not yet where the read is hashes those bytes from its own read, in order', async () => {
      const file = join(work, 'behind.bin')
      const bytes = randomBytes(4 * MiB)
      writeFileSync(file, bytes)
      const hashes = new StreamHashes(Buffer.allocUnsafe(1 * MiB))
      await run(hashes, {stream: 1, follow: file, from: 0})
      // the blob reads the second half first: the volume (at 0) is not there, so it is not fed
      await run(hashes, {stream: 2, file, offset: 2 * MiB, length: 2 * MiB})
      await run(hashes, {stream: 1, file, offset: 0, length: MiB})
      // now at 1 MiB: a read from 1 MiB feeds it, the rest comes from its own range
      await run(hashes, {stream: 3, file, offset: MiB, length: MiB})
      await run(hashes, {stream: 1, file, offset: MiB, length: 3 * MiB})
      assert.equal(await digestOf(hashes, 1), `sha256:${sha(bytes)}`)
      assert.equal(await digestOf(hashes, 2), `sha256:${sha(bytes.subarray(2 * MiB))}`)
      assert.equal(await digestOf(hashes, 3), `sha256:${sha(bytes.subarray(MiB, 2 * MiB))}`)
      await hashes.closeFile(file)
    })

    it('steps of a follower that are not contiguous, or known bytes where it was fed ahead, fail its digest', async () => {
      const file = join(work, 'gap.bin')
      writeFileSync(file, randomBytes(MiB))
      const hashes = new StreamHashes(Buffer.allocUnsafe(MiB))
      await run(hashes, {stream: 1, follow: file, from: 0})
      await run(hashes, {stream: 1, file, offset: 512, length: 512})
      assert.deepEqual(await hashes.run({stream: 1, end: 'digest'}), {
        type: 'stream-error',
        stream: 1,
        message: `hash of ${file}: range at 512, expected 0`,
      })
      await run(hashes, {stream: 4, follow: file, from: 0})
      await run(hashes, {stream: 5, file, offset: 0, length: 1024})
      await run(hashes, {stream: 4, bytes: header})
      assert.deepEqual(await hashes.run({stream: 4, end: 'digest'}), {
        type: 'stream-error',
        stream: 4,
        message: `hash of ${file}: bytes at 0 were hashed ahead`,
      })
      await hashes.closeFile(file)
    })
  })

  it("a volume's hash waits behind a blob's: the blob's digest comes first, both are right", async () => {
    const pool = HashPool.startStreaming()
    try {
      const file = join(work, 'priority.bin')
      const bytes = randomBytes(64 * 1024 * 1024)
      writeFileSync(file, bytes)
      const order: string[] = []
      const volume = pool.stream()
      volume.follow(file, 0, true)
      volume.range(file, 0, bytes.length)
      const volumeDigest = volume.digest().then(d => (order.push('volume'), d))
      const blob = pool.stream()
      blob.range(file, 1024 * 1024, 1024 * 1024)
      const blobDigest = blob.digest().then(d => (order.push('blob'), d))
      assert.equal(await volumeDigest, `sha256:${sha(bytes)}`)
      assert.equal(await blobDigest, `sha256:${sha(bytes.subarray(1024 * 1024, 2 * 1024 * 1024))}`)
      assert.deepEqual(order, ['blob', 'volume'])
    } finally {
      await pool.close()
    }
  })
})
