// src/archive/hash-pool.ts in process (issue 13 item 5), beyond test/archive-hash.unit.test.ts: errors that are not
// truncation keep their own code and message (in this thread and from a worker), a pool asked for no workers still
// has one, and hashing in this thread closes the file it opened. Real files, real worker threads.
import assert from 'node:assert/strict'
import {createHash, randomBytes} from 'node:crypto'
import {mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'
import {HashPool, hashInThread} from '../src/archive/hash-pool.ts'

const dir = mkdtempSync(join(tmpdir(), 'airlock-hash-pool-unit-'))
after(() => rmSync(dir, {recursive: true, force: true}))
const data = join(dir, 'data.bin')
const content = randomBytes(3000)
writeFileSync(data, content)
const aDirectory = join(dir, 'a-directory')
mkdirSync(aDirectory)
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`

/** File descriptors of this process open on `path` (Linux /proc). */
function openOn(path: string): number {
  let count = 0
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === path) count++
    } catch {
      // the fd readdir itself used is gone
    }
  }
  return count
}

describe('hashInThread', () => {
  it('closes the file it opened, after a result and after a failure', async () => {
    assert.deepEqual(await hashInThread(data, [{name: 'a', offset: 1, size: 2}]), [sha(content.subarray(1, 3))])
    assert.equal(openOn(data), 0)
    await assert.rejects(hashInThread(data, [{name: 'cut', offset: 2999, size: 2}]), {code: 'ARCHIVE_INVALID'})
    assert.equal(openOn(data), 0)
  })

  it('a read error is not reported as truncation', async () => {
    // a directory opens for reading on Linux; reading it fails with EISDIR
    await assert.rejects(
      hashInThread(aDirectory, [{name: 'blobs/sha256/x', offset: 0, size: 10}]),
      (error: Error & {code?: string}) => {
        assert.equal(error.code, 'EISDIR')
        assert.doesNotMatch(error.message, /truncated/)
        return true
      },
    )
  })
})

describe('HashPool', () => {
  it('a read error in a worker is an I/O error naming the file', async () => {
    const pool = HashPool.start(aDirectory, 1)
    try {
      await assert.rejects(pool.hash([{name: 'blobs/sha256/x', offset: 0, size: 10}]), {
        code: 'IO_ERROR',
        message: `${aDirectory}: EISDIR: illegal operation on a directory, read`,
      })
    } finally {
      await pool.close()
    }
  })

  it('a pool for volume groups (no file) refuses plain ranges with the worker message alone', async () => {
    const pool = HashPool.start(undefined, 1)
    try {
      await assert.rejects(pool.hash([{name: 'x', offset: 0, size: 1}]), {
        code: 'IO_ERROR',
        message: 'no file to hash ranges of',
      })
    } finally {
      await pool.close()
    }
  })

  it('a pool asked for no workers still hashes, on one', async () => {
    const pool = HashPool.start(data, 0)
    try {
      assert.deepEqual(
        await pool.hash([
          {name: 'b', offset: 100, size: 900},
          {name: 'a', offset: 0, size: 3000},
        ]),
        [sha(content.subarray(100, 1000)), sha(content)],
      )
    } finally {
      await pool.close()
    }
  })
})
