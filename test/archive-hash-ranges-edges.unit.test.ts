// Edges of the hash worker's code run in this thread (issue 13 item 5, survivors of the mutation run): a volume group
// with no entry bytes reports no progress, and a file the writer closed and wrote anew at the same path is read
// afresh (export renames a volume's temporary and may write the next one under the same name).
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
})
