// Minimal, strict tar I/O for the archive. Header blocks are encoded and decoded by the `tar` package's Header and
// Pax classes (no hand-rolled format); this module only walks the block structure, because it needs things the
// `tar` Parser does not give: the byte offset of each entry's data (so stores can serve blobs with positional
// reads and verify can hand ranges to workers), skipping bodies by seeking instead of reading them, and one clear
// error for every kind of damage (truncation, lying sizes, garbage after the end marker).
import type {FileHandle} from 'node:fs/promises'
import {open} from 'node:fs/promises'
import {Header, Pax} from 'tar'
import {AirlockError, toAirlockError} from '../errors.ts'
import type {OrderedHash} from './ordered-hash.ts'

const BLOCK = 512
const READ_CHUNK = 1024 * 1024
/** pax extended headers carry a path or two; anything bigger is an attack, not metadata. */
const MAX_PAX_BYTES = 64 * 1024
const MAX_ENTRIES = 1_000_000

export type TarEntryType =
  | 'File'
  | 'Directory'
  | 'SymbolicLink'
  | 'Link'
  | 'CharacterDevice'
  | 'BlockDevice'
  | 'FIFO'
  | string

export interface TarEntry {
  /** The entry name exactly as the archive states it (after a pax `path` override). */
  name: string
  type: TarEntryType
  size: number
  linkpath?: string
  /** Offset of the header block (or of its pax header) in the file. */
  headerOffset: number
  /** Offset of the first data byte: with `size`, enough to read the content later with a positional read. */
  dataOffset: number
}

/** Receives an entry's bytes synchronously; chunks are reused after write() returns, so copy what you keep. */
export interface TarBodySink {
  write(chunk: Buffer): void
  end(): void
}

/** Keeps an entry's whole body (small entries only: the layout files, a volume label). */
export class KeepSink implements TarBodySink {
  private readonly parts: Buffer[] = []
  private readonly done: (kept: Buffer) => void
  constructor(done: (kept: Buffer) => void) {
    this.done = done
  }
  write(chunk: Buffer): void {
    this.parts.push(Buffer.from(chunk))
  }
  end(): void {
    this.done(Buffer.concat(this.parts))
  }
}

export interface ScanResult {
  entries: number
  /** Size of the file. */
  bytes: number
}

function invalid(message: string, hint?: string): AirlockError {
  return new AirlockError('ARCHIVE_INVALID', message, hint ? {hint} : {})
}

/** A forward-only window over a file read with large positional reads. */
class BlockReader {
  private buf = Buffer.allocUnsafe(READ_CHUNK)
  private start = 0
  private length = 0

  private readonly fh: FileHandle
  readonly size: number

  constructor(fh: FileHandle, size: number) {
    this.fh = fh
    this.size = size
  }

  /** Returns up to `max` bytes starting at `pos` (at least 1 unless at EOF); valid until the next call. */
  async chunk(pos: number, max: number): Promise<Buffer> {
    if (pos < this.start || pos >= this.start + this.length) {
      const {bytesRead} = await this.fh.read(this.buf, 0, this.buf.length, pos)
      this.start = pos
      this.length = bytesRead
      if (bytesRead === 0) return this.buf.subarray(0, 0)
    }
    const from = pos - this.start
    return this.buf.subarray(from, Math.min(this.length, from + max))
  }

  /** Exactly `n` bytes at `pos`, copied; throws if the file ends first. */
  async exact(pos: number, n: number, what: () => string): Promise<Buffer> {
    const out = Buffer.allocUnsafe(n)
    let got = 0
    while (got < n) {
      const piece = await this.chunk(pos + got, n - got)
      if (piece.length === 0) throw invalid(`archive is truncated: ${what()}`)
      piece.copy(out, got)
      got += piece.length
    }
    return out
  }
}

function isZero(buf: Buffer): boolean {
  for (let i = 0; i < buf.length; i++) if (buf[i] !== 0) return false
  return true
}

export function padded(size: number): number {
  return Math.ceil(size / BLOCK) * BLOCK
}

/**
 * Walks every entry of the tar file at `path` in one forward pass. `onEntry` returns a sink to receive the body, or
 * undefined to skip it without reading (a seek). Throws ARCHIVE_INVALID on any structural damage, naming the entry.
 */
