// Blob hashing off the main thread (issue 11 item 6, issue 17 item 5): a large blob's sha256 is computed by a hash
// worker that reads back what was written, and the blob's tar header still waits for that digest. Held to the
// writer's rules: a blob whose bytes do not match its digest is refused (same error as before, DIGEST_MISMATCH) and
// the archive cannot be committed; a hash worker that dies is one clear error and nothing is left presented as
// complete, for a single archive and for a volume set.
import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'
import {mkdir, readdir} from 'node:fs/promises'
import {join} from 'node:path'
import {PassThrough, Readable} from 'node:stream'
import type {Worker} from 'node:worker_threads'
import {after, before, describe, it} from 'node:test'
import {HashPool} from '../src/archive/hash-pool.ts'
import {ArchiveReader} from '../src/archive/reader.ts'
import {ArchiveWriter} from '../src/archive/writer.ts'
import {copyErrorDetails, GraphCopier} from '../src/copy/copy.ts'
import type {Descriptor} from '../src/oci/descriptor.ts'
import {sha256, VerifyingStream} from '../src/oci/digest.ts'
import {MediaType} from '../src/oci/media-types.ts'
import {tempDir} from './support/layouts.ts'

const MiB = 1024 * 1024

function blob(size: number): {bytes: Buffer; descriptor: Descriptor} {
  const bytes = randomBytes(size)
  return {bytes, descriptor: {mediaType: MediaType.OciLayer, digest: sha256(bytes), size}}
}

/** 64 KiB chunks, as a socket gives them. */
function chunked(bytes: Buffer): Readable {
  return Readable.from(
    (function* () {
      for (let at = 0; at < bytes.length; at += 64 * 1024) yield bytes.subarray(at, at + 64 * 1024)
    })(),
    {objectMode: false},
  )
}

/** The same bytes with one flipped in the middle: same size, another digest. */
function tampered(bytes: Buffer): Buffer {
  const copy = Buffer.from(bytes)
  copy[copy.length >> 1]! ^= 0x01
  return copy
}

const workersOf = (pool: HashPool) => (pool as unknown as {workers: Worker[]}).workers

