// Low-level tar writing and reading for the hostile corpus. Headers are encoded with node-tar's Header class (so a
// well-formed entry is byte-for-byte what a real tar tool writes) and then patched where a case needs a header no
// honest tool would produce: non-UTF-8 names, lying sizes, bad checksums. Nothing here is a hand-edited binary:
// every malicious archive is derived from a valid one by code the reader can audit.
import {Header, Pax} from 'tar'

export const BLOCK = 512

export type EntryType =
  | 'File'
  | 'Directory'
  | 'SymbolicLink'
  | 'Link'
  | 'CharacterDevice'
  | 'BlockDevice'
  | 'FIFO'
  | 'ExtendedHeader'
  | 'GlobalExtendedHeader'
  | 'NextFileHasLongPath'
  | 'ContiguousFile'

export interface TarEntry {
  /** Entry name; a Buffer is written byte for byte into the name field (for non-UTF-8 names). */
  name: string | Buffer
  type?: EntryType
  body?: Buffer
  linkpath?: string
  mode?: number
  devmaj?: number
  devmin?: number
  /** Size written in the header when it must lie about the body (the body is still written as is, padded). */
  headerSize?: number
  /** Pax records emitted in an 'x' header just before this entry (raw key -> value, values are not validated). */
  pax?: Record<string, string>
  /** Writes the name through a GNU 'L' long-name entry, the way GNU tar does for names over 100 bytes. */
  gnuLongName?: boolean
  /** Last chance to corrupt the encoded 512-byte header; the checksum is recomputed afterwards unless `keepChecksum`. */
  patchHeader?: (block: Buffer) => void
  keepChecksum?: boolean
}

const FIXED_MTIME = new Date('2025-01-01T00:00:00Z')

/** Recomputes the ustar header checksum (sum of all bytes with the checksum field read as spaces). */
export function fixChecksum(block: Buffer): void {
  block.fill(0x20, 148, 156)
  let sum = 0
  for (let i = 0; i < BLOCK; i++) sum += block[i]!
  block.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1')
}

export function headerBlock(entry: TarEntry): Buffer {
  const body = entry.body ?? Buffer.alloc(0)
  const type = entry.type ?? 'File'
  const nameString = typeof entry.name === 'string' ? entry.name : 'placeholder'
  const header = new Header({
    path: nameString,
    mode: entry.mode ?? (type === 'Directory' ? 0o755 : 0o644),
    uid: 0,
    gid: 0,
    size:
      entry.headerSize ??
      (['File', 'ContiguousFile', 'ExtendedHeader', 'GlobalExtendedHeader', 'NextFileHasLongPath'].includes(type)
        ? body.length
        : 0),
    mtime: FIXED_MTIME,
    type,
    ...(entry.linkpath !== undefined ? {linkpath: entry.linkpath} : {}),
    uname: '',
    gname: '',
    devmaj: entry.devmaj ?? 0,
    devmin: entry.devmin ?? 0,
  })
  const block = Buffer.alloc(BLOCK)
  header.encode(block, 0)
  if (typeof entry.name !== 'string') {
    // Raw name bytes: clear the name and prefix fields and copy the bytes in.
    block.fill(0, 0, 100)
    block.fill(0, 345, 500)
    entry.name.copy(block, 0, 0, Math.min(100, entry.name.length))
  }
  entry.patchHeader?.(block)
  if (!entry.keepChecksum) fixChecksum(block)
  return block
}

function pad(length: number): Buffer {
  const rest = length % BLOCK
  return rest === 0 ? Buffer.alloc(0) : Buffer.alloc(BLOCK - rest)
}

/** Serializes one entry (with its pax or GNU long-name prelude) to blocks. */
export function entryBytes(entry: TarEntry): Buffer {
  const parts: Buffer[] = []
  if (entry.pax) {
    const body = Buffer.from(
      Object.entries(entry.pax)
        .map(([k, v]) => paxRecord(k, v))
        .join(''),
      'utf8',
    )
    parts.push(headerBlock({name: 'PaxHeader/entry', type: 'ExtendedHeader', body}), body, pad(body.length))
  }
  let name = entry.name
  if (entry.gnuLongName) {
    const long = Buffer.concat([typeof name === 'string' ? Buffer.from(name, 'utf8') : name, Buffer.from([0])])
    parts.push(headerBlock({name: '././@LongLink', type: 'NextFileHasLongPath', body: long}), long, pad(long.length))
    name = (typeof name === 'string' ? name : name.toString('latin1')).slice(0, 99)
  }
  const body = entry.body ?? Buffer.alloc(0)
  parts.push(headerBlock({...entry, name}), body, pad(body.length))
  return Buffer.concat(parts)
}

/** A pax record "LEN key=value\n" where LEN counts its own digits. */
export function paxRecord(key: string, value: string): string {
  const rest = ` ${key}=${value}\n`
  let len = Buffer.byteLength(rest) + 1
  while (String(len).length + Buffer.byteLength(rest) !== len) len++
  return `${len}${rest}`
}

export function writeTar(entries: TarEntry[], options: {endBlocks?: boolean} = {}): Buffer {
  const parts = entries.map(entryBytes)
  if (options.endBlocks !== false) parts.push(Buffer.alloc(BLOCK * 2))
  return Buffer.concat(parts)
}

/** One entry of a parsed archive plus where its header and body sit in the file (for truncation cases). */
export interface ParsedEntry {
  name: string
  type: string
  body: Buffer
  linkpath?: string
  /** Offset of the first header of this entry (pax/long-name prelude included). */
  start: number
  /** Offset of the entry's own header. */
  headerOffset: number
  bodyOffset: number
  /** Offset just after the padded body: where the next entry starts. */
  end: number
}

/**
 * A small reader for valid archives (the base that the corpus mutates): ustar, pax 'x' path/size and GNU 'L'.
 * It is not a defence of anything; it throws on anything it does not understand.
 */
export function readTar(buf: Buffer): {entries: ParsedEntry[]; endOffset: number} {
  const entries: ParsedEntry[] = []
  let off = 0
  let pending: {path?: string; size?: number; start?: number} = {}
  while (off + BLOCK <= buf.length) {
    const block = buf.subarray(off, off + BLOCK)
    if (block.every(b => b === 0)) return {entries, endOffset: off}
    const header = new Header(block)
    if (!header.cksumValid) throw new Error(`readTar: bad checksum at ${off}`)
    const size = pending.size ?? header.size ?? 0
    const bodyOffset = off + BLOCK
    const end = bodyOffset + Math.ceil(size / BLOCK) * BLOCK
    const body = buf.subarray(bodyOffset, bodyOffset + size)
    const start = pending.start ?? off
    if (header.type === 'ExtendedHeader') {
      const pax = Pax.parse(body.toString('utf8'))
      pending = {
        start,
        ...(pax.path !== undefined ? {path: pax.path} : {}),
        ...(pax.size !== undefined ? {size: pax.size} : {}),
      }
    } else if (header.type === 'NextFileHasLongPath') {
      pending = {...pending, start, path: body.toString('utf8').replace(/\0+$/, '')}
    } else if (header.type === 'GlobalExtendedHeader') {
      // ignored (the writer under test does not emit them)
    } else {
      entries.push({
        name: pending.path ?? header.path ?? '',
        type: header.type,
        body: Buffer.from(body),
        ...(header.linkpath ? {linkpath: header.linkpath} : {}),
        start,
        headerOffset: off,
        bodyOffset,
        end,
      })
      pending = {}
    }
    off = end
  }
  throw new Error('readTar: no end-of-archive marker')
}
