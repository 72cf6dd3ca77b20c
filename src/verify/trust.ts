// Verify side of the archive's trust roots: the archive's TUF bytes plus roots pinned OUTSIDE the archive become
// the trusted_root.json documents signatures are checked against; the 'trust' ArchiveCheck reports the source.
// Trust is resolved once per archive (ArchiveTrust, memoized per ArchiveReader). An archive without TUF data is an
// error only when roots are needed (a keyless policy, or `required`), so key-signed archives exported with --no-tuf
// verify with --key alone. The rollback state is read and enforced during the check, but written only by
// `commitState`, after the whole verification passed. The TUF client itself lives in src/trust/.
import type {ArchiveReader} from '../archive/reader.ts'
import {AirlockError, isAirlockError, toAirlockError} from '../errors.ts'
import type {CheckReport, VerifyReport} from './report-model.ts'
import type {ArchiveCheck} from './verify.ts'
import type {TrustFlagValues} from '../trust/flags.ts'
import {assertMirrorId} from '../trust/pinned.ts'
import {selectTrustedRoots, type TrustSource} from '../trust/select.ts'
import {defaultStateDir, type TufState, writeTufState} from '../trust/state.ts'
import {graceText, type Grace, parseGrace} from '../trust/expiry.ts'
import type {TufReport} from '../trust/verify.ts'
import {PUBLIC_GOOD_ID, sha256hex, TRUSTED_ROOT_COPY_PREFIX, TUF_PREFIX, pairTufRoots} from '../trust/pinned-roots.ts'

const MAX_TRUST_FILE = 16 * 1024 * 1024
const MAX_TRUST_TOTAL = 128 * 1024 * 1024

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

function describeSource(source: TrustSource, pinnedOrigin: Map<string, string>): string {
  if (source.kind === 'file')
    return `trusted root ${source.name} (sha256:${sha256hex(source.trustedRoot).slice(0, 12)}…): from --trusted-root, NOT verified through TUF`
  const r = source.report as TufReport
  const pinned = pinnedOrigin.get(source.name) ?? 'pinned'
  const hash = r.targetHashes['trusted_root.json'] ?? sha256hex(source.trustedRoot)
  return (
    `TUF ${r.mirror}: root v${r.rootVersion} from pinned v${r.pinnedRootVersion} (${pinned}), timestamp v${r.timestampVersion}, snapshot v${r.snapshotVersion}, targets v${r.targetsVersion}; ` +
    `trusted_root.json sha256:${hash}; ${r.ageNote}; grace ${graceText(r.grace)}${r.graceUsed ? `, USED by ${r.graceRoles.join(', ')}` : ', not needed'}`
  )
}

/**
 * Offline: verifies the archive's TUF data (`files`: archive paths under `sigstore/tuf/`, other paths ignored) from
 * roots pinned outside the archive and returns the trusted roots to verify signatures with. Throws AirlockError
 * TRUST_INVALID naming the mirror and the failed step; or when there is no TUF data and no --trusted-root.
 */
