// Where each entry's bytes are (one segment of one file, or a split entry's parts across volumes) and how they are
// read back: positional reads through the handles opened once, so concurrent streams do not interfere.
import {Readable} from 'node:stream'
import {AirlockError} from '../errors.ts'
import type {Digest} from '../oci/digest.ts'
import type {OpenFile} from './file-identity.ts'

export interface EntryRecord {
  name: string
  size: number
  dataOffset: number
  /** sha256 of the content, when the pass hashed it. */
  digest?: Digest
  /** A blob whose hashing the caller waived (`ScanOptions.skipHash`): `digest` stays unset. */
  hashSkipped?: boolean
  /** Volume sets: which volume (index into the set, 0-based) holds the entry; absent for a plain archive. */
  volume?: number
  /** Volume sets: an entry split across volumes, as its parts in order (dataOffset/volume are the first part's). */
  parts?: Segment[]
}

/** `size` bytes at `offset` of the set's file number `file`. */
export interface Segment {
  file: number
  offset: number
  size: number
}

const READ_CHUNK = 1024 * 1024

export function segmentsOf(record: EntryRecord): Segment[] {
  return record.parts ?? [{file: record.volume ?? 0, offset: record.dataOffset, size: record.size}]
}

/** An entry's bytes (small: layout files, manifests), read across its segments. Throws on a short read. */
export async function readSegments(
  files: readonly OpenFile[],
  segments: readonly Segment[],
  size: number,
): Promise<Buffer> {
  const buf = Buffer.alloc(size)
  let at = 0
  for (const segment of segments) {
    const {bytesRead} = await files[segment.file]!.fh.read(buf, at, segment.size, segment.offset)
    if (bytesRead !== segment.size)
      throw new AirlockError('ARCHIVE_INVALID', `${files[segment.file]!.path}: truncated at offset ${segment.offset}`)
    at += segment.size
  }
  return buf
}

/**
 * `length` bytes at `start` of an entry laid out as `segments` (one for a whole entry, one per part for a split
 * one), through the open handles: positional reads, so concurrent streams do not interfere.
 */
export function segmentStream(
  files: readonly OpenFile[],
  segments: readonly Segment[],
  start: number,
  length: number,
): Readable {
  return Readable.from(
    (async function* () {
      let skip = start
      let left = length
      for (const segment of segments) {
        if (left === 0) break
        if (skip >= segment.size) {
          skip -= segment.size
          continue
        }
        const file = files[segment.file]!
        let pos = segment.offset + skip
        const end = pos + Math.min(segment.size - skip, left)
        skip = 0
        while (pos < end) {
          const buf = Buffer.allocUnsafe(Math.min(READ_CHUNK, end - pos))
          const {bytesRead} = await file.fh.read(buf, 0, buf.length, pos)
          if (bytesRead === 0)
            throw new AirlockError(
              'ARCHIVE_INVALID',
              `${file.path}: truncated at offset ${pos} (the file changed since it was opened)`,
            )
          pos += bytesRead
          left -= bytesRead
          yield bytesRead === buf.length ? buf : buf.subarray(0, bytesRead)
        }
      }
    })(),
    {objectMode: false},
  )
}

/**
 * Reads from `start` of an entry laid out as `segments` into `target`: one positional read, within one segment (so
 * possibly fewer bytes than `target` holds), resolving to the bytes read; 0 at or past the entry's end.
 */
export async function readSegmentsAt(
  files: readonly OpenFile[],
  segments: readonly Segment[],
  start: number,
  target: Buffer,
): Promise<number> {
  let skip = start
  for (const segment of segments) {
    if (skip >= segment.size) {
      skip -= segment.size
      continue
    }
    const file = files[segment.file]!
    const length = Math.min(target.length, segment.size - skip)
    const {bytesRead} = await file.fh.read(target, 0, length, segment.offset + skip)
    if (bytesRead === 0)
      throw new AirlockError(
        'ARCHIVE_INVALID',
        `${file.path}: truncated at offset ${segment.offset + skip} (the file changed since it was opened)`,
      )
    return bytesRead
  }
  return 0
}
