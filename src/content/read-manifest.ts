// Reading a manifest whole, the one place where content is buffered: only under the manifest size limit, never
// more bytes than the descriptor says, and checked against the descriptor's digest before anyone parses it.
import type {Readable} from 'node:stream'
import {AirlockError} from '../errors.ts'
import type {Descriptor} from '../oci/descriptor.ts'
import {isDigest, sha256} from '../oci/digest.ts'
import {parseManifest, type RawManifest} from '../oci/manifest.ts'
import {MAX_MANIFEST_BYTES} from '../oci/media-types.ts'
import type {Fetcher} from './types.ts'

/**
 * Buffers a small stream, refusing it as soon as it is over `descriptor.size` (SIZE_MISMATCH, `what` names it); the
 * caller checks what it got (size, digest) the way its errors read.
 */
export async function readUpTo(content: Readable, descriptor: Descriptor, what: string): Promise<Buffer> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of content as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > descriptor.size) {
      content.destroy()
      throw new AirlockError('SIZE_MISMATCH', `${what}: more than the expected ${descriptor.size} bytes`)
    }
    chunks.push(chunk)
  }
  return Buffer.concat(chunks, size)
}

/** Buffers a manifest stream, refusing it as soon as it is over its descriptor's size or the manifest limit. */
export async function readManifestBytes(content: Readable, descriptor: Descriptor): Promise<Buffer> {
  if (!isDigest(descriptor.digest)) throw new AirlockError('MANIFEST_INVALID', `invalid digest ${descriptor.digest}`)
  if (descriptor.size > MAX_MANIFEST_BYTES)
    throw new AirlockError(
      'TOO_LARGE',
      `manifest ${descriptor.digest} is ${descriptor.size} bytes, over the ${MAX_MANIFEST_BYTES} byte limit`,
    )
  const bytes = await readUpTo(content, descriptor, `manifest ${descriptor.digest}`)
  const size = bytes.length
  if (size !== descriptor.size)
    throw new AirlockError(
      'SIZE_MISMATCH',
      `manifest ${descriptor.digest}: got ${size} bytes, expected ${descriptor.size}`,
    )
  const actual = sha256(bytes)
  if (actual !== descriptor.digest)
    throw new AirlockError('DIGEST_MISMATCH', `manifest ${descriptor.digest} hashes to ${actual}`)
  return bytes
}

/** Fetches, checks and strictly parses the manifest or index a descriptor names. */
export async function fetchManifest(source: Fetcher, descriptor: Descriptor): Promise<RawManifest> {
  if (descriptor.size > MAX_MANIFEST_BYTES)
    throw new AirlockError(
      'TOO_LARGE',
      `manifest ${descriptor.digest} is ${descriptor.size} bytes, over the ${MAX_MANIFEST_BYTES} byte limit`,
    )
  const bytes = await readManifestBytes(await source.fetch(descriptor), descriptor)
  return parseManifest(bytes, descriptor.mediaType, `manifest ${descriptor.digest}`)
}