export async function scanTar(
  file: string | FileHandle,
  onEntry: (entry: TarEntry) => TarBodySink | undefined,
): Promise<ScanResult> {
  // A handle the caller opened stays open (the archive reader keeps reading through it); a path is opened here.
  let fh: FileHandle
  try {
    fh = typeof file === 'string' ? await open(file, 'r') : file
  } catch (error) {
    throw toAirlockError(error, 'IO_ERROR')
  }
  try {
    const size = (await fh.stat()).size
    const reader = new BlockReader(fh, size)
    await refuseCompressed(reader)
    return await walk(reader, onEntry)
  } finally {
    if (typeof file === 'string') await fh.close()
  }
}

/** Magic numbers of compressed files. airlock archives are plain tar (blobs are already compressed, and a plain
 * tar can be read by offset); a compressed file is named as such instead of failing as a "bad header". */
const COMPRESSION_MAGIC: Array<[string, Buffer]> = [
  ['gzip', Buffer.from([0x1f, 0x8b])],
  ['zstd', Buffer.from([0x28, 0xb5, 0x2f, 0xfd])],
  ['xz', Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])],
  ['bzip2', Buffer.from('BZh')],
]

async function refuseCompressed(reader: BlockReader): Promise<void> {
  if (reader.size < 6) return
  const head = await reader.exact(0, 6, () => 'archive header')
  for (const [kind, magic] of COMPRESSION_MAGIC)
    if (head.subarray(0, magic.length).equals(magic))
      throw invalid(
        `archive is ${kind}-compressed; airlock reads plain tar archives only`,
        `decompress it first (it is not decompressed automatically, to rule out decompression bombs)`,
      )
}

/** pax keys an airlock archive may use. Anything else (or a malformed value) is refused rather than ignored,
 * because a record one reader ignores and another honours makes them see different archives. */
const PAX_KEYS = new Set(['path', 'size', 'mtime', 'atime', 'ctime', 'uid', 'gid', 'uname', 'gname', 'linkpath'])

function checkPaxRecords(body: Buffer, offset: number): void {
  const text = body.toString('utf8')
  if (!Buffer.from(text, 'utf8').equals(body)) throw invalid(`pax header at offset ${offset} is not valid UTF-8`)
  let at = 0
  while (at < text.length) {
    const space = text.indexOf(' ', at)
    const length = Number(text.slice(at, space))
    if (
      space < 0 ||
      !/^[1-9][0-9]*$/.test(text.slice(at, space)) ||
      at + length > text.length ||
      text[at + length - 1] !== '\n'
    )
      throw invalid(`pax header at offset ${offset} has a malformed record`)
    const record = text.slice(space + 1, at + length - 1)
    const eq = record.indexOf('=')
    const key = record.slice(0, eq)
    const value = record.slice(eq + 1)
    if (eq <= 0 || !PAX_KEYS.has(key))
      throw invalid(`pax header at offset ${offset} has an unsupported record ${JSON.stringify(key.slice(0, 40))}`)
    if ((key === 'path' || key === 'linkpath') && (value.length === 0 || value.includes('\0')))
      throw invalid(
        `pax header at offset ${offset} has an invalid ${key} ${JSON.stringify(value.slice(0, 200))} (empty or containing NUL)`,
      )
    if ((key === 'size' || key === 'uid' || key === 'gid') && !/^[0-9]{1,15}$/.test(value))
      throw invalid(`pax header at offset ${offset} has an invalid ${key} ${JSON.stringify(value.slice(0, 40))}`)
    at += length
  }
}

