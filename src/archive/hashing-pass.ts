// The hashing pass: every entry's sha256 from the archive's bytes, on every core (worker threads over positional reads,
// src/archive/hash-pool.ts; small archives in this thread). For a volume set, each volume is read once for its own
// sha256 (checked against volumes.json: a corrupt, swapped or foreign volume is named as such) and its entries'.
import {createHash} from 'node:crypto'
import {stat} from 'node:fs/promises'
import {availableParallelism} from 'node:os'
import {basename} from 'node:path'
import {AirlockError, toAirlockError} from '../errors.ts'
import type {Digest} from '../oci/digest.ts'
import {type EntryRecord, segmentStream, segmentsOf} from './entries.ts'
import type {OpenFile} from './file-identity.ts'
import {HashPool, hashInThread, hashVolumesInThread, type RangeToHash, WORKER_THRESHOLD_BYTES} from './hash-pool.ts'
import type {HashJob, VolumeGroupJob, VolumeJob} from './hash-ranges.ts'
import {digestFromBlobPath} from './schema.ts'
import type {VolumeRecord} from './volumes.ts'

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

/**
 * Hashes every entry not hashed yet, leaving out `options.skipHash` (marked hashSkipped). `setVolumes` (a volume
 * set) makes each file's own sha256 checked against its record too; `layoutBytes` are the layout files as the
 * header pass read and parsed them (hashed as read, not re-read).
 */
export async function hashPendingEntries(
  files: readonly OpenFile[],
  entries: ReadonlyMap<string, EntryRecord>,
  setVolumes: readonly VolumeRecord[] | undefined,
  layoutBytes: ReadonlyMap<string, Buffer>,
  options: Omit<ScanOptions, 'hash'>,
): Promise<void> {
  const pending: EntryRecord[] = []
  const parsed: Array<[EntryRecord, Buffer]> = []
  for (const record of entries.values()) {
    if (record.digest || record.hashSkipped) continue
    // Small layout files were read whole by the pass: hash the bytes that were parsed, not a re-read.
    const bytes = layoutBytes.get(record.name)
    if (bytes) {
      parsed.push([record, bytes])
      continue
    }
    const blob = digestFromBlobPath(record.name)
    if (blob && options.skipHash?.has(blob)) {
      record.hashSkipped = true
      continue
    }
    pending.push(record)
  }
  if (setVolumes) await hashSet(files, pending, setVolumes, options)
  else await hashFile(files[0]!, pending, options)
  for (const [record, bytes] of parsed) {
    record.digest = sha256(bytes)
    options.onBytes?.(bytes.length)
  }
}

/** A plain archive: its entries' ranges, on every core. */
async function hashFile(file: OpenFile, records: EntryRecord[], options: Omit<ScanOptions, 'hash'>): Promise<void> {
  const ranges: RangeToHash[] = records.map(r => ({name: r.name, offset: r.dataOffset, size: r.size}))
  const bytes = ranges.reduce((n, r) => n + r.size, 0)
  const pool =
    options.workers !== 0 && (options.workers !== undefined || bytes >= WORKER_THRESHOLD_BYTES)
      ? HashPool.start(file.path, options.workers)
      : undefined
  try {
    const digests = pool
      ? await pool.hash(ranges, options.onBytes)
      : await hashInThread(file.path, ranges, options.onBytes)
    for (const [j, record] of records.entries()) record.digest = digests[j] as Digest
  } catch (error) {
    throw toAirlockError(error, 'ARCHIVE_INVALID')
  } finally {
    await pool?.close()
  }
}

/**
 * A volume set: each volume read once, in order, for its own sha256 (checked against volumes.json) and its entries'
 * from the same reads. Volumes joined by a split entry are one job, read in order, so the entry's hash runs on from
 * one volume into the next; the jobs run on every core. A split entry whose parts are not in consecutive volumes in
 * part order (no export writes that) is hashed apart, as one stream across its parts.
 */
async function hashSet(
  files: readonly OpenFile[],
  records: EntryRecord[],
  setVolumes: readonly VolumeRecord[],
  options: Omit<ScanOptions, 'hash'>,
): Promise<void> {
  const ranges = files.map(() => [] as HashJob[])
  const apart: EntryRecord[] = []
  /** joined[i]: volume i and volume i + 1 are read in one job. */
  const joined = files.map(() => false)
  for (const [id, record] of records.entries()) {
    const segments = segmentsOf(record)
    if (!segments.every((s, k) => k === 0 || s.file === segments[k - 1]!.file + 1)) {
      apart.push(record)
      continue
    }
    for (const [k, segment] of segments.entries()) {
      ranges[segment.file]!.push({id, offset: segment.offset, size: segment.size})
      if (k > 0) joined[segment.file - 1] = true
    }
  }
  const groups: VolumeGroupJob[] = []
  let group: VolumeJob[] = []
  for (const [i, file] of files.entries()) {
    group.push({id: i, path: file.path, size: file.identity.size, ranges: ranges[i]!})
    if (!joined[i]) {
      groups.push({volumes: group})
      group = []
    }
  }
  const bytes = files.reduce((n, f) => n + f.identity.size, 0)
  const workers = Math.min(options.workers ?? availableParallelism(), groups.length)
  const pool =
    options.workers !== 0 && (options.workers !== undefined || bytes >= WORKER_THRESHOLD_BYTES)
      ? HashPool.start(undefined, workers)
      : undefined
  let digests: {volumes: Map<number, string>; entries: Map<number, string>}
  try {
    digests = pool
      ? await pool.hashVolumes(groups, options.onBytes)
      : await hashVolumesInThread(groups, options.onBytes)
  } catch (error) {
    throw toAirlockError(error, 'ARCHIVE_INVALID')
  } finally {
    await pool?.close()
  }
  // Each volume against volumes.json first: a corrupt, swapped or foreign volume is named as the volume it is.
  for (const [i, file] of files.entries()) {
    const got = digests.volumes.get(i)!.slice('sha256:'.length)
    const want = setVolumes[i]!
    if (got !== want.sha256)
      throw new AirlockError(
        'DIGEST_MISMATCH',
        `${file.path}: volume ${want.volume} hashes to sha256 ${got}, but volumes.json says ${want.sha256}: the volume is corrupt, or volumes.json is not this set's`,
        {hint: `copy ${basename(file.path)} again; compare volumes.json's sha256 with the one export printed`},
      )
  }
  for (const [id, record] of records.entries()) {
    const digest = digests.entries.get(id)
    if (digest) record.digest = digest as Digest
  }
  for (const record of apart) {
    const hash = createHash('sha256')
    for await (const chunk of segmentStream(files, segmentsOf(record), 0, record.size)) hash.update(chunk)
    record.digest = `sha256:${hash.digest('hex')}` as Digest
    options.onBytes?.(record.size)
  }
}

export async function startPool(path: string, workers: number | undefined): Promise<HashPool | undefined> {
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

export function sha256(bytes: Buffer): Digest {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`
}
