// The body of a blob upload: a range of a re-readable blob, hashed on the way and written into the request by its
// own loop (not a pipe), so each read buffer goes back to a pool once the socket has taken it (the write
// callback). A fresh buffer per read made V8's garbage collector the largest CPU cost of a push on a
// two-core machine, where every CPU second push spends is taken from the registry it feeds (docs/DECISIONS.md).
import type {Hash} from 'node:crypto'
import type {Writable} from 'node:stream'
import {AirlockError} from '../errors.ts'
import type {Descriptor} from '../oci/descriptor.ts'
import type {RereadableBlob} from '../content/types.ts'
import {giveBuffer, takeBuffer} from './buffer-pool.ts'
import type {BodyWriter} from './transport.ts'

/** Bytes per read. */
export const READ_BYTES = 1024 * 1024
/** Read buffers kept for reuse: a few per upload in flight. */
const MAX_SPARE = 16
const take = (): Buffer => takeBuffer(READ_BYTES)
const give = (buffer: Buffer): void => giveBuffer(buffer, MAX_SPARE)

/** One piece read from the source: `bytes` to send, and the pooled buffer it lives in (none for a stream piece). */
interface Piece {
  bytes: Buffer
  pooled?: Buffer
}

/**
 * `length` bytes of `source` from `offset`, hashed into `hash` as they are read. With `expected` (the request that
 * commits), size and digest are checked at the end and the last piece is held back until they matched: the
 * registry never receives the whole body of content that does not hash to its digest, so it cannot commit it,
 * whatever it checks itself. After a failure, `failure` (the content was wrong) or `readError` (it could not be
 * read) says why; `stop()` ends a write the request no longer waits for.
 */
export class HashedBody implements BodyWriter {
  failure: AirlockError | undefined
  readError: Error | undefined
  private stopped = false
  private wake: (() => void) | undefined

  private readonly source: RereadableBlob
  private readonly offset: number
  private readonly length: number
  private readonly hash: Hash
  private readonly expected: Descriptor | undefined

  constructor(source: RereadableBlob, offset: number, length: number, hash: Hash, expected: Descriptor | undefined) {
    this.source = source
    this.offset = offset
    this.length = length
    this.hash = hash
    this.expected = expected
  }

  /** Ends the write loop at its next step (the request settled without needing the rest of the body). */
  stop(): void {
    this.stopped = true
    this.wake?.()
  }

  async writeTo(request: Writable): Promise<void> {
    let held: Piece | undefined
    let seen = 0
    for await (const piece of this.pieces()) {
      seen += piece.bytes.length
      if (seen > this.length)
        throw this.content(new AirlockError('SIZE_MISMATCH', `blob: more than the expected ${this.length} bytes`))
      this.hash.update(piece.bytes)
      if (!this.expected) {
        await this.write(request, piece)
        continue
      }
      if (held) await this.write(request, held)
      held = piece
    }
    if (this.stopped) throw new Error('request body stopped')
    if (seen !== this.length)
      throw this.content(new AirlockError('SIZE_MISMATCH', `blob: read ${seen} bytes, expected ${this.length}`))
    if (this.expected) {
      const actual = `sha256:${this.hash.digest('hex')}`
      if (actual !== this.expected.digest)
        throw this.content(
          new AirlockError(
            'DIGEST_MISMATCH',
            `blob ${this.expected.digest}: content hashes to ${actual}, expected ${this.expected.digest}`,
          ),
        )
      if (held) await this.write(request, held)
    }
  }

  /** The range as pieces: positional reads into pooled buffers when the source offers them, else its stream. */
  private async *pieces(): AsyncGenerator<Piece> {
    if (this.length === 0) return
    const read = this.source.read?.bind(this.source)
    if (!read) {
      try {
        for await (const bytes of this.source.open(this.offset, this.length)) {
          if (this.stopped) return
          yield {bytes: bytes as Buffer}
        }
      } catch (error) {
        throw this.readFailed(error)
      }
      return
    }
    for (let at = 0; at < this.length && !this.stopped; ) {
      const pooled = take()
      let n: number
      try {
        n = await read(pooled.subarray(0, Math.min(READ_BYTES, this.length - at)), this.offset + at)
      } catch (error) {
        give(pooled)
        throw this.readFailed(error)
      }
      if (n === 0) {
        give(pooled)
        return // short: the size check names it
      }
      at += n
      yield {bytes: pooled.subarray(0, n), pooled}
    }
  }

  /** The content is not what the descriptor says: remembered, so the caller reports it and never retries. */
  private content(error: AirlockError): AirlockError {
    this.failure = error
    return error
  }

  private readFailed(error: unknown): Error {
    const e = error instanceof Error ? error : new Error(String(error))
    this.readError = e
    return e
  }

  /**
   * Writes one piece; its buffer returns to the pool once the socket has taken it (never after a failed write:
   * the socket may still hold it). Waits for `drain` when the request buffers enough.
   */
  private async write(request: Writable, piece: Piece): Promise<void> {
    if (this.stopped) throw new Error('request body stopped')
    const more = request.write(piece.bytes, error => {
      if (!error && piece.pooled) give(piece.pooled)
    })
    if (more) return
    await new Promise<void>((resolve, reject) => {
      const done = (error?: Error) => {
        request.off('drain', onDrain)
        request.off('close', onClose)
        request.off('error', onClose)
        this.wake = undefined
        if (error) reject(error)
        else resolve()
      }
      const onDrain = () => done()
      const onClose = (error?: Error) => done(error ?? new Error('request closed before its body was sent'))
      request.once('drain', onDrain)
      request.once('close', onClose)
      request.once('error', onClose)
      this.wake = () => done(new Error('request body stopped'))
    })
  }
}