describe('archive writer: large blobs hashed on a worker thread', () => {
  let dir: string
  let cleanup: () => Promise<void>
  before(async () => ({dir, cleanup} = await tempDir('airlock-hashworker-')))
  after(() => cleanup())

  it('the archive holds every blob under its digest (plain streams and verifying streams)', async () => {
    const out = join(dir, 'ok.tar')
    const writer = await ArchiveWriter.create(out)
    const plain = [blob(3 * MiB + 5), blob(5 * MiB)]
    const verifying = blob(2 * MiB + 511)
    await Promise.all([
      ...plain.map(b => writer.push(b.descriptor, chunked(b.bytes))),
      writer.push(verifying.descriptor, chunked(verifying.bytes).pipe(new VerifyingStream(verifying.descriptor))),
    ])
    await writer.commit()
    const reader = await ArchiveReader.open(out, {hash: true, workers: 0})
    try {
      for (const b of [...plain, verifying]) assert.equal(reader.blob(b.descriptor.digest)?.digest, b.descriptor.digest)
    } finally {
      await reader.close()
    }
  })

  for (const kind of ['a plain stream', 'a verifying stream'] as const)
    it(`a blob whose bytes do not match its digest (${kind}): DIGEST_MISMATCH, no commit, nothing left`, async () => {
      const sub = join(dir, `bad-${kind.split(' ')[1]}`)
      await mkdir(sub)
      const writer = await ArchiveWriter.create(join(sub, 'bad.tar'))
      const good = blob(2 * MiB)
      const b = blob(3 * MiB)
      const body = chunked(tampered(b.bytes))
      const content = kind === 'a plain stream' ? body : body.pipe(new VerifyingStream(b.descriptor))
      await writer.push(good.descriptor, chunked(good.bytes))
      await assert.rejects(writer.push(b.descriptor, content), (e: Error & {code?: string}) => {
        assert.equal(e.code, 'DIGEST_MISMATCH')
        assert.match(e.message, new RegExp(`${b.descriptor.digest}: content hashes to sha256:[0-9a-f]{64}, expected`))
        return true
      })
      await assert.rejects(writer.commit(), {code: 'DIGEST_MISMATCH'})
      await writer.abort()
      assert.deepEqual(await readdir(sub), [], 'no archive, no partial file')
    })

  it('through the copy engine, a mismatch found by the worker is the source side of the copy', async () => {
    const sub = join(dir, 'copy')
    await mkdir(sub)
    const writer = await ArchiveWriter.create(join(sub, 'copy.tar'))
    const b = blob(3 * MiB)
    const source = {fetch: async () => chunked(tampered(b.bytes))}
    const error = await new GraphCopier(writer, {name: 'archive'}).copy(source, b.descriptor).catch((e: unknown) => e)
    assert.equal((error as {code?: string}).code, 'DIGEST_MISMATCH')
    assert.deepEqual(copyErrorDetails(error), {
      operation: 'push',
      side: 'source',
      digest: b.descriptor.digest,
      destination: 'archive',
    })
    await writer.abort()
    assert.deepEqual(await readdir(sub), [])
  })

  it('a blob of the wrong size is still refused by the stream (SIZE_MISMATCH)', async () => {
    const sub = join(dir, 'size')
    await mkdir(sub)
    const writer = await ArchiveWriter.create(join(sub, 'size.tar'))
    const b = blob(3 * MiB)
    await assert.rejects(writer.push(b.descriptor, chunked(b.bytes.subarray(0, 2 * MiB))), {code: 'SIZE_MISMATCH'})
    await writer.abort()
    assert.deepEqual(await readdir(sub), [])
  })

  for (const volumes of [false, true])
    it(`a hash worker that dies mid-export is one clear error, nothing is committed${volumes ? ' (volume set)' : ''}`, async () => {
      const sub = join(dir, volumes ? 'crash-volumes' : 'crash')
      await mkdir(sub)
      const pool = HashPool.startStreaming(1)
      const writer = await ArchiveWriter.create(join(sub, 'out.tar'), {
        hashPool: pool,
        ...(volumes ? {volumeSize: 4 * MiB} : {}),
      })
      const b = blob(6 * MiB)
      const body = new PassThrough()
      const pushed = writer.push(b.descriptor, body)
      body.write(b.bytes.subarray(0, 2 * MiB))
      await new Promise(r => setTimeout(r, 100))
      // The worker dies (as an out-of-memory kill or a crash in native code would end it).
      await workersOf(pool)[0]!.terminate()
      body.end(b.bytes.subarray(2 * MiB))
      const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error('hung')), 20_000).unref())
      await assert.rejects(Promise.race([pushed, timeout]), (e: Error & {code?: string}) => {
        assert.equal(e.code, 'INTERNAL')
        assert.match(e.message, /^hash worker exited \(code \d+\) before finishing$/)
        return true
      })
      await assert.rejects(writer.commit(), {code: 'INTERNAL'})
      await writer.abort()
      assert.deepEqual(await readdir(sub), [], 'no archive, no volume, no volumes.json, no partial file')
    })
})

describe('running hashes on the hash pool', () => {
  it('the digest of ranges and bytes in order is the sha256 of those bytes; a range the worker cannot read back is an IO_ERROR', async () => {
    const {dir, cleanup} = await tempDir('airlock-streamhash-')
    const pool = HashPool.startStreaming()
    try {
      const file = join(dir, 'f')
      const bytes = randomBytes(20 * MiB + 3)
      await import('node:fs/promises').then(fs => fs.writeFile(file, bytes))
      const hash = pool.stream()
      hash.bytes(bytes.subarray(0, 100))
      for (let at = 100; at < bytes.length; at += MiB) hash.range(file, at, Math.min(MiB, bytes.length - at))
      assert.equal(await hash.digest(), sha256(bytes))
      const missing = pool.stream()
      missing.range(join(dir, 'gone'), 0, 10)
      await assert.rejects(missing.digest(), (e: Error & {code?: string}) => {
        assert.equal(e.code, 'IO_ERROR')
        assert.match(e.message, /^cannot read back what was written: .*gone/)
        return true
      })
      const short = pool.stream()
      short.range(file, bytes.length - 5, 10)
      await assert.rejects(short.digest(), /the file ends at offset/)
    } finally {
      await pool.close()
      await cleanup()
    }
  })
})
