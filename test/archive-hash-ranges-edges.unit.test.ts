// Edges of the hash worker's code run in this thread (issue 13 item 5, survivors of the mutation run): a volume group
// with no entry bytes reports no progress, and a file the writer closed and wrote anew at the same path is read
// afresh (export renames a volume's temporary and may write the next one under the same name); a checkpoint (a split
// entry's first part) is the digest so far while the stream runs on; a follower is forgotten when its stream ends.
import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'
import {writeFileSync} from 'node:fs'
import {describe, it} from 'node:test'
import {hashVolumeGroup, StreamHashes} from '../src/archive/hash-ranges.ts'
import {digestOf, openPaths, workDir} from './support/archive-unit.ts'

const work = workDir('airlock-hash-ranges-edges-')

describe('hash worker edges', () => {
  it('a volume group without entry bytes hashes its volumes and reports no progress (no onBytes(0))', async () => {
    const v = randomBytes(300)
    const path = work.next('.bin')
    writeFileSync(path, v)
    const progress: number[] = []
    const result = await hashVolumeGroup({volumes: [{id: 0, path, size: v.length, ranges: []}]}, Buffer.alloc(64), n =>
      progress.push(n),
    )
    assert.deepEqual(result, {volumes: [{id: 0, digest: digestOf(v)}], entries: []})
    assert.deepEqual(progress, [])
  })

  it('closeFile forgets the handle: the same path written anew is read from its new bytes', async () => {
    const first = randomBytes(200)
    const second = randomBytes(200)
    const path = work.next('.bin')
    writeFileSync(path, first)
    const hashes = new StreamHashes(Buffer.alloc(64))
    await hashes.run({stream: 1, file: path, offset: 0, length: 200})
    assert.deepEqual(await hashes.run({stream: 1, end: 'digest'}), {
      type: 'stream-digest',
      stream: 1,
      digest: digestOf(first),
    })
    await hashes.closeFile(path)
    // a new file at the same path (writeFileSync truncates in place; the old handle is closed, not reused)
    writeFileSync(path, second)
    await hashes.run({stream: 2, file: path, offset: 0, length: 200})
    assert.deepEqual(await hashes.run({stream: 2, end: 'digest'}), {
      type: 'stream-digest',
      stream: 2,
      digest: digestOf(second),
    })
    assert.equal(openPaths().filter(p => p === path).length, 1)
    await hashes.closeFile(path)
    assert.equal(openPaths().filter(p => p === path).length, 0)
  })

  it("a checkpoint posts the stream's digest so far under its own id and the stream runs on; a failed one fails it", async () => {
    const data = randomBytes(300)
    const path = work.next('.bin')
    writeFileSync(path, data)
    const hashes = new StreamHashes(Buffer.alloc(64))
    await hashes.run({stream: 1, bytes: Buffer.from('head')})
    await hashes.run({stream: 1, file: path, offset: 0, length: 100})
    assert.deepEqual(await hashes.run({stream: 1, checkpoint: 9}), {
      type: 'stream-digest',
      stream: 9,
      digest: digestOf(Buffer.concat([Buffer.from('head'), data.subarray(0, 100)])),
    })
    await hashes.run({stream: 1, file: path, offset: 100, length: 200})
    assert.deepEqual(await hashes.run({stream: 1, end: 'digest'}), {
      type: 'stream-digest',
      stream: 1,
      digest: digestOf(Buffer.concat([Buffer.from('head'), data])),
    })
    await hashes.run({stream: 2, file: work.next('.missing'), offset: 0, length: 1})
    const failed = await hashes.run({stream: 2, checkpoint: 10})
    assert.equal(failed?.type, 'stream-error')
    assert.equal((failed as {stream: number}).stream, 10)
    await hashes.closeFile(path)
  })

  it('a follower acknowledges as foreground unless asked, and is forgotten when its stream ends', async () => {
    const data = randomBytes(600)
    const path = work.next('.bin')
    writeFileSync(path, data)
    const hashes = new StreamHashes(Buffer.alloc(64))
    await hashes.run({stream: 1, follow: path, from: 0})
    assert.deepEqual(await hashes.run({stream: 1, file: path, offset: 0, length: 100}), {
      type: 'stream-ack',
      bytes: 100,
      background: false,
    })
    await hashes.run({stream: 1, end: 'digest'})
    // the same id, no longer following: a range anywhere is read as asked, not refused as out of order
    await hashes.run({stream: 1, file: path, offset: 400, length: 200})
    assert.deepEqual(await hashes.run({stream: 1, end: 'digest'}), {
      type: 'stream-digest',
      stream: 1,
      digest: digestOf(data.subarray(400)),
    })
    await hashes.closeFile(path)
  })
})
