// OrderedHash in process (issue 13 item 5): a volume's sha256 computed while its entries are written out of order.
// A real file is written here in pieces, the pieces are reported in a shuffled order (some as bytes already known,
// the rest as ranges a real hash worker reads back from the file), and the digest must be the sha256 of the file;
// each misuse (bytes given twice, a size that is not the bytes given, a failure) is refused by its exact message.
import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'
import {writeFileSync} from 'node:fs'
import {describe, it} from 'node:test'
import {OrderedHash} from '../src/archive/ordered-hash.ts'
import {failure, sha, streamingPool, workDir} from './support/archive-unit.ts'

// the pool is closed before the directory is removed (hooks run in the order they were registered)
const pool = streamingPool()
const work = workDir('airlock-ordered-hash-')
function file(bytes: Buffer): string {
  const path = work.next('.bin')
  writeFileSync(path, bytes)
  return path
}

describe('OrderedHash', () => {
  it('pieces reported in any order, as known bytes or written ranges, hash to the sha256 of the file', async () => {
    const bytes = randomBytes(40_000)
    const path = file(bytes)
    const h = new OrderedHash(pool().stream(), path)
    // [0,512) known, [512,10000) written, [10000,10512) known, [10512,30000) written as two adjacent ranges,
    // [30000,40000) written; reported last-first
    const header2 = Buffer.from(bytes.subarray(10_000, 10_512))
    h.written(30_000, 10_000)
    h.written(20_000, 10_000)
    h.known(10_000, header2)
    // the caller reuses its buffer: what was given must have been copied
    header2.fill(0)
    h.written(10_512, 9_488)
    assert.equal(h.position, 0)
    h.written(512, 9_488)
    h.known(0, bytes.subarray(0, 512))
    h.known(600, Buffer.alloc(0))
    h.written(700, 0)
    assert.equal(h.position, 40_000)
    assert.equal(await h.digest(40_000), sha(bytes))
    assert.equal(await h.digest(40_000), sha(bytes))
  })

  it('digest asked for before the bytes arrive waits for them', async () => {
    const bytes = randomBytes(5_000)
    const path = file(bytes)
    const h = new OrderedHash(pool().stream(), path)
    const digest = h.digest(5_000)
    h.written(1_000, 4_000)
    assert.equal(h.position, 0)
    h.written(0, 1_000)
    assert.equal(await digest, sha(bytes))
  })

  it('bytes given twice, or a size that is not what was given, fail the hash', async () => {
    const path = file(randomBytes(3_000))
    const twice = new OrderedHash(pool().stream(), path)
    twice.written(0, 1_000)
    twice.written(0, 1_000)
    const e1 = await failure(twice.digest(1_000))
    assert.equal(e1.code, 'INTERNAL')
    assert.equal(e1.message, 'volume hash: bytes at 0 given twice')
    const waiting = new OrderedHash(pool().stream(), path)
    waiting.written(2_000, 500)
    waiting.known(2_000, Buffer.alloc(500))
    const e2 = await failure(waiting.digest(3_000))
    assert.equal(e2.message, 'volume hash: bytes at 2000 given twice')
    const short = new OrderedHash(pool().stream(), path)
    short.written(0, 3_000)
    const e3 = await failure(short.digest(2_000))
    assert.equal(e3.code, 'INTERNAL')
    assert.equal(e3.message, 'volume hash: 3000 bytes hashed, expected 2000')
    // bytes past the end waiting: also not the size asked for
    const gap = new OrderedHash(pool().stream(), path)
    gap.written(0, 1_000)
    gap.written(2_000, 1_000)
    const e4 = await failure(gap.digest(1_000))
    assert.equal(e4.message, 'volume hash: 1000 bytes hashed, expected 1000')
    // a failed hash ignores later bytes and keeps its first failure
    gap.written(1_000, 1_000)
    gap.fail(new Error('later'))
    assert.equal(await failure(gap.digest(3_000)), e4)
  })

  it('a failure rejects a digest already waiting, and every later one', async () => {
    const path = file(randomBytes(2_000))
    const h = new OrderedHash(pool().stream(), path)
    const waiting = h.digest(2_000)
    h.written(0, 1_000)
    const reason = new Error('the volume set was aborted')
    h.fail(reason)
    assert.equal(await failure(waiting), reason)
    assert.equal(await failure(h.digest(2_000)), reason)
    h.written(1_000, 1_000)
    assert.equal(h.position, 1_000)
  })
})
