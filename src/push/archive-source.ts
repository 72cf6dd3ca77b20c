// The archive as a push source. It is opened through the same strict header pass as `verify`
// (src/archive/reader.ts: entry types and names, duplicates, truncation, sizes, end marker), with or without
// --skip-verify, so an archive verify would refuse for its structure is refused by push with verify's message.
// Blobs are then served from their byte ranges: as verified streams (fetch: manifests, small reads) or as
// re-readable file regions (rereadable: uploads, which hash what they send and re-read on a retry), so nothing is
// held in memory and a blob changed on disk since `verify` still fails its digest check.
import {createReadStream} from 'node:fs'
import type {Readable} from 'node:stream'
import {AirlockError} from '../errors.ts'
import type {Descriptor} from '../oci/descriptor.ts'
import {VerifyingStream} from '../oci/digest.ts'
import type {AirlockJson} from '../archive/schema.ts'
import {ArchiveReader, type EntryRecord} from '../archive/reader.ts'
import type {ExistenceChecker, RangeFetcher, RereadableBlob} from '../store/types.ts'

const READ_CHUNK = 1024 * 1024

export class ArchiveSource implements RangeFetcher, ExistenceChecker {
  readonly path: string
  readonly airlock: AirlockJson
  readonly reader: ArchiveReader

  private constructor(path: string, reader: ArchiveReader) {
    this.path = path
    this.reader = reader
    this.airlock = reader.airlock
  }

  /** The strict header pass of verify (no hashing: verify, when it runs, hashes; uploads hash what they send). */
  static async open(path: string): Promise<ArchiveSource> {
    return new ArchiveSource(path, await ArchiveReader.open(path, {hash: false}))
  }

  exists(descriptor: Descriptor): Promise<boolean> {
    return Promise.resolve(this.reader.blob(descriptor.digest)?.size === descriptor.size)
  }

  private record(descriptor: Descriptor): EntryRecord {
    const record = this.reader.blob(descriptor.digest)
    if (!record) throw new AirlockError('NOT_FOUND', `${this.path}: blob ${descriptor.digest} not found`)
    if (record.size !== descriptor.size)
      throw new AirlockError('SIZE_MISMATCH', `${this.path}: blob ${descriptor.digest} is ${record.size} bytes, expected ${descriptor.size}`)
    return record
  }

  async fetch(descriptor: Descriptor): Promise<Readable> {
    const record = this.record(descriptor)
    const verified = new VerifyingStream(descriptor, `${this.path}: blob ${descriptor.digest}`)
    if (record.size === 0) {
      verified.end()
      return verified
    }
    const stream = createReadStream(this.path, {start: record.dataOffset, end: record.dataOffset + record.size - 1, highWaterMark: READ_CHUNK})
    stream.once('error', (error) => verified.destroy(error))
    return stream.pipe(verified)
  }

  /** The blob's region of the archive file, raw: the uploader hashes the bytes it sends. */
  async rereadable(descriptor: Descriptor): Promise<RereadableBlob> {
    const record = this.record(descriptor)
    const path = this.path
    return {
      size: record.size,
      open(offset: number, length: number): Readable {
        if (offset < 0 || length <= 0 || offset + length > record.size) throw new AirlockError('INTERNAL', `range ${offset}+${length} outside blob ${descriptor.digest}`)
        const start = record.dataOffset + offset
        return createReadStream(path, {start, end: start + length - 1, highWaterMark: READ_CHUNK})
      },
    }
  }

  async close(): Promise<void> {
    await this.reader.close()
  }
}
