// ArchiveWriter: the write side of the archive (GUIDE section 3). It is a Storage (exists + push) so the one graph
// copy can target it like any store, plus addFile/setSection for the modules that carry signatures and trust data.
//
// Safety properties:
// - bytes go to `.<out>.partial-<random>` in the output directory, and are renamed to `out` only by commit(),
//   after the end marker and an fsync; abort(), an error or SIGINT/SIGTERM remove the partial file;
// - an existing file at `out` is never replaced unless `force` (checked before any work and again at rename);
// - every blob is verified against its descriptor while it streams in; a blob that fails verification leaves the
//   tar unusable, so the writer refuses all further work and the export must abort.
import type {FileHandle} from 'node:fs/promises'
import {open} from 'node:fs/promises'
import {Readable} from 'node:stream'
import {AirlockError, toAirlockError} from '../errors.ts'
import type {Descriptor} from '../oci/descriptor.ts'
import {sha256, VerifyingStream} from '../oci/digest.ts'
import {MediaType} from '../oci/media-types.ts'
import type {ExistenceChecker, Pusher} from '../store/types.ts'
import {Mutex} from '../util/concurrency.ts'
import {commitFile, exists, partialName, removeOnSignal, removeQuiet} from '../util/files.ts'
import {TOOL_VERSION} from '../version.ts'
import {
  AIRLOCK_JSON,
  type AirlockJson,
  type ArchiveImage,
  blobPath,
  extraFilePathProblem,
  FORMAT_VERSION,
  type FileRecord,
  INDEX_JSON,
  OCI_LAYOUT,
  OCI_LAYOUT_BYTES,
  REF_NAME_ANNOTATION,
  RESERVED_SECTIONS,
  SOURCE_ANNOTATION,
} from './schema.ts'
import {TarWriter} from './tar.ts'

export interface ArchiveWriterOptions {
  /** Replace an existing file at the output path (only once the new archive is complete). */
  force?: boolean
  /** Called with the byte count of every chunk written (progress). */
  onBytes?: (n: number) => void
}

export interface ArchiveSummary {
  path: string
  bytes: number
  blobs: number
  images: number
}

export class ArchiveWriter implements ExistenceChecker, Pusher {
  readonly path: string
  readonly tempPath: string
  private readonly tar: TarWriter
  private readonly fh: FileHandle
  private readonly mutex = new Mutex()
  private readonly blobs = new Set<string>()
  private readonly images: ArchiveImage[] = []
  private readonly files: Record<string, FileRecord> = {}
  private readonly sections: Record<string, unknown> = {}
  private readonly options: ArchiveWriterOptions
  private readonly unregister: () => void
  private broken: AirlockError | undefined
  private closed = false

  private constructor(path: string, tempPath: string, fh: FileHandle, options: ArchiveWriterOptions, unregister: () => void) {
    this.path = path
    this.tempPath = tempPath
    this.fh = fh
    this.tar = new TarWriter(fh)
    this.options = options
    this.unregister = unregister
  }

  /** Opens a new archive for `path`. Fails at once if `path` exists and `force` is not set. */
  static async create(path: string, options: ArchiveWriterOptions = {}): Promise<ArchiveWriter> {
    if (!options.force && (await exists(path)))
      throw new AirlockError('IO_ERROR', `${path} already exists`, {hint: 'choose another output path or pass --force to overwrite it'})
    const temp = partialName(path)
    const unregister = removeOnSignal(temp)
    let fh: FileHandle
    try {
      fh = await open(temp, 'wx', 0o644)
    } catch (error) {
      unregister()
      throw toAirlockError(error, 'IO_ERROR')
    }
    const writer = new ArchiveWriter(path, temp, fh, options, unregister)
    await writer.exclusive(async () => {
      await writer.tar.addBuffer(OCI_LAYOUT, OCI_LAYOUT_BYTES)
      await writer.tar.addDirectory('blobs/')
      await writer.tar.addDirectory('blobs/sha256/')
    })
    return writer
  }

  get bytesWritten(): number {
    return this.tar.bytesWritten
  }

  /** True when the blob is already in the archive (dedup across images). */
  async exists(descriptor: Descriptor): Promise<boolean> {
    return this.blobs.has(descriptor.digest)
  }

  has(digest: string): boolean {
    return this.blobs.has(digest)
  }

