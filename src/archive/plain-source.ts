// The plain archive's pass: one forward walk over the tar headers that checks every entry (entry-rules.ts) and its
// structure, skipping bodies by seeking, and remembers where each entry's bytes are. When asked to hash (verify), the
// bodies are then hashed on every core by worker threads over positional reads (src/archive/hash-pool.ts), so
// verifying costs what hashing costs.
import type {FileHandle} from 'node:fs/promises'
import {open} from 'node:fs/promises'
import {AirlockError, toAirlockError} from '../errors.ts'
import type {Digest} from '../oci/digest.ts'
import type {EntryRecord} from './entries.ts'
import {entryProblem, invalidEntry, SMALL_FILES} from './entry-rules.ts'
import {checkIdentity, type FileIdentity, identityOf} from './file-identity.ts'
import {HashPool, hashInThread, type RangeToHash, WORKER_THRESHOLD_BYTES} from './hash-pool.ts'
import {type ScanOptions, sha256, startPool} from './hashing-pass.ts'
import {digestFromBlobPath} from './schema.ts'
import {KeepSink, scanTar} from './tar.ts'

export interface ScannedArchive {
  fh: FileHandle
  identity: FileIdentity
  entries: Map<string, EntryRecord>
  /** The layout files' bytes, read whole by the pass. */
  small: Map<string, Buffer>
  bytes: number
  count: number
}

/** Opens the archive at `path` and walks it (hashing if asked); on failure the file is closed again. */
export async function scanArchive(path: string, options: ScanOptions): Promise<ScannedArchive> {
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
      if (seen.has(key)) throw invalidEntry(entry.name, 'appears more than once in the archive')
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
      if (options.workers !== undefined || bytes >= WORKER_THRESHOLD_BYTES) pool = HashPool.start(path, options.workers)
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
    // the identity check's refusal already names the archive
    const message = e.message.startsWith(`${path}: `) ? e.message : `${path}: ${e.message}`
    throw new AirlockError(e.code, message, {cause: error, ...(e.hint ? {hint: e.hint} : {})})
  } finally {
    await pool?.close()
  }
  return {fh, identity, entries, small, bytes: scan.bytes, count: scan.entries}
}
