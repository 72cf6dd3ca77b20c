// The sha256 of a file written out of order, computed from the bytes as they are written (no read-back). TarWriter
// fills its entries in parallel with positional writes, but sha256 takes bytes in file order: a chunk written at the
// hash's cursor is hashed at once, a chunk written further on waits, holding its buffer, until every byte before it
// is hashed. The writer awaits that before it reuses the buffer or reads more of that entry's stream, so memory
// stays bounded by the buffers already in flight (a stalled download is held back by its socket, not buffered
// here). Bytes known when an entry is reserved (its header, its padding, the end marker) are queued then, small
// and copied, so an entry's body never waits for its own header, which is written to disk last.
import {createHash, type Hash} from 'node:crypto'
import {AirlockError} from '../errors.ts'

interface Waiting {
  data: Buffer
  hashed?: () => void
  failed?: (error: unknown) => void
}

export class OrderedHash {
  private readonly hash: Hash = createHash('sha256')
  /** Bytes [0, cursor) are hashed. */
  private cursor = 0
  private readonly waiting = new Map<number, Waiting>()
  private failure: unknown
  private end: {at: number; resolve: (hex: string) => void; reject: (error: unknown) => void} | undefined
  private result: string | undefined

  /** Hashed so far. */
  get position(): number {
    return this.cursor
  }

  /** Bytes at `position` known now (a header, padding): copied, hashed when the cursor gets there. */
  known(position: number, data: Buffer): void {
    if (data.length === 0) return
    this.place(position, {data: position === this.cursor ? data : Buffer.from(data)})
  }

  /**
   * Bytes just written at `position`: resolves once they are hashed. `data` must stay unchanged until then (the
   * caller's buffer is hashed, not a copy). Rejects when the hash was failed (the writer is giving up).
   */
  written(position: number, data: Buffer): Promise<void> {
    if (data.length === 0) return Promise.resolve()
    if (position === this.cursor && this.failure === undefined) {
      this.place(position, {data})
      return Promise.resolve()
    }
    return new Promise<void>((hashed, failed) => this.place(position, {data, hashed, failed}))
  }

  /** The digest (hex) once bytes [0, size) are hashed; nothing may follow them. */
  digest(size: number): Promise<string> {
    if (this.failure !== undefined) return Promise.reject(this.failure)
    if (this.result !== undefined || this.cursor === size) return Promise.resolve(this.finalize(size))
    return new Promise<string>((resolve, reject) => {
      this.end = {at: size, resolve, reject}
    })
  }

  /** Gives up: every waiting write, and the digest, reject with `error` (so no writer waits forever on a hole). */
  fail(error: unknown): void {
    this.failure ??= error
    for (const w of this.waiting.values()) w.failed?.(this.failure)
    this.waiting.clear()
    this.end?.reject(this.failure)
    this.end = undefined
  }

  private place(position: number, w: Waiting): void {
    if (this.failure !== undefined) {
      w.failed?.(this.failure)
      return
    }
    if (position < this.cursor || this.waiting.has(position)) {
      this.fail(new AirlockError('INTERNAL', `volume hash: bytes at ${position} given twice`))
      w.failed?.(this.failure)
      return
    }
    this.waiting.set(position, w)
    // Hash every chunk that is now contiguous with the cursor.
    for (let next = this.waiting.get(this.cursor); next; next = this.waiting.get(this.cursor)) {
      this.waiting.delete(this.cursor)
      this.hash.update(next.data)
      this.cursor += next.data.length
      next.hashed?.()
    }
    if (this.end && this.cursor >= this.end.at) {
      const {at, resolve, reject} = this.end
      this.end = undefined
      try {
        resolve(this.finalize(at))
      } catch (error) {
        reject(error)
      }
    }
  }

  private finalize(size: number): string {
    if (this.result === undefined) {
      if (this.cursor !== size || this.waiting.size > 0)
        throw new AirlockError('INTERNAL', `volume hash: ${this.cursor} bytes hashed, expected ${size}`)
      this.result = this.hash.digest('hex')
    }
    return this.result
  }
}
