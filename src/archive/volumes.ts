// Volume sets (issue 17 item 4): one logical archive written as NAME.vol001.tar ... NAME.volNNN.tar plus
// NAME.volumes.json. This module holds what both sides agree on: the names, the size flag's grammar, the label each
// volume starts with, the names of split parts, and the strict parser of the manifest (which, like everything
// carried, is a claim: the reader checks it against the volumes, and the volumes against it).
import {createHash} from 'node:crypto'
import {readFileSync, statSync} from 'node:fs'
import {basename, dirname, join} from 'node:path'
import {AirlockError} from '../errors.ts'
import {removeStaleTemporaries} from '../util/files.ts'
import {parseJsonStrict} from '../oci/manifest.ts'

export const VOLUMES_FORMAT = 1
/** The first entry of every volume: which set (random id) and which volume of it. */
export const VOLUME_LABEL = 'airlock-volume.json'
export const MAX_LABEL_BYTES = 1024
/** volumes.json lists every volume and split entry: small, but read whole, so bounded. */
export const MAX_VOLUMES_JSON_BYTES = 16 * 1024 * 1024
export const MAX_VOLUMES = 999
/** A volume must hold its label, a few headers and some data; smaller is a typo, not a medium. */
export const MIN_VOLUME_BYTES = 64 * 1024
const VOLUME_FILE = /^(.+)\.vol([0-9]{3})\.tar$/
const SET_ID = /^[0-9a-f]{32}$/
const HEX64 = /^[0-9a-f]{64}$/
/** A part of a split entry: `parts/<entry name>.<NNN>`, 1-based; `parts/` is a root no plain archive may use. */
const PART_NAME = /^parts\/(.+)\.([0-9]{3})$/

const UNITS: Record<string, number> = {
  '': 1,
  K: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  KI: 2 ** 10,
  MI: 2 ** 20,
  GI: 2 ** 30,
  TI: 2 ** 40,
}

/** `4.7G` (decimal), `4Gi` (binary), `700M`, `123456` (bytes); `B` may follow (`4.7GB`, `64KiB`). */
export function parseVolumeSize(text: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)\s*([KMGT]i?)?B?$/i.exec(text.trim())
  const usage = (why: string) =>
    new AirlockError('USAGE', `--volume-size ${JSON.stringify(text)}: ${why}`, {
      hint: 'e.g. --volume-size 4.7G (DVD), 25G, 4Gi; K/M/G/T are powers of 1000, Ki/Mi/Gi/Ti powers of 1024',
    })
  if (!m) throw usage('not a size')
  const unit = UNITS[(m[2] ?? '').toUpperCase()]!
  const bytes = Math.floor(Number(m[1]) * unit)
  if (!Number.isSafeInteger(bytes)) throw usage('too large')
  if (bytes < MIN_VOLUME_BYTES) throw usage(`below the ${MIN_VOLUME_BYTES} byte (64Ki) minimum`)
  return bytes
}

/** `dir/NAME` for an output `dir/NAME.tar` (or `dir/NAME` as given). */
export function setBase(output: string): string {
  return output.replace(/\.tar$/, '')
}

export function volumeFile(base: string, volume: number): string {
  return `${base}.vol${String(volume).padStart(3, '0')}.tar`
}

export function manifestFile(base: string): string {
  return `${base}.volumes.json`
}

/**
 * Removes the temporaries an interrupted export of the set for OUTPUT left beside it (`.NAME.volNNN.tar.partial-*`,
 * `.NAME.volumes.json.partial-*`) that no live process holds (util/files.ts removeStaleTemporaries); returns them.
 */
export function removeStaleSetPartials(output: string): string[] {
  const base = setBase(output)
  const name = basename(base)
  return removeStaleTemporaries(dirname(base), stem => {
    if (stem === `.${basename(manifestFile(base))}`) return true
    const volume = stem.startsWith('.') ? parseVolumeFile(stem.slice(1)) : undefined
    return volume !== undefined && volume.base === name
  })
}

/** The set base and volume number of `NAME.volNNN.tar`, or undefined. */
export function parseVolumeFile(path: string): {base: string; volume: number} | undefined {
  const m = VOLUME_FILE.exec(basename(path))
  return m ? {base: join(dirname(path), m[1]!), volume: Number(m[2])} : undefined
}

export function isManifestFile(path: string): boolean {
  return path.endsWith('.volumes.json')
}

export function partName(entry: string, part: number): string {
  return `parts/${entry}.${String(part).padStart(3, '0')}`
}

export function parsePartName(name: string): {entry: string; part: number} | undefined {
  const m = PART_NAME.exec(name)
  return m ? {entry: m[1]!, part: Number(m[2])} : undefined
}

export interface VolumeLabel {
  airlockVolume: number
  setId: string
  volume: number
}

export function labelBytes(setId: string, volume: number): Buffer {
  return Buffer.from(`${JSON.stringify({airlockVolume: VOLUMES_FORMAT, setId, volume})}\n`)
}

