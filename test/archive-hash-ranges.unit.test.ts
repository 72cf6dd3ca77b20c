// The hash worker's code run in this thread (issue 13 item 5): hashVolumeGroup (a volume set's volumes read once
// each, their sha256 and their entries' from the same reads) and StreamHashes (export's running hashes: ranges read
// back from written files, known bytes, the end). In a worker thread they report no coverage to the mutation runner;
// here every digest is compared with node's sha256 of the same bytes, and each failure by its exact message.
import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'
import {truncateSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, it} from 'node:test'
import {hashVolumeGroup, isStreamJob, StreamHashes} from '../src/archive/hash-ranges.ts'
import {digestOf, failure, openPaths, workDir} from './support/archive-unit.ts'

const work = workDir('airlock-hash-ranges-')
function file(bytes: Buffer): string {
  const path = work.next('.bin')
  writeFileSync(path, bytes)
  return path
}
const openOn = (path: string): number => openPaths().filter(target => target === path).length
const MiB = 1024 * 1024

describe('hashVolumeGroup', () => {
  it("each volume's sha256, and its entries' (unsorted, crossing reads, one split across volumes), in few reads", async () => {
    const v1 = randomBytes(1000)
    const v2 = randomBytes(700)
    const p1 = file(v1)
    const p2 = file(v2)
    const progress: number[] = []
    const result = await hashVolumeGroup(
      {
        volumes: [
          {
            id: 7,
            path: p1,
            size: v1.length,
            // given out of order; 3 crosses the 64-byte reads; 9 is a split entry's first part, to the volume's end
            ranges: [
              {id: 3, offset: 100, size: 250},
              {id: 1, offset: 10, size: 5},
              {id: 9, offset: 900, size: 100},
              {id: 4, offset: 350, size: 0},
            ],
          },
          {
            id: 8,
            path: p2,
            size: v2.length,
            ranges: [
              {id: 9, offset: 0, size: 300},
              {id: 5, offset: 640, size: 60},
            ],
          },
        ],
      },
      Buffer.alloc(64),
      n => progress.push(n),
    )
    assert.deepEqual(result.volumes, [
      {id: 7, digest: digestOf(v1)},
      {id: 8, digest: digestOf(v2)},
    ])
    // entries in the order their ids first appear in the job
    assert.deepEqual(result.entries, [
      {id: 3, digest: digestOf(v1.subarray(100, 350))},
      {id: 1, digest: digestOf(v1.subarray(10, 15))},
      {id: 9, digest: digestOf(Buffer.concat([v1.subarray(900), v2.subarray(0, 300)]))},
      {id: 4, digest: digestOf(Buffer.alloc(0))},
      {id: 5, digest: digestOf(v2.subarray(640))},
    ])
    // entry bytes only (not the volumes' other bytes), reported once at the end under 32 MiB
    assert.deepEqual(progress, [250 + 5 + 100 + 300 + 60])
    assert.equal(openOn(p1) + openOn(p2), 0)
  })

  it('a range ending exactly at a read boundary, and volumes read in reads shorter than the buffer', async () => {
    const v = randomBytes(256)
    const p = file(v)
    const job = {
      volumes: [
        {
          id: 0,
          path: p,
          size: 256,
          ranges: [
            {id: 0, offset: 0, size: 64},
            {id: 1, offset: 64, size: 64},
            {id: 2, offset: 130, size: 126},
          ],
        },
      ],
    }
    const result = await hashVolumeGroup(job, Buffer.alloc(1000))
    assert.deepEqual(result, {
      volumes: [{id: 0, digest: digestOf(v)}],
      entries: [
        {id: 0, digest: digestOf(v.subarray(0, 64))},
        {id: 1, digest: digestOf(v.subarray(64, 128))},
        {id: 2, digest: digestOf(v.subarray(130))},
      ],
    })
    // the same with 64-byte reads: ranges end on read boundaries
    assert.deepEqual(await hashVolumeGroup(job, Buffer.alloc(64)), result)
  })

  it('progress in 32 MiB steps while a long entry is hashed, then the rest', async () => {
    const path = work.next('.sparse')
    writeFileSync(path, '')
    truncateSync(path, 33 * MiB + 10)
    const progress: number[] = []
    const result = await hashVolumeGroup(
      {volumes: [{id: 1, path, size: 33 * MiB + 10, ranges: [{id: 0, offset: 0, size: 33 * MiB}]}]},
      Buffer.alloc(2 * MiB),
      n => progress.push(n),
    )
    // 16 reads of 2 MiB reach 32 MiB: reported; the last read's 1 MiB of the entry at the end
    assert.deepEqual(progress, [32 * MiB, MiB])
    assert.deepEqual(result.entries, [{id: 0, digest: digestOf(Buffer.alloc(33 * MiB))}])
    assert.deepEqual(result.volumes, [{id: 1, digest: digestOf(Buffer.alloc(33 * MiB + 10))}])
  })

  it('a volume shorter than its size is refused by name and offset, and is closed', async () => {
    const p1 = file(randomBytes(100))
    const p2 = file(randomBytes(50))
    const e = await failure(
      hashVolumeGroup(
        {
          volumes: [
            {id: 0, path: p1, size: 100, ranges: []},
            {id: 1, path: p2, size: 80, ranges: [{id: 0, offset: 0, size: 80}]},
          ],
        },
        Buffer.alloc(32),
      ),
    )
    assert.equal(e.message, `${p2}: the file ends at offset 50, before its 80 bytes`)
    assert.equal(openOn(p1) + openOn(p2), 0)
  })
})

