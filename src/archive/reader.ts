// The read side of the archive: one forward pass over the tar headers that checks every entry's type and name
// (the archive is hostile until proven otherwise) and its structure (truncation, lying sizes, end marker, trailing
// data), skipping bodies by seeking, and remembers where each entry's bytes are. When asked to hash (verify), the
// bodies are then hashed on every core by worker threads over positional reads (src/archive/hash-pool.ts), so
// verifying costs what hashing costs. Afterwards content is read back with positional reads, hashed again on every
// read (the file could change between the pass and the read). Memory holds one record per entry plus the small
// JSON files, never blob bodies.
import {createHash} from 'node:crypto'
import type {Stats} from 'node:fs'
import type {FileHandle} from 'node:fs/promises'
import {open, stat} from 'node:fs/promises'
import {basename, dirname, join} from 'node:path'
import {Readable} from 'node:stream'
import {VerifyingStream} from '../oci/digest.ts'
import type {ExistenceChecker, RangeFetcher, RereadableBlob} from '../content/types.ts'
import {AirlockError, toAirlockError} from '../errors.ts'
import type {Descriptor} from '../oci/descriptor.ts'
import type {Digest} from '../oci/digest.ts'
import {parseManifest, type ImageIndex, type RawManifest} from '../oci/manifest.ts'
import {MAX_MANIFEST_BYTES} from '../oci/media-types.ts'
import {parseLayoutIndex} from '../content/layout-index.ts'
import {
  AIRLOCK_JSON,
  type AirlockJson,
  blobPath,
  digestFromBlobPath,
  extraFilePathProblem,
  INDEX_JSON,
  MAX_AIRLOCK_JSON_BYTES,
  OCI_LAYOUT,
  parseAirlockJson,
} from './schema.ts'
import {HashPool, hashInThread, WORKER_THRESHOLD_BYTES, type RangeToHash} from './hash-pool.ts'
import {scanTar, type TarBodySink, type TarEntry} from './tar.ts'
import {
  isManifestFile,
  MAX_LABEL_BYTES,
  parseLabel,
  parsePartName,
  readVolumesJsonHashed,
  VOLUME_LABEL,
  type VolumeLabel,
  volumeFile,
  type VolumesJson,
} from './volumes.ts'

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

/** One file the reader reads: the archive, or one volume of a set. */
interface OpenFile {
  path: string
  fh: FileHandle
  /** The file as it was when opened. */
  identity: FileIdentity
}

/** What a reader opened from a volume set knows about the set (volumes.json, checked against the volumes). */
export interface VolumeSetInfo {
  manifest: string
  manifestSha256: string
  setId: string
  count: number
  volumes: string[]
}

export interface ScanOptions {
  /** Hash every entry during the pass (verify). Without it, bodies are skipped by seeking (inspect). */
  hash?: boolean
  /**
   * Blob digests whose bodies the hashing pass leaves out (push: the mirror already holds content under that
   * digest, so the archive's copy is never sent and cannot affect what the mirror serves). Everything else about
   * such an entry is still checked; reads of it (readEntry) are still verified against its name.
   */
  skipHash?: ReadonlySet<string>
  /** Hashing threads: 0 hashes in this thread; default: every core, or this thread for small archives. */
  workers?: number
  onBytes?: (n: number) => void
}

const SMALL_FILES: Record<string, number> = {
  [OCI_LAYOUT]: 1024,
  [INDEX_JSON]: MAX_MANIFEST_BYTES,
  [AIRLOCK_JSON]: MAX_AIRLOCK_JSON_BYTES,
}
const DIRECTORY_SEGMENT = /^[A-Za-z0-9._@+=,-]+$/

function invalid(
  name: string,
  reason: string,
  code: 'ARCHIVE_INVALID' | 'UNSUPPORTED' = 'ARCHIVE_INVALID',
): AirlockError {
  return new AirlockError(code, `entry ${JSON.stringify(name)}: ${reason}`)
}

