// The writes of push that are not graph copies: a tag pointing at copied content, and the referrers fallback tag
// (an index airlock composes, merged with what other tools listed there). Both come after the content they name.
import type {Readable} from 'node:stream'
import {Readable as ReadableStream} from 'node:stream'
import {AirlockError} from '../errors.ts'
import type {Descriptor} from '../oci/descriptor.ts'
import type {Digest} from '../oci/digest.ts'
import {parseManifest, type RawManifest} from '../oci/manifest.ts'
import type {Target} from '../content/types.ts'
import {fallbackTag, mergeReferrersIndex, referrerDescriptor} from './referrers.ts'

export interface PushCounters {
  blobs: {pushed: number; mounted: number; skipped: number; bytes: number}
  manifests: {pushed: number; skipped: number}
  tags: {written: string[]; unchanged: string[]}
  referrers: {pushed: number; skipped: number}
  fallbackTags: string[]
}

export function emptyCounters(): PushCounters {
  return {
    blobs: {pushed: 0, mounted: 0, skipped: 0, bytes: 0},
    manifests: {pushed: 0, skipped: 0},
    tags: {written: [], unchanged: []},
    referrers: {pushed: 0, skipped: 0},
    fallbackTags: [],
  }
}

export type PushEvent =
  | {type: 'blob'; repository: string; descriptor: Descriptor; action: 'pushed' | 'mounted' | 'skipped'}
  | {type: 'blob-start'; repository: string; descriptor: Descriptor}
  | {type: 'manifest'; repository: string; descriptor: Descriptor; action: 'pushed' | 'skipped'}
  | {type: 'tag'; repository: string; tag: string; action: 'written' | 'unchanged'}

export interface TagWrite {
  dst: Target
  repository: string
  counters: PushCounters
  onEvent: (event: PushEvent) => void
}

/**
 * Points `tag` at `descriptor`. `keep(current)` may say the content already there is to stay (a countersigned
 * `.sig` that extends the archive's); otherwise a tag naming other content moves only with `force`.
 */
export async function writeTag(
  {dst, repository, counters, onEvent}: TagWrite,
  descriptor: Descriptor,
  tag: string,
  force: boolean,
  keep?: (current: Descriptor) => Promise<boolean>,
  /**
   * The tag as asked earlier in this push (only for a root the mirror holds): when it already points at
   * `descriptor` it is unchanged and not asked again; any other answer (or none) is asked again here.
   */
  early?: Promise<Descriptor | undefined>,
): Promise<void> {
  const known = early ? await early.catch(() => undefined) : undefined
  if (known?.digest === descriptor.digest) {
    counters.tags.unchanged.push(tag)
    onEvent({type: 'tag', repository, tag, action: 'unchanged'})
    return
  }
  const current = await resolveOptional(dst, tag)
  if (current?.digest === descriptor.digest || (current && keep && (await keep(current)))) {
    counters.tags.unchanged.push(tag)
    onEvent({type: 'tag', repository, tag, action: 'unchanged'})
    return
  }
  if (current && !force)
    throw new AirlockError(
      'TAG_CONFLICT',
      `${repository}:${tag} already points at ${current.digest}, not at ${descriptor.digest}; refusing to move it`,
      {hint: "pass --force to move the tag (the mirror then serves the archive's content under it)"},
    )
  await dst.tag(descriptor, tag)
  counters.tags.written.push(tag)
  onEvent({type: 'tag', repository, tag, action: 'written'})
}

/**
 * Lists `referrers` of `subject` in its fallback tag (registries without the referrers API): reads the index
 * there, merges, and writes it back only if something is new.
 */
export async function updateFallbackTag(write: TagWrite, subject: Digest, referrers: RawManifest[]): Promise<void> {
  const {dst, repository, counters, onEvent} = write
  const tag = fallbackTag(subject)
  const current = await resolveOptional(dst, tag)
  let existing: RawManifest | undefined
  if (current) {
    existing = parseManifest(
      await readAll(await dst.fetch(current), current.size),
      current.mediaType,
      `fallback tag ${repository}:${tag}`,
    )
    if (existing.parsed.kind !== 'index')
      throw new AirlockError(
        'REGISTRY_ERROR',
        `${repository}:${tag} is not an image index; refusing to overwrite another tool's tag`,
      )
  }
  const merged = mergeReferrersIndex(existing, referrers.map(referrerDescriptor))
  if (!merged.changed) {
    counters.tags.unchanged.push(tag)
    return
  }
  const index = parseManifest(merged.bytes, undefined, `fallback index ${tag}`)
  const descriptor: Descriptor = {mediaType: index.mediaType, digest: index.digest, size: index.bytes.length}
  if (await dst.exists(descriptor)) {
    counters.manifests.skipped++
    onEvent({type: 'manifest', repository, descriptor, action: 'skipped'})
  } else {
    await dst.push(descriptor, ReadableStream.from([index.bytes]))
    counters.manifests.pushed++
    onEvent({type: 'manifest', repository, descriptor, action: 'pushed'})
  }
  await dst.tag(descriptor, tag)
  counters.fallbackTags.push(tag)
  onEvent({type: 'tag', repository, tag, action: 'written'})
}

/** resolve() that answers undefined for a tag that does not exist (and only then). */
export async function resolveOptional(dst: Target, reference: string): Promise<Descriptor | undefined> {
  try {
    return await dst.resolve(reference)
  } catch (error) {
    if (error instanceof AirlockError && error.code === 'NOT_FOUND') return undefined
    throw error
  }
}

async function readAll(stream: Readable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > limit) {
      stream.destroy()
      throw new AirlockError('SIZE_MISMATCH', `content is larger than its declared ${limit} bytes`)
    }
    chunks.push(chunk)
  }
  return Buffer.concat(chunks)
}
