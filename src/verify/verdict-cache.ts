// The verified-archive cache (issue 11): a passing judgement of an archive, remembered in the state directory that
// already holds the TUF rollback memory, so a second push of the same file under the same inputs does not judge it
// again. It is only as trusted as that directory: entries are MACed with a per-directory random key, files and
// directories that others could write are not used (OpenSSH StrictModes), and anything unexpected is a miss, never
// an error. What a hit may push is re-derived from the archive and must match the judged verdict's fingerprint
// (src/verify/open.ts); the key and the entry are described in docs/DECISIONS.md ("verified-archive cache").
import {createHash, createHmac, randomBytes, timingSafeEqual} from 'node:crypto'
import {
  closeSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  type Stats,
  writeSync,
} from 'node:fs'
import {join} from 'node:path'
import type {ArchiveReader} from '../archive/reader.ts'
import type {Policy} from '../policy/index.ts'
import type {TrustFlagValues} from '../trust/flags.ts'
import {defaultStateDir} from '../trust/state.ts'
import {writeFileAtomicSync} from '../util/files.ts'
import {TOOL_VERSION} from '../version.ts'
import type {VerifyReport} from './report-model.ts'
import type {Verdict} from './verdict.ts'

const FORMAT = 1
/** Entries kept per state directory; the oldest are removed on write beyond this. */
const MAX_ENTRIES = 64
/** An entry is a report plus a few fields; anything larger is not ours. */
const MAX_ENTRY_BYTES = 16 * 1024 * 1024
const KEY_FILE = 'key'

/** Everything a judgement depends on besides the archive's bytes and the rollback state (see cacheKeyBase). */
export interface CacheInputs {
  signatures: string | undefined
  policy: Policy | undefined
  trust: TrustFlagValues
}

export interface CacheEntry {
  format: number
  /** the lookup key this entry answers (a copy under another name is a miss) */
  key: string
  /** ISO-8601: when the judgement ran (a clock now before it is a miss) */
  judgedAt: string
  /** ISO-8601: after this the judgement could differ (TUF metadata expiry); null: nothing it used expires */
  validUntil: string | null
  /** verdict.verified as judged */
  verified: boolean
  /** sha256 of the judged verdict's content (verdictFingerprint) */
  verdict: string
  report: VerifyReport
  notes: string[]
}

/** JSON with object keys sorted at every level: one encoding per value, for keys and MACs. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (Buffer.isBuffer(v)) return {sha256: sha256(v)}
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const raw = v as Record<string, unknown>
      if (raw['type'] === 'Buffer' && Array.isArray(raw['data'])) return {sha256: sha256(Buffer.from(raw['data']))}
      return Object.fromEntries(
        Object.keys(raw)
          .sort()
          .map(k => [k, raw[k]]),
      )
    }
    return v
  })
}

const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex')

/**
 * What push writes from a verdict, as one digest: every image's reference, tag, root, children, the nodes of each
 * graph (blob descriptors with their archive offsets, manifest descriptors with the sha256 of the bytes pushed) and
 * the signature artifacts. Not `hashOnUpload` or the report: those depend on the mirror at the time of the push.
 */
export function verdictFingerprint(verdict: Verdict): string {
  const graph = (g: Verdict['images'][number]['graph']) => ({
    root: g.root,
    blobs: g.blobs.map(b => ({descriptor: b.descriptor, offset: b.offset})),
    manifests: g.manifests.map(m => ({descriptor: m.descriptor, bytes: sha256(m.raw.bytes)})),
  })
  return sha256(
    canonicalJson(
      verdict.images.map(image => ({
        reference: image.reference,
        tag: image.tag ?? null,
        root: image.root,
        graph: graph(image.graph),
        children: image.children,
        artifacts: image.artifacts.map(a => ({
          kind: a.kind,
          role: a.role,
          subject: a.subject,
          tag: a.tag ?? null,
          graph: graph(a.graph),
        })),
      })),
    ),
  )
}

/** sha256 of a file's bytes, or a marker when it cannot be read (the judgement then fails or differs: a miss). */
function fileDigest(path: string): string {
  try {
    return sha256(readFileSync(path))
  } catch (error) {
    return `unreadable: ${(error as NodeJS.ErrnoException).code ?? 'error'}`
  }
}

