// Content stores behind small role interfaces, after oras-go: each capability is one method, and callers ask for
// the narrowest combination they need (verify gets a ReadOnlyTarget, so it cannot write).
//
// Contract shared by every implementation:
// - fetch() returns a stream of exactly the bytes named by the descriptor, and the stream errors (DIGEST_MISMATCH /
//   SIZE_MISMATCH) at its end if they are not; consumers treat the data as provisional until the stream ends.
// - push() consumes the stream and stores it only if it verifies against the descriptor; a failed push leaves
//   nothing visible under that digest.
// - manifests are stored and served byte for byte; nothing is re-serialized.
import type {Readable} from 'node:stream'
import type {Descriptor} from '../oci/descriptor.ts'

export interface Fetcher {
  fetch(descriptor: Descriptor): Promise<Readable>
}

/**
 * A blob's bytes that can be read again from any offset (a file region): an upload can send it as one streamed
 * request and, after a failure, retry by re-reading instead of holding the bytes in memory. The streams carry raw
 * bytes, not verified ones: the reader of them hashes what it sends.
 */
export interface RereadableBlob {
  size: number
  open(offset: number, length: number): Readable
  /**
   * Reads from `offset` of the blob into `target` (at most its length; fewer at a segment's end), resolving to the
   * bytes read (0 past the end). Optional: a source that has it lets an upload reuse its read buffers.
   */
  read?(target: Buffer, offset: number): Promise<number>
}

/** A Fetcher that can also hand out a blob as a re-readable region (undefined when it cannot). */
export interface RangeFetcher extends Fetcher {
  rereadable(descriptor: Descriptor): Promise<RereadableBlob | undefined>
}

export interface ExistenceChecker {
  exists(descriptor: Descriptor): Promise<boolean>
}

export interface Pusher {
  push(descriptor: Descriptor, content: Readable): Promise<void>
}

export interface ResolveOptions {
  /**
   * The caller reads the manifest next: a store that pays a round trip per question (a registry) fetches it now and
   * keeps its bytes, one GET instead of a HEAD and then a GET.
   */
  read?: boolean
}

/** Turns a tag or digest reference (in the store's own terms) into the descriptor of its root manifest. */
export interface Resolver {
  resolve(reference: string, options?: ResolveOptions): Promise<Descriptor>
}

export interface Tagger {
  tag(descriptor: Descriptor, reference: string): Promise<void>
}

/** OCI 1.1 referrers of a subject (the registry API, its fallback tag, or a local index). */
export interface ReferrerLister {
  referrers(subject: Descriptor): Promise<Descriptor[]>
}

export interface TagLister {
  tags(): Promise<string[]>
}

export interface ReadOnlyStorage extends Fetcher, ExistenceChecker {}
export interface Storage extends ReadOnlyStorage, Pusher {}
export interface ReadOnlyTarget extends ReadOnlyStorage, Resolver {}
export interface Target extends Storage, Resolver, Tagger {}
