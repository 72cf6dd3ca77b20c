// Memory across imports: the newest TUF versions accepted per mirror, so a replayed older archive is refused.
import {mkdirSync, readFileSync, renameSync, writeFileSync} from 'node:fs'
import {homedir} from 'node:os'
import {join} from 'node:path'
import {AirlockError} from '../errors.ts'

export interface TufState {
  format: 1
  mirror: string
  root: number
  timestamp: number
  snapshot: number
  targets: number
  /** delegated targets roles by name */
  delegated: Record<string, number>
  /** keyids of the timestamp and snapshot roles in the accepted root, to detect key rotation (TUF 5.3.11) */
  timestampKeyids: string[]
  snapshotKeyids: string[]
  /** wall-clock time of the import that wrote this (informational only) */
  updatedAt: string
}

/** `$XDG_STATE_HOME/airlock`, else `~/.local/state/airlock`. */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_STATE_HOME
  return xdg && xdg.startsWith('/') ? join(xdg, 'airlock') : join(homedir(), '.local', 'state', 'airlock')
}

export function stateFilePath(dir: string, mirrorId: string): string {
  return join(dir, 'tuf', `${mirrorId}.json`)
}

export function readTufState(dir: string, mirrorId: string): TufState | undefined {
  const file = stateFilePath(dir, mirrorId)
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new AirlockError('IO_ERROR', `cannot read TUF state ${file}: ${(error as Error).message}`, {cause: error})
  }
  let data: Partial<TufState>
  try {
    data = JSON.parse(text) as Partial<TufState>
  } catch (error) {
    throw new AirlockError('TRUST_INVALID', `TUF state file ${file} is not valid JSON`, {cause: error, hint: 'remove it only if you know why it is corrupt'})
  }
  const num = (v: unknown): number => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : 0)
  const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [])
  const delegated: Record<string, number> = {}
  if (data.delegated && typeof data.delegated === 'object') for (const [k, v] of Object.entries(data.delegated)) delegated[k] = num(v)
  return {
    format: 1,
    mirror: typeof data.mirror === 'string' ? data.mirror : mirrorId,
    root: num(data.root),
    timestamp: num(data.timestamp),
    snapshot: num(data.snapshot),
    targets: num(data.targets),
    delegated,
    timestampKeyids: strings(data.timestampKeyids),
    snapshotKeyids: strings(data.snapshotKeyids),
    updatedAt: typeof data.updatedAt === 'string' ? data.updatedAt : '',
  }
}

/** Writes atomically (temp file + rename). */
export function writeTufState(dir: string, state: TufState): string {
  const file = stateFilePath(dir, state.mirror)
  try {
    mkdirSync(join(dir, 'tuf'), {recursive: true, mode: 0o700})
    const tmp = `${file}.${process.pid}.${Date.now()}.tmp`
    writeFileSync(tmp, JSON.stringify(state, null, 2) + '\n', {mode: 0o600})
    renameSync(tmp, file)
  } catch (error) {
    throw new AirlockError('IO_ERROR', `cannot write TUF state ${file}: ${(error as Error).message}`, {cause: error})
  }
  return file
}
