// A volume set as one logical archive (issue 17 item 4), opened through its NAME.volumes.json: every volume is opened
// (its size checked against volumes.json), its label checked (the set's id, its number), its tar walked like a plain
// archive's, and the entries of all volumes (split ones joined from their parts, as volumes.json and the parts' names
// must agree) become one index. Nothing is rejoined on disk: reads of a split entry cross volumes as one stream.
import type {FileHandle} from 'node:fs/promises'
import {open, stat} from 'node:fs/promises'
import {basename, dirname, join} from 'node:path'
import {AirlockError, toAirlockError} from '../errors.ts'
import {type EntryRecord, readSegments, type Segment, segmentsOf} from './entries.ts'
import {entryProblem, invalidEntry, SMALL_FILES} from './entry-rules.ts'
import {identityOf, type OpenFile} from './file-identity.ts'
import {KeepSink, scanTar} from './tar.ts'
import {
  MAX_LABEL_BYTES,
  parseLabel,
  parsePartName,
  readVolumesJsonHashed,
  VOLUME_LABEL,
  type VolumeLabel,
  volumeFile,
  type VolumeRecord,
  type VolumesJson,
} from './volumes.ts'

/** What a reader opened from a volume set knows about the set (volumes.json, checked against the volumes). */
export interface VolumeSetInfo {
  manifest: string
  manifestSha256: string
  setId: string
  count: number
  volumes: string[]
}

export interface OpenedSet {
  files: OpenFile[]
  entries: Map<string, EntryRecord>
  /** The layout files' bytes, read whole. */
  small: Map<string, Buffer>
  /** Entries of the logical archive (split ones counted once). */
  count: number
  totalBytes: number
  info: VolumeSetInfo
  /** volumes.json's record of each volume, in order (its size and sha256). */
  volumes: VolumeRecord[]
}

/** Opens and walks every volume of the set; on failure nothing stays open. */
export async function openVolumeSet(manifest: string): Promise<OpenedSet> {
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
            if (entry.type !== 'File') throw invalidEntry(entry.name, 'a part must be a regular file')
            const known = parts.get(part.entry) ?? new Map()
            if (known.has(part.part)) throw invalidEntry(entry.name, 'appears more than once in the set')
            known.set(part.part, {file: i, offset: entry.dataOffset, size: entry.size})
            parts.set(part.entry, known)
            return undefined
          }
          const problem = entryProblem(entry)
          if (problem) throw problem
          const key = entry.name.replace(/\/$/, '')
          if (seen.has(key)) throw invalidEntry(entry.name, 'appears more than once in the set')
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
      if (seen.has(entry)) throw invalidEntry(entry, 'appears both whole and split in the set')
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
        throw invalidEntry(entry, `has ${found.size} parts in the volumes, volumes.json lists ${claimed.parts.length}`)
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
    return {
      files,
      entries,
      small,
      count,
      totalBytes: set.totalBytes,
      info: {manifest, manifestSha256, setId: set.setId, count: set.count, volumes: files.map(f => f.path)},
      volumes: set.volumes,
    }
  } catch (error) {
    await closeAll()
    throw error
  }
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
