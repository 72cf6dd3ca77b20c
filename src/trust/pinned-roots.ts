// `--tuf-root [MIRROR=]FILE`: reading pinned roots given on the command line and pairing them with the mirrors an
// archive carries. Shared by export (which mirror to refresh from which root) and verify (which root a mirror's
// chain must start from).
import {readFileSync, statSync} from 'node:fs'
import {createHash} from 'node:crypto'
import {Metadata, MetadataKind} from '@tufjs/models'
import {AirlockError} from '../errors.ts'
import {mirrorIdFor, PUBLIC_GOOD_MIRROR} from './pinned.ts'

export const TUF_PREFIX = 'sigstore/tuf/'
export const TRUSTED_ROOT_COPY_PREFIX = 'sigstore/trusted_root/'
export const PUBLIC_GOOD_ID = mirrorIdFor(PUBLIC_GOOD_MIRROR)
/** A root.json is a few KiB; anything this big is not one. */
const MAX_TRUST_FILE = 16 * 1024 * 1024

export const sha256hex = (b: Buffer) => createHash('sha256').update(b).digest('hex')

export function readRootFile(file: string, what: string): Buffer {
  try {
    if (statSync(file).size > MAX_TRUST_FILE) throw new Error('file is too large')
    return readFileSync(file)
  } catch (error) {
    throw new AirlockError('USAGE', `cannot read ${what} ${file}: ${(error as Error).message}`)
  }
}

export function rootVersionOf(bytes: Buffer, what: string): number {
  try {
    return Metadata.fromJSON(MetadataKind.Root, JSON.parse(bytes.toString('utf8'))).signed.version
  } catch (error) {
    throw new AirlockError('TRUST_INVALID', `${what} is not valid TUF root metadata: ${(error as Error).message}`, {
      cause: error,
    })
  }
}

/** `--tuf-root [MIRROR=]FILE` split into its mirror id (if named) and file. */
export function splitTufRoot(value: string): {mirror?: string; file: string} {
  const eq = value.indexOf('=')
  if (eq > 0) {
    const left = value.slice(0, eq)
    const file = value.slice(eq + 1)
    let exists = false
    try {
      exists = statSync(value).isFile()
    } catch {
      exists = false
    }
    if (!exists && file) {
      if (/^https?:\/\//i.test(left)) return {mirror: mirrorIdFor(left.replace(/\/+$/, '')), file}
      if (/^[a-z0-9][a-z0-9._-]*$/i.test(left)) return {mirror: left.toLowerCase(), file}
    }
  }
  return {file: value}
}

export interface PinnedRoot {
  bytes: Buffer
  /** where it came from, for the report: `--tuf-root FILE` or `shipped with airlock (@sigstore/tuf)` */
  origin: string
}

/**
 * Pairs `--tuf-root` values with mirror ids. A named MIRROR must be one of `mirrorIds`; a bare FILE goes to the only
 * mirror that is not the public good one, or to the only mirror. `unknown` collects named mirrors not in the list.
 */
export function pairTufRoots(
  values: string[],
  mirrorIds: string[],
): {pinned: Map<string, PinnedRoot>; unknown: string[]} {
  const pinned = new Map<string, PinnedRoot>()
  const unknown: string[] = []
  for (const value of values) {
    const {mirror, file} = splitTufRoot(value)
    let target = mirror
    if (!target) {
      const others = mirrorIds.filter(m => m !== PUBLIC_GOOD_ID)
      const candidates = others.length > 0 ? others : mirrorIds
      if (candidates.length !== 1)
        throw new AirlockError(
          'USAGE',
          candidates.length === 0
            ? `--tuf-root ${file}: there is no TUF mirror to pin it for`
            : `--tuf-root ${file}: which mirror? (${candidates.join(', ')})`,
          {hint: 'name the mirror: --tuf-root MIRROR=FILE, MIRROR = the mirror URL or its name under sigstore/tuf/'},
        )
      target = candidates[0] as string
    }
    if (!mirrorIds.includes(target)) {
      unknown.push(target)
      continue
    }
    if (pinned.has(target)) throw new AirlockError('USAGE', `--tuf-root given twice for mirror ${target}`)
    const bytes = readRootFile(file, '--tuf-root')
    rootVersionOf(bytes, `--tuf-root ${file}`)
    pinned.set(target, {bytes, origin: `--tuf-root ${file}`})
  }
  return {pinned, unknown}
}
