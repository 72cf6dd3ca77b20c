// The hashing pass: every entry's sha256 from the archive's bytes, on every core (worker threads over positional reads,
// src/archive/hash-pool.ts; small archives in this thread). For a volume set, each volume's own sha256 is checked
// against volumes.json in the same pass, so a corrupt, swapped or foreign volume is named as such.
import {createHash} from 'node:crypto'
import {stat} from 'node:fs/promises'
import {basename} from 'node:path'
import {AirlockError, toAirlockError} from '../errors.ts'
import type {Digest} from '../oci/digest.ts'
import {type EntryRecord, segmentStream, segmentsOf} from './entries.ts'
import type {OpenFile} from './file-identity.ts'
import {HashPool, hashInThread, type RangeToHash, WORKER_THRESHOLD_BYTES} from './hash-pool.ts'
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
  const byFile = files.map(() => ({ranges: [] as RangeToHash[], records: [] as EntryRecord[]}))
  const split: EntryRecord[] = []
  for (const record of entries.values()) {
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
  const isSet = setVolumes !== undefined
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
      const want = setVolumes![i]!
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
    for await (const chunk of segmentStream(files, segmentsOf(record), 0, record.size)) hash.update(chunk)
    record.digest = `sha256:${hash.digest('hex')}` as Digest
    options.onBytes?.(record.size)
  }
  // Small layout files were read whole by the pass: hash the bytes that were parsed, not a re-read.
  for (const [name, bytes] of layoutBytes) {
    const record = entries.get(name)
    if (record && !record.digest) record.digest = sha256(bytes)
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