  /**
   * Appends a blob, verifying digest and size while it streams. Concurrent calls are serialized in call order;
   * a second push of a digest already written is a no-op (the stream is discarded).
   */
  async push(descriptor: Descriptor, content: Readable): Promise<void> {
    await this.exclusive(async () => {
      if (this.blobs.has(descriptor.digest)) {
        content.destroy()
        return
      }
      const verified = content.pipe(new VerifyingStream(descriptor, `blob ${descriptor.digest}`))
      content.once('error', (error) => verified.destroy(error))
      await this.tar.addStream(blobPath(descriptor.digest), descriptor.size, verified, this.options.onBytes)
      this.blobs.add(descriptor.digest)
    })
  }

  /** Adds a non-blob file (e.g. `sigstore/tuf/...`), recorded with its sha256 and size in airlock.json. */
  async addFile(path: string, bytes: Buffer): Promise<void> {
    const problem = extraFilePathProblem(path)
    if (problem) throw new AirlockError('USAGE', `cannot add ${JSON.stringify(path)} to the archive: ${problem}`)
    if (this.files[path]) throw new AirlockError('USAGE', `cannot add ${JSON.stringify(path)} to the archive twice`)
    await this.exclusive(async () => {
      this.files[path] = {digest: sha256(bytes), size: bytes.length}
      await this.tar.addBuffer(path, bytes)
    })
  }

  /** Records an exported image: an index.json entry plus its airlock.json record. Its blobs must be pushed. */
  addImage(image: ArchiveImage): void {
    this.images.push(image)
  }

  /** Stores an extra top-level section of airlock.json (e.g. `signatures`, `trust`, `policy`). */
  setSection(name: string, value: unknown): void {
    if (RESERVED_SECTIONS.has(name)) throw new AirlockError('INTERNAL', `airlock.json section ${name} is reserved`)
    this.sections[name] = value
  }

  getSection(name: string): unknown {
    return this.sections[name]
  }

  /** The index.json the archive will carry. */
  indexJson(): Buffer {
    const manifests = this.images.map((image) => ({
      mediaType: image.mediaType,
      digest: image.digest,
      size: image.size,
      annotations: {[REF_NAME_ANNOTATION]: image.reference, [SOURCE_ANNOTATION]: image.source},
    }))
    return Buffer.from(JSON.stringify({schemaVersion: 2, mediaType: MediaType.OciIndex, manifests}, null, 2) + '\n')
  }

  airlockJson(): AirlockJson {
    return {
      formatVersion: FORMAT_VERSION,
      tool: {name: 'airlock', version: TOOL_VERSION},
      exportedAt: new Date().toISOString(),
      images: this.images,
      files: this.files,
      ...this.sections,
    }
  }

  /** Writes index.json and airlock.json, the end marker, fsyncs and renames into place. */
  async commit(): Promise<ArchiveSummary> {
    for (const image of this.images)
      if (!this.blobs.has(image.digest)) throw new AirlockError('INTERNAL', `image ${image.reference} was recorded but its manifest was not written`)
    await this.exclusive(async () => {
      await this.tar.addBuffer(INDEX_JSON, this.indexJson())
      await this.tar.addBuffer(AIRLOCK_JSON, Buffer.from(JSON.stringify(this.airlockJson(), null, 2) + '\n'))
      await this.tar.finish()
    })
    this.closed = true
    try {
      await this.fh.close()
      await commitFile(this.tempPath, this.path, this.options.force ?? false)
    } catch (error) {
      await removeQuiet(this.tempPath)
      throw error
    } finally {
      this.unregister()
    }
    return {path: this.path, bytes: this.tar.bytesWritten, blobs: this.blobs.size, images: this.images.length}
  }

  /** Discards the partial archive. Safe to call more than once and after a failure. */
  async abort(): Promise<void> {
    if (!this.closed) {
      this.closed = true
      await this.fh.close().catch(() => undefined)
    }
    await removeQuiet(this.tempPath)
    this.unregister()
  }

  private async exclusive<T>(task: () => Promise<T>): Promise<T> {
    return this.mutex.lock(async () => {
      if (this.broken) throw this.broken
      if (this.closed) throw new AirlockError('INTERNAL', 'archive writer is closed')
      try {
        return await task()
      } catch (error) {
        // Whatever failed mid-entry left a half-written entry: nothing more may be appended.
        this.broken = toAirlockError(error, 'IO_ERROR')
        throw this.broken
      }
    })
  }
}

/** Convenience for pushing in-memory content (manifests) through the same verified path. */
export function bufferStream(bytes: Buffer): Readable {
  return Readable.from([bytes], {objectMode: false})
}
