// What may be in an airlock archive: every tar entry's type, name and (for the layout files) size is checked by the
// header pass before any byte of it is read. The archive is hostile until proven otherwise.
import {AirlockError} from '../errors.ts'
import {MAX_MANIFEST_BYTES} from '../oci/media-types.ts'
import {
  AIRLOCK_JSON,
  digestFromBlobPath,
  extraFilePathProblem,
  INDEX_JSON,
  MAX_AIRLOCK_JSON_BYTES,
  OCI_LAYOUT,
} from './schema.ts'
import type {TarEntry} from './tar.ts'

/** The layout files, read whole by the pass, and their size limits. */
export const SMALL_FILES: Record<string, number> = {
  [OCI_LAYOUT]: 1024,
  [INDEX_JSON]: MAX_MANIFEST_BYTES,
  [AIRLOCK_JSON]: MAX_AIRLOCK_JSON_BYTES,
}
const DIRECTORY_SEGMENT = /^[A-Za-z0-9._@+=,-]+$/

export function invalidEntry(
  name: string,
  reason: string,
  code: 'ARCHIVE_INVALID' | 'UNSUPPORTED' = 'ARCHIVE_INVALID',
): AirlockError {
  return new AirlockError(code, `entry ${JSON.stringify(name)}: ${reason}`)
}

/** Why an entry may not be in an airlock archive, or undefined when it may. Checked before any byte is read. */
export function entryProblem(entry: TarEntry): AirlockError | undefined {
  const name = entry.name
  if (name.includes('\uFFFD')) return invalidEntry(name, 'name is not valid UTF-8')
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\\]/.test(name)) return invalidEntry(name, 'name has control characters or backslashes')
  if (name.startsWith('/')) return invalidEntry(name, 'absolute paths are not allowed')
  if (name.split('/').some(s => s === '..' || s === '.'))
    return invalidEntry(name, 'names with "." or ".." segments are not allowed')
  switch (entry.type) {
    case 'File':
    case 'OldFile':
      break
    case 'Directory': {
      if (entry.size !== 0) return invalidEntry(name, 'directory entry with content')
      const path = name.replace(/\/$/, '')
      if (path === 'blobs' || path === 'blobs/sha256') return undefined
      if (
        (path === 'sigstore' || path.startsWith('sigstore/')) &&
        path.split('/').every(s => DIRECTORY_SEGMENT.test(s))
      )
        return undefined
      if (path === 'airlock') return undefined
      return invalidEntry(name, 'unexpected directory')
    }
    case 'SymbolicLink':
    case 'Link':
      return invalidEntry(
        name,
        `${entry.type === 'Link' ? 'hard links' : 'symbolic links'} are not allowed (target ${JSON.stringify(entry.linkpath ?? '')})`,
      )
    default:
      return invalidEntry(name, `${entry.type} entries are not allowed; only regular files and directories`)
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
      return invalidEntry(
        name,
        `unsupported digest algorithm ${JSON.stringify(algorithm)}; only sha256 is accepted`,
        'UNSUPPORTED',
      )
    return invalidEntry(name, 'not a valid blob name (blobs/sha256/<64 lowercase hex>)')
  }
  if (name.startsWith('sigstore/') || name.startsWith('airlock/')) {
    const problem = extraFilePathProblem(name)
    return problem ? invalidEntry(name, problem) : undefined
  }
  return invalidEntry(name, 'unexpected entry (not part of an airlock archive)')
}