/** Why an entry may not be in an airlock archive, or undefined when it may. Checked before any byte is read. */
export function entryProblem(entry: TarEntry): AirlockError | undefined {
  const name = entry.name
  if (name.includes('\uFFFD')) return invalid(name, 'name is not valid UTF-8')
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\\]/.test(name)) return invalid(name, 'name has control characters or backslashes')
  if (name.startsWith('/')) return invalid(name, 'absolute paths are not allowed')
  if (name.split('/').some(s => s === '..' || s === '.'))
    return invalid(name, 'names with "." or ".." segments are not allowed')
  switch (entry.type) {
    case 'File':
    case 'OldFile':
      break
    case 'Directory': {
      if (entry.size !== 0) return invalid(name, 'directory entry with content')
      const path = name.replace(/\/$/, '')
      if (path === 'blobs' || path === 'blobs/sha256') return undefined
      if (
        (path === 'sigstore' || path.startsWith('sigstore/')) &&
        path.split('/').every(s => DIRECTORY_SEGMENT.test(s))
      )
        return undefined
      if (path === 'airlock') return undefined
      return invalid(name, 'unexpected directory')
    }
    case 'SymbolicLink':
    case 'Link':
      return invalid(
        name,
        `${entry.type === 'Link' ? 'hard links' : 'symbolic links'} are not allowed (target ${JSON.stringify(entry.linkpath ?? '')})`,
      )
    default:
      return invalid(name, `${entry.type} entries are not allowed; only regular files and directories`)
  }
  if (name in SMALL_FILES) {
    const limit = SMALL_FILES[name]!
    return entry.size > limit
      ? new AirlockError(
          'TOO_LARGE',
          `entry ${JSON.stringify(name)} is ${entry.size} bytes, over the ${limit} byte limit`,
        )
      : undefined
  }
  if (name.startsWith('blobs/')) {
    if (digestFromBlobPath(name)) return undefined
    const algorithm = /^blobs\/([^/]+)\//.exec(name)?.[1]
    if (algorithm && algorithm !== 'sha256')
      return invalid(
        name,
        `unsupported digest algorithm ${JSON.stringify(algorithm)}; only sha256 is accepted`,
        'UNSUPPORTED',
      )
    return invalid(name, 'not a valid blob name (blobs/sha256/<64 lowercase hex>)')
  }
  if (name.startsWith('sigstore/') || name.startsWith('airlock/')) {
    const problem = extraFilePathProblem(name)
    return problem ? invalid(name, problem) : undefined
  }
  return invalid(name, 'unexpected entry (not part of an airlock archive)')
}

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

/** What identifies the archive file: the same device, inode, size and modification time, or it is another file. */
export interface FileIdentity {
  dev: number
  ino: number
  size: number
  mtimeMs: number
}

function identityOf(st: Stats): FileIdentity {
  return {dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs}
}

function sameIdentity(a: FileIdentity, b: FileIdentity): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs
}