async function walk(reader: BlockReader, onEntry: (entry: TarEntry) => TarBodySink | undefined): Promise<ScanResult> {
  let pos = 0
  let entries = 0
  let previous = '(start of archive)'
  let pax: Pax | undefined
  let paxOffset = -1
  const after = () => (entries === 0 ? 'at the start of the archive' : `after entry ${JSON.stringify(previous)}`)
  for (;;) {
    const block = await reader.exact(pos, BLOCK, () => `no end-of-archive marker ${after()} (offset ${pos})`)
    if (isZero(block)) {
      await reader
        .exact(pos + BLOCK, BLOCK, () => `only one of the two end-of-archive blocks ${after()}`)
        .then(second => {
          if (!isZero(second)) throw invalid(`corrupt end-of-archive marker at offset ${pos} ${after()}`)
        })
      if (pax) throw invalid(`pax header at offset ${paxOffset} is not followed by an entry`)
      await checkTrailer(reader, pos + 2 * BLOCK)
      if (entries === 0) throw invalid('archive has no entries')
      return {entries, bytes: reader.size}
    }
    let header: Header
    try {
      header = new Header(block, 0, pax)
    } catch (error) {
      throw invalid(`unreadable tar header at offset ${pos} ${after()}: ${(error as Error).message}`)
    }
    if (!header.cksumValid)
      throw invalid(
        `bad tar header checksum at offset ${pos} ${after()}`,
        'the archive is corrupt, or an entry before it states a wrong size',
      )
    const type = header.type as string
    // node-tar reads a negative (base-256) size as undefined: an entry without a size is refused, not read as empty
    const size = header.size
    if (size === undefined || !Number.isSafeInteger(size) || size < 0)
      throw invalid(`entry at offset ${pos} has an invalid size`)
    const dataOffset = pos + BLOCK
    if (dataOffset + size > reader.size)
      throw invalid(
        `archive is truncated: entry ${JSON.stringify(header.path ?? '')} declares ${size} bytes but only ${Math.max(0, reader.size - dataOffset)} remain`,
      )
    if (type === 'ExtendedHeader') {
      if (pax) throw invalid(`two pax headers in a row at offset ${pos}`)
      if (size > MAX_PAX_BYTES)
        throw invalid(`pax header at offset ${pos} is ${size} bytes, over the ${MAX_PAX_BYTES} byte limit`)
      const body = await reader.exact(dataOffset, size, () => `pax header at offset ${pos}`)
      checkPaxRecords(body, pos)
      pax = Pax.parse(body.toString('utf8'), undefined, false)
      paxOffset = pos
      pos = dataOffset + padded(size)
      continue
    }
    if (
      type === 'GlobalExtendedHeader' ||
      type === 'NextFileHasLongPath' ||
      type === 'NextFileHasLongLinkpath' ||
      type === 'OldGnuLongPath'
    )
      throw invalid(
        `unsupported tar extension (${type}) at offset ${pos} ${after()}`,
        'airlock archives use plain ustar headers with pax extended headers',
      )
    // A pax path or linkpath replaces the ustar fields whole (POSIX pax), as GNU tar and bsdtar read it; node-tar's
    // Header puts the ustar prefix in front of a pax path and keeps the ustar linkpath, so it would read another name
    // than they do (and than TarWriter wrote: a long name carries both a prefix and a pax path).
    const name = pax?.path ?? header.path ?? ''
    if (++entries > MAX_ENTRIES) throw invalid(`archive has more than ${MAX_ENTRIES} entries`)
    const entry: TarEntry = {name, type, size, headerOffset: pax ? paxOffset : pos, dataOffset}
    const linkpath = pax?.linkpath ?? header.linkpath
    if (linkpath) entry.linkpath = linkpath
    pax = undefined
    previous = name
    const sink = onEntry(entry)
    if (sink) {
      let at = dataOffset
      const end = dataOffset + size
      while (at < end) {
        const piece = await reader.chunk(at, end - at)
        if (piece.length === 0) throw invalid(`archive is truncated inside entry ${JSON.stringify(name)}`)
        sink.write(piece)
        at += piece.length
      }
      sink.end()
    }
    pos = dataOffset + padded(size)
  }
}