/** The state directory the rollback memory (and so this cache) lives in; undefined with --no-state. */
export function cacheStateDir(trust: TrustFlagValues): string | undefined {
  return trust['no-state'] ? undefined : (trust.state ?? defaultStateDir())
}

/**
 * The part of the key fixed before judging: the archive's files as open now (device, inode, size, mtime and ctime
 * in nanoseconds; a volume set's manifest and every volume in order), airlock's version, the signature mode, the
 * policy as parsed (its rules, keys and the policy file's sha256) and every trust input (the --tuf-root and
 * --trusted-root values with the bytes of the files they name, --tuf-grace, the state directory).
 */
export async function cacheKeyBase(archive: ArchiveReader, inputs: CacheInputs, stateDir: string): Promise<string> {
  const files = await archive.fileStats()
  const manifest = archive.volumeSet ? {path: archive.path, sha256: fileDigest(archive.path)} : null
  const tufRoots = (inputs.trust['tuf-root'] ?? []).map(value => {
    const eq = value.indexOf('=')
    return {value, whole: fileDigest(value), file: eq > 0 ? fileDigest(value.slice(eq + 1)) : null}
  })
  const trustedRoots = (inputs.trust['trusted-root'] ?? []).map(value => ({value, file: fileDigest(value)}))
  return sha256(
    canonicalJson({
      format: FORMAT,
      airlock: TOOL_VERSION,
      files,
      manifest,
      signatures: inputs.signatures ?? 'required',
      policy: inputs.policy ?? null,
      trust: {tufRoots, trustedRoots, grace: inputs.trust['tuf-grace'] ?? '30d', stateDir},
    }),
  )
}

/** The rollback memory as it stands: every file under `<state>/tuf/`, names and bytes (a state that moved: a miss). */
export function stateDigest(stateDir: string): string {
  const dir = join(stateDir, 'tuf')
  let names: string[]
  try {
    names = readdirSync(dir).sort()
  } catch {
    return sha256('no state')
  }
  return sha256(canonicalJson(names.map(name => [name, fileDigest(join(dir, name))])))
}

export function cacheKey(base: string, state: string): string {
  return sha256(`${base}\n${state}`)
}

/** Why a path may not be trusted (StrictModes): a link, another owner, or writable by group or others. */
function unsafe(path: string, st: Stats, kind: 'directory' | 'file'): string | undefined {
  if (st.isSymbolicLink()) return `${path} is a symbolic link`
  if (kind === 'directory' ? !st.isDirectory() : !st.isFile()) return `${path} is not a ${kind}`
  const uid = process.getuid?.()
  if (uid !== undefined && st.uid !== uid) return `${path} is not owned by the current user`
  if ((st.mode & 0o022) !== 0) return `${path} is writable by group or others`
  return undefined
}

