// Content digests. Only sha256 is accepted: it is what every registry and the OCI layout use, and accepting
// algorithms we cannot check would let a hostile archive slip content past verification.
import {createHash, type Hash} from 'node:crypto'
import {Transform, type TransformCallback} from 'node:stream'
import {AirlockError} from '../errors.ts'

export type Digest = `sha256:${string}`

const SHA256 = /^sha256:[a-f0-9]{64}$/

export function isDigest(value: unknown): value is Digest {
  return typeof value === 'string' && SHA256.test(value)
}

export function parseDigest(value: unknown, what = 'digest'): Digest {
  if (isDigest(value)) return value
  const text = typeof value === 'string' ? value.slice(0, 100) : typeof value
  if (
    typeof value === 'string' &&
    /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/.test(value) &&
    !value.startsWith('sha256:')
  )
    throw new AirlockError('UNSUPPORTED', `${what} uses an unsupported algorithm: ${text}`)
  throw new AirlockError('MANIFEST_INVALID', `${what} is not a valid sha256 digest: ${JSON.stringify(text)}`)
}

export function digestHex(digest: Digest): string {
  return digest.slice('sha256:'.length)
}

export function sha256(data: Uint8Array | string): Digest {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`
}

/**
 * A pass-through stream that hashes and counts what flows through it and, at the end, fails the stream if the
 * content is not exactly `expected` (digest and size). Content is never trusted before the final check, so a
 * consumer must treat the data as provisional until the stream ends without error (write to a temp file, rename).
 */
export class VerifyingStream extends Transform {
  readonly expectedDigest: Digest
  readonly expectedSize: number
  private readonly hash: Hash
  private readonly label: string
  private seen = 0
  private hashing = true

  constructor(
    expected: {digest: Digest; size: number},
    label: string = expected.digest,
    alreadyHashed?: {hash: Hash; bytes: number},
  ) {
    super()
    this.label = label
    this.expectedDigest = expected.digest
    this.expectedSize = expected.size
    this.hash = alreadyHashed?.hash ?? createHash('sha256')
    this.seen = alreadyHashed?.bytes ?? 0
  }

  get bytes(): number {
    return this.seen
  }

  /**
   * The consumer takes over the digest check: from now on the stream only counts (a wrong size still fails it) and
   * leaves hashing to the consumer, which must hash every byte of the content itself (the archive writer hashes
   * what it wrote, on a worker thread) and refuse it with mismatch() unless the digest matches, before it trusts it.
   */
  hashElsewhere(): void {
    this.hashing = false
  }

  /** The error for content that hashed to `actual` instead of the expected digest. */
  mismatch(actual: string): AirlockError {
    return new AirlockError(
      'DIGEST_MISMATCH',
      `${this.label}: content hashes to ${actual}, expected ${this.expectedDigest}`,
    )
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.seen += chunk.length
    if (this.seen > this.expectedSize) {
      callback(new AirlockError('SIZE_MISMATCH', `${this.label}: more than the expected ${this.expectedSize} bytes`))
      return
    }
    if (this.hashing) this.hash.update(chunk)
    callback(null, chunk)
  }

  override _flush(callback: TransformCallback): void {
    if (this.seen !== this.expectedSize) {
      callback(
        new AirlockError('SIZE_MISMATCH', `${this.label}: got ${this.seen} bytes, expected ${this.expectedSize}`),
      )
      return
    }
    if (!this.hashing) {
      callback()
      return
    }
    const actual = `sha256:${this.hash.digest('hex')}`
    callback(actual === this.expectedDigest ? null : this.mismatch(actual))
  }
}

/**
 * True when `content` is itself a verification of `expected` in progress: a VerifyingStream for the same digest
 * and size hashes every byte that flows through it and errors at its end unless they match, so a consumer that
 * treats the bytes as provisional until the stream ends (as it must anyway) gains nothing by hashing them again.
 * This is the in-memory "verified" fact travelling with the stream; a store that re-reads from disk hands out a
 * fresh VerifyingStream over what it read, so bytes another process could have changed are still checked.
 */
export function isVerifying(content: unknown, expected: {digest: Digest; size: number}): content is VerifyingStream {
  return (
    content instanceof VerifyingStream &&
    content.expectedDigest === expected.digest &&
    content.expectedSize === expected.size
  )
}