const READ_CHUNK = 1024 * 1024

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
    const entries = new Map<string, EntryRecord>()
    const small = new Map<string, Buffer>()
    const seen = new Set<string>()
    const hash = options.hash ?? false
    /** Bodies to hash after the header pass, and the records their digests go to. */
    const ranges: RangeToHash[] = []
    const hashed: EntryRecord[] = []
    // Workers start now, so their start-up overlaps the header pass; small archives stay in this thread. With
    // skipHash (push: the mirror holds some blobs) how much is left to hash is known only after the pass, and a
    // second push may have nothing to hash at all: the pool then starts after the pass, only if it pays.
    let fh: FileHandle
    try {
      fh = await open(path, 'r')
    } catch (error) {
      const e = toAirlockError(error, 'IO_ERROR')
      throw new AirlockError(e.code, `${path}: ${e.message}`, {cause: error})
    }
    let identity: FileIdentity
    let pool: HashPool | undefined
    let scan: {entries: number; bytes: number}
    try {
      identity = identityOf(await fh.stat())
      pool = hash && !options.skipHash ? await startPool(path, options.workers) : undefined
      scan = await scanTar(fh, entry => {
        const problem = entryProblem(entry)
        if (problem) throw problem
        const key = entry.name.replace(/\/$/, '')
        if (seen.has(key)) throw invalid(entry.name, 'appears more than once in the archive')
        seen.add(key)
        if (entry.type === 'Directory') return undefined
        const record: EntryRecord = {name: entry.name, size: entry.size, dataOffset: entry.dataOffset}
        entries.set(entry.name, record)
        // The layout files are small (limits checked by entryProblem) and needed whole: read them in this pass.
        if (entry.name in SMALL_FILES)
          return new KeepSink(kept => {
            small.set(entry.name, kept)
            if (hash) {
              record.digest = sha256(kept)
              options.onBytes?.(kept.length)
            }
          })
        if (!hash) return undefined
        const blob = digestFromBlobPath(entry.name)
        if (blob && options.skipHash?.has(blob)) record.hashSkipped = true
        else {
          ranges.push({name: entry.name, offset: entry.dataOffset, size: entry.size})
          hashed.push(record)
        }
        return undefined
      })
      if (hash && options.skipHash && options.workers !== 0) {
        const bytes = ranges.reduce((n, r) => n + r.size, 0)
        if (options.workers !== undefined || bytes >= WORKER_THRESHOLD_BYTES)
          pool = HashPool.start(path, options.workers)
      }
      if (hash) {
        const digests = pool
          ? await pool.hash(ranges, options.onBytes)
          : await hashInThread(path, ranges, options.onBytes)
        for (const [i, digest] of digests.entries()) hashed[i]!.digest = digest as Digest
      }
      // The hashing threads read the file by its path: it must still be the file the handle holds.
      if (hash) await checkIdentity(path, fh, identity)
    } catch (error) {
      await fh.close()
      const e = toAirlockError(error, 'ARCHIVE_INVALID')
      throw new AirlockError(e.code, `${path}: ${e.message}`, {cause: error, ...(e.hint ? {hint: e.hint} : {})})
    } finally {
      await pool?.close()
    }
    try {
      return ArchiveReader.fromPass(path, [{path, fh, identity}], entries, small, {
        bytes: scan.bytes,
        count: scan.entries,
        hashed: hash,
      })
    } catch (error) {
      await fh.close()
      throw error
    }
  }

  /**
   * A volume set, through its NAME.volumes.json: every volume is opened (its size checked against volumes.json),
   * its label checked (the set's id, its number), its tar walked like a plain archive's, and the entries of all
   * volumes (split ones joined from their parts, as volumes.json and the parts' names must agree) become one
   * logical archive. Nothing is rejoined on disk: reads of a split entry cross volumes as one stream.
   */
  private static async openSet(manifest: string, options: ScanOptions): Promise<ArchiveReader> {
    const {set, sha256: manifestSha256} = readVolumesJsonHashed(manifest)
    const dir = dirname(manifest)
    const beyond = join(dir, volumeFile(set.name, set.count + 1))
    if (
      await stat(beyond).then(
        () => true,
        () => false,
      )
    )
      throw new AirlockError(
        'ARCHIVE_INVALID',
        `${beyond} is present, but ${manifest} lists ${set.count} volume(s): the count in volumes.json is wrong, or the volume belongs to another export`,
        {hint: 'keep only the volumes of one export beside its volumes.json'},
      )
    const files: OpenFile[] = []
    const closeAll = () => Promise.all(files.map(f => f.fh.close().catch(() => undefined)))
    try {
      for (const v of set.volumes) {
        const path = join(dir, v.file)
        let fh: FileHandle
        try {
          fh = await open(path, 'r')
        } catch {
          throw new AirlockError('ARCHIVE_INCOMPLETE', `volume ${v.volume} of ${set.count} (${path}) is missing`, {
            hint: 'copy every volume of the set beside its volumes.json (airlock verify-volume says which are missing)',
          })
        }
        const identity = identityOf(await fh.stat())
        files.push({path, fh, identity})
        if (identity.size !== v.size)
          throw new AirlockError(
            'ARCHIVE_INVALID',
            `${path} is ${identity.size} bytes, but volumes.json says volume ${v.volume} is ${v.size}${identity.size < v.size ? ' (truncated)' : ''}`,
            {hint: 'copy the volume again, or check it with airlock verify-volume'},
          )
      }
      const entries = new Map<string, EntryRecord>()
      const seen = new Set<string>()
      const parts = new Map<string, Map<number, {file: number; offset: number; size: number}>>()
      let count = 0
      for (const [i, file] of files.entries()) {
        let first = true
        try {
          await scanTar(file.fh, entry => {
            if (first) {
              first = false
              if (entry.name !== VOLUME_LABEL || entry.type !== 'File' || entry.size > MAX_LABEL_BYTES)
                throw new AirlockError(
                  'ARCHIVE_INVALID',
                  'does not start with a volume label: not a volume airlock wrote',
                )
              return new KeepSink(kept => checkLabel(parseLabel(kept, file.path), set, i + 1, file.path))
            }
            const part = parsePartName(entry.name)
            if (part) {
              const problem = entryProblem({...entry, name: part.entry})
              if (problem) throw problem
              if (entry.type !== 'File') throw invalid(entry.name, 'a part must be a regular file')
              const known = parts.get(part.entry) ?? new Map()
              if (known.has(part.part)) throw invalid(entry.name, 'appears more than once in the set')
              known.set(part.part, {file: i, offset: entry.dataOffset, size: entry.size})
              parts.set(part.entry, known)
              return undefined
            }
            const problem = entryProblem(entry)
            if (problem) throw problem
            const key = entry.name.replace(/\/$/, '')
            if (seen.has(key)) throw invalid(entry.name, 'appears more than once in the set')
            seen.add(key)
            count++
            if (entry.type === 'Directory') return undefined
            entries.set(entry.name, {name: entry.name, size: entry.size, dataOffset: entry.dataOffset, volume: i})
            return undefined
          })
        } catch (error) {
          const e = toAirlockError(error, 'ARCHIVE_INVALID')
          throw new AirlockError(e.code, `${file.path}: ${e.message}`, {
            cause: error,
            ...(e.hint ? {hint: e.hint} : {}),
          })
        }
      }
      // Split entries: the parts found must be exactly the parts volumes.json lists, in the volumes it names.
      for (const [entry, found] of parts) {
        const claimed = set.split.find(s => s.entry === entry)
        if (!claimed)
          throw new AirlockError(
            'ARCHIVE_INVALID',
            `${manifest}: ${entry} is split into parts in the volumes, but volumes.json does not list it`,
          )
        if (seen.has(entry)) throw invalid(entry, 'appears both whole and split in the set')
        seen.add(entry)
        count++
        const segments: Segment[] = claimed.parts.map(p => {
          const at = found.get(p.part)
          if (!at)
            throw new AirlockError(
              'ARCHIVE_INCOMPLETE',
              `${p.name} (part ${p.part} of ${claimed.parts.length} of ${entry}) is missing from ${files[p.volume - 1]!.path}`,
            )
          if (at.file !== p.volume - 1 || at.size !== p.size)
            throw new AirlockError(
              'ARCHIVE_INVALID',
              `${files[at.file]!.path}: ${p.name} is ${at.size} bytes, volumes.json says ${p.size} bytes in volume ${p.volume}`,
            )
          return at
        })
        if (found.size !== claimed.parts.length)
          throw invalid(entry, `has ${found.size} parts in the volumes, volumes.json lists ${claimed.parts.length}`)
        const head = segments[0]!
        entries.set(entry, {
          name: entry,
          size: claimed.size,
          dataOffset: head.offset,
          volume: head.file,
          parts: segments,
        })
      }
      for (const claimed of set.split)
        if (!parts.has(claimed.entry))
          throw new AirlockError(
            'ARCHIVE_INCOMPLETE',
            `${manifest}: lists ${claimed.entry} as split, but no volume holds its parts`,
          )
      // The layout files, read whole (bounded; a split one is read across its volumes).
      const small = new Map<string, Buffer>()
      for (const [name, limit] of Object.entries(SMALL_FILES)) {
        const record = entries.get(name)
        if (!record) continue
        if (record.size > limit)
          throw new AirlockError(
            'TOO_LARGE',
            `entry ${JSON.stringify(name)} is ${record.size} bytes, over the ${limit} byte limit`,
          )
        small.set(name, await readSegments(files, segmentsOf(record), record.size))
      }
      const reader = ArchiveReader.fromPass(manifest, files, entries, small, {
        bytes: set.totalBytes,
        count,
        hashed: false,
        volumeSet: {
          manifest,
          manifestSha256,
          setId: set.setId,
          count: set.count,
          volumes: files.map(f => f.path),
        },
      })
      reader.setVolumes = set.volumes
      if (options.hash) {
        const {hash: _, ...rest} = options
        await reader.hashPending(rest)
      }
      return reader
    } catch (error) {
      await closeAll()
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
    const files = this.openFiles()
    const byFile = files.map(() => ({ranges: [] as RangeToHash[], records: [] as EntryRecord[]}))
    const split: EntryRecord[] = []
    for (const record of this.entries.values()) {
      if (record.digest || record.hashSkipped) continue
      const blob = digestFromBlobPath(record.name)
      if (blob && options.skipHash?.has(blob)) {
        record.hashSkipped = true
        continue
      }
      if (record.parts) {
        split.push(record)
        continue
      }
      const group = byFile[record.volume ?? 0]!
      group.ranges.push({name: record.name, offset: record.dataOffset, size: record.size})
      group.records.push(record)
    }
    const isSet = this.volumeSet !== undefined
    for (const [i, file] of files.entries()) {
      const {ranges, records} = byFile[i]!
      // A volume is hashed whole as one more range of the same pass.
      const whole = isSet ? [{name: `volume ${basename(file.path)}`, offset: 0, size: file.identity.size}] : []
      const all = [...ranges, ...whole]
      const bytes = all.reduce((n, r) => n + r.size, 0)
      const pool =
        options.workers !== 0 && (options.workers !== undefined || bytes >= WORKER_THRESHOLD_BYTES)
          ? HashPool.start(file.path, options.workers)
          : undefined
      // Progress counts entry bytes only (a volume's own hash re-reads the same bytes).
      const onBytes = isSet ? undefined : options.onBytes
      let digests: string[]
      try {
        digests = pool ? await pool.hash(all, onBytes) : await hashInThread(file.path, all, onBytes)
      } catch (error) {
        const e = toAirlockError(error, 'ARCHIVE_INVALID')
        throw isSet ? new AirlockError(e.code, `${file.path}: ${e.message}`, {cause: error}) : e
      } finally {
        await pool?.close()
      }
      for (const [j, record] of records.entries()) record.digest = digests[j] as Digest
      if (isSet) {
        options.onBytes?.(ranges.reduce((n, r) => n + r.size, 0))
        const got = digests[digests.length - 1]!.slice('sha256:'.length)
        const want = this.setVolumes[i]!
        if (got !== want.sha256)
          throw new AirlockError(
            'DIGEST_MISMATCH',
            `${file.path}: volume ${want.volume} hashes to sha256 ${got}, but volumes.json says ${want.sha256}: the volume is corrupt, or volumes.json is not this set's`,
            {hint: `copy ${basename(file.path)} again; compare volumes.json's sha256 with the one export printed`},
          )
      }
    }
    // Split entries: one stream across their volumes, hashed in this thread.
    for (const record of split) {
      const hash = createHash('sha256')
      for await (const chunk of this.segmentStream(segmentsOf(record), 0, record.size)) hash.update(chunk)
      record.digest = `sha256:${hash.digest('hex')}` as Digest
      options.onBytes?.(record.size)
    }
    // Small layout files were read whole by the pass: hash the bytes that were parsed, not a re-read.
    for (const [name, bytes] of this.layoutBytes) {
      const record = this.entries.get(name)
      if (record && !record.digest) record.digest = sha256(bytes)
    }
    this.hashed = true
    await this.checkUnchanged()
  }

  /** Throws when a file at its path or behind its handle is no longer the file opened (replaced, grown, rewritten). */
  async checkUnchanged(): Promise<void> {
    for (const file of this.openFiles()) await checkIdentity(file.path, file.fh, file.identity)
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
    const index = wrap(() => parseLayoutIndex(need(INDEX_JSON), ''))
    const airlock = wrap(() => parseAirlockJson(need(AIRLOCK_JSON)))
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
    const raw = this.segmentStream(segmentsOf(record), 0, record.size)
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
        return this.segmentStream(segments, offset, length)
      },
    }
  }

  /**
   * `length` bytes at `start` of an entry laid out as `segments` (one for a whole entry, one per part for a split
   * one), through the open handles: positional reads, so concurrent streams do not interfere.
   */
  private segmentStream(segments: readonly Segment[], start: number, length: number): Readable {
    const files = this.openFiles()
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

  async close(): Promise<void> {
    const files = this.files ?? []
    this.files = undefined
    for (const file of files) await file.fh.close()
  }
}

