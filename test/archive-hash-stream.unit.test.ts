// HashPool's running hashes (export) in process (issue 13 item 5): ranges read back from real files by a real worker,
// adjacent ones merged, known bytes in between, in the order given; the digest must be the sha256 of exactly those
// bytes. Misuse after the end, a range that cannot be read back, and a pool stopped while a digest is awaited are
// refused with their exact messages.
import assert from 'node:assert/strict'
import {createHash, randomBytes} from 'node:crypto'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, it} from 'node:test'
import {HashPool} from '../src/archive/hash-pool.ts'
import {failure, thrown, workDir} from './support/archive-unit.ts'

const work = workDir('airlock-hash-stream-').dir
const digest = (...parts: Buffer[]): string =>
  `sha256:${createHash('sha256').update(Buffer.concat(parts)).digest('hex')}`

describe('HashPool running hashes', () => {
  it('ranges of two files and known bytes, in the order given, hash to their sha256', async () => {
    const a = randomBytes(300_000)
    const b = randomBytes(400_000)
    const fa = join(work, 'a')
    const fb = join(work, 'b')
    writeFileSync(fa, a)
    writeFileSync(fb, b)
    const pool = HashPool.startStreaming(2)
    try {
      assert.equal(pool.room(), undefined)
      const s = pool.stream()
      s.range(fa, 0, 1000)
      s.range(fa, 1000, 99_000) // adjacent: merged with the one before
      s.range(fa, 0, 0)
      s.bytes(Buffer.from('known'))
      s.bytes(Buffer.alloc(0))
      s.range(fa, 200_000, 100_000) // not adjacent: a new range
      s.range(fb, 300_000, 50_000) // another file, at the offset where the last range ended: not merged
      s.range(fa, 150_000, 10)
      const t = pool.stream()
      t.range(fb, 10, 20)
      const [ds, dt] = await Promise.all([s.digest(), t.digest()])
      assert.equal(
        ds,
        digest(
          a.subarray(0, 100_000),
          Buffer.from('known'),
          a.subarray(200_000),
          b.subarray(300_000, 350_000),
          a.subarray(150_000, 150_010),
        ),
      )
      assert.equal(dt, digest(b.subarray(10, 30)))
      const after = thrown(() => s.range(fa, 0, 10))
      assert.equal(after.code, 'INTERNAL')
      assert.equal(after.message, 'running hash used after its end')
      assert.equal(thrown(() => s.bytes(Buffer.from('x'))).message, 'running hash used after its end')
      // a discarded hash takes nothing more either
      const u = pool.stream()
      u.range(fa, 0, 10)
      u.discard()
      assert.equal(thrown(() => u.range(fa, 0, 10)).message, 'running hash used after its end')
      u.discard()
      // the pool still serves new hashes
      const v = pool.stream()
      v.range(fa, 5, 5)
      assert.equal(await v.digest(), digest(a.subarray(5, 10)))
      pool.releaseFile(fa)
    } finally {
      await pool.close()
    }
  })

  it('a range that cannot be read back fails its digest, not the others', async () => {
    const pool = HashPool.startStreaming()
    try {
      const missing = join(work, 'missing')
      const s = pool.stream()
      s.range(missing, 0, 100)
      const e = await failure(s.digest())
      assert.equal(e.code, 'IO_ERROR')
      assert.match(
        e.message,
        /^cannot read back what was written: ENOENT: no such file or directory, open '.*missing'$/,
      )
      const f = join(work, 'short')
      writeFileSync(f, Buffer.alloc(10))
      const t = pool.stream()
      t.range(f, 0, 10)
      assert.equal(await t.digest(), digest(Buffer.alloc(10)))
    } finally {
      await pool.close()
    }
  })

  it('a pool stopped while a digest is awaited fails it, and every later use', async () => {
    const f = join(work, 'stop')
    writeFileSync(f, randomBytes(1000))
    const pool = HashPool.startStreaming()
    const s = pool.stream()
    s.range(f, 0, 1000)
    const waiting = s.digest()
    await pool.close()
    const e = await failure(waiting)
    assert.equal(e.code, 'INTERNAL')
    assert.equal(e.message, 'the hash workers were stopped')
    assert.equal(await failure(pool.room()!), e)
    const t = pool.stream()
    t.range(f, 0, 10)
    assert.equal(await failure(t.digest()), e)
  })
})
