// The mirror repository as countersigning needs it. src/registry's Repository satisfies it; tests may wrap it.
import type {Readable} from 'node:stream'
import {AirlockError} from '../errors.ts'
import type {Descriptor} from '../oci/descriptor.ts'
import {sha256} from '../oci/digest.ts'
import type {RawManifest} from '../oci/manifest.ts'
import type {ReferrersCapability} from '../registry/index.ts'

export interface CountersignTarget {
  /** `registry/repository`, for messages. */
  readonly name: string
  fetchManifest(reference: string): Promise<RawManifest>
  resolve(reference: string): Promise<Descriptor>
  fetch(descriptor: Descriptor): Promise<Readable>
  push(descriptor: Descriptor, content: Readable): Promise<void>
  exists(descriptor: Descriptor): Promise<boolean>
  pushManifest(bytes: Buffer, mediaType: string, reference?: string): Promise<Descriptor>
  referrers(subject: Descriptor, artifactType?: string): Promise<Descriptor[]>
  referrersCapability(): Promise<ReferrersCapability>
}

/** Signature blobs are small; anything bigger in a signature slot is not ours and is not read. */
export const MAX_SIGNATURE_BLOB = 1024 * 1024

/** Reads a small blob whole, bounded, verified against its digest by the registry layer. */
export async function readSmallBlob(target: CountersignTarget, descriptor: Descriptor): Promise<Buffer | undefined> {
  if (descriptor.size > MAX_SIGNATURE_BLOB) return undefined
  const stream = await target.fetch(descriptor)
  const chunks: Buffer[] = []
  let total = 0
  for await (const chunk of stream) {
    total += (chunk as Buffer).length
    if (total > MAX_SIGNATURE_BLOB) {
      stream.destroy()
      return undefined
    }
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks)
}

/** Pushes a small blob unless the repository already holds it. */
export async function pushSmallBlob(target: CountersignTarget, mediaType: string, bytes: Buffer): Promise<Descriptor> {
  const descriptor: Descriptor = {mediaType, digest: sha256(bytes), size: bytes.length}
  if (!(await target.exists(descriptor))) {
    const {Readable} = await import('node:stream')
    await target.push(descriptor, Readable.from([bytes]))
  }
  return descriptor
}

/** The manifest a tag names, or undefined when the tag does not exist. */
export async function manifestAtTag(target: CountersignTarget, tag: string): Promise<RawManifest | undefined> {
  try {
    return await target.fetchManifest(tag)
  } catch (error) {
    if (error instanceof AirlockError && error.code === 'NOT_FOUND') return undefined
    throw error
  }
}