/** After the end marker only zero padding may follow: anything else is hidden content (a second tar, appended data). */
async function checkTrailer(reader: BlockReader, from: number): Promise<void> {
  let at = from
  while (at < reader.size) {
    const piece = await reader.chunk(at, READ_CHUNK)
    if (piece.length === 0) break
    if (!isZero(piece)) throw invalid(`unexpected data after the end-of-archive marker at offset ${at}`)
    at += piece.length
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Writing
//
// The archive is written with positional writes into regions reserved up front, not appended as one stream: every
// descriptor's size is known before its download starts, so the exact place of its tar entry (header blocks, body,
// padding) is known too, and parallel downloads can each write straight into their own region. Entry order in the
// tar is therefore the order regions were reserved, which verify does not care about.
//
// A reserved region is all zeros until written, and a zero header block reads as an end-of-archive marker: an
// archive with a region that never completed is unusable. That is fine because the writer's owner never commits
// such a file (ArchiveWriter breaks on the first failed region and the temp file is removed); on top of that, a
// blob's header is written only after its body verified, so a header in the file always stands for a good body.

const MTIME = new Date(0) // fixed, so the same content gives the same archive bytes
/** Large writes: one syscall per MiB instead of one per 64 KiB socket read, and fewer thread-pool round trips. */
export const WRITE_CHUNK = 1024 * 1024
const ZEROS = Buffer.alloc(BLOCK)
/**
 * Start flushing to disk in the background after this many bytes. With plenty of RAM the kernel would otherwise
 * keep the whole archive dirty in the page cache until the final fsync, which then writes gigabytes while nothing
 * else happens (0.8 s of a 5 s export of 2 GB here); flushing as we go overlaps that with the downloads, and the
 * final fsync (still the one that makes the archive durable before the rename) only has the tail left. 64 MiB, not
 * 256: each early flush took ~0.3 s for 256 MiB here, and the final fsync writes what the last interval left (up to
 * the interval plus what arrived during the last flush), with nothing else to overlap it (docs/DECISIONS.md).
 */
const EARLY_SYNC_BYTES = 64 * 1024 * 1024

/** The place of one file entry in the archive: [headerOffset, end) is reserved for it and nothing else. */
export interface TarRegion {
  name: string
  size: number
  headerOffset: number
  dataOffset: number
  /** Offset after the body's padding: where the next entry starts. */
  end: number
  /** The header block(s), pax included, exactly `dataOffset - headerOffset` bytes. */
  header: Buffer
}

/**
 * Reusable 1 MiB write buffers, so parallel downloads do not allocate (and garbage-collect) one per MiB. The writers
 * of one volume set share one pool: a pool per volume would keep its buffers for as long as the set is written.
 */
export class BufferPool {
  private readonly free: Buffer[] = []
  private readonly max: number
  constructor(max = 16) {
    this.max = max
  }
  take(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafeSlow(WRITE_CHUNK)
  }
  give(buf: Buffer): void {
    if (this.free.length < this.max) this.free.push(buf)
  }
}

/**
 * Told each body range once its write is done, in the order of the entry's bytes (one write in flight per entry);
 * the next write of the entry waits for a returned promise (a hash worker that is too far behind).
 */
export type OnWritten = (position: number, length: number) => void | Promise<void>

export interface TarWriterOptions {
  /** Write buffers shared with other writers (a volume set's). */
  pool?: BufferPool
  /**
   * The file's sha256, fed from the ranges as they are written (volume sets: ordered-hash.ts, hashed on a worker
   * thread that reads them back: no write waits for it).
   */
  hash?: OrderedHash
}

/**
 * Positional tar writer over an open file. reserve() is synchronous, so concurrent callers never get overlapping
 * regions; each region is then filled independently (and concurrently) with fill()/writeHeader().
 */
export class TarWriter {
  private next = 0
  private readonly fh: FileHandle
  private readonly pool: BufferPool
  private readonly hash: OrderedHash | undefined
  private unsynced = 0
  private syncing: Promise<void> | undefined
  private syncError: unknown

  constructor(fh: FileHandle, options: TarWriterOptions = {}) {
    this.fh = fh
    this.pool = options.pool ?? new BufferPool()
    this.hash = options.hash
  }

  /** Bytes of the archive so far (reserved regions included). */
  get bytesWritten(): number {
    return this.next
  }

  /** The header block(s) of an entry, pax included: their length is what the entry costs before its body. */
  static entryHeader(name: string, size: number, type: 'File' | 'Directory' = 'File'): Buffer {
    const data = {
      path: name,
      mode: type === 'File' ? 0o644 : 0o755,
      uid: 0,
      gid: 0,
      size,
      mtime: MTIME,
      type,
      uname: '',
      gname: '',
    }
    const block = Buffer.alloc(BLOCK)
    const header = new Header(data)
    header.encode(block, 0)
    return header.needPax ? Buffer.concat([new Pax(data).encode(), block]) : block
  }

  /** Claims the space of one entry at the current end of the archive. */
  reserve(name: string, size: number, type: 'File' | 'Directory' = 'File'): TarRegion {
    if (!Number.isSafeInteger(size) || size < 0)
      throw new AirlockError('INTERNAL', `${name}: invalid entry size ${size}`)
    const header = TarWriter.entryHeader(name, size, type)
    const headerOffset = this.next
    const dataOffset = headerOffset + header.length
    const end = dataOffset + padded(size)
    this.next = end
    // The header (written last) and the padding are known now: the hash must not wait for them.
    this.hash?.known(headerOffset, header)
    this.hash?.known(dataOffset + size, ZEROS.subarray(0, end - dataOffset - size))
    return {name, size, headerOffset, dataOffset, end, header}
  }

  /** Writes body bytes, then reports them written (the file's hash, the entry's own running hash). */
  private async writeBody(buf: Buffer, length: number, position: number, onWritten?: OnWritten): Promise<void> {
    await this.writeAt(buf, length, position)
    this.hash?.written(position, length)
    await onWritten?.(position, length)
  }

  private async writeAt(buf: Buffer, length: number, position: number): Promise<void> {
    let off = 0
    while (off < length) {
      const {bytesWritten} = await this.fh.write(buf, off, length - off, position + off)
      if (bytesWritten === 0) throw new AirlockError('IO_ERROR', 'write made no progress')
      off += bytesWritten
    }
    this.unsynced += length
    if (this.unsynced >= EARLY_SYNC_BYTES && !this.syncing) {
      this.unsynced = 0
      // An early flush is an optimisation, never the durability guarantee; its failure (EIO) still fails the
      // archive, at finish().
      this.syncing = this.fh.datasync().then(
        () => (this.syncing = undefined),
        (error: unknown) => {
          this.syncError ??= error
          this.syncing = undefined
        },
      )
    }
  }

  /** Writes a region's header block(s): the last step of an entry, once its body is in place. */
  async writeHeader(region: TarRegion): Promise<void> {
    await this.writeAt(region.header, region.header.length, region.headerOffset)
  }

  async addDirectory(name: string): Promise<void> {
    const region = this.reserve(name.endsWith('/') ? name : name + '/', 0, 'Directory')
    await this.writeHeader(region)
  }

  /** A small in-memory file: header, body and padding in one write. */
  async addBuffer(name: string, data: Buffer): Promise<void> {
    const region = this.reserve(name, data.length)
    const all = Buffer.concat([region.header, data, ZEROS.subarray(0, padded(data.length) - data.length)])
    this.hash?.known(region.dataOffset, data)
    await this.writeAt(all, all.length, region.headerOffset)
  }

  /**
   * Streams exactly `region.size` bytes from `body` into the region's body, then its zero padding; fails if the
   * count differs. Chunks are gathered into 1 MiB buffers; one buffer's write is in flight while the next fills,
   * so the network and the disk overlap within one entry. Does not write the header (see writeHeader).
   */
  async fill(
    region: TarRegion,
    body: AsyncIterable<Buffer>,
    onBytes?: (n: number) => void,
    onWritten?: OnWritten,
  ): Promise<void> {
    const {name, size} = region
    let pos = region.dataOffset
    let seen = 0
    let buf: Buffer | undefined
    let fill = 0
    let inflight: Promise<void> | undefined
    const held: Buffer[] = []
    // Starts writing `length` bytes of `data` at `pos`, after the previous write has finished (at most one write
    // in flight per entry bounds memory to two buffers per download). The promise is observed right away so a
    // failure while the body is still being read is not an unhandled rejection; it is rethrown when awaited.
    const issue = async (data: Buffer, length: number): Promise<void> => {
      if (inflight) await inflight
      const at = pos
      pos += length
      inflight = this.writeBody(data, length, at, onWritten)
      inflight.catch(() => undefined)
    }
    try {
      for await (const chunk of body) {
        seen += chunk.length
        if (seen > size) throw new AirlockError('SIZE_MISMATCH', `${name}: more than the expected ${size} bytes`)
        onBytes?.(chunk.length)
        if (fill === 0 && chunk.length >= WRITE_CHUNK / 4) {
          // Already a large chunk (file reads): write it as it is. A stream hands ownership of each chunk to its
          // consumer, so it is not modified while the write is in flight.
          await issue(chunk, chunk.length)
          continue
        }
        let at = 0
        while (at < chunk.length) {
          if (!buf) {
            buf = held.length >= 2 ? held.shift()! : this.pool.take()
            held.push(buf)
          }
          const n = chunk.copy(buf, fill, at)
          fill += n
          at += n
          if (fill === buf.length) {
            await issue(buf, fill)
            buf = undefined
            fill = 0
          }
        }
      }
      if (seen !== size) throw new AirlockError('SIZE_MISMATCH', `${name}: got ${seen} bytes, expected ${size}`)
      if (buf && fill > 0) await issue(buf, fill)
      if (inflight) await inflight
      const pad = padded(size) - size
      if (pad) await this.writeAt(ZEROS, pad, region.dataOffset + size)
    } finally {
      // Wait for the last write before giving its buffer back (the error, if any, is already on its way up).
      await inflight?.catch(() => undefined)
      for (const b of held) this.pool.give(b)
    }
  }

  /** Writes the end-of-archive marker after the last reserved region and flushes to stable storage. */
  async finish(): Promise<void> {
    const region = this.next
    this.next += 2 * BLOCK
    const marker = Buffer.alloc(2 * BLOCK)
    this.hash?.known(region, marker)
    await this.writeAt(marker, 2 * BLOCK, region)
    while (this.syncing) await this.syncing
    if (this.syncError) throw this.syncError
    await this.fh.sync()
  }
}
