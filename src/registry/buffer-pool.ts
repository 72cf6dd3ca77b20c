// Upload buffers, reused across pieces and blobs: a fresh buffer per read (or per PATCH chunk) made push's CPU and
// memory a function of how far V8's garbage collector lagged behind the uploads (docs/DECISIONS.md). Buffers are
// kept per size (the chunk size of streamed uploads, the read size of re-readable ones).
const spare = new Map<number, Buffer[]>()

export function takeBuffer(size: number): Buffer {
  return spare.get(size)?.pop() ?? Buffer.allocUnsafeSlow(size)
}

/** Back to the pool (only once nothing reads it any more); past `maxSpare` of its size it is left to the GC. */
export function giveBuffer(buf: Buffer, maxSpare = 8): void {
  const list = spare.get(buf.length) ?? []
  if (list.length < maxSpare) list.push(buf)
  spare.set(buf.length, list)
}
