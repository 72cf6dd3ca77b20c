// Minimal, strict tar I/O for the archive. Header blocks are encoded and decoded by the `tar` package's Header and
// Pax classes (no hand-rolled format); this module only walks the block structure, because it needs things the
// `tar` Parser does not give: the byte offset of each entry's data (so stores can serve blobs with positional
// reads and verify can hand ranges to workers), skipping bodies by seeking instead of reading them, and one clear
// error for every kind of damage (truncation, lying sizes, garbage after the end marker).
import type {FileHandle} from 'node:fs/promises'
import {open} from 'node:fs/promises'
import type {Readable} from 'node:stream'
import {Header, Pax} from 'tar'
import {AirlockError, toAirlockError} from '../errors.ts'

const BLOCK = 512
const READ_CHUNK = 1024 * 1024
/** pax extended headers carry a path or two; anything bigger is an attack, not metadata. */
const MAX_PAX_BYTES = 64 * 1024
const MAX_ENTRIES = 1_000_000

export type TarEntryType = 'File' | 'Directory' | 'SymbolicLink' | 'Link' | 'CharacterDevice' | 'BlockDevice' | 'FIFO' | string

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

function padded(size: number): number {
  return Math.ceil(size / BLOCK) * BLOCK
}

/**
 * Walks every entry of the tar file at `path` in one forward pass. `onEntry` returns a sink to receive the body, or
 * undefined to skip it without reading (a seek). Throws ARCHIVE_INVALID on any structural damage, naming the entry.
 */
export async function scanTar(path: string, onEntry: (entry: TarEntry) => TarBodySink | undefined): Promise<ScanResult> {
  let fh: FileHandle
  try {
    fh = await open(path, 'r')
  } catch (error) {
    throw toAirlockError(error, 'IO_ERROR')
  }
  try {
    const size = (await fh.stat()).size
    const reader = new BlockReader(fh, size)
    await refuseCompressed(reader)
    return await walk(reader, onEntry)
  } finally {
    await fh.close()
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
      throw invalid(`archive is ${kind}-compressed; airlock reads plain tar archives only`, `decompress it first (it is not decompressed automatically, to rule out decompression bombs)`)
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
    if (space < 0 || !/^[1-9][0-9]*$/.test(text.slice(at, space)) || at + length > text.length || text[at + length - 1] !== '\n')
      throw invalid(`pax header at offset ${offset} has a malformed record`)
    const record = text.slice(space + 1, at + length - 1)
    const eq = record.indexOf('=')
    const key = record.slice(0, eq)
    const value = record.slice(eq + 1)
    if (eq <= 0 || !PAX_KEYS.has(key)) throw invalid(`pax header at offset ${offset} has an unsupported record ${JSON.stringify(key.slice(0, 40))}`)
    if ((key === 'path' || key === 'linkpath') && (value.length === 0 || value.includes('\0')))
      throw invalid(`pax header at offset ${offset} has an invalid ${key} ${JSON.stringify(value.slice(0, 200))} (empty or containing NUL)`)
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
      await reader.exact(pos + BLOCK, BLOCK, () => `only one of the two end-of-archive blocks ${after()}`).then((second) => {
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
      throw invalid(`bad tar header checksum at offset ${pos} ${after()}`, 'the archive is corrupt, or an entry before it states a wrong size')
    const type = header.type as string
    const size = header.size ?? 0
    if (!Number.isSafeInteger(size) || size < 0) throw invalid(`entry at offset ${pos} has an invalid size`)
    const dataOffset = pos + BLOCK
    if (dataOffset + size > reader.size)
      throw invalid(
        `archive is truncated: entry ${JSON.stringify(header.path ?? '')} declares ${size} bytes but only ${Math.max(0, reader.size - dataOffset)} remain`,
      )
    if (type === 'ExtendedHeader') {
      if (pax) throw invalid(`two pax headers in a row at offset ${pos}`)
      if (size > MAX_PAX_BYTES) throw invalid(`pax header at offset ${pos} is ${size} bytes, over the ${MAX_PAX_BYTES} byte limit`)
      const body = await reader.exact(dataOffset, size, () => `pax header at offset ${pos}`)
      checkPaxRecords(body, pos)
      pax = Pax.parse(body.toString('utf8'), undefined, false)
      paxOffset = pos
      pos = dataOffset + padded(size)
      continue
    }
    if (type === 'GlobalExtendedHeader' || type === 'NextFileHasLongPath' || type === 'NextFileHasLongLinkpath' || type === 'OldGnuLongPath')
      throw invalid(`unsupported tar extension (${type}) at offset ${pos} ${after()}`, 'airlock archives use plain ustar headers with pax extended headers')
    const name = header.path ?? ''
    if (++entries > MAX_ENTRIES) throw invalid(`archive has more than ${MAX_ENTRIES} entries`)
    const entry: TarEntry = {name, type, size, headerOffset: pax ? paxOffset : pos, dataOffset}
    if (header.linkpath) entry.linkpath = header.linkpath
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

const MTIME = new Date(0) // fixed, so the same content gives the same archive bytes

/** Appends entries to an open file. Not safe for concurrent use: callers serialize (ArchiveWriter does). */
export class TarWriter {
  private pos = 0
  private readonly fh: FileHandle

  constructor(fh: FileHandle) {
    this.fh = fh
  }

  get bytesWritten(): number {
    return this.pos
  }

  private async write(buf: Buffer): Promise<void> {
    let off = 0
    while (off < buf.length) {
      const {bytesWritten} = await this.fh.write(buf, off, buf.length - off, this.pos)
      off += bytesWritten
      this.pos += bytesWritten
    }
  }

  private async header(name: string, size: number, type: 'File' | 'Directory'): Promise<void> {
    const data = {path: name, mode: type === 'File' ? 0o644 : 0o755, uid: 0, gid: 0, size, mtime: MTIME, type, uname: '', gname: ''}
    const block = Buffer.alloc(BLOCK)
    const header = new Header(data)
    header.encode(block, 0)
    if (header.needPax) await this.write(new Pax(data).encode())
    await this.write(block)
  }

  private async pad(size: number): Promise<void> {
    const rest = padded(size) - size
    if (rest) await this.write(Buffer.alloc(rest))
  }

  async addDirectory(name: string): Promise<void> {
    await this.header(name.endsWith('/') ? name : name + '/', 0, 'Directory')
  }

  async addBuffer(name: string, data: Buffer): Promise<void> {
    await this.header(name, data.length, 'File')
    await this.write(data)
    await this.pad(data.length)
  }

  /** Streams exactly `size` bytes from `body` into a file entry; fails (leaving the tar unusable) if the count differs. */
  async addStream(name: string, size: number, body: Readable, onBytes?: (n: number) => void): Promise<void> {
    await this.header(name, size, 'File')
    let seen = 0
    for await (const chunk of body as AsyncIterable<Buffer>) {
      seen += chunk.length
      if (seen > size) throw new AirlockError('SIZE_MISMATCH', `${name}: more than the expected ${size} bytes`)
      await this.write(chunk)
      onBytes?.(chunk.length)
    }
    if (seen !== size) throw new AirlockError('SIZE_MISMATCH', `${name}: got ${seen} bytes, expected ${size}`)
    await this.pad(size)
  }

  /** Writes the end-of-archive marker and flushes to stable storage. */
  async finish(): Promise<void> {
    await this.write(Buffer.alloc(2 * BLOCK))
    await this.fh.sync()
  }
}
