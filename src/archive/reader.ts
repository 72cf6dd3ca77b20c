// ArchiveReader: an airlock archive opened once, as one logical archive whether it is one tar file
// (plain-source.ts) or a volume set (volume-set-source.ts): its entry index, its layout files parsed, and reads of
// its content with positional reads, hashed again on every read (the file could change between the pass and the
// read). Hashing every entry (verify) is hashing-pass.ts. Memory holds one record per entry plus the small JSON
// files, never blob bodies.
import {createHash} from 'node:crypto'
import type {Readable} from 'node:stream'
import type {ExistenceChecker, RangeFetcher, RereadableBlob} from '../content/types.ts'
import {parseLayoutIndex} from '../content/layout-index.ts'
import {AirlockError, toAirlockError} from '../errors.ts'
import type {Descriptor} from '../oci/descriptor.ts'
import type {Digest} from '../oci/digest.ts'
import {VerifyingStream} from '../oci/digest.ts'
import {parseManifest, type ImageIndex, type RawManifest} from '../oci/manifest.ts'
import {MAX_MANIFEST_BYTES} from '../oci/media-types.ts'
import {type EntryRecord, readSegments, readSegmentsAt, segmentStream, segmentsOf} from './entries.ts'
import {checkIdentity, type FileIdentity, type OpenFile} from './file-identity.ts'
import {hashPendingEntries, type ScanOptions} from './hashing-pass.ts'
import {scanArchive} from './plain-source.ts'
import {
  AIRLOCK_JSON,
  type AirlockJson,
  blobPath,
  digestFromBlobPath,
  INDEX_JSON,
  OCI_LAYOUT,
  parseAirlockJson,
} from './schema.ts'
import {openVolumeSet, type VolumeSetInfo} from './volume-set-source.ts'
import {isManifestFile, type VolumesJson} from './volumes.ts'

export type {EntryRecord, Segment} from './entries.ts'
export {entryProblem} from './entry-rules.ts'
export type {FileIdentity} from './file-identity.ts'
export type {ScanOptions} from './hashing-pass.ts'
export {KeepSink} from './tar.ts'
export type {VolumeSetInfo} from './volume-set-source.ts'

/**
 * The archive opened once: the file handle taken at open serves the header pass and every later read (manifests,
 * signature blobs, the blobs push uploads), and the file's identity (device, inode, size, mtime) recorded then is
 * checked again after hashing and around push (checkUnchanged), so a file replaced or rewritten between the
 * verification and the push is refused. It implements the store's read interfaces (fetch, rereadable, exists).
 */
export class ArchiveReader implements RangeFetcher, ExistenceChecker {
  readonly path: string
  readonly entries = new Map<string, EntryRecord>()
  readonly totalBytes: number
  readonly entryCount: number
  readonly index: ImageIndex
  readonly airlock: AirlockJson
  /** Whether every entry was hashed (then `entries[].digest` is set, except for waived blobs). */
  hashed: boolean
  /** The file as it was when opened (for a volume set: its first volume). */
  readonly identity: FileIdentity
  /** Present when the archive was opened from a volume set. */
  readonly volumeSet: VolumeSetInfo | undefined
  private readonly manifests = new Map<string, RawManifest>()
  private files: OpenFile[] | undefined
  /** Volume sets: volumes.json's record of each volume (its sha256 is checked when the set is hashed). */
  private setVolumes: VolumesJson['volumes'] = []

  private constructor(
    path: string,
    files: OpenFile[],
    init: {
      entries: Map<string, EntryRecord>
      bytes: number
      count: number
      index: ImageIndex
      airlock: AirlockJson
      hashed: boolean
      volumeSet?: VolumeSetInfo
    },
  ) {
    this.path = path
    this.files = files
    this.entries = init.entries
    this.totalBytes = init.bytes
    this.entryCount = init.count
    this.index = init.index
    this.airlock = init.airlock
    this.hashed = init.hashed
    this.identity = files[0]!.identity
    this.volumeSet = init.volumeSet
  }

  /**
   * One pass over the archive. Throws on any structural problem; content problems are left for checks. A path
   * ending in `.volumes.json` opens that volume set (openSet) as the same logical archive.
   */
  static async open(path: string, options: ScanOptions = {}): Promise<ArchiveReader> {
    if (isManifestFile(path)) return ArchiveReader.openSet(path, options)
    const scan = await scanArchive(path, options)
    try {
      return ArchiveReader.fromPass(path, [{path, fh: scan.fh, identity: scan.identity}], scan.entries, scan.small, {
        bytes: scan.bytes,
        count: scan.count,
        hashed: options.hash ?? false,
      })
    } catch (error) {
      await scan.fh.close()
      throw error
    }
  }

