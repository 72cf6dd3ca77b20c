// Hashing byte ranges of an archive (issue 13 item 5): src/archive/hash-ranges.ts and hash-pool.ts in process, on
// real files. The verify tests hash ranges smaller than one read and never see progress or a file that shrank, so
// the read loop, the progress steps and the truncation errors are pinned here.
import assert from 'node:assert/strict'
import {createHash, randomBytes} from 'node:crypto'
import {mkdtempSync, rmSync, truncateSync, writeFileSync} from 'node:fs'
import {open} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'
import {HashPool, hashInThread} from '../src/archive/hash-pool.ts'
import {HASH_READ_BYTES, hashRanges, RangeTruncatedError} from '../src/archive/hash-ranges.ts'

const MiB = 1024 * 1024
const dir = mkdtempSync(join(tmpdir(), 'airlock-hash-unit-'))
after(() => rmSync(dir, {recursive: true, force: true}))

const small = join(dir, 'small.bin')
const content = randomBytes(5000)
writeFileSync(small, content)
/** 40 MiB of zeros (sparse): more than one progress step of 32 MiB. */
const big = join(dir, 'big.bin')
writeFileSync(big, '')
truncateSync(big, 40 * MiB)

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`
const zeros = (n: number) => sha(Buffer.alloc(n))

describe('hashRanges', () => {
  it('hashes each range across many reads of a small buffer, in job order, with the caller ids', async () => {
    const fh = await open(small, 'r')
    try {
      const jobs = [
        {id: 7, offset: 100, size: 1000},
        {id: 3, offset: 0, size: 5000},
        {id: 9, offset: 4990, size: 10},
        {id: 1, offset: 17, size: 0},
      ]
      // 64-byte buffer: every range but the empty one takes several reads, the last one partial
      const results = await hashRanges(fh, jobs, Buffer.alloc(64))
      assert.deepEqual(results, [
        {id: 7, digest: sha(content.subarray(100, 1100))},
        {id: 3, digest: sha(content)},
        {id: 9, digest: sha(content.subarray(4990))},
        {id: 1, digest: sha(Buffer.alloc(0))},
      ])
    } finally {
      await fh.close()
    }
  })

  it('reports progress every 32 MiB and the rest at the end of the range, nothing for an empty range', async () => {
    const fh = await open(big, 'r')
    try {
      const seen: number[] = []
      const results = await hashRanges(
        fh,
        [
          {id: 0, offset: 0, size: 40 * MiB},
          {id: 1, offset: 5, size: 0},
          {id: 2, offset: MiB, size: 3 * MiB + 1},
        ],
        Buffer.allocUnsafe(HASH_READ_BYTES),
        n => seen.push(n),
      )
      assert.deepEqual(seen, [32 * MiB, 8 * MiB, 3 * MiB + 1])
      assert.deepEqual(
        results.map(r => r.digest),
        [zeros(40 * MiB), zeros(0), zeros(3 * MiB + 1)],
      )
    } finally {
      await fh.close()
    }
  })

  it('fails with the job id and the offset where the file ended when a range runs past it', async () => {
    const fh = await open(small, 'r')
    try {
      await assert.rejects(
        hashRanges(
          fh,
          [
            {id: 0, offset: 0, size: 10},
            {id: 4, offset: 4000, size: 2000},
          ],
          Buffer.alloc(256),
        ),
        (error: unknown) => {
          assert.ok(error instanceof RangeTruncatedError)
          assert.equal(error.id, 4)
          assert.equal(error.message, 'file ends at offset 5000')
          return true
        },
      )
    } finally {
      await fh.close()
    }
  })
})

describe('hashInThread', () => {
  it('returns the digests in the order of the ranges, with progress adding up to the bytes hashed', async () => {
    let total = 0
    const digests = await hashInThread(
      small,
      [
        {name: 'a', offset: 10, size: 20},
        {name: 'b', offset: 0, size: 5000},
      ],
      n => {
        total += n
      },
    )
    assert.deepEqual(digests, [sha(content.subarray(10, 30)), sha(content)])
    assert.equal(total, 5020)
  })

  it('names the entry the file ended in', async () => {
    await assert.rejects(
      hashInThread(small, [
        {name: 'blobs/sha256/ok', offset: 0, size: 1},
        {name: 'blobs/sha256/cut', offset: 4999, size: 2},
      ]),
      {
        code: 'ARCHIVE_INVALID',
        message: 'archive is truncated inside entry "blobs/sha256/cut" (the file changed while it was verified)',
      },
    )
  })
})

describe('HashPool (worker threads)', () => {
  it('hashes large and many small ranges on two workers, digests in the order asked', async () => {
    // 300 small ranges (more than one batch of 256 entries) and three of 1 MiB or more (one batch each)
    const ranges = [
      ...Array.from({length: 300}, (_, i) => ({name: `s${i}`, offset: i * 13, size: 1 + (i % 50)})),
      {name: 'L1', offset: 0, size: 2 * MiB},
      {name: 'L2', offset: 7 * MiB, size: MiB},
      {name: 'L3', offset: 39 * MiB, size: MiB},
    ]
    const pool = HashPool.start(big, 2)
    try {
      let progress = 0
      const digests = await pool.hash(ranges, n => {
        progress += n
      })
      assert.deepEqual(
        digests,
        ranges.map(r => zeros(r.size)),
      )
      assert.equal(
        progress,
        ranges.reduce((sum, r) => sum + r.size, 0),
      )
      assert.deepEqual(await pool.hash([]), [])
    } finally {
      await pool.close()
    }
  })

  it('fails naming the entry a worker found cut short', async () => {
    const pool = HashPool.start(small, 1)
    try {
      await assert.rejects(
        pool.hash([
          {name: 'first', offset: 0, size: 100},
          {name: 'blobs/sha256/beyond', offset: 4000, size: 4000},
        ]),
        {
          code: 'ARCHIVE_INVALID',
          message: 'archive is truncated inside entry "blobs/sha256/beyond" (the file changed while it was verified)',
        },
      )
    } finally {
      await pool.close()
    }
  })

  it('a file that cannot be opened is an I/O error naming the file, not a crash', async () => {
    const missing = join(dir, 'missing.bin')
    const pool = HashPool.start(missing, 1)
    try {
      await assert.rejects(pool.hash([{name: 'x', offset: 0, size: 1}]), (error: Error & {code?: string}) => {
        assert.equal(error.code, 'INTERNAL')
        assert.match(error.message, /^verify worker (failed: .*ENOENT|exited)/)
        return true
      })
    } finally {
      await pool.close()
    }
  })
})
