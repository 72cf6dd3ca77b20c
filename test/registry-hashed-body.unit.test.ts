// The upload body that writes itself (src/registry/hashed-body.ts): it must send exactly the bytes of the range,
// reuse its read buffers only once the sink has taken them (a slow socket must never see a buffer overwritten
// under it), hold the last piece back from content that does not hash to its digest, and say why it stopped.
import assert from 'node:assert/strict'
import {createHash, randomBytes} from 'node:crypto'
import {createReadStream, writeFileSync} from 'node:fs'
import {open} from 'node:fs/promises'
import {join} from 'node:path'
import {Writable} from 'node:stream'
import {finished} from 'node:stream/promises'
import {after, before, describe, it} from 'node:test'
import type {RereadableBlob} from '../src/content/types.ts'
import type {Descriptor} from '../src/oci/descriptor.ts'
import {MediaType} from '../src/oci/media-types.ts'
import {HashedBody, READ_BYTES} from '../src/registry/hashed-body.ts'
import {makeWorkDir} from './support/images.ts'

const MiB = 1024 * 1024

/** A sink that takes its time: each write's callback fires later, and the bytes are copied only then. */
class SlowSink extends Writable {
  readonly received: Buffer[] = []
  readonly buffers = new Set<ArrayBufferLike>()
  /** `highWaterMark`: how much the sink queues before it asks the writer to wait (a socket: little). */
  constructor(highWaterMark = 64 * 1024) {
    super({highWaterMark})
  }
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.buffers.add(chunk.buffer)
    setTimeout(() => {
      this.received.push(Buffer.from(chunk)) // what the "socket" sends is what the buffer holds when it is taken
      callback()
    }, 2)
  }
}

/** Writes the body and ends the sink as the transport does (`req.end()`), waiting until the sink took it all. */
async function sendAll(body: HashedBody, sink: Writable): Promise<void> {
  await body.writeTo(sink)
  sink.end()
  await finished(sink)
}

describe('HashedBody: an upload body with pooled read buffers', () => {
  const work = makeWorkDir('airlock-hashed-body-')
  const bytes = randomBytes(9 * MiB + 12345)
  const file = join(work.dir, 'blob')
  const blob: Descriptor = {
    mediaType: MediaType.OciLayerGzip,
    digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`,
    size: bytes.length,
  }
  let fh: Awaited<ReturnType<typeof open>>

  before(async () => {
    writeFileSync(file, bytes)
    fh = await open(file)
  })
  after(async () => {
    await fh.close()
    work.cleanup()
  })

  /** The file as a re-readable region; `read` is the positional read the archive reader offers. */
  const region = (withRead = true): RereadableBlob => ({
    size: bytes.length,
    open: (offset, length) => createReadStream(file, {start: offset, end: offset + length - 1}),
    ...(withRead
      ? {read: async (target: Buffer, offset: number) => (await fh.read(target, 0, target.length, offset)).bytesRead}
      : {}),
  })

  it('sends exactly the bytes, through a slow sink, reusing a few buffers only after the sink took them', async () => {
    const sink = new SlowSink()
    const body = new HashedBody(region(), 0, bytes.length, createHash('sha256'), blob)
    await sendAll(body, sink)
    assert.equal(body.failure, undefined)
    assert.ok(Buffer.concat(sink.received).equals(bytes), 'byte for byte, none overwritten before it was taken')
    const reads = Math.ceil(bytes.length / READ_BYTES)
    assert.ok(sink.buffers.size < reads, `${sink.buffers.size} buffers for ${reads} reads: reused`)
  })

  it('a sink that queues many writes before it takes them: no queued buffer is read into again', async () => {
    const sink = new SlowSink(64 * MiB)
    await sendAll(new HashedBody(region(), 0, bytes.length, createHash('sha256'), blob), sink)
    assert.ok(Buffer.concat(sink.received).equals(bytes))
  })

  it('a range from an offset (a chunk) is hashed into the shared hash and written whole', async () => {
    const sink = new SlowSink()
    const hash = createHash('sha256')
    const body = new HashedBody(region(), MiB + 7, 3 * MiB, hash, undefined)
    await sendAll(body, sink)
    const expected = bytes.subarray(MiB + 7, 4 * MiB + 7)
    assert.ok(Buffer.concat(sink.received).equals(expected))
    assert.equal(hash.digest('hex'), createHash('sha256').update(expected).digest('hex'))
  })

  it('a source without positional reads is streamed, with the same result', async () => {
    const sink = new SlowSink()
    await sendAll(new HashedBody(region(false), 0, bytes.length, createHash('sha256'), blob), sink)
    assert.ok(Buffer.concat(sink.received).equals(bytes))
  })

  it('content that does not hash to its digest: the last piece is never written, DIGEST_MISMATCH', async () => {
    const sink = new SlowSink()
    const lying: Descriptor = {...blob, digest: `sha256:${'0'.repeat(64)}`}
    const body = new HashedBody(region(), 0, bytes.length, createHash('sha256'), lying)
    await assert.rejects(body.writeTo(sink), /content hashes to/)
    assert.equal(body.failure?.code, 'DIGEST_MISMATCH')
    sink.end()
    await finished(sink)
    const sent = Buffer.concat(sink.received).length
    assert.ok(sent < bytes.length, `the registry got ${sent} of ${bytes.length} bytes: never the whole body`)
    assert.equal(sent, bytes.length - (bytes.length % READ_BYTES || READ_BYTES), 'all but the last piece')
  })

  it('a source shorter than the descriptor says: SIZE_MISMATCH, the last piece held back', async () => {
    const sink = new SlowSink()
    const short: RereadableBlob = {
      ...region(),
      read: async (target, offset) =>
        offset >= 2 * MiB ? 0 : (await fh.read(target, 0, Math.min(target.length, 2 * MiB - offset), offset)).bytesRead,
    }
    const body = new HashedBody(short, 0, bytes.length, createHash('sha256'), blob)
    await assert.rejects(body.writeTo(sink), /read 2097152 bytes, expected/)
    assert.equal(body.failure?.code, 'SIZE_MISMATCH')
    sink.end()
    await finished(sink)
    assert.ok(Buffer.concat(sink.received).length < 2 * MiB)
  })

  it('a read that fails is a read error, not a content failure', async () => {
    const broken: RereadableBlob = {
      ...region(),
      read: async () => {
        throw new Error('EIO: i/o error, read')
      },
    }
    const body = new HashedBody(broken, 0, bytes.length, createHash('sha256'), blob)
    await assert.rejects(body.writeTo(new SlowSink()), /EIO/)
    assert.equal(body.failure, undefined)
    assert.match(body.readError?.message ?? '', /EIO/)
  })

  it('stop() ends a write that waits on a sink that never drains', async () => {
    const stuck = new Writable({highWaterMark: 1, write: () => undefined}) // never calls back: never drains
    const body = new HashedBody(region(), 0, bytes.length, createHash('sha256'), undefined)
    const writing = body.writeTo(stuck)
    await new Promise(resolve => setTimeout(resolve, 20))
    body.stop()
    await assert.rejects(writing, /stopped/)
    assert.equal(body.failure, undefined)
  })
})