function segmentsOf(record: EntryRecord): Segment[] {
  return record.parts ?? [{file: record.volume ?? 0, offset: record.dataOffset, size: record.size}]
}

/** An entry's bytes (small: layout files, manifests), read across its segments. Throws on a short read. */
async function readSegments(files: readonly OpenFile[], segments: readonly Segment[], size: number): Promise<Buffer> {
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

function checkLabel(label: VolumeLabel, set: VolumesJson, volume: number, path: string): void {
  if (label.setId !== set.setId)
    throw new AirlockError(
      'ARCHIVE_INVALID',
      `volume of another export (set ${label.setId}), not of ${set.name} (set ${set.setId}): volumes of two exports are mixed`,
      {hint: `find volume ${volume} of ${set.name} and put it in place of ${basename(path)}`},
    )
  if (label.volume !== volume)
    throw new AirlockError(
      'ARCHIVE_INVALID',
      `holds volume ${label.volume} of the set, not volume ${volume}: volumes renamed, swapped or repeated`,
      {hint: `give each volume its own name (${basename(volumeFile(set.name, label.volume))} for this one)`},
    )
}

async function checkIdentity(path: string, fh: FileHandle, identity: FileIdentity): Promise<void> {
  let held: FileIdentity
  let named: FileIdentity
  try {
    held = identityOf(await fh.stat())
    named = identityOf(await stat(path))
  } catch (error) {
    throw new AirlockError(
      'ARCHIVE_INVALID',
      `${path}: the archive can no longer be read (${toAirlockError(error).message})`,
      {cause: error},
    )
  }
  if (!sameIdentity(held, identity) || !sameIdentity(named, identity))
    throw new AirlockError(
      'ARCHIVE_INVALID',
      `${path}: the archive file changed while airlock was reading it (size, modification time or inode differ)`,
      {
        hint: 'copy the archive to local storage that nothing else writes to, then run again',
      },
    )
}

async function startPool(path: string, workers: number | undefined): Promise<HashPool | undefined> {
  if (workers === 0) return undefined
  if (workers === undefined) {
    let size: number
    try {
      size = (await stat(path)).size
    } catch {
      return undefined // scanTar reports the unreadable file
    }
    if (size < WORKER_THRESHOLD_BYTES) return undefined
  }
  return HashPool.start(path, workers)
}

function sha256(bytes: Buffer): Digest {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`
}