/** lstat, or undefined when the path does not exist. */
function lstatOrNone(path: string): Stats | undefined {
  try {
    return lstatSync(path)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
}

/**
 * The cache in one state directory. Every method is best effort: a problem becomes one note and a miss (reads) or
 * no entry (writes); nothing here throws.
 */
export class VerdictCache {
  readonly stateDir: string
  readonly dir: string
  readonly notes: string[] = []
  private readonly onNote: ((line: string) => void) | undefined

  constructor(stateDir: string, onNote?: (line: string) => void) {
    this.stateDir = stateDir
    this.dir = join(stateDir, 'verified')
    this.onNote = onNote
  }

  private note(what: string): void {
    const line = `verified-archive cache not used: ${what}`
    this.notes.push(line)
    this.onNote?.(line)
  }

  /** The directories must be ours and closed to others; `create` makes them (0700) when missing. */
  private safeDirs(create: boolean): boolean {
    if (create) mkdirSync(this.dir, {recursive: true, mode: 0o700})
    else if (!lstatOrNone(this.dir)) return false
    for (const dir of [this.stateDir, this.dir]) {
      const st = lstatOrNone(dir)
      if (!st) return false
      const problem = unsafe(dir, st, 'directory')
      if (problem) {
        this.note(problem)
        return false
      }
    }
    return true
  }

  /** The MAC key of this directory, created (32 random bytes, 0600) when `create` and missing. */
  private macKey(create: boolean): Buffer | undefined {
    const path = join(this.dir, KEY_FILE)
    let st = lstatOrNone(path)
    if (!st && create) {
      try {
        const fd = openSync(path, 'wx', 0o600)
        try {
          writeSync(fd, randomBytes(32))
        } finally {
          closeSync(fd)
        }
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      }
      st = lstatOrNone(path)
    }
    if (!st) return undefined
    const problem = unsafe(path, st, 'file')
    if (problem) {
      this.note(problem)
      return undefined
    }
    const key = readFileSync(path)
    if (key.length !== 32) {
      this.note(`${path} is not a 32-byte key`)
      return undefined
    }
    return key
  }

  private entryPath(key: string): string {
    return join(this.dir, `${key}.json`)
  }

  /** The entry for `key`, if there is one that is intact, ours and still valid at `now`. */
  read(key: string, now = Date.now()): CacheEntry | undefined {
    try {
      if (!this.safeDirs(false)) return undefined
      const path = this.entryPath(key)
      const st = lstatOrNone(path)
      if (!st) return undefined
      const problem = unsafe(path, st, 'file')
      if (problem) return void this.note(problem)
      if (st.size > MAX_ENTRY_BYTES) return void this.note(`${path} is too large`)
      const macKey = this.macKey(false)
      if (!macKey) return void this.note(`${join(this.dir, KEY_FILE)} is missing`)
      const stored = JSON.parse(readFileSync(path, 'utf8')) as {entry?: CacheEntry; mac?: string}
      const entry = stored.entry
      const mac = Buffer.from(typeof stored.mac === 'string' ? stored.mac : '', 'hex')
      const expected = createHmac('sha256', macKey)
        .update(canonicalJson(entry ?? null))
        .digest()
      if (!entry || mac.length !== expected.length || !timingSafeEqual(mac, expected))
        return void this.note(`${path} does not carry this directory's MAC (edited or corrupt)`)
      if (entry.format !== FORMAT || entry.key !== key) return void this.note(`${path} answers another key`)
      const judged = Date.parse(entry.judgedAt)
      if (!(judged <= now)) return undefined // the clock is before the judgement: judge again
      if (entry.validUntil !== null && !(now < Date.parse(entry.validUntil))) return undefined // expired: judge again
      return entry
    } catch (error) {
      return void this.note((error as Error).message)
    }
  }

  /**
   * Remembers a passing judgement (atomically, 0600), keeping at most MAX_ENTRIES entries. `createState` false
   * (verify): only into a state directory that exists already (a verify that had nothing else to remember there
   * writes nothing to HOME).
   */
  write(entry: CacheEntry, createState = true): void {
    try {
      if (!createState && !lstatOrNone(this.stateDir)) return
      if (createState) mkdirSync(this.stateDir, {recursive: true, mode: 0o700})
      mkdirSync(this.dir, {mode: 0o700, recursive: true})
      if (!this.safeDirs(false)) return
      const macKey = this.macKey(true)
      if (!macKey) return
      const mac = createHmac('sha256', macKey).update(canonicalJson(entry)).digest('hex')
      writeFileAtomicSync(this.entryPath(entry.key), `${JSON.stringify({entry, mac})}\n`, {mode: 0o600})
      this.prune()
    } catch (error) {
      this.note(`cannot write an entry: ${(error as Error).message}`)
    }
  }

  private prune(): void {
    const entries = readdirSync(this.dir)
      .filter(name => /^[0-9a-f]{64}\.json$/.test(name))
      .map(name => ({path: join(this.dir, name), mtime: lstatSync(join(this.dir, name)).mtimeMs}))
    if (entries.length <= MAX_ENTRIES) return
    entries.sort((a, b) => a.mtime - b.mtime)
    for (const old of entries.slice(0, entries.length - MAX_ENTRIES)) rmSync(old.path, {force: true})
  }
}

/** Until when a judgement made at `judgedAt` stays the same: the strict TUF expiry, or the grace limit once past it. */
export function judgementValidUntil(report: VerifyReport, judgedAt: number): string | null {
  const forecast = report.trust?.forecast
  if (!forecast) return null
  const strict = forecast.strictUntil === null ? undefined : Date.parse(forecast.strictUntil)
  if (strict === undefined) return null
  return judgedAt < strict ? new Date(strict).toISOString() : forecast.graceUntil
}
