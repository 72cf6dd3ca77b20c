// The sha256 of a file written out of order (a volume of a volume set), computed as it is written, on a hash worker
// thread. TarWriter fills its entries in parallel with positional writes, but sha256 takes bytes in file order: this
// class only keeps the order. Each range written is reported once its write is done; as soon as the bytes from the
// hash's cursor on are all known, they go to the worker (StreamHash), which reads the written ranges back from the
// file (the page cache) and hashes them. So no writer ever waits for the hash, no buffer is held for it, and the main
// thread never hashes a byte. Bytes known when an entry is reserved (its header, its padding, the end marker) are
// given here then, small and copied: an entry's header is written to disk last, after its body was verified, so the
// hash must not wait for it to be on disk.
import {AirlockError} from '../errors.ts'
import type {StreamHash} from './hash-pool.ts'

interface Segment {
  /** Known bytes; undefined: written to the file, read back by the worker. */
  data: Buffer | undefined
  length: number
}

export class OrderedHash {
  private readonly sink: StreamHash
  /** The file the written ranges are read back from. */
  private readonly file: string
  /** Bytes [0, cursor) are sent to the worker. */
  private cursor = 0
  private readonly waiting = new Map<number, Segment>()
  private failure: unknown
  private end: {at: number; resolve: (hex: string) => void; reject: (error: unknown) => void} | undefined
  private result: Promise<string> | undefined

  constructor(sink: StreamHash, file: string) {
    this.sink = sink
    this.file = file
    // The worker may hash bytes from a blob's read back of them when this hash has got there (hash-ranges.ts), and
    // hashes the rest when no blob's hash waits: nothing waits for this one until the volume is finished.
    sink.follow(file, 0, true)
  }

  /** Bytes sent to be hashed so far. */
  get position(): number {
    return this.cursor
  }

  /** Bytes at `position` known now (a header, padding): copied unless they are hashed at once. */
  known(position: number, data: Buffer): void {
    if (data.length === 0) return
    this.place(position, {data: position === this.cursor ? data : Buffer.from(data), length: data.length})
  }

  /** Bytes [position, position + length) are written to the file: hashed (read back) when the cursor gets there. */
  written(position: number, length: number): void {
    if (length > 0) this.place(position, {data: undefined, length})
  }

  /** The digest (hex) once bytes [0, size) are hashed; nothing may follow them. */
  digest(size: number): Promise<string> {
    if (this.failure !== undefined) return Promise.reject(this.failure)
    if (this.result) return this.result
    return new Promise<string>((resolve, reject) => {
      this.end = {at: size, resolve, reject}
      this.pump()
    })
  }

  /** Gives up: the digest rejects with `error`, the worker drops the hash. */
  fail(error: unknown): void {
    if (this.failure !== undefined) return
    this.failure = error
    this.waiting.clear()
    if (!this.result) this.sink.discard()
    this.end?.reject(this.failure)
    this.end = undefined
  }

  private place(position: number, segment: Segment): void {
    if (this.failure !== undefined) return
    if (position < this.cursor || this.waiting.has(position)) {
      this.fail(new AirlockError('INTERNAL', `volume hash: bytes at ${position} given twice`))
      return
    }
    this.waiting.set(position, segment)
    this.pump()
  }

  /** Sends every segment now contiguous with the cursor; adjacent written ranges go as one read-back. */
  private pump(): void {
    let from = this.cursor
    let run = 0
    for (let next = this.waiting.get(this.cursor); next; next = this.waiting.get(this.cursor)) {
      this.waiting.delete(this.cursor)
      if (next.data) {
        this.sink.range(this.file, from, run)
        run = 0
        this.sink.bytes(next.data)
      } else {
        if (run === 0) from = this.cursor
        run += next.length
      }
      this.cursor += next.length
    }
    this.sink.range(this.file, from, run)
    if (this.end && this.cursor >= this.end.at) {
      const {at, resolve, reject} = this.end
      this.end = undefined
      if (this.cursor !== at || this.waiting.size > 0) {
        this.fail(new AirlockError('INTERNAL', `volume hash: ${this.cursor} bytes hashed, expected ${at}`))
        reject(this.failure)
        return
      }
      this.result = this.sink.digest().then(d => d.slice('sha256:'.length))
      this.result.then(resolve, reject)
    }
  }
}
