// ArchiveWriter: the write side of the archive (GUIDE section 3). It is a Storage (exists + push) so the one graph
// copy can target it like any store, plus addFile/setSection for the modules that carry signatures and trust data.
//
// Blobs are written in parallel: push() reserves the blob's whole tar entry at once (its size is in the
// descriptor) and the download streams straight into that region with positional writes, so there is no staging
// copy and no serialization of downloads behind one tar stream (see TarWriter in tar.ts).
//
// Safety properties:
// - bytes go to `.<out>.partial-<random>` in the output directory, and are renamed to `out` only by commit(),
//   after the end marker and an fsync; abort(), an error or SIGINT/SIGTERM remove the partial file;
// - an existing file at `out` is never replaced unless `force` (checked before any work and again at rename);
// - every blob is verified against its descriptor while it streams in, and its tar header is written only after
//   that; a blob that fails leaves a hole in the tar, so the writer refuses all further work (commit included)
//   and the export must abort;
// - large blobs are hashed off the main thread: a hash worker reads each range back as soon as it is written and
//   the blob's header waits for that digest (docs/DECISIONS.md); a dead worker fails the blob, so the same rule holds;
// - commit() waits for every reserved region, so a committed archive has no hole.
import {Readable} from 'node:stream'
import {AirlockError, toAirlockError} from '../errors.ts'
import type {Descriptor} from '../oci/descriptor.ts'
import {isVerifying, sha256, VerifyingStream} from '../oci/digest.ts'
import {MediaType} from '../oci/media-types.ts'
import type {ExistenceChecker, Pusher} from '../content/types.ts'
import {exists} from '../util/files.ts'
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
import {HashPool, type StreamHash} from './hash-pool.ts'
import {type ArchiveOutput, FileOutput, type WrittenRange} from './output.ts'
import {VolumeOutput, type VolumeSetSummary} from './volume-output.ts'

export interface ArchiveWriterOptions {
  /** Replace an existing file at the output path (only once the new archive is complete). */
  force?: boolean
  /** Called with the byte count of every chunk written (progress). */
  onBytes?: (n: number) => void
  /** Write a volume set (NAME.volNNN.tar + NAME.volumes.json, NAME = path without .tar) of volumes this large. */
  volumeSize?: number
  /** Blobs at least this large are hashed on a worker thread (default OFFLOAD_HASH_BYTES; tests lower it). */
  offloadHashBytes?: number
  /** The hash workers to use (tests); by default the writer starts its own when it first needs them. */
  hashPool?: HashPool
}

/** Below this, a blob is hashed in this thread as it streams: a worker's messages would cost more than they save. */
export const OFFLOAD_HASH_BYTES = 1024 * 1024

export interface ArchiveSummary {
  path: string
  bytes: number
  blobs: number
  images: number
  /** Present when the archive was written as a volume set. */
  volumes?: VolumeSetSummary
}

export class ArchiveWriter implements ExistenceChecker, Pusher {
  readonly path: string
  private readonly tar: ArchiveOutput
  /** Blobs complete and verified in the archive. */
  private readonly blobs = new Set<string>()
  /** Blobs being written (region reserved, body streaming), by digest. */
  private readonly writing = new Map<string, Promise<void>>()
  private readonly images: ArchiveImage[] = []
  private readonly files: Record<string, FileRecord> = {}
  private readonly sections: Record<string, unknown> = {}
  private readonly options: ArchiveWriterOptions
  private broken: AirlockError | undefined
  private closed = false
  private pool: HashPool | undefined

  private constructor(path: string, output: ArchiveOutput, options: ArchiveWriterOptions, pool?: HashPool) {
    this.path = path
    this.tar = output
    this.options = options
    this.pool = pool
  }

  /** The hash workers, started on first use (an export of small blobs never starts them). */
  private hashPool(): HashPool {
    this.pool ??= HashPool.startStreaming()
    return this.pool
  }

