// The sha256 of a file written out of order, computed from the bytes as they are written (no read-back). TarWriter
// fills its entries in parallel with positional writes, but sha256 takes bytes in file order: a chunk written at the
// hash's cursor is hashed at once, a chunk written further on waits, holding its buffer, until every byte before it
// is hashed. The writer awaits that before it reuses the buffer or reads more of that entry's stream, so memory
// stays bounded by the buffers already in flight (a stalled download is held back by its socket, not buffered
// here). Bytes known when an entry is reserved (its header, its padding, the end marker) are queued then, small
// and copied, so an entry's body never waits for its own header, which is written to disk last.
//
// A download must not stall for long (a registry connection idle for 60 s is dropped): a chunk that has waited
// HOLD_MS, and every later chunk behind it, is let go unhashed ("spilled": already on disk) and read back from the
// file when the hash gets there. That is the exception (a slow entry far ahead of the others), not the rule.
import {createHash, type Hash} from 'node:crypto'
import {AirlockError} from '../errors.ts'

/** How long a written chunk may hold its entry before it is spilled (read back later instead). */
export const HOLD_MS = 5000
const READ_BACK_BYTES = 2 * 1024 * 1024

interface Waiting {
  /** Undefined once spilled: the bytes are read back from the file. */
  data: Buffer | undefined
  length: number
  hashed?: () => void
  failed?: (error: unknown) => void
  timer?: NodeJS.Timeout
}

export class OrderedHash {
  private readonly hash: Hash = createHash('sha256')
  /** Reads bytes back from the file (spilled chunks only). */
  private readonly readBack: (position: number, length: number) => Promise<Buffer>
  private readonly holdMs: number
  /** Spilled ranges not hashed yet: a chunk behind one spills at once (the hash reads back up to it anyway). */
  private spilled = 0
  private pumping = false
  /** Bytes [0, cursor) are hashed. */
  private cursor = 0
  private readonly waiting = new Map<number, Waiting>()
  private failure: unknown
  private end: {at: number; resolve: (hex: string) => void; reject: (error: unknown) => void} | undefined
  private result: string | undefined

  constructor(readBack: (position: number, length: number) => Promise<Buffer>, options: {holdMs?: number} = {}) {
    this.readBack = readBack
    this.holdMs = options.holdMs ?? HOLD_MS
  }

  /** Hashed so far. */
  get position(): number {
    return this.cursor
  }

  /** Bytes at `position` known now (a header, padding): copied, hashed when the cursor gets there. */
  known(position: number, data: Buffer): void {
    if (data.length === 0) return
    this.place(position, {data: position === this.cursor ? data : Buffer.from(data), length: data.length})
  }

  /**
   * Bytes just written at `position`: resolves once they are hashed. `data` must stay unchanged until then (the
   * caller's buffer is hashed, not a copy). Rejects when the hash was failed (the writer is giving up).
   */
  written(position: number, data: Buffer): Promise<void> {
    if (data.length === 0) return Promise.resolve()
    if (this.failure === undefined && (position === this.cursor || this.spilled > 0)) {
      // At the cursor: hashed now. Behind a spilled range: spilled too, so its entry does not wait.
      this.place(position, {data: position === this.cursor ? data : undefined, length: data.length})
      return Promise.resolve()
    }
    return new Promise<void>((hashed, failed) => {
      const w: Waiting = {data, length: data.length, hashed, failed}
      w.timer = setTimeout(() => this.spill(w), this.holdMs)
      this.place(position, w)
    })
  }

  /** Lets a waiting chunk go: its entry goes on; the hash reads the bytes back when it gets there. */
  private spill(w: Waiting): void {
    if (w.data === undefined || !w.hashed) return
    w.data = undefined
    this.spilled++
    const hashed = w.hashed
    w.hashed = undefined
    w.failed = undefined
    hashed()
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
    for (const w of this.waiting.values()) {
      clearTimeout(w.timer)
      w.failed?.(this.failure)
    }
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
    if (w.data === undefined) this.spilled++
    this.waiting.set(position, w)
    this.pump()
  }

  /** Hashes every chunk now contiguous with the cursor, reading spilled ones back; one pump at a time. */
  private pump(): void {
    if (this.pumping) return
    for (let next = this.waiting.get(this.cursor); next?.data; next = this.waiting.get(this.cursor)) {
      this.waiting.delete(this.cursor)
      clearTimeout(next.timer)
      this.hash.update(next.data)
      this.cursor += next.length
      next.hashed?.()
    }
    if (this.waiting.has(this.cursor)) {
      this.pumping = true
      this.readSpilled().then(
        () => {
          this.pumping = false
          this.pump()
        },
        error => {
          this.pumping = false
          this.fail(error)
        },
      )
      return
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

  /** Reads back and hashes the spilled chunk at the cursor. */
  private async readSpilled(): Promise<void> {
    const w = this.waiting.get(this.cursor)!
    let done = 0
    while (done < w.length) {
      const n = Math.min(READ_BACK_BYTES, w.length - done)
      const bytes = await this.readBack(this.cursor + done, n)
      if (this.failure !== undefined) return
      if (bytes.length !== n)
        throw new AirlockError('IO_ERROR', `volume hash: short read back at ${this.cursor + done}`)
      this.hash.update(bytes)
      done += n
    }
    this.waiting.delete(this.cursor)
    this.cursor += w.length
    this.spilled--
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