export function resolveArchiveTrust(
  files: Map<string, Buffer>,
  flags: TrustFlagValues,
  options: ResolveTrustOptions = {},
): TrustResolution {
  const mirrors = new Map<string, Map<string, Buffer>>()
  const ignoredCopies: string[] = []
  for (const [path, bytes] of files) {
    if (path.startsWith(TRUSTED_ROOT_COPY_PREFIX)) ignoredCopies.push(path)
    if (!path.startsWith(TUF_PREFIX)) continue
    const rest = path.slice(TUF_PREFIX.length)
    const slash = rest.indexOf('/')
    if (slash <= 0)
      throw new AirlockError('TRUST_INVALID', `unexpected TUF file ${path}: not under sigstore/tuf/<mirror>/`)
    const id = rest.slice(0, slash)
    assertMirrorId(id)
    let m = mirrors.get(id)
    if (!m) {
      m = new Map()
      mirrors.set(id, m)
    }
    m.set(rest.slice(slash + 1), bytes)
  }
  const manual = flags['trusted-root'] ?? []
  const grace = parseGrace(flags['tuf-grace'] ?? '30d')
  const {pinned, unknown} = pairTufRoots(flags['tuf-root'] ?? [], [...mirrors.keys()])
  const skippedUnknown = unknown.map(mirror => ({
    mirror,
    reason: `--tuf-root was given for ${mirror}, but the archive carries no TUF data for it`,
  }))
  if (skippedUnknown.length && manual.length === 0)
    throw new AirlockError('TRUST_INVALID', (skippedUnknown[0] as {reason: string}).reason, {
      hint: mirrors.size
        ? `the archive carries: ${[...mirrors.keys()].join(', ')}`
        : 'the archive was exported without TUF data (--no-tuf?): pass --trusted-root FILE',
    })
  const pinnedOrigin = new Map<string, string>()
  for (const id of mirrors.keys())
    pinnedOrigin.set(
      id,
      pinned.get(id)?.origin ?? (id === PUBLIC_GOOD_ID ? 'shipped with airlock (@sigstore/tuf)' : 'none'),
    )
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
      throw new AirlockError(
        'TRUST_INVALID',
        'no trusted root: the archive carries no TUF data (sigstore/tuf/) and no --trusted-root was given',
        {
          hint: 'export with TUF (the default; not --no-tuf), or pass --trusted-root FILE to verify with a trusted root managed by hand',
        },
      )
    throw error
  }
  const skipped = [...selection.skipped, ...skippedUnknown]
  const reports = selection.sources.map(s => describeSource(s, pinnedOrigin))
  for (const s of skipped) reports.push(`TUF ${s.mirror} NOT used (--trusted-root given): ${s.reason}`)
  for (const c of ignoredCopies) reports.push(`${c}: copy made at export, informational only, not trusted`)
  return {
    trustedRoots: selection.sources.map(s => s.trustedRoot),
    sources: selection.sources,
    skipped,
    reports,
    ignoredCopies,
    grace,
    ...(stateDir ? {stateDir} : {}),
  }
}

/** --tuf-grace in seconds for reports (JSON carries units in its names: `...Seconds`). */
export function graceSeconds(grace: Grace): number | 'unlimited' {
  return grace === 'unlimited' ? 'unlimited' : grace / 1000
}

/** A trust source's report as JSON shows it: durations in seconds, not milliseconds. */
function withUnits(report: TrustSource['report']): unknown {
  if (report.source !== 'tuf') return report
  const {grace, maxExpiredMs, ...rest} = report
  return {...rest, graceSeconds: graceSeconds(grace), maxExpiredSeconds: maxExpiredMs / 1000}
}

/** Records the accepted TUF versions (rollback memory). Call only after the whole verification passed. */
export function commitTrustState(resolution: TrustResolution): string[] {
  if (!resolution.stateDir) return []
  // Two mirror directories verified from the same pinned root share one state: keep the newest, so the one that
  // happens to be written last cannot lower the floor.
  const newest = new Map<string, TufState>()
  const rank = (t: TufState) => [t.root, t.timestamp, t.snapshot, t.targets]
  const newer = (a: TufState, b: TufState) => {
    const [x, y] = [rank(a), rank(b)]
    const i = x.findIndex((v, k) => v !== y[k])
    return i >= 0 && (x[i] as number) > (y[i] as number)
  }
  for (const {nextState} of resolution.sources) {
    if (!nextState) continue
    const had = newest.get(nextState.pinnedRoot)
    if (!had || newer(nextState, had)) newest.set(nextState.pinnedRoot, nextState)
  }
  return [...newest.values()].map(state => writeTufState(resolution.stateDir as string, state))
}

