// Where ArchiveWriter's tar entries go: one file (the archive), or a set of volumes (volume-output.ts). Both take
// the same calls in the same order (reserve an entry's place, fill its body, write its header last), so the
// writer's safety rules (a header only after a verified body, nothing visible until commit) hold for both.
import type {FileHandle} from 'node:fs/promises'
import {open} from 'node:fs/promises'
import {toAirlockError} from '../errors.ts'
import {commitFile, partialName, removeOnSignal, removeQuiet} from '../util/files.ts'
import type {StreamHash} from './hash-pool.ts'
import {TarWriter} from './tar.ts'

/** A body range on disk: where it is, so a hash worker can read it back; a returned promise holds the next write. */
export type WrittenRange = (file: string, position: number, length: number) => void | Promise<void>

/** One reserved entry; what it holds is the output's own business. */
export interface OutputRegion {
  readonly name: string
  readonly size: number
}

export interface ArchiveOutput {
  /** Bytes reserved so far (all files). */
  readonly bytesWritten: number
  reserve(name: string, size: number): Promise<OutputRegion>
  /**
   * `written` is told each body range once it is on disk (in order), with the file it is in; `running` is the
   * entry's own hash that `written` feeds, when it has one (a split entry's first part takes its digest from it).
   */
  fill(
    region: OutputRegion,
    body: AsyncIterable<Buffer>,
    onBytes?: (n: number) => void,
    written?: WrittenRange,
    running?: StreamHash,
  ): Promise<void>
  writeHeader(region: OutputRegion): Promise<void>
  addBuffer(name: string, data: Buffer): Promise<void>
  addDirectory(name: string): Promise<void>
  /** End marker(s), fsync, rename into place. Returns the bytes written and, for volumes, the set's summary. */
  commit(force: boolean): Promise<{bytes: number}>
  /** Removes every temporary file; safe to call more than once. */
  abort(): Promise<void>
}

/** The plain archive: one temporary file renamed to `path` at commit. */
export class FileOutput implements ArchiveOutput {
  private readonly path: string
  private readonly temp: string
  private readonly fh: FileHandle
  private readonly tar: TarWriter
  private readonly unregister: () => void
  private closed = false

  private constructor(path: string, temp: string, fh: FileHandle, unregister: () => void) {
    this.path = path
    this.temp = temp
    this.fh = fh
    this.tar = new TarWriter(fh)
    this.unregister = unregister
  }

  static async create(path: string): Promise<FileOutput> {
    const temp = partialName(path)
    const unregister = removeOnSignal(temp)
    try {
      return new FileOutput(path, temp, await open(temp, 'wx', 0o644), unregister)
    } catch (error) {
      unregister()
      throw toAirlockError(error, 'IO_ERROR')
    }
  }

  get bytesWritten(): number {
    return this.tar.bytesWritten
  }

  reserve(name: string, size: number): Promise<OutputRegion> {
    return Promise.resolve(this.tar.reserve(name, size))
  }

  fill(
    region: OutputRegion,
    body: AsyncIterable<Buffer>,
    onBytes?: (n: number) => void,
    written?: WrittenRange,
  ): Promise<void> {
    return this.tar.fill(
      region as ReturnType<TarWriter['reserve']>,
      body,
      onBytes,
      written && ((position, length) => written(this.temp, position, length)),
    )
  }

  writeHeader(region: OutputRegion): Promise<void> {
    return this.tar.writeHeader(region as ReturnType<TarWriter['reserve']>)
  }

  addBuffer(name: string, data: Buffer): Promise<void> {
    return this.tar.addBuffer(name, data)
  }

  addDirectory(name: string): Promise<void> {
    return this.tar.addDirectory(name)
  }

  async commit(force: boolean): Promise<{bytes: number}> {
    await this.tar.finish()
    this.closed = true
    try {
      await this.fh.close()
      await commitFile(this.temp, this.path, force)
    } catch (error) {
      await removeQuiet(this.temp)
      throw error
    } finally {
      this.unregister()
    }
    return {bytes: this.tar.bytesWritten}
  }

  async abort(): Promise<void> {
    if (!this.closed) {
      this.closed = true
      await this.fh.close().catch(() => undefined)
    }
    await removeQuiet(this.temp)
    this.unregister()
  }
}