  /** A volume set, through its NAME.volumes.json (volume-set-source.ts), hashed afterwards when asked. */
  private static async openSet(manifest: string, options: ScanOptions): Promise<ArchiveReader> {
    const set = await openVolumeSet(manifest)
    try {
      const reader = ArchiveReader.fromPass(manifest, set.files, set.entries, set.small, {
        bytes: set.totalBytes,
        count: set.count,
        hashed: false,
        volumeSet: set.info,
      })
      reader.setVolumes = set.volumes
      if (options.hash) {
        const {hash: _, ...rest} = options
        await reader.hashPending(rest)
      }
      return reader
    } catch (error) {
      await Promise.all(set.files.map(f => f.fh.close().catch(() => undefined)))
      throw error
    }
  }

  /**
   * Hashes every entry the pass did not (an archive opened with `hash: false`), leaving out `skip` (see
   * ScanOptions.skipHash). Push opens without hashing, asks the mirror what it holds, then hashes the rest here.
   * A volume set is also hashed volume by volume against volumes.json (a corrupt, swapped or foreign volume is
   * named as such), in the same read as its entries.
   */
  async hashPending(options: Omit<ScanOptions, 'hash'> = {}): Promise<void> {
    const setVolumes = this.volumeSet ? this.setVolumes : undefined
    await hashPendingEntries(this.openFiles(), this.entries, setVolumes, this.layoutBytes, options)
    this.hashed = true
    await this.checkUnchanged()
  }

  /** Throws when a file at its path or behind its handle is no longer the file opened (replaced, grown, rewritten). */
  async checkUnchanged(): Promise<void> {
    for (const file of this.openFiles()) await checkIdentity(file.path, file.fh, file.identity)
  }

  /**
   * Every file read (the archive, or each volume in order) as it is now, ctime included (a user cannot set it back):
   * for keys that must change whenever a file is rewritten (src/verify/verdict-cache.ts).
   */
  async fileStats(): Promise<
    Array<{path: string; dev: string; ino: string; size: string; mtimeNs: string; ctimeNs: string}>
  > {
    const out = []
    for (const file of this.openFiles()) {
      const st = await file.fh.stat({bigint: true})
      out.push({
        path: file.path,
        dev: String(st.dev),
        ino: String(st.ino),
        size: String(st.size),
        mtimeNs: String(st.mtimeNs),
        ctimeNs: String(st.ctimeNs),
      })
    }
    return out
  }

  private static fromPass(
    path: string,
    files: OpenFile[],
    entries: Map<string, EntryRecord>,
    small: Map<string, Buffer>,
    scan: {bytes: number; count: number; hashed: boolean; volumeSet?: VolumeSetInfo},
  ): ArchiveReader {
    const need = (name: string): Buffer => {
      const bytes = small.get(name)
      if (!bytes)
        throw new AirlockError('ARCHIVE_INVALID', `${path}: ${name} is missing`, {
          hint:
            name === AIRLOCK_JSON ? 'this is not an archive written by airlock export' : 'this is not an OCI archive',
        })
      return bytes
    }
    const layout = need(OCI_LAYOUT).toString('utf8')
    let layoutVersion: unknown
    try {
      layoutVersion = (JSON.parse(layout) as {imageLayoutVersion?: unknown}).imageLayoutVersion
    } catch {
      throw new AirlockError('ARCHIVE_INVALID', `${path}: oci-layout is not valid JSON`)
    }
    if (layoutVersion !== '1.0.0')
      throw new AirlockError('UNSUPPORTED', `${path}: unsupported OCI layout version ${JSON.stringify(layoutVersion)}`)
    const wrap = <T>(f: () => T): T => {
      try {
        return f()
      } catch (error) {
        const e = toAirlockError(error, 'ARCHIVE_INVALID')
        throw new AirlockError(e.code, `${path}: ${e.message}`, {cause: error})
      }
    }
    // need() outside wrap(): its refusal already names the archive and carries the hint that wrap would drop
    const indexBytes = need(INDEX_JSON)
    const index = wrap(() => parseLayoutIndex(indexBytes, ''))
    const airlockBytes = need(AIRLOCK_JSON)
    const airlock = wrap(() => parseAirlockJson(airlockBytes))
    const reader = new ArchiveReader(path, files, {
      entries,
      bytes: scan.bytes,
      count: scan.count,
      index,
      airlock,
      hashed: scan.hashed,
      ...(scan.volumeSet ? {volumeSet: scan.volumeSet} : {}),
    })
    reader.layoutBytes = small
    return reader
  }