describe('StreamHashes (the running hashes of a hash worker)', () => {
  it('ranges read back in small reads, known bytes and the end: the sha256 of those bytes, in the order given', async () => {
    const a = randomBytes(5000)
    const b = randomBytes(300)
    const pa = file(a)
    const pb = file(b)
    const hashes = new StreamHashes(Buffer.alloc(512))
    assert.deepEqual(await hashes.run({stream: 1, file: pa, offset: 100, length: 2000}), {
      type: 'stream-ack',
      bytes: 2000,
      background: false,
    })
    assert.equal(await hashes.run({stream: 1, bytes: Buffer.from('known')}), undefined)
    assert.deepEqual(await hashes.run({stream: 2, file: pb, offset: 0, length: 300}), {
      type: 'stream-ack',
      bytes: 300,
      background: false,
    })
    assert.deepEqual(await hashes.run({stream: 1, file: pa, offset: 4000, length: 1000}), {
      type: 'stream-ack',
      bytes: 1000,
      background: false,
    })
    assert.deepEqual(await hashes.run({stream: 1, file: pb, offset: 10, length: 0}), {
      type: 'stream-ack',
      bytes: 0,
      background: false,
    })
    assert.deepEqual(await hashes.run({stream: 1, end: 'digest'}), {
      type: 'stream-digest',
      stream: 1,
      digest: digestOf(Buffer.concat([a.subarray(100, 2100), Buffer.from('known'), a.subarray(4000)])),
    })
    assert.deepEqual(await hashes.run({stream: 2, end: 'digest'}), {
      type: 'stream-digest',
      stream: 2,
      digest: digestOf(b),
    })
    // an ended stream's id starts a new hash; a stream with no step at all hashes nothing
    await hashes.run({stream: 1, bytes: Buffer.from('x')})
    assert.deepEqual(await hashes.run({stream: 1, end: 'digest'}), {
      type: 'stream-digest',
      stream: 1,
      digest: digestOf(Buffer.from('x')),
    })
    assert.deepEqual(await hashes.run({stream: 3, end: 'digest'}), {
      type: 'stream-digest',
      stream: 3,
      digest: digestOf(Buffer.alloc(0)),
    })
    // each file is opened once, and stays open until closeFile
    assert.equal(openOn(pa), 1)
    assert.equal(openOn(pb), 1)
    await hashes.closeFile(pa)
    await hashes.closeFile(pb)
    await hashes.closeFile(pb)
    assert.equal(openOn(pa) + openOn(pb), 0)
  })

  it('a discarded hash posts nothing, and its id starts afresh', async () => {
    const hashes = new StreamHashes(Buffer.alloc(64))
    await hashes.run({stream: 4, bytes: Buffer.from('dropped')})
    assert.equal(await hashes.run({stream: 4, end: 'discard'}), undefined)
    await hashes.run({stream: 4, bytes: Buffer.from('kept')})
    assert.deepEqual(await hashes.run({stream: 4, end: 'digest'}), {
      type: 'stream-digest',
      stream: 4,
      digest: digestOf(Buffer.from('kept')),
    })
  })

  it('a range that cannot be read fails that stream only, at its end; later steps of it are skipped', async () => {
    const good = randomBytes(200)
    const pg = file(good)
    const short = file(randomBytes(100))
    const missing = join(work.dir, 'missing')
    const hashes = new StreamHashes(Buffer.alloc(64))
    // acknowledged all the same: the writer's backlog counts these bytes as done
    assert.deepEqual(await hashes.run({stream: 1, file: missing, offset: 0, length: 10}), {
      type: 'stream-ack',
      bytes: 10,
      background: false,
    })
    assert.deepEqual(await hashes.run({stream: 1, file: pg, offset: 0, length: 10}), {
      type: 'stream-ack',
      bytes: 10,
      background: false,
    })
    assert.deepEqual(await hashes.run({stream: 2, file: short, offset: 50, length: 80}), {
      type: 'stream-ack',
      bytes: 80,
      background: false,
    })
    assert.deepEqual(await hashes.run({stream: 3, file: pg, offset: 0, length: 200}), {
      type: 'stream-ack',
      bytes: 200,
      background: false,
    })
    assert.deepEqual(await hashes.run({stream: 1, end: 'digest'}), {
      type: 'stream-error',
      stream: 1,
      message: `ENOENT: no such file or directory, open '${missing}'`,
    })
    assert.deepEqual(await hashes.run({stream: 2, end: 'digest'}), {
      type: 'stream-error',
      stream: 2,
      message: `${short}: the file ends at offset 100, inside written bytes`,
    })
    assert.deepEqual(await hashes.run({stream: 3, end: 'digest'}), {
      type: 'stream-digest',
      stream: 3,
      digest: digestOf(good),
    })
    // the failure ended with its stream: the id hashes again
    await hashes.run({stream: 1, file: pg, offset: 0, length: 200})
    assert.deepEqual(await hashes.run({stream: 1, end: 'digest'}), {
      type: 'stream-digest',
      stream: 1,
      digest: digestOf(good),
    })
    // a failed stream that is discarded posts nothing, and leaves no failure behind
    await hashes.run({stream: 5, file: missing, offset: 0, length: 1})
    assert.equal(await hashes.run({stream: 5, end: 'discard'}), undefined)
    assert.deepEqual(await hashes.run({stream: 5, end: 'digest'}), {
      type: 'stream-digest',
      stream: 5,
      digest: digestOf(Buffer.alloc(0)),
    })
    await hashes.closeFile(pg)
    await hashes.closeFile(short)
  })

  it('isStreamJob: an object with a stream field, nothing else', () => {
    assert.equal(isStreamJob({stream: 1, end: 'digest'}), true)
    assert.equal(isStreamJob({stream: 0, bytes: new Uint8Array(1)}), true)
    assert.equal(isStreamJob({volumes: []}), false)
    assert.equal(isStreamJob([{stream: 1}]), false)
    assert.equal(isStreamJob(null), false)
    assert.equal(isStreamJob(undefined), false)
    assert.equal(isStreamJob('stream'), false)
    assert.equal(isStreamJob(1), false)
  })
})
