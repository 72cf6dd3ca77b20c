// An OCI layout inside a tar file (`oci-archive:FILE[:REF]`) as a read-only target, after oras-go's NewFromTar:
// one scan of the headers (bodies are skipped by seeking) builds a map of entry -> byte range, and blobs are then
// served with positional reads, verified as they stream. Nothing is extracted to disk.
import {createReadStream} from 'node:fs'
import {open} from 'node:fs/promises'
import type {Readable} from 'node:stream'
import {AirlockError} from '../errors.ts'
import type {Descriptor} from '../oci/descriptor.ts'
import {VerifyingStream} from '../oci/digest.ts'
import type {ImageIndex} from '../oci/manifest.ts'
import {MAX_MANIFEST_BYTES} from '../oci/media-types.ts'
import {blobPath, INDEX_JSON} from '../archive/schema.ts'
import {scanTar} from '../archive/tar.ts'
import {parseLayoutIndex, resolveInIndex} from '../content/layout-index.ts'
import type {ReadOnlyTarget} from '../content/types.ts'

interface Range {
  offset: number
  size: number
}

export class OciArchiveStore implements ReadOnlyTarget {
  readonly file: string
  readonly isLocal = true
  private readonly entries: Map<string, Range>
  private readonly layoutIndex: ImageIndex

  private constructor(file: string, entries: Map<string, Range>, index: ImageIndex) {
    this.file = file
    this.entries = entries
    this.layoutIndex = index
  }

  static async open(file: string): Promise<OciArchiveStore> {
    const entries = new Map<string, Range>()
    await scanTar(file, entry => {
      if (entry.type !== 'File' && entry.type !== 'OldFile') return undefined
      // Other tools write `./blobs/...`; a duplicate name makes the archive ambiguous, so refuse it.
      const name = entry.name.replace(/^(\.\/)+/, '')
      if (entries.has(name))
        throw new AirlockError('ARCHIVE_INVALID', `${file}: entry ${JSON.stringify(name)} appears twice`)
      entries.set(name, {offset: entry.dataOffset, size: entry.size})
      return undefined
    })
    const indexRange = entries.get(INDEX_JSON)
    if (!indexRange) throw new AirlockError('ARCHIVE_INVALID', `${file} is not an OCI archive (no index.json)`)
    if (indexRange.size > MAX_MANIFEST_BYTES)
      throw new AirlockError('TOO_LARGE', `${file}: index.json is over ${MAX_MANIFEST_BYTES} bytes`)
    const bytes = await readRange(file, indexRange)
    return new OciArchiveStore(file, entries, parseLayoutIndex(bytes, file))
  }

  index(): ImageIndex {
    return this.layoutIndex
  }

  async fetch(descriptor: Descriptor): Promise<Readable> {
    const range = this.entries.get(blobPath(descriptor.digest))
    if (!range) throw new AirlockError('NOT_FOUND', `${this.file}: blob ${descriptor.digest} not found`)
    if (range.size !== descriptor.size)
      throw new AirlockError(
        'SIZE_MISMATCH',
        `${this.file}: blob ${descriptor.digest} is ${range.size} bytes, expected ${descriptor.size}`,
      )
    const verified = new VerifyingStream(descriptor, `${this.file}: blob ${descriptor.digest}`)
    if (range.size === 0) {
      verified.end()
      return verified
    }
    const stream = createReadStream(this.file, {
      start: range.offset,
      end: range.offset + range.size - 1,
      highWaterMark: 1024 * 1024,
    })
    stream.once('error', error => verified.destroy(error))
    return stream.pipe(verified)
  }

  async exists(descriptor: Descriptor): Promise<boolean> {
    return this.entries.get(blobPath(descriptor.digest))?.size === descriptor.size
  }

  async resolve(reference: string): Promise<Descriptor> {
    return resolveInIndex(this.layoutIndex, reference || undefined, `oci-archive:${this.file}`)
  }
}

async function readRange(file: string, range: Range): Promise<Buffer> {
  const fh = await open(file, 'r')
  try {
    const buf = Buffer.alloc(range.size)
    const {bytesRead} = await fh.read(buf, 0, range.size, range.offset)
    if (bytesRead !== range.size) throw new AirlockError('ARCHIVE_INVALID', `${file} is truncated`)
    return buf
  } finally {
    await fh.close()
  }
}
