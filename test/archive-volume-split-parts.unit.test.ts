// A split entry's parts at export (issue 17 item 5): the first part's sha256 is taken from the blob's own running
// hash at the part boundary (StreamHash.checkpoint) instead of hashing those bytes a second time. Held to the
// property that matters: every part's sha256 in volumes.json is the sha256 of that part's bytes in its volume file,
// whichever way the blob was hashed (on a worker, or in the stream for a blob under the offload size), and the
// running hash goes on to the blob's full digest after a checkpoint.
import assert from 'node:assert/strict'
import {createHash, randomBytes} from 'node:crypto'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'
import {HashPool} from '../src/archive/hash-pool.ts'
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
})