/** Reads the archive's trust files (`sigstore/tuf/**` and the informational `sigstore/trusted_root/*`), bounded. */
export async function readArchiveTrustFiles(archive: ArchiveReader): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>()
  let total = 0
  for (const name of [...archive.entries.keys()].sort()) {
    if (!name.startsWith(TUF_PREFIX) && !name.startsWith(TRUSTED_ROOT_COPY_PREFIX)) continue
    const record = archive.entries.get(name)!
    total += record.size
    if (total > MAX_TRUST_TOTAL)
      throw new AirlockError('TOO_LARGE', `the archive's trust files exceed ${MAX_TRUST_TOTAL} bytes`)
    files.set(name, await archive.readEntry(name, MAX_TRUST_FILE))
  }
  return files
}

export interface ArchiveTrustOptions {
  now?: Date
  /** fail the 'trust' check when the archive yields no trusted root (default: only when a check asks for roots) */
  required?: boolean
  /**
   * verify --trust-from: read the TUF data from this (trust-only) archive instead of the one being verified, so
   * images already inside stay verifiable with a newer trust refresh after their own archive's metadata expired.
   */
  source?: ArchiveReader
}

/**
 * Trust of one verify run. `check` is the 'trust' ArchiveCheck; `trustedRoots(archive)` is what the signatures
 * check calls (same memoized resolution); `commitState(report)` writes the rollback memory if the report passed.
 */
export class ArchiveTrust {
  readonly flags: TrustFlagValues
  readonly options: ArchiveTrustOptions
  private readonly results = new WeakMap<ArchiveReader, Promise<TrustResolution>>()
  private last: {resolution?: TrustResolution} = {}
  readonly check: ArchiveCheck

  constructor(flags: TrustFlagValues, options: ArchiveTrustOptions = {}) {
    this.flags = flags
    this.options = options
    this.check = {name: 'trust', run: archive => this.runCheck(archive)}
  }

  /** The last resolution that succeeded (sources name each root). */
  get resolution(): TrustResolution | undefined {
    return this.last.resolution
  }

  /** Resolves (once per archive) and remembers the result; throws the trust error. */
  resolve(archive: ArchiveReader): Promise<TrustResolution> {
    archive = this.options.source ?? archive
    let result = this.results.get(archive)
    if (!result) {
      result = readArchiveTrustFiles(archive).then(files =>
        resolveArchiveTrust(files, this.flags, this.options.now ? {now: this.options.now} : {}),
      )
      result.then(
        r => (this.last.resolution = r),
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
    const hasTrustData = [...(this.options.source ?? archive).entries.keys()].some(n => n.startsWith(TUF_PREFIX))
    if (!hasTrustData && !this.options.required && !this.flags['trusted-root']?.length) {
      // Nothing to judge: fine for unsigned or key-signed content; a check needing roots fails with the reason.
      return {
        name: 'trust',
        ok: true,
        reasons: [],
        info: ['no TUF data in the archive and no --trusted-root: keyless signatures cannot be verified'],
        details: {sources: []},
      }
    }
    try {
      const r = await this.resolve(archive)
      return {
        name: 'trust',
        ok: true,
        reasons: [],
        info: r.reports,
        details: {
          sources: r.sources.map(s => ({kind: s.kind, name: s.name, report: withUnits(s.report)})),
          skipped: r.skipped,
          ignoredCopies: r.ignoredCopies,
          graceSeconds: graceSeconds(r.grace),
          ...(r.stateDir ? {stateDir: r.stateDir} : {}),
        },
      }
    } catch (error) {
      const e = toAirlockError(error, 'TRUST_INVALID')
      return {
        name: 'trust',
        ok: false,
        reasons: [e.hint ? `${e.message} (${e.hint})` : e.message],
        details: {code: e.code},
      }
    }
  }

  /** Writes the rollback memory when `report.ok`; returns the files written. */
  commitState(report: Pick<VerifyReport, 'ok'>): string[] {
    if (!report.ok || !this.last.resolution) return []
    return commitTrustState(this.last.resolution)
  }
}
