// Trust roots in the archive: what export carries under `sigstore/tuf/<mirrorId>/` (and the informational copies
// under `sigstore/trusted_root/`), and how verify turns those bytes plus roots pinned OUTSIDE the archive into the
// trusted_root.json documents signatures are checked against (GUIDE section 2).
//
// Decisions
// - Export fetches every mirror before any image is copied (fetchTrust), so an unreachable mirror fails in seconds,
//   and writes the files in the export's beforeCommit hook (writeTrust). The `trust` section of airlock.json is a
//   description for people and `inspect`; verify never reads it.
// - `--trusted-root FILE` at export copies the file to `sigstore/trusted_root/<n>.json` for convenience only: verify
//   lists those copies as "not trusted" and uses a hand-managed root only when the operator passes --trusted-root.
// - Verify resolves trust once per archive (ArchiveTrust, memoized per ArchiveReader): the 'trust' ArchiveCheck
//   reports it, the signatures ImageCheck asks for the roots through `trustedRootsFor(context)` (or the instance's
//   `trustedRoots(archive)`). An archive without TUF data is an error only when roots are needed (the signatures
//   check asks, or `required`), so key-signed archives exported with --no-tuf verify with --key alone.
// - The rollback memory (state file) is read and enforced during the check, but written only by `commitState`,
//   which the command calls after the whole verification passed.
import {mkdtempSync, readFileSync, rmSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {basename, join} from 'node:path'
import {createHash} from 'node:crypto'
import {Metadata, MetadataKind} from '@tufjs/models'
import {ArchiveReader} from '../archive/reader.ts'
import type {ArchiveWriter} from '../archive/writer.ts'
import type {ExportHooks} from '../export/export.ts'
import type {TrustedRoot} from '@sigstore/protobuf-specs'
import {parseTrustedRoot} from '../sigstore/trust.ts'
import {AirlockError, isAirlockError, toAirlockError} from '../errors.ts'
import type {CheckReport, VerifyReport} from '../report/model.ts'
import type {ArchiveCheck} from '../verify/verify.ts'
import {exportTufRepository, type TufExport} from './export.ts'
import type {TrustFlagValues} from './flags.ts'
import {assertMirrorId, mirrorIdFor, PUBLIC_GOOD_MIRROR} from './pinned.ts'
import {selectTrustedRoots, type TrustSource} from './select.ts'
import {defaultStateDir, writeTufState} from './state.ts'
import {loadTrustedRootFile} from './trusted-root-file.ts'
import {formatDuration, type Grace, parseGrace, type TufReport} from './verify.ts'

export const TUF_PREFIX = 'sigstore/tuf/'
export const TRUSTED_ROOT_COPY_PREFIX = 'sigstore/trusted_root/'
const MAX_TRUST_FILE = 16 * 1024 * 1024
const MAX_TRUST_TOTAL = 128 * 1024 * 1024
const PUBLIC_GOOD_ID = mirrorIdFor(PUBLIC_GOOD_MIRROR)

const sha256hex = (b: Buffer) => createHash('sha256').update(b).digest('hex')

function readRootFile(file: string, what: string): Buffer {
  try {
    if (statSync(file).size > MAX_TRUST_FILE) throw new Error('file is too large')
    return readFileSync(file)
  } catch (error) {
    throw new AirlockError('USAGE', `cannot read ${what} ${file}: ${(error as Error).message}`)
  }
}

function rootVersionOf(bytes: Buffer, what: string): number {
  try {
    return Metadata.fromJSON(MetadataKind.Root, JSON.parse(bytes.toString('utf8'))).signed.version
  } catch (error) {
    throw new AirlockError('TRUST_INVALID', `${what} is not valid TUF root metadata: ${(error as Error).message}`, {cause: error})
  }
}

/** `--tuf-root [MIRROR=]FILE` split into its mirror id (if named) and file. */
function splitTufRoot(value: string): {mirror?: string; file: string} {
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
export function pairTufRoots(values: string[], mirrorIds: string[]): {pinned: Map<string, PinnedRoot>; unknown: string[]} {
  const pinned = new Map<string, PinnedRoot>()
  const unknown: string[] = []
  for (const value of values) {
    const {mirror, file} = splitTufRoot(value)
    let target = mirror
    if (!target) {
      const others = mirrorIds.filter((m) => m !== PUBLIC_GOOD_ID)
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

// ---------------------------------------------------------------- export

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
  const copies = (flags['trusted-root'] ?? []).map((path) => {
    loadTrustedRootFile(path) // shape check: refuse to carry something that is not a trusted root
    return {from: path, bytes: readRootFile(path, '--trusted-root')}
  })
  if (flags['no-tuf']) {
    if (flags['tuf-mirror']?.length || flags['tuf-root']?.length) throw new AirlockError('USAGE', '--no-tuf cannot be combined with --tuf-mirror or --tuf-root')
    return {tuf: [], trustedRootCopies: copies, noTuf: true}
  }
  const urls = (flags['tuf-mirror']?.length ? flags['tuf-mirror'] : [PUBLIC_GOOD_MIRROR]).map((u) => u.replace(/\/+$/, ''))
  const ids = urls.map((u) => mirrorIdFor(u))
  const dup = ids.find((id, i) => ids.indexOf(id) !== i)
  if (dup) throw new AirlockError('USAGE', `--tuf-mirror: two mirrors map to the same name ${dup}`)
  const {pinned, unknown} = pairTufRoots(flags['tuf-root'] ?? [], ids)
  if (unknown.length) throw new AirlockError('USAGE', `--tuf-root names mirror ${unknown[0]}, which is not a --tuf-mirror (${ids.join(', ')})`)
  for (const id of ids)
    if (id !== PUBLIC_GOOD_ID && !pinned.has(id))
      throw new AirlockError('USAGE', `TUF mirror ${id} has no pinned root`, {hint: `pass --tuf-root ${id}=root.json (the root you trust for that Sigstore instance)`})
  const scratch = options.cacheDir ? undefined : mkdtempSync(join(tmpdir(), 'airlock-tuf-'))
  const cacheDir = options.cacheDir ?? (scratch as string)
  try {
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
          throw new AirlockError(e.code, e.code === 'NETWORK_ERROR' ? `cannot reach TUF mirror ${mirrorUrl}: ${message}` : `TUF mirror ${mirrorUrl}: ${message}`, {
            cause: error,
            hint:
              e.code === 'NETWORK_ERROR'
                ? 'the trust root is fetched at export; choose a reachable mirror with --tuf-mirror URL, or pass --no-tuf (verify then needs --trusted-root or --key)'
                : 'check --tuf-mirror / --tuf-root, or pass --no-tuf (verify then needs --trusted-root or --key)',
          })
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
  if (fetched.noTuf) section.noTuf = 'exported with --no-tuf: no TUF repository carried; verify needs --trusted-root or --key'
  for (const e of fetched.tuf) {
    for (const [rel, bytes] of [...e.files].sort(([a], [b]) => a.localeCompare(b))) await writer.addFile(`${TUF_PREFIX}${e.mirrorId}/${rel}`, bytes)
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

/** fetchTrust + writeTrust, for callers that already hold the writer. */
export async function exportTrust(writer: ArchiveWriter, flags: TrustFlagValues, options: TrustExportOptions = {}): Promise<TrustSection> {
  return writeTrust(writer, await fetchTrust(flags, options))
}

/** One line per mirror for the export output. */
export function describeExportedTrust(section: TrustSection): string[] {
  const lines = section.tuf.map(
    (t) =>
      `trust: TUF ${t.mirror}: root v${t.rootVersion} (from pinned v${t.pinnedRootVersion}, ${t.pinnedRoot}), timestamp v${t.timestampVersion}, trusted_root.json sha256:${(t.targets['trusted_root.json'] ?? '').slice(0, 12)}…`,
  )
  if (section.noTuf) lines.push(`trust: --no-tuf: the archive carries no TUF repository; verify will need --trusted-root FILE (or --key for key-signed images)`)
  for (const c of section.trustedRootCopies) lines.push(`trust: copied ${c.from} to ${c.path} (informational: verify trusts it only with --trusted-root)`)
  return lines
}

// ---------------------------------------------------------------- verify

export interface ResolveTrustOptions {
  now?: Date
}

export interface TrustResolution {
  /** the trusted_root.json documents to verify signatures against (TUF-verified targets, then --trusted-root files) */
  trustedRoots: Buffer[]
  sources: TrustSource[]
  /** TUF mirrors not used (only possible when --trusted-root was given) */
  skipped: Array<{mirror: string; reason: string}>
  /** one line per source, naming mirror, root version, target hash, metadata age and grace */
  reports: string[]
  /** informational trusted_root copies found in the archive (never trusted) */
  ignoredCopies: string[]
  grace: Grace
  /** state directory read (and to be written by commitTrustState), unless --no-state */
  stateDir?: string
}

function graceText(grace: Grace): string {
  return grace === 'unlimited' ? 'unlimited' : grace === 0 ? '0 (strict)' : formatDuration(grace)
}

function describeSource(source: TrustSource, pinnedOrigin: Map<string, string>): string {
  if (source.kind === 'file') return `trusted root ${source.name} (sha256:${sha256hex(source.trustedRoot).slice(0, 12)}…): from --trusted-root, NOT verified through TUF`
  const r = source.report as TufReport
  const pinned = pinnedOrigin.get(source.name) ?? 'pinned'
  const hash = r.targetHashes['trusted_root.json'] ?? sha256hex(source.trustedRoot)
  return (
    `TUF ${r.mirror}: root v${r.rootVersion} from pinned v${r.pinnedRootVersion} (${pinned}), timestamp v${r.timestampVersion}, snapshot v${r.snapshotVersion}, targets v${r.targetsVersion}; ` +
    `trusted_root.json sha256:${hash}; ${r.ageNote}; grace ${graceText(r.grace)}${r.graceUsed ? ', USED' : ', not needed'}`
  )
}

/**
 * Offline: verifies the archive's TUF data (`files`: archive paths under `sigstore/tuf/`, other paths ignored) from
 * roots pinned outside the archive and returns the trusted roots to verify signatures with. Throws AirlockError
 * TRUST_INVALID naming the mirror and the failed step; or when there is no TUF data and no --trusted-root.
 */
export function resolveArchiveTrust(files: Map<string, Buffer>, flags: TrustFlagValues, options: ResolveTrustOptions = {}): TrustResolution {
  const mirrors = new Map<string, Map<string, Buffer>>()
  const ignoredCopies: string[] = []
  for (const [path, bytes] of files) {
    if (path.startsWith(TRUSTED_ROOT_COPY_PREFIX)) ignoredCopies.push(path)
    if (!path.startsWith(TUF_PREFIX)) continue
    const rest = path.slice(TUF_PREFIX.length)
    const slash = rest.indexOf('/')
    if (slash <= 0) throw new AirlockError('TRUST_INVALID', `unexpected TUF file ${path}: not under sigstore/tuf/<mirror>/`)
    const id = rest.slice(0, slash)
    assertMirrorId(id)
    let m = mirrors.get(id)
    if (!m) mirrors.set(id, (m = new Map()))
    m.set(rest.slice(slash + 1), bytes)
  }
  const manual = flags['trusted-root'] ?? []
  const grace = parseGrace(flags['tuf-grace'] ?? '30d')
  const {pinned, unknown} = pairTufRoots(flags['tuf-root'] ?? [], [...mirrors.keys()])
  const skippedUnknown = unknown.map((mirror) => ({mirror, reason: `--tuf-root was given for ${mirror}, but the archive carries no TUF data for it`}))
  if (skippedUnknown.length && manual.length === 0)
    throw new AirlockError('TRUST_INVALID', (skippedUnknown[0] as {reason: string}).reason, {
      hint: mirrors.size ? `the archive carries: ${[...mirrors.keys()].join(', ')}` : 'the archive was exported without TUF data (--no-tuf?): pass --trusted-root FILE',
    })
  const pinnedOrigin = new Map<string, string>()
  for (const id of mirrors.keys()) pinnedOrigin.set(id, pinned.get(id)?.origin ?? (id === PUBLIC_GOOD_ID ? 'shipped with airlock (@sigstore/tuf)' : 'none'))
  const stateDir = flags['no-state'] ? undefined : (flags.state ?? defaultStateDir())
  let selection
  try {
    selection = selectTrustedRoots({
      mirrors,
      pinnedRoots: new Map([...pinned].map(([id, p]) => [id, p.bytes])),
      trustedRootFiles: manual,
      grace,
      ...(options.now ? {now: options.now} : {}),
      state: stateDir ? {dir: stateDir, write: false} : false,
    })
  } catch (error) {
    if (isAirlockError(error) && error.code === 'TRUST_INVALID' && mirrors.size === 0 && manual.length === 0)
      throw new AirlockError('TRUST_INVALID', 'no trusted root: the archive carries no TUF data (sigstore/tuf/) and no --trusted-root was given', {
        hint: 'export with TUF (the default; not --no-tuf), or pass --trusted-root FILE to verify with a trusted root managed by hand',
      })
    throw error
  }
  const skipped = [...selection.skipped, ...skippedUnknown]
  const reports = selection.sources.map((s) => describeSource(s, pinnedOrigin))
  for (const s of skipped) reports.push(`TUF ${s.mirror} NOT used (--trusted-root given): ${s.reason}`)
  for (const c of ignoredCopies) reports.push(`${c}: copy made at export, informational only, not trusted`)
  return {
    trustedRoots: selection.sources.map((s) => s.trustedRoot),
    sources: selection.sources,
    skipped,
    reports,
    ignoredCopies,
    grace,
    ...(stateDir ? {stateDir} : {}),
  }
}

/** Records the accepted TUF versions (rollback memory). Call only after the whole verification passed. */
export function commitTrustState(resolution: TrustResolution): string[] {
  if (!resolution.stateDir) return []
  const written: string[] = []
  for (const source of resolution.sources) if (source.nextState) written.push(writeTufState(resolution.stateDir, source.nextState))
  return written
}

/** Reads the archive's trust files (`sigstore/tuf/**` and the informational `sigstore/trusted_root/*`), bounded. */
export async function readArchiveTrustFiles(archive: ArchiveReader): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>()
  let total = 0
  for (const name of [...archive.entries.keys()].sort()) {
    if (!name.startsWith(TUF_PREFIX) && !name.startsWith(TRUSTED_ROOT_COPY_PREFIX)) continue
    const record = archive.entries.get(name)!
    total += record.size
    if (total > MAX_TRUST_TOTAL) throw new AirlockError('TOO_LARGE', `the archive's trust files exceed ${MAX_TRUST_TOTAL} bytes`)
    files.set(name, await archive.readEntry(name, MAX_TRUST_FILE))
  }
  return files
}

export interface ArchiveTrustOptions {
  now?: Date
  /** fail the 'trust' check when the archive yields no trusted root (default: only when a check asks for roots) */
  required?: boolean
}

const registry = new WeakMap<ArchiveReader, ArchiveTrust>()

/**
 * Trust of one verify run. `check` is the 'trust' ArchiveCheck; `trustedRoots(archive)` is what the signatures
 * check calls (same memoized resolution); `commitState(report)` writes the rollback memory if the report passed.
 */
export class ArchiveTrust {
  readonly flags: TrustFlagValues
  readonly options: ArchiveTrustOptions
  private readonly results = new WeakMap<ArchiveReader, Promise<TrustResolution>>()
  private last: {resolution?: TrustResolution} = {}
  private preloaded: Promise<TrustResolution> | undefined
  readonly check: ArchiveCheck

  constructor(flags: TrustFlagValues, options: ArchiveTrustOptions = {}) {
    this.flags = flags
    this.options = options
    this.check = {name: 'trust', run: (archive) => this.runCheck(archive)}
  }

  /**
   * For callers that need the roots before verifyArchive starts (a signatures check built with a fixed list): reads
   * the trust files with a quick seek pass (no hashing: TUF verifies their content) and resolves trust once; the
   * 'trust' check then reports this same result. Never throws: on failure it returns [] and the check (or
   * `trustedRoots`) gives the reason.
   */
  async preload(path: string, options: {throwIfNone?: boolean} = {}): Promise<Buffer[]> {
    const resolution = (async () => {
      const archive = await ArchiveReader.open(path)
      try {
        return resolveArchiveTrust(await readArchiveTrustFiles(archive), this.flags, this.options.now ? {now: this.options.now} : {})
      } finally {
        await archive.close()
      }
    })()
    this.preloaded = resolution
    resolution.then(
      (r) => (this.last.resolution = r),
      () => undefined,
    )
    try {
      return (await resolution).trustedRoots
    } catch (error) {
      if (options.throwIfNone) throw error
      return []
    }
  }

  /** The resolution preload produced (sources name each root), if it succeeded. */
  get resolution(): TrustResolution | undefined {
    return this.last.resolution
  }

  /** Resolves (once per archive) and remembers the result; throws the trust error. */
  resolve(archive: ArchiveReader): Promise<TrustResolution> {
    registry.set(archive, this)
    let result = this.results.get(archive) ?? this.preloaded
    if (!result) {
      result = readArchiveTrustFiles(archive).then((files) => resolveArchiveTrust(files, this.flags, this.options.now ? {now: this.options.now} : {}))
      result.then(
        (r) => (this.last.resolution = r),
        () => undefined,
      )
      this.results.set(archive, result)
    }
    return result
  }

  /** The trusted_root.json documents to verify signatures with. Throws when there are none (clear message). */
  async trustedRoots(archive: ArchiveReader): Promise<Buffer[]> {
    return (await this.resolve(archive)).trustedRoots
  }

  private async runCheck(archive: ArchiveReader): Promise<CheckReport> {
    const hasTrustData = [...archive.entries.keys()].some((n) => n.startsWith(TUF_PREFIX))
    if (!hasTrustData && !this.options.required && !(this.flags['trusted-root']?.length)) {
      // Nothing to judge: fine for unsigned or key-signed content; a check needing roots fails with the reason.
      registry.set(archive, this)
      return {name: 'trust', ok: true, reasons: [], info: ['no TUF data in the archive and no --trusted-root: keyless signatures cannot be verified'], details: {sources: []}}
    }
    try {
      const r = await this.resolve(archive)
      return {
        name: 'trust',
        ok: true,
        reasons: [],
        info: r.reports,
        details: {
          sources: r.sources.map((s) => ({kind: s.kind, name: s.name, report: s.report})),
          skipped: r.skipped,
          ignoredCopies: r.ignoredCopies,
          grace: r.grace,
          ...(r.stateDir ? {stateDir: r.stateDir} : {}),
        },
      }
    } catch (error) {
      const e = toAirlockError(error, 'TRUST_INVALID')
      return {name: 'trust', ok: false, reasons: [e.hint ? `${e.message} (${e.hint})` : e.message], details: {code: e.code}}
    }
  }

  /** Writes the rollback memory when `report.ok`; returns the files written. */
  commitState(report: Pick<VerifyReport, 'ok'>): string[] {
    if (!report.ok || !this.last.resolution) return []
    return commitTrustState(this.last.resolution)
  }
}

/** For the signatures ImageCheck: the trusted roots resolved by the 'trust' check registered for this archive. */
export async function trustedRootsFor(context: {archive: ArchiveReader}): Promise<Buffer[]> {
  const trust = registry.get(context.archive)
  if (!trust) throw new AirlockError('INTERNAL', "no 'trust' archive check is registered for this verification (add ArchiveTrust.check to archiveChecks)")
  return trust.trustedRoots(context.archive)
}

// ---------------------------------------------------------------- command glue (keeps the commands thin)

/** Export: the trusted roots fetched through TUF, parsed, so a keyless policy can be checked at export too. */
export function fetchedTrustedRoots(fetched: FetchedTrust): TrustedRoot[] {
  return fetched.tuf.map((t) => parseTrustedRoot(t.files.get('targets/trusted_root.json') as Buffer, `TUF ${t.mirrorId} trusted_root.json`))
}

/** Export: the hooks with the trust files written just before the archive is committed. */
export function withTrustHooks(hooks: ExportHooks, fetched: FetchedTrust, onSection?: (section: TrustSection) => void): ExportHooks {
  return {
    ...hooks,
    beforeCommit: async (writer) => {
      await hooks.beforeCommit?.(writer)
      const section = await writeTrust(writer, fetched)
      onSection?.(section)
    },
  }
}

/**
 * Verify / push: resolves the archive's trust before verifyArchive (a quick seek pass) so the signatures check can
 * be built with a fixed list of trusted roots. With `keyless` (the policy has a keyless rule) a missing or broken
 * trust root throws its reason right away; otherwise the 'trust' check reports it.
 */
export async function prepareVerifyTrust(archivePath: string, flags: TrustFlagValues, options: {keyless: boolean; now?: Date}): Promise<{trust: ArchiveTrust; trustedRoots: TrustedRoot[]}> {
  const trust = new ArchiveTrust(flags, {required: options.keyless, ...(options.now ? {now: options.now} : {})})
  const roots = await trust.preload(archivePath, {throwIfNone: options.keyless})
  const sources = trust.resolution?.sources ?? []
  return {trust, trustedRoots: roots.map((bytes, i) => parseTrustedRoot(bytes, sources[i] ? `${sources[i].kind === 'tuf' ? 'TUF' : 'file'} ${sources[i].name}` : 'trusted root'))}
}