export function parseLabel(bytes: Buffer, file: string): VolumeLabel {
  let json: unknown
  try {
    json = parseJsonStrict(bytes, VOLUME_LABEL, MAX_LABEL_BYTES)
  } catch (error) {
    throw new AirlockError('ARCHIVE_INVALID', `${file}: ${VOLUME_LABEL} is not valid JSON`, {cause: error})
  }
  const o = json as Partial<VolumeLabel>
  if (
    typeof o !== 'object' ||
    o === null ||
    o.airlockVolume !== VOLUMES_FORMAT ||
    typeof o.setId !== 'string' ||
    !SET_ID.test(o.setId) ||
    !Number.isSafeInteger(o.volume) ||
    o.volume! < 1 ||
    o.volume! > MAX_VOLUMES
  )
    throw new AirlockError('ARCHIVE_INVALID', `${file}: ${VOLUME_LABEL} is not a volume label airlock wrote`)
  return {airlockVolume: o.airlockVolume, setId: o.setId, volume: o.volume!}
}

export interface VolumeRecord {
  volume: number
  file: string
  size: number
  /** Lowercase hex, as `sha256sum` prints it. */
  sha256: string
}

export interface SplitPart {
  part: number
  volume: number
  name: string
  size: number
  sha256: string
}

export interface SplitEntry {
  entry: string
  size: number
  parts: SplitPart[]
}

/** NAME.volumes.json. */
export interface VolumesJson {
  airlockVolumes: number
  setId: string
  /** NAME: volume files are NAME.volNNN.tar beside this file. */
  name: string
  volumeSize: number
  count: number
  totalBytes: number
  /** In order: volume 1 first. */
  volumes: VolumeRecord[]
  /** Entries larger than the room left in a volume, split across volumes. */
  split: SplitEntry[]
}

