// verify-volume: one volume checked as it arrives (through a diode, one at a time), against the set's
// volumes.json: its label (this set? which volume?), its size, its sha256, its tar structure; then which volumes of
// the set are still missing, from the files beside it. The volumes' contents are verified by `airlock verify` of
// the whole set; this check needs only the one volume and volumes.json.
import {open, stat} from 'node:fs/promises'
import {basename, dirname, join} from 'node:path'
import {AirlockError, toAirlockError} from '../errors.ts'
import {HashPool, hashInThread, WORKER_THRESHOLD_BYTES} from './hash-pool.ts'
import {entryProblem} from './entry-rules.ts'
import {KeepSink, scanTar} from './tar.ts'
import {
  MAX_LABEL_BYTES,
  manifestFile,
  parseLabel,
  parsePartName,
  parseVolumeFile,
  readVolumesJsonHashed,
  VOLUME_LABEL,
  type VolumeLabel,
} from './volumes.ts'

export interface VolumeCheck {
  file: string
  volume: number
  count: number
  size: number
  sha256: string
  setId: string
  manifest: string
  /** sha256 (hex) of volumes.json: compare with the one export printed. */
  manifestSha256: string
  /** Volume files of the set present beside volumes.json with their listed size (not hashed here). */
  present: string[]
  /** Volume files of the set not there yet (or not at their listed size). */
  missing: string[]
  complete: boolean
}

export async function checkVolume(file: string, volumes?: string): Promise<VolumeCheck> {
  const named = parseVolumeFile(file)
  const manifest = volumes ?? (named ? manifestFile(named.base) : undefined)
  if (!manifest)
    throw new AirlockError('USAGE', `${file} is not named NAME.volNNN.tar, so its volumes.json cannot be found`, {
      hint: 'pass --volumes NAME.volumes.json',
    })
  const {set, sha256: manifestSha256} = readVolumesJsonHashed(manifest)
  let size: number
  try {
    size = (await stat(file)).size
  } catch (error) {
    throw new AirlockError('IO_ERROR', `${file}: ${toAirlockError(error).message}`)
  }
  // The label first: which set and which volume this claims to be (read even if the rest is damaged).
  let label: VolumeLabel | undefined
  let structure: AirlockError | undefined
  const fh = await open(file, 'r')
  try {
    let first = true
    await scanTar(fh, entry => {
      if (first) {
        first = false
        if (entry.name !== VOLUME_LABEL || entry.type !== 'File' || entry.size > MAX_LABEL_BYTES)
          throw new AirlockError('ARCHIVE_INVALID', 'does not start with a volume label: not a volume airlock wrote')
        return new KeepSink(kept => (label = parseLabel(kept, file)))
      }
      const part = parsePartName(entry.name)
      const problem = entryProblem(part ? {...entry, name: part.entry} : entry)
      if (problem) throw problem
      return undefined
    })
  } catch (error) {
    structure = toAirlockError(error, 'ARCHIVE_INVALID')
    if (!label) throw new AirlockError(structure.code, `${file}: ${structure.message}`, {cause: error})
  } finally {
    await fh.close()
  }
  const claimed = label!
  if (claimed.setId !== set.setId)
    throw new AirlockError(
      'ARCHIVE_INVALID',
      `${file} is a volume of another export (set ${claimed.setId}), not of ${set.name} (set ${set.setId}, ${manifest})`,
      {hint: 'volumes of two exports are mixed: keep each set with its own volumes.json'},
    )
  if (named && basename(named.base) === set.name && named.volume !== claimed.volume)
    throw new AirlockError(
      'ARCHIVE_INVALID',
      `${file} holds volume ${claimed.volume} of the set, not volume ${named.volume}: volumes renamed, swapped or repeated`,
      {hint: `its name is ${set.volumes[claimed.volume - 1]?.file ?? `volume ${claimed.volume}`}`},
    )
  const record = set.volumes[claimed.volume - 1]
  if (!record)
    throw new AirlockError(
      'ARCHIVE_INVALID',
      `${file} says it is volume ${claimed.volume}, but ${manifest} lists ${set.count} volume(s)`,
    )
  if (size !== record.size)
    throw new AirlockError(
      'ARCHIVE_INVALID',
      `${file} is ${size} bytes, but volume ${record.volume} is ${record.size}${size < record.size ? ': truncated' : ''}`,
      {hint: 'copy the volume again'},
    )
  if (structure) throw new AirlockError(structure.code, `${file}: ${structure.message}`)
  const range = [{name: basename(file), offset: 0, size}]
  let digest: string
  if (size >= WORKER_THRESHOLD_BYTES) {
    const pool = HashPool.start(file, 1)
    try {
      digest = (await pool.hash(range))[0]!
    } finally {
      await pool.close()
    }
  } else digest = (await hashInThread(file, range))[0]!
  const sha256 = digest.slice('sha256:'.length)
  if (sha256 !== record.sha256)
    throw new AirlockError(
      'DIGEST_MISMATCH',
      `${file}: volume ${record.volume} hashes to sha256 ${sha256}, but volumes.json says ${record.sha256}: the volume is corrupt, or volumes.json is not this set's`,
      {hint: `copy it again; volumes.json's sha256 is ${manifestSha256}: compare it with the one export printed`},
    )
  const present: string[] = []
  const missing: string[] = []
  for (const v of set.volumes) {
    const path = join(dirname(manifest), v.file)
    const there = await stat(path).then(
      st => st.size === v.size,
      () => false,
    )
    ;(there ? present : missing).push(path)
  }
  return {
    file,
    volume: record.volume,
    count: set.count,
    size,
    sha256,
    setId: set.setId,
    manifest,
    manifestSha256,
    present,
    missing,
    complete: missing.length === 0,
  }
}
