// Export side of the archive's trust roots: refresh every TUF mirror before any image is copied (fetchTrust), so an
// unreachable mirror fails in seconds, then write the files under `sigstore/tuf/<mirrorId>/` (and informational
// `sigstore/trusted_root/` copies) in the export's beforeCommit hook (writeTrust). The `trust` section of
// airlock.json is a description for people and `inspect`; verify never reads it. `--trusted-root FILE` at export is
// copied to `sigstore/trusted_root/<n>.json` for convenience only: verify trusts it only when given again.
// The TUF client itself lives in src/trust/ (a leaf: it imports nothing of export, verify, push or report).
import {rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {basename} from 'node:path'
import type {ArchiveWriter} from '../archive/writer.ts'
import type {ExportHooks} from './export.ts'
import type {TrustedRoot} from '@sigstore/protobuf-specs'
import {parseTrustedRoot} from '../sigstore/trust.ts'
import {AirlockError, toAirlockError} from '../errors.ts'
import type {TufExport} from '../trust/export.ts'
import type {TrustFlagValues} from '../trust/flags.ts'
import {mirrorIdFor, PUBLIC_GOOD_MIRROR} from '../trust/pinned.ts'
import {loadTrustedRootFile} from '../trust/trusted-root-file.ts'
import {
  PUBLIC_GOOD_ID,
  readRootFile,
  sha256hex,
  TRUSTED_ROOT_COPY_PREFIX,
  TUF_PREFIX,
  pairTufRoots,
} from '../trust/pinned-roots.ts'
import {makePartialDir, removeStaleTemporaries} from '../util/files.ts'

/** The TUF client's scratch directory in the temp dir: `airlock-tuf.partial-<pid>-XXXXXX`. */
const TUF_SCRATCH = 'airlock-tuf'

/** Removes TUF scratch directories a killed export left in the temp dir; returns their paths. */
export function removeStaleTufScratch(dir = tmpdir()): string[] {
  return removeStaleTemporaries(dir, TUF_SCRATCH)
}

export interface TrustExportOptions {
  /** scratch space for the TUF client (a fresh subdirectory is used and removed); default a temp dir */
  cacheDir?: string
  fetchTimeout?: number
  /** reference time of the export self-check (default now) */
  now?: Date
  /** target paths to carry (default trusted_root.json + signing_config*.json) */
  targets?: string[]
}

export interface FetchedTrust {
  tuf: Array<TufExport & {pinnedOrigin: string}>
  trustedRootCopies: Array<{from: string; bytes: Buffer}>
  noTuf: boolean
}

export interface TrustSection {
  formatVersion: 1
  note: string
  tuf: Array<{
    mirror: string
    name: string
    pinnedRoot: string
    pinnedRootVersion: number
    rootVersion: number
    timestampVersion: number
    snapshotVersion: number
    targetsVersion: number
    targets: Record<string, string>
    files: number
  }>
  /** set when exported with --no-tuf */
  noTuf?: string
  trustedRootCopies: Array<{path: string; sha256: string; from: string}>
}

/** Online: refreshes every mirror (and reads every --trusted-root) before anything is written. */
export async function fetchTrust(flags: TrustFlagValues, options: TrustExportOptions = {}): Promise<FetchedTrust> {
  const copies = (flags['trusted-root'] ?? []).map(path => {
    loadTrustedRootFile(path) // shape check: refuse to carry something that is not a trusted root
    return {from: path, bytes: readRootFile(path, '--trusted-root')}
  })
  if (flags['no-tuf']) {
    if (flags['tuf-mirror']?.length || flags['tuf-root']?.length)
      throw new AirlockError('USAGE', '--no-tuf cannot be combined with --tuf-mirror or --tuf-root')
    return {tuf: [], trustedRootCopies: copies, noTuf: true}
  }
  const urls = (flags['tuf-mirror']?.length ? flags['tuf-mirror'] : [PUBLIC_GOOD_MIRROR]).map(u =>
    u.replace(/\/+$/, ''),
  )
  const ids = urls.map(u => mirrorIdFor(u))
  const dup = ids.find((id, i) => ids.indexOf(id) !== i)
  if (dup) throw new AirlockError('USAGE', `--tuf-mirror: two mirrors map to the same name ${dup}`)
  const {pinned, unknown} = pairTufRoots(flags['tuf-root'] ?? [], ids)
  if (unknown.length)
    throw new AirlockError(
      'USAGE',
      `--tuf-root names mirror ${unknown[0]}, which is not a --tuf-mirror (${ids.join(', ')})`,
    )
  for (const id of ids)
    if (id !== PUBLIC_GOOD_ID && !pinned.has(id))
      throw new AirlockError('USAGE', `TUF mirror ${id} has no pinned root`, {
        hint: `pass --tuf-root ${id}=root.json (the root you trust for that Sigstore instance)`,
      })
  const scratch = options.cacheDir ? undefined : makePartialDir(tmpdir(), TUF_SCRATCH)
  const cacheDir = options.cacheDir ?? (scratch as string)
  try {
    // The TUF client (tuf-js) is loaded only when a mirror is fetched: --no-tuf and --trusted-root exports skip it.
    const {exportTufRepository} = await import('../trust/export.ts')
    const tuf = await Promise.all(
      urls.map(async (mirrorUrl, i) => {
        const id = ids[i] as string
        const root = pinned.get(id)
        try {
          const exported = await exportTufRepository({
            mirrorUrl,
            cacheDir,
            ...(root ? {pinnedRoot: root.bytes} : {}),
            ...(options.fetchTimeout !== undefined ? {fetchTimeout: options.fetchTimeout} : {}),
            ...(options.now ? {now: options.now} : {}),
            ...(options.targets ? {targets: options.targets} : {}),
          })
          return {...exported, pinnedOrigin: root?.origin ?? 'shipped with airlock (@sigstore/tuf)'}
        } catch (error) {
          const e = toAirlockError(error, 'TRUST_INVALID')
          const message = e.message.startsWith('TUF ') ? e.message : `TUF ${id}: ${e.message}`
          throw new AirlockError(
            e.code,
            e.code === 'NETWORK_ERROR'
              ? `cannot reach TUF mirror ${mirrorUrl}: ${message}`
              : `TUF mirror ${mirrorUrl}: ${message}`,
            {
              cause: error,
              hint:
                e.code === 'NETWORK_ERROR'
                  ? 'the trust root is fetched at export; choose a reachable mirror with --tuf-mirror URL, or pass --no-tuf (verify then needs --trusted-root or --key)'
                  : 'check --tuf-mirror / --tuf-root, or pass --no-tuf (verify then needs --trusted-root or --key)',
            },
          )
        }
      }),
    )
    return {tuf, trustedRootCopies: copies, noTuf: false}
  } finally {
    if (scratch) rmSync(scratch, {recursive: true, force: true})
  }
}

/** Writes the fetched files into the archive and records the `trust` section. */
export async function writeTrust(writer: ArchiveWriter, fetched: FetchedTrust): Promise<TrustSection> {
  const section: TrustSection = {
    formatVersion: 1,
    note: 'informational: verify takes trust only from the TUF files under sigstore/tuf/ checked against roots pinned outside the archive',
    tuf: [],
    trustedRootCopies: [],
  }
  if (fetched.noTuf)
    section.noTuf = 'exported with --no-tuf: no TUF repository carried; verify needs --trusted-root or --key'
  for (const e of fetched.tuf) {
    for (const [rel, bytes] of [...e.files].sort(([a], [b]) => a.localeCompare(b)))
      await writer.addFile(`${TUF_PREFIX}${e.mirrorId}/${rel}`, bytes)
    section.tuf.push({
      mirror: e.mirrorUrl,
      name: e.mirrorId,
      pinnedRoot: e.pinnedOrigin,
      pinnedRootVersion: e.report.pinnedRootVersion,
      rootVersion: e.report.rootVersion,
      timestampVersion: e.report.timestampVersion,
      snapshotVersion: e.report.snapshotVersion,
      targetsVersion: e.report.targetsVersion,
      targets: e.report.targetHashes,
      files: e.files.size,
    })
  }
  for (const [i, copy] of fetched.trustedRootCopies.entries()) {
    const path = `${TRUSTED_ROOT_COPY_PREFIX}${i + 1}.json`
    await writer.addFile(path, copy.bytes)
    section.trustedRootCopies.push({path, sha256: sha256hex(copy.bytes), from: basename(copy.from)})
  }
  writer.setSection('trust', section)
  return section
}

/** One line per mirror for the export output. */
export function describeExportedTrust(section: TrustSection): string[] {
  const lines = section.tuf.map(
    t =>
      `trust: TUF ${t.mirror}: root v${t.rootVersion} (from pinned v${t.pinnedRootVersion}, ${t.pinnedRoot}), timestamp v${t.timestampVersion}, trusted_root.json sha256:${(t.targets['trusted_root.json'] ?? '').slice(0, 12)}…`,
  )
  if (section.noTuf)
    lines.push(
      `trust: --no-tuf: the archive carries no TUF repository; verify will need --trusted-root FILE (or --key for key-signed images)`,
    )
  for (const c of section.trustedRootCopies)
    lines.push(`trust: copied ${c.from} to ${c.path} (informational: verify trusts it only with --trusted-root)`)
  return lines
}

/** Export: the trusted roots fetched through TUF, parsed, so a keyless policy can be checked at export too. */
export function fetchedTrustedRoots(fetched: FetchedTrust): TrustedRoot[] {
  return fetched.tuf.map(t =>
    parseTrustedRoot(t.files.get('targets/trusted_root.json') as Buffer, `TUF ${t.mirrorId} trusted_root.json`),
  )
}

/** Export: the hooks with the trust files written just before the archive is committed. */
export function withTrustHooks(
  hooks: ExportHooks,
  fetched: FetchedTrust,
  onSection?: (section: TrustSection) => void,
): ExportHooks {
  return {
    ...hooks,
    beforeCommit: async writer => {
      await hooks.beforeCommit?.(writer)
      const section = await writeTrust(writer, fetched)
      onSection?.(section)
    },
  }
}