function lie(file: string, what: string): AirlockError {
  return new AirlockError('ARCHIVE_INVALID', `${file}: ${what}`, {
    hint: 'volumes.json is not the one written with these volumes; compare its sha256 with the one export printed',
  })
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const isSize = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0

/** Strictly parses NAME.volumes.json (every field checked, and checked against the others). */
export function parseVolumesJson(bytes: Buffer, file: string): VolumesJson {
  let json: unknown
  try {
    json = parseJsonStrict(bytes, basename(file), MAX_VOLUMES_JSON_BYTES)
  } catch (error) {
    throw new AirlockError('ARCHIVE_INVALID', `${file}: not valid JSON`, {cause: error})
  }
  if (!isObject(json) || json['airlockVolumes'] !== VOLUMES_FORMAT)
    throw new AirlockError('ARCHIVE_INVALID', `${file}: not a volumes.json written by airlock export --volume-size`)
  const {setId, name, volumeSize, count, totalBytes, volumes, split} = json
  if (typeof setId !== 'string' || !SET_ID.test(setId)) throw lie(file, 'setId is not 32 lowercase hex digits')
  if (typeof name !== 'string' || name.length === 0 || name.includes('/') || name.includes('\0'))
    throw lie(file, 'name is not a plain file name')
  if (!isSize(volumeSize) || volumeSize < MIN_VOLUME_BYTES) throw lie(file, 'volumeSize is not a valid size')
  if (!Number.isSafeInteger(count) || (count as number) < 1 || (count as number) > MAX_VOLUMES)
    throw lie(file, `count is not between 1 and ${MAX_VOLUMES}`)
  if (!Array.isArray(volumes) || volumes.length !== count)
    throw lie(file, `count says ${count} volumes but ${Array.isArray(volumes) ? volumes.length : 'no'} are listed`)
  const records: VolumeRecord[] = volumes.map((v, i) => {
    const want = volumeFile(name, i + 1)
    if (!isObject(v) || v['volume'] !== i + 1) throw lie(file, `volumes[${i}] is not volume ${i + 1}`)
    if (v['file'] !== want) throw lie(file, `volumes[${i}].file is not ${JSON.stringify(want)}`)
    if (!isSize(v['size']) || (v['size'] as number) > (volumeSize as number))
      throw lie(file, `volumes[${i}].size is not a size within volumeSize`)
    if (typeof v['sha256'] !== 'string' || !HEX64.test(v['sha256']))
      throw lie(file, `volumes[${i}].sha256 is not 64 lowercase hex digits`)
    return {volume: i + 1, file: want, size: v['size'] as number, sha256: v['sha256']}
  })
  const sum = records.reduce((n, r) => n + r.size, 0)
  if (totalBytes !== sum) throw lie(file, `totalBytes ${totalBytes} is not the sum of the volume sizes (${sum})`)
  if (!Array.isArray(split)) throw lie(file, 'split is not a list')
  const splits: SplitEntry[] = split.map((s, i) => {
    if (!isObject(s) || typeof s['entry'] !== 'string' || !isSize(s['size']) || !Array.isArray(s['parts']))
      throw lie(file, `split[${i}] is not an entry with parts`)
    const entry = s['entry']
    let at = 0
    const parts = (s['parts'] as unknown[]).map((p, j) => {
      if (
        !isObject(p) ||
        p['part'] !== j + 1 ||
        p['name'] !== partName(entry, j + 1) ||
        !Number.isSafeInteger(p['volume']) ||
        (p['volume'] as number) < 1 ||
        (p['volume'] as number) > (count as number) ||
        !isSize(p['size']) ||
        typeof p['sha256'] !== 'string' ||
        !HEX64.test(p['sha256'])
      )
        throw lie(file, `split[${i}].parts[${j}] is not part ${j + 1} of ${entry}`)
      at += p['size'] as number
      return {
        part: j + 1,
        volume: p['volume'] as number,
        name: p['name'],
        size: p['size'] as number,
        sha256: p['sha256'],
      }
    })
    if (parts.length < 2 || at !== s['size'])
      throw lie(file, `split[${i}]: the parts of ${entry} do not add up to its ${s['size']} bytes`)
    return {entry, size: s['size'] as number, parts}
  })
  return {
    airlockVolumes: VOLUMES_FORMAT,
    setId,
    name,
    volumeSize: volumeSize as number,
    count: count as number,
    totalBytes: sum,
    volumes: records,
    split: splits,
  }
}

/** Reads and parses NAME.volumes.json (size checked before reading). */
export function readVolumesJson(file: string): VolumesJson {
  return readVolumesJsonHashed(file).set
}

/** readVolumesJson, with the sha256 (hex) of the bytes parsed. */
export function readVolumesJsonHashed(file: string): {set: VolumesJson; sha256: string} {
  let bytes: Buffer
  try {
    if (statSync(file).size > MAX_VOLUMES_JSON_BYTES)
      throw new AirlockError('TOO_LARGE', `${file} is over the ${MAX_VOLUMES_JSON_BYTES} byte limit`)
    bytes = readFileSync(file)
  } catch (error) {
    if (error instanceof AirlockError) throw error
    throw new AirlockError('ARCHIVE_INCOMPLETE', `${file} cannot be read: ${(error as Error).message}`, {
      hint: 'a volume set is read through its NAME.volumes.json, which export writes beside the volumes: copy it too',
    })
  }
  return {set: parseVolumesJson(bytes, file), sha256: createHash('sha256').update(bytes).digest('hex')}
}

/**
 * What the user named on the command line, as one archive argument: a plain archive, a NAME.volumes.json, or every
 * NAME.volNNN.tar of one set in any order (turned into the set's volumes.json beside them, after checking the files
 * named are one set, each volume once, none missing). The reader then opens the volumes volumes.json lists.
 */
export function archiveArgument(paths: readonly string[]): string {
  if (paths.length === 0) throw new AirlockError('USAGE', 'no archive given')
  if (paths.length === 1 && !parseVolumeFile(paths[0]!)) return paths[0]!
  const stray = paths.find((path, i) => i > 0 && !parseVolumeFile(path)) ?? paths.find(p => !parseVolumeFile(p))
  if (stray !== undefined)
    throw new AirlockError(
      'USAGE',
      `Unexpected argument: ${stray === paths[0] ? paths[1] : stray} (this command takes 1 argument(s): ARCHIVE)`,
      {
        hint: 'give one archive, a NAME.volumes.json, or the volumes of one set (NAME.vol*.tar)',
        details: {usage: {kind: 'unexpected-argument'}},
      },
    )
  const parsed = paths.map(path => ({path, ...parseVolumeFile(path)!}))
  const base = parsed[0]!.base
  const other = parsed.find(p => p.base !== base)
  if (other)
    throw new AirlockError(
      'ARCHIVE_INVALID',
      `${other.path} is not a volume of ${basename(base)}: volumes of two sets (${basename(base)}, ${basename(other.base)}) given together`,
      {hint: 'give the volumes of one export only'},
    )
  const seen = new Set<number>()
  for (const p of parsed) {
    if (seen.has(p.volume)) throw new AirlockError('ARCHIVE_INVALID', `${p.path}: volume ${p.volume} is given twice`)
    seen.add(p.volume)
  }
  const manifest = manifestFile(base)
  const set = readVolumesJson(manifest)
  if (set.name !== basename(base))
    throw new AirlockError(
      'ARCHIVE_INVALID',
      `${manifest} describes the set ${JSON.stringify(set.name)}, not ${JSON.stringify(basename(base))}`,
      {hint: 'volumes.json belongs to another export: keep each set with its own volumes.json'},
    )
  const missing = set.volumes.filter(v => !seen.has(v.volume)).map(v => join(dirname(base), v.file))
  if (missing.length > 0)
    throw new AirlockError(
      'ARCHIVE_INCOMPLETE',
      `the set ${basename(base)} has ${set.count} volumes; missing: ${missing.join(', ')}`,
      {hint: 'wait for every volume (airlock verify-volume FILE says which are still missing)'},
    )
  const extra = parsed.find(p => p.volume > set.count)
  if (extra)
    throw new AirlockError(
      'ARCHIVE_INVALID',
      `${extra.path}: the set ${basename(base)} has ${set.count} volumes (${manifest}), not ${extra.volume}`,
    )
  return manifest
}