  /** The layout files' bytes as the pass read them. */
  private layoutBytes = new Map<string, Buffer>()

  blob(digest: Digest): EntryRecord | undefined {
    return this.entries.get(blobPath(digest))
  }

  /** Which file holds an entry (the volume, for a set; the first part's, for a split entry). */
  fileOf(record: EntryRecord): string {
    return this.openFiles()[record.volume ?? 0]!.path
  }

  /** Reads a whole entry (bounded by `limit`), checking that it still hashes to what the pass saw or `expected`. */
  async readEntry(name: string, limit: number, expected?: Digest): Promise<Buffer> {
    const record = this.entries.get(name)
    if (!record) throw new AirlockError('ARCHIVE_INCOMPLETE', `${name} is not in the archive`)
    if (record.size > limit)
      throw new AirlockError('TOO_LARGE', `${name} is ${record.size} bytes, over the ${limit} byte limit`)
    const buf = await readSegments(this.openFiles(), segmentsOf(record), record.size).catch(() => {
      throw new AirlockError('ARCHIVE_INVALID', `${name} is truncated`)
    })
    // A blob the pass did not hash (skipHash) is still checked against its name when read.
    const want = expected ?? record.digest ?? digestFromBlobPath(name)
    if (want) {
      const got = `sha256:${createHash('sha256').update(buf).digest('hex')}`
      if (got !== want) throw new AirlockError('DIGEST_MISMATCH', `${name}: content hashes to ${got}, expected ${want}`)
    }
    return buf
  }

  /** A manifest blob, read, verified against its name and parsed (cached: manifests are small and few). */
  async manifest(descriptor: Descriptor): Promise<RawManifest> {
    const cached = this.manifests.get(descriptor.digest)
    if (cached) return cached
    const name = blobPath(descriptor.digest)
    const bytes = await this.readEntry(name, MAX_MANIFEST_BYTES, descriptor.digest)
    const raw = parseManifest(bytes, descriptor.mediaType, name)
    this.manifests.set(descriptor.digest, raw)
    return raw
  }

  private openFiles(): OpenFile[] {
    if (!this.files) throw new AirlockError('INTERNAL', `${this.path}: the archive is closed`)
    return this.files
  }

  exists(descriptor: Descriptor): Promise<boolean> {
    return Promise.resolve(this.blob(descriptor.digest)?.size === descriptor.size)
  }

  private blobRecord(descriptor: Descriptor): EntryRecord {
    const record = this.blob(descriptor.digest)
    if (!record) throw new AirlockError('NOT_FOUND', `${this.path}: blob ${descriptor.digest} not found`)
    if (record.size !== descriptor.size)
      throw new AirlockError(
        'SIZE_MISMATCH',
        `${this.path}: blob ${descriptor.digest} is ${record.size} bytes, expected ${descriptor.size}`,
      )
    return record
  }

  /** A blob's bytes from the open handle(s), verified against the descriptor as they stream (errors at the end). */
  async fetch(descriptor: Descriptor): Promise<Readable> {
    const record = this.blobRecord(descriptor)
    const verified = new VerifyingStream(descriptor, `${this.path}: blob ${descriptor.digest}`)
    const raw = segmentStream(this.openFiles(), segmentsOf(record), 0, record.size)
    raw.once('error', error => verified.destroy(error))
    return raw.pipe(verified)
  }

  /** The blob's region of the archive, raw, re-readable from any offset: the uploader hashes the bytes it sends. */
  async rereadable(descriptor: Descriptor): Promise<RereadableBlob> {
    const record = this.blobRecord(descriptor)
    const segments = segmentsOf(record)
    return {
      size: record.size,
      open: (offset: number, length: number): Readable => {
        if (offset < 0 || length <= 0 || offset + length > record.size)
          throw new AirlockError('INTERNAL', `range ${offset}+${length} outside blob ${descriptor.digest}`)
        return segmentStream(this.openFiles(), segments, offset, length)
      },
      read: (target: Buffer, offset: number): Promise<number> =>
        readSegmentsAt(this.openFiles(), segments, offset, target),
    }
  }

  async close(): Promise<void> {
    const files = this.files ?? []
    this.files = undefined
    for (const file of files) await file.fh.close()
  }
}
