// Small contents read once per run: export's signature judgement reads each signature manifest and payload from the
// source registry, then the copy of the same signature graph would ask for them again. A MemoFetcher keeps what it
// read and verified (small items only, within a byte budget) and serves it to the later reader.
import {Readable} from 'node:stream'
import {AirlockError} from '../errors.ts'
import type {Descriptor} from '../oci/descriptor.ts'
import {sha256} from '../oci/digest.ts'
import {readUpTo} from './read-manifest.ts'
import type {Fetcher} from './types.ts'

/** Items up to this size are kept (signature manifests, payloads and bundles are a few KB). */
const MAX_ITEM_BYTES = 256 * 1024
/** What one run keeps at most; past it, reads go to the source again. */
const MAX_TOTAL_BYTES = 32 * 1024 * 1024

export class MemoFetcher implements Fetcher {
  private readonly inner: Fetcher
  private readonly kept = new Map<string, Buffer>()
  private total = 0

  constructor(inner: Fetcher) {
    this.inner = inner
  }

  async fetch(descriptor: Descriptor): Promise<Readable> {
    const known = this.kept.get(descriptor.digest)
    if (known && known.length === descriptor.size) return Readable.from([known])
    const stream = await this.inner.fetch(descriptor)
    if (descriptor.size > MAX_ITEM_BYTES || this.total + descriptor.size > MAX_TOTAL_BYTES) return stream
    // read whole (small), then kept only if it is exactly what the descriptor names
    const bytes = await readUpTo(stream, descriptor, descriptor.digest)
    // The inner stream checked them at its end; checked again here because these bytes are served again later.
    const digest = sha256(bytes)
    if (bytes.length !== descriptor.size || digest !== descriptor.digest)
      throw new AirlockError('DIGEST_MISMATCH', `${descriptor.digest}: content hashes to ${digest}`)
    if (!this.kept.has(descriptor.digest)) {
      this.kept.set(descriptor.digest, bytes)
      this.total += bytes.length
    }
    return Readable.from([bytes])
  }
}