  /** Opens a new archive for `path`. Fails at once if `path` exists and `force` is not set. */
  static async create(path: string, options: ArchiveWriterOptions = {}): Promise<ArchiveWriter> {
    if (options.volumeSize === undefined && !options.force && (await exists(path)))
      throw new AirlockError('IO_ERROR', `${path} already exists`, {
        hint: 'choose another output path or pass --force to overwrite it',
      })
    // A volume set hashes every volume on the workers: they start now.
    const pool = options.hashPool ?? (options.volumeSize !== undefined ? HashPool.startStreaming() : undefined)
    let output: ArchiveOutput
    try {
      output =
        options.volumeSize !== undefined
          ? await VolumeOutput.create(path, options.volumeSize, {force: options.force ?? false, hashes: pool!})
          : await FileOutput.create(path)
    } catch (error) {
      await pool?.close()
      throw error
    }
    const writer = new ArchiveWriter(path, output, options, pool)
    await writer.guarded(async () => {
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
   * Adds a blob, verifying digest and size while it streams. Concurrent calls write concurrently, each into its
   * own reserved region; a push of a digest already written (or being written) is a no-op once that one is done
   * (the stream is discarded).
   */
  async push(descriptor: Descriptor, content: Readable): Promise<void> {
    const digest = descriptor.digest
    const running = this.writing.get(digest)
    if (this.blobs.has(digest) || running) {
      content.destroy()
      return running
    }
    const work = this.guarded(async () => {
      let body: VerifyingStream
      if (isVerifying(content, descriptor)) body = content
      else {
        body = content.pipe(new VerifyingStream(descriptor, `blob ${digest}`))
        content.once('error', error => body.destroy(error))
      }
      // A large blob: the stream only counts, a worker hashes the bytes as written (read back from the file).
      const hash =
        descriptor.size >= (this.options.offloadHashBytes ?? OFFLOAD_HASH_BYTES) ? this.blobHash() : undefined
      if (hash) body.hashElsewhere()
      const region = await this.tar.reserve(blobPath(digest), descriptor.size)
      try {
        await this.tar.fill(region, body as AsyncIterable<Buffer>, this.options.onBytes, hash?.written, hash?.stream)
      } catch (error) {
        hash?.stream.discard()
        content.destroy()
        throw error
      }
      if (hash) {
        const actual = await hash.stream.digest()
        if (actual !== digest) throw body.mismatch(actual)
      }
      // The body ended without error and its digest matched (the VerifyingStream's, or the worker's of the bytes
      // written): only now the entry exists.
      await this.tar.writeHeader(region)
      this.blobs.add(digest)
    })
    this.writing.set(digest, work)
    try {
      await work
    } finally {
      this.writing.delete(digest)
    }
  }

  /** A running hash on a worker, and the `written` hook that feeds it (and holds writes when it falls behind). */
  private blobHash(): {stream: StreamHash; written: WrittenRange} {
    const pool = this.hashPool()
    const stream = pool.stream()
    return {
      stream,
      written: (file, position, length) => {
        stream.range(file, position, length)
        return pool.room()
      },
    }
  }

  /** Adds a non-blob file (e.g. `sigstore/tuf/...`), recorded with its sha256 and size in airlock.json. */
  async addFile(path: string, bytes: Buffer): Promise<void> {
    const problem = extraFilePathProblem(path)
    if (problem) throw new AirlockError('USAGE', `cannot add ${JSON.stringify(path)} to the archive: ${problem}`)
    if (this.files[path]) throw new AirlockError('USAGE', `cannot add ${JSON.stringify(path)} to the archive twice`)
    await this.guarded(async () => {
      this.files[path] = {digest: sha256(bytes), size: bytes.length}
      await this.tar.addBuffer(path, bytes)
    })
  }

  /**
   * Adds a non-blob file streamed from `content` (an airlock executable: too big to hold in memory), recorded in
   * airlock.json like addFile. The entry is written only if the stream is exactly `expected` (sha256 and size).
   */
  async addFileStream(path: string, expected: FileRecord, content: Readable): Promise<void> {
    const problem = extraFilePathProblem(path)
    if (problem) throw new AirlockError('USAGE', `cannot add ${JSON.stringify(path)} to the archive: ${problem}`)
    if (this.files[path]) throw new AirlockError('USAGE', `cannot add ${JSON.stringify(path)} to the archive twice`)
    await this.guarded(async () => {
      const body = content.pipe(new VerifyingStream(expected, path))
      content.once('error', error => body.destroy(error))
      const region = await this.tar.reserve(path, expected.size)
      await this.tar.fill(region, body as AsyncIterable<Buffer>, this.options.onBytes)
      await this.tar.writeHeader(region)
      this.files[path] = {digest: expected.digest, size: expected.size}
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
    const manifests = this.images.map(image => ({
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
    // Every reserved region must be complete before the end marker: wait for writes still running (a failed one
    // breaks the writer, and guarded() below then refuses to commit).
    while (this.writing.size) await Promise.allSettled([...this.writing.values()])
    for (const image of this.images)
      if (!this.blobs.has(image.digest))
        throw new AirlockError('INTERNAL', `image ${image.reference} was recorded but its manifest was not written`)
    await this.guarded(async () => {
      await this.tar.addBuffer(INDEX_JSON, this.indexJson())
      await this.tar.addBuffer(AIRLOCK_JSON, Buffer.from(JSON.stringify(this.airlockJson(), null, 2) + '\n'))
    })
    this.closed = true
    let written: {bytes: number}
    try {
      written = await this.tar.commit(this.options.force ?? false)
    } finally {
      await this.pool?.close()
    }
    return {
      path: this.path,
      bytes: written.bytes,
      blobs: this.blobs.size,
      images: this.images.length,
      ...(this.tar instanceof VolumeOutput ? {volumes: this.tar.summary()} : {}),
    }
  }

  /** Discards the partial archive. Safe to call more than once and after a failure. */
  async abort(): Promise<void> {
    this.closed = true
    await this.tar.abort()
    await this.pool?.close()
  }

  /** Runs one piece of writing work (several may run at once); the first failure breaks the writer for good. */
  private async guarded<T>(task: () => Promise<T>): Promise<T> {
    if (this.broken) throw this.broken
    if (this.closed) throw new AirlockError('INTERNAL', 'archive writer is closed')
    try {
      return await task()
    } catch (error) {
      // Whatever failed mid-entry left a hole (a reserved region never completed): nothing may be committed.
      const failure = toAirlockError(error, 'IO_ERROR')
      this.broken ??= failure
      throw failure
    }
  }
}

/** Convenience for pushing in-memory content (manifests) through the same verified path. */
export function bufferStream(bytes: Buffer): Readable {
  return Readable.from([bytes], {objectMode: false})
}
