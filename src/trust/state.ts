// Memory across imports: the newest TUF versions accepted per pinned root, so a replayed older archive is refused.
// The file is keyed by the pinned root's fingerprint (src/trust/keys.ts), never by a name from the archive: renaming
// the mirror directory inside an archive must not give it an empty state (issue 10, finding 5).
import {mkdirSync, readFileSync} from 'node:fs'
import {homedir} from 'node:os'
import {join} from 'node:path'
import {AirlockError} from '../errors.ts'
import {removeStaleTemporaries, writeFileAtomicSync} from '../util/files.ts'

export interface TufState {
  format: 2
  /** fingerprint of the pinned root this state belongs to (also the file name) */
  pinnedRoot: string
  /** mirror name the last accepted archive used (informational: never used to find the state) */
  mirror: string
  root: number
  timestamp: number
  /** sha256 of the accepted timestamp: the same version with other content is refused (TUF 5.4.3) */
  timestampSha256?: string
  snapshot: number
  targets: number
  /** every other role the accepted snapshot lists, by role name: none may vanish or go back (TUF 5.5.5) */
  delegated: Record<string, number>
  /** fingerprints of the timestamp and snapshot keys of the accepted root, to detect their rotation (TUF 5.3.11) */
  timestampKeys: string[]
  snapshotKeys: string[]
  /** the reference time of the import that wrote this: expiry is never judged at an earlier time (clock set back) */
  updatedAt: string
}

/** What a format-1 state (keyed by mirror name) contributes: its floors, and key ids instead of key fingerprints. */
export interface LegacyTufState extends Omit<TufState, 'format' | 'timestampKeys' | 'snapshotKeys'> {
  format: 1
  timestampKeyids: string[]
  snapshotKeyids: string[]
}

/** `$XDG_STATE_HOME/airlock`, else `~/.local/state/airlock`. */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_STATE_HOME
  return xdg?.startsWith('/') ? join(xdg, 'airlock') : join(homedir(), '.local', 'state', 'airlock')
}

/** `<dir>/tuf/root-<fingerprint>.json` */
export function stateFilePath(dir: string, pinnedRoot: string): string {
  if (!/^[0-9a-f]{64}$/.test(pinnedRoot))
    throw new AirlockError('INTERNAL', `not a pinned root fingerprint: ${pinnedRoot}`)
  return join(dir, 'tuf', `root-${pinnedRoot}.json`)
}

/** Format 1 (before the state was keyed by the pinned root): `<dir>/tuf/<mirror name>.json`. */
export function legacyStateFilePath(dir: string, mirrorId: string): string {
  return join(dir, 'tuf', `${mirrorId}.json`)
}

function readJson(file: string): Record<string, unknown> | undefined {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new AirlockError('IO_ERROR', `cannot read TUF state ${file}: ${(error as Error).message}`, {cause: error})
  }
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch (error) {
    throw corrupt(file, 'is not valid JSON', error)
  }
  if (!data || typeof data !== 'object' || Array.isArray(data)) throw corrupt(file, 'is not a JSON object')
  return data as Record<string, unknown>
}

function corrupt(file: string, what: string, cause?: unknown): AirlockError {
  return new AirlockError('TRUST_INVALID', `TUF state file ${file} ${what}`, {
    ...(cause ? {cause} : {}),
    hint: 'the rollback memory is never reset silently: restore the file from a backup, or remove it only if you know why it is corrupt',
  })
}

/** A field reader that refuses, naming the file, anything but the expected type: a corrupt floor is never 0. */
function fields(file: string, data: Record<string, unknown>) {
  const version = (name: string, v: unknown, min = 0): number => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min)
      throw corrupt(file, `has an invalid ${name} ${JSON.stringify(v)} (want a safe integer >= ${min})`)
    return v
  }
  const string = (name: string, optional = false): string | undefined => {
    const v = data[name]
    if (v === undefined && optional) return undefined
    if (typeof v !== 'string') throw corrupt(file, `has an invalid ${name} ${JSON.stringify(v)}`)
    return v
  }
  const strings = (name: string): string[] => {
    // null is corrupt, not empty: an empty list would drop the rotation memory without a word
    const v = data[name] === undefined ? [] : data[name]
    if (!Array.isArray(v) || v.some(x => typeof x !== 'string')) throw corrupt(file, `has an invalid ${name}`)
    return v as string[]
  }
  const delegated = (): Record<string, number> => {
    const v = data.delegated === undefined ? {} : data.delegated
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw corrupt(file, 'has an invalid delegated map')
    const out: Record<string, number> = Object.create(null)
    for (const [role, n] of Object.entries(v)) out[role] = version(`delegated ${role}`, n)
    return out
  }
  return {version: (name: string) => version(name, data[name]), string, strings, delegated}
}

/** Reads the state of a pinned root; undefined when there is none. A corrupt file is an error naming it. */
export function readTufState(dir: string, pinnedRoot: string): TufState | undefined {
  const file = stateFilePath(dir, pinnedRoot)
  const data = readJson(file)
  if (!data) return undefined
  if (data.format !== 2) throw corrupt(file, `has format ${JSON.stringify(data.format)}, not 2`)
  const f = fields(file, data)
  if (f.string('pinnedRoot') !== pinnedRoot) throw corrupt(file, 'belongs to another pinned root')
  const timestampSha256 = f.string('timestampSha256', true)
  return {
    format: 2,
    pinnedRoot,
    mirror: f.string('mirror') as string,
    root: f.version('root'),
    timestamp: f.version('timestamp'),
    ...(timestampSha256 !== undefined ? {timestampSha256} : {}),
    snapshot: f.version('snapshot'),
    targets: f.version('targets'),
    delegated: f.delegated(),
    timestampKeys: f.strings('timestampKeys'),
    snapshotKeys: f.strings('snapshotKeys'),
    updatedAt: f.string('updatedAt') as string,
  }
}

/** Reads a format-1 state (keyed by mirror name), for migration: its floors still bind. */
export function readLegacyTufState(dir: string, mirrorId: string): LegacyTufState | undefined {
  const file = legacyStateFilePath(dir, mirrorId)
  const data = readJson(file)
  if (!data) return undefined
  if (data.format !== 1) throw corrupt(file, `has format ${JSON.stringify(data.format)}, not 1`)
  const f = fields(file, data)
  return {
    format: 1,
    pinnedRoot: '',
    mirror: (f.string('mirror', true) ?? mirrorId) as string,
    root: f.version('root'),
    timestamp: f.version('timestamp'),
    snapshot: f.version('snapshot'),
    targets: f.version('targets'),
    delegated: f.delegated(),
    timestampKeyids: f.strings('timestampKeyids'),
    snapshotKeyids: f.strings('snapshotKeyids'),
    updatedAt: (f.string('updatedAt', true) ?? '') as string,
  }
}

/** Writes atomically (temp file `.root-<fp>.json.partial-<pid>-<random>`, fsync, rename). */
export function writeTufState(dir: string, state: TufState): string {
  const file = stateFilePath(dir, state.pinnedRoot)
  try {
    mkdirSync(join(dir, 'tuf'), {recursive: true, mode: 0o700})
    writeFileAtomicSync(file, JSON.stringify(state, null, 2) + '\n', {mode: 0o600})
  } catch (error) {
    throw new AirlockError('IO_ERROR', `cannot write TUF state ${file}: ${(error as Error).message}`, {cause: error})
  }
  return file
}

/** Removes temporary state files a killed run left in DIR (see removeStaleTemporaries); returns their paths. */
export function removeStaleStateFiles(dir: string): string[] {
  return removeStaleTemporaries(join(dir, 'tuf'))
}
