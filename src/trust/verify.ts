// Offline TUF client workflow (TUF specification section 5, without the network): everything is checked against the
// pinned root and the in-memory files of one mirror. One function per step, as tuf-js's TrustedMetadataStore:
// root (5.3), timestamp (5.4), snapshot (5.5), targets (5.6), delegations and target files (5.6.7, 5.7). No I/O
// except the optional state file, keyed by the pinned root (src/trust/state.ts).
import {
  MetadataKind,
  type Metadata,
  type Root,
  type Snapshot,
  type TargetFile,
  type Targets,
  type Timestamp,
} from '@tufjs/models'
import {AirlockError, isAirlockError} from '../errors.ts'
import {parseTrustedRoot} from '../sigstore/trust.ts'
import {DEFAULT_GRACE_MS, ExpiryJudge, type Grace} from './expiry.ts'
import {pinnedRootFingerprint, roleKeyFingerprints} from './keys.ts'
import {assertMirrorId} from './pinned.ts'
import {
  defaultStateDir,
  readLegacyTufState,
  readTufState,
  stateFilePath,
  type TufState,
  writeTufState,
} from './state.ts'
import {
  checkListedMetadata,
  checkTargetFile,
  checkVersion,
  type Fail,
  own,
  parseMetadata,
  requireThreshold,
  sha,
} from './tuf-metadata.ts'

export {DEFAULT_GRACE_MS, formatDuration, type Grace, parseGrace} from './expiry.ts'

const MAX_ROOT_ROTATIONS = 1024
const MAX_DELEGATIONS = 32

export interface TufVerifyOptions {
  /** the mirror's files, keyed by path relative to `sigstore/tuf/<mirrorId>/` (`metadata/13.root.json`, `targets/trusted_root.json`) */
  files: Map<string, Buffer>
  /** root.json pinned outside the archive (the public-good root shipped with airlock, or `--tuf-root`) */
  pinnedRoot: Buffer
  /** the archive's name for the mirror: reports only, never the key of the state */
  mirrorId: string
  /** how long after its signed expiry timestamp and snapshot are still accepted, in ms; 0 = strict, default 30 days.
   * Root and targets are always judged strictly. 'unlimited' needs a rollback state for this pinned root. */
  grace?: Grace
  /** the reference time (default: the wall clock); the state's last import time if that is later */
  now?: Date
  /** rollback memory across imports; default `{dir: defaultStateDir()}`, `false` to skip. With `write: false` the
   * state is read and enforced but not written: the caller writes `nextState` (writeTufState) once everything else
   * passed too. */
  state?: {dir: string; write?: boolean} | false
}

export interface TufReport {
  source: 'tuf'
  mirror: string
  pinnedRootVersion: number
  /** fingerprint of the pinned root (the key of the rollback state) */
  pinnedRootFingerprint: string
  rootVersion: number
  timestampVersion: number
  snapshotVersion: number
  targetsVersion: number
  delegatedVersions: Record<string, number>
  /** sha256 of every verified target file, by target path */
  targetHashes: Record<string, string>
  /** signed expiry of every accepted role, e.g. {"root v15": "...", "timestamp v762": "..."} */
  expiries: Record<string, string>
  /** role type (root, timestamp, snapshot, targets) of each label in `expiries`: delegated roles are `targets` */
  expiryKinds: Record<string, string>
  /** one line on metadata age: how far past its expiry the stalest role is, or when the first one expires */
  ageNote: string
  /** true when at least one role was accepted only thanks to the grace period */
  graceUsed: boolean
  /** the roles accepted only thanks to the grace period (timestamp and snapshot only), e.g. ["timestamp v762"] */
  graceRoles: string[]
  grace: Grace
  /** largest time past expiry among accepted roles, in ms (0 if none expired) */
  maxExpiredMs: number
  /** the reference time expiry was judged at */
  now: string
  /** the state file read and updated, if any */
  stateFile?: string
}

export interface TufVerifyResult {
  /** the verified bytes of the `trusted_root.json` target */
  trustedRoot: Buffer
  /** every verified target file in the archive, by target path */
  targets: Map<string, Buffer>
  report: TufReport
  /** the state to record for this pinned root (written already unless `state.write === false`) */
  nextState?: TufState
}

/** The versions accepted before (the previous trusted metadata, in spec terms). Legacy states name keys by id. */
interface Floor
  extends Pick<TufState, 'root' | 'timestamp' | 'timestampSha256' | 'snapshot' | 'targets' | 'delegated'> {
  keys: {timestamp: string[]; snapshot: string[]; byKeyId: boolean}
  updatedAt?: number
}

/** One verification: the mirror's files, the failure helper, the expiry judge and the floor. */
interface Session {
  mirrorId: string
  files: Map<string, Buffer>
  fail: Fail
  expiry: ExpiryJudge
  floor: Floor | undefined
}

interface Role {
  md: Metadata<Targets>
  label: string
}

const replay = (s: Session, what: string, got: number, had: number, role: string): never =>
  s.fail(`${what} v${got} is older than ${role} v${had} accepted on an earlier import (rollback or replayed archive)`)

function checkFileNames(s: Session): void {
  for (const name of s.files.keys()) {
    const parts = name.split('/')
    if (name.startsWith('/') || parts.some(p => p === '' || p === '.' || p === '..') || name.includes('\\'))
      s.fail(`unsafe file name in the archive: ${JSON.stringify(name)}`)
  }
}

function readFloor(stateOpt: {dir: string} | false, pinnedFp: string, mirrorId: string): Floor | undefined {
  if (!stateOpt) return undefined
  const current = readTufState(stateOpt.dir, pinnedFp)
  const legacy = current ? undefined : readLegacyTufState(stateOpt.dir, mirrorId)
  const state = current ?? legacy
  if (!state) return undefined
  const updatedAt = Date.parse(state.updatedAt)
  return {
    root: state.root,
    timestamp: state.timestamp,
    ...(state.timestampSha256 ? {timestampSha256: state.timestampSha256} : {}),
    snapshot: state.snapshot,
    targets: state.targets,
    delegated: {...state.delegated},
    keys: current
      ? {timestamp: current.timestampKeys, snapshot: current.snapshotKeys, byKeyId: false}
      : {
          timestamp: [...(legacy?.timestampKeyids ?? [])].sort(),
          snapshot: [...(legacy?.snapshotKeyids ?? [])].sort(),
          byKeyId: true,
        },
    ...(Number.isNaN(updatedAt) ? {} : {updatedAt}),
  }
}

const sameList = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i])

function roleKeys(root: Metadata<Root>, role: string, byKeyId: boolean): string[] {
  const ids = own(root.signed.roles, role)?.keyIDs ?? []
  return byKeyId ? [...ids].sort() : roleKeyFingerprints(root.signed.keys, ids)
}

/** 5.3: the root chain, version by version from the pinned root; then the floor, reset on key rotation (5.3.11). */
function updateRoot(s: Session, pinned: Metadata<Root>): Metadata<Root> {
  const pinnedVersion = pinned.signed.version
  requireThreshold(s.fail, pinned, MetadataKind.Root, pinned, `the pinned root v${pinnedVersion}`, 'its own')
  const roots = new Map<number, Buffer>()
  for (const [name, bytes] of s.files) {
    const m = /^metadata\/([1-9]\d*)\.root\.json$/.exec(name)
    if (m) roots.set(checkVersion(s.fail, `${name}: root version`, Number(m[1])), bytes)
    else if (/^metadata\/\d+\.root\.json$/.test(name))
      s.fail(`${name}: a root file is named by its version, without leading zeros`)
  }
  const newest = roots.size ? Math.max(...roots.keys()) : pinnedVersion
  if (newest < pinnedVersion)
    s.fail(`the archive's newest root is v${newest}, older than the pinned root v${pinnedVersion} (rollback)`)
  if (newest - pinnedVersion > MAX_ROOT_ROTATIONS) s.fail(`root chain from v${pinnedVersion} to v${newest} is too long`)
  const samePinned = roots.get(pinnedVersion)
  if (
    samePinned &&
    !parseMetadata(s.fail, MetadataKind.Root, samePinned, `root v${pinnedVersion}`).signed.equals(pinned.signed)
  )
    s.fail(`root v${pinnedVersion} in the archive differs from the pinned root v${pinnedVersion}`)
  let root = pinned
  for (let v = pinnedVersion + 1; v <= newest; v++) {
    const bytes = roots.get(v)
    if (!bytes) {
      const next = [...roots.keys()].filter(x => x > v).sort((a, b) => a - b)[0]
      s.fail(`root v${v} is missing from the archive (the chain would skip from v${v - 1} to v${next})`)
    }
    const candidate = parseMetadata(s.fail, MetadataKind.Root, bytes as Buffer, `root v${v}`)
    if (candidate.signed.version !== v)
      s.fail(`metadata/${v}.root.json holds root v${candidate.signed.version}, not v${v}`)
    requireThreshold(s.fail, root, MetadataKind.Root, candidate, `root v${v}`, `root v${v - 1}'s`)
    requireThreshold(s.fail, candidate, MetadataKind.Root, candidate, `root v${v}`, 'its own')
    root = candidate
  }
  const rootVersion = root.signed.version
  s.expiry.check(MetadataKind.Root, `root v${rootVersion}`, root.signed.expires)
  const floor = s.floor
  if (floor) {
    if (rootVersion < floor.root) replay(s, 'root', rootVersion, floor.root, 'root')
    // 5.3.11: after a rotation of the timestamp or snapshot keys the trusted timestamp and snapshot are deleted, and
    // with the snapshot every targets version it vouched for (fast-forward attack recovery). Rotation is judged by
    // key material: the same key under a new id is no rotation.
    const rotated =
      !sameList(roleKeys(root, MetadataKind.Timestamp, floor.keys.byKeyId), floor.keys.timestamp) ||
      !sameList(roleKeys(root, MetadataKind.Snapshot, floor.keys.byKeyId), floor.keys.snapshot)
    if (rootVersion > floor.root && rotated)
      s.floor = {
        root: floor.root,
        timestamp: 0,
        snapshot: 0,
        targets: 0,
        delegated: {},
        keys: floor.keys,
        ...(floor.updatedAt ? {updatedAt: floor.updatedAt} : {}),
      }
  }
  return root
}

/** 5.4: the timestamp, signed by the root's timestamp keys, never older than (or, at the same version, different from) the one accepted before. */
function updateTimestamp(
  s: Session,
  root: Metadata<Root>,
): {timestamp: Metadata<Timestamp>; sha256: string; label: string} {
  const bytes = s.files.get('metadata/timestamp.json') ?? s.fail('timestamp.json is missing from the archive')
  const timestamp = parseMetadata(s.fail, MetadataKind.Timestamp, bytes, 'timestamp.json')
  const label = `timestamp v${timestamp.signed.version}`
  requireThreshold(s.fail, root, MetadataKind.Timestamp, timestamp, label, `root v${root.signed.version}'s timestamp`)
  const digest = sha('sha256', bytes)
  const snapshotMeta = timestamp.signed.snapshotMeta
  checkVersion(s.fail, `${label} lists snapshot version`, snapshotMeta.version)
  const floor = s.floor
  if (floor) {
    if (timestamp.signed.version < floor.timestamp)
      replay(s, 'timestamp', timestamp.signed.version, floor.timestamp, 'timestamp')
    if (timestamp.signed.version === floor.timestamp && floor.timestampSha256 && floor.timestampSha256 !== digest)
      s.fail(
        `${label} differs from the timestamp v${floor.timestamp} accepted on an earlier import (same version, other content)`,
      )
    if (snapshotMeta.version < floor.snapshot)
      s.fail(
        `${label} lists snapshot v${snapshotMeta.version}, older than snapshot v${floor.snapshot} accepted on an earlier import (rollback or replayed archive)`,
      )
  }
  s.expiry.check(MetadataKind.Timestamp, label, timestamp.signed.expires)
  return {timestamp, sha256: digest, label}
}

/** 5.5: the snapshot the timestamp lists; no role the previous snapshot listed may vanish or go back (5.5.5). */
function updateSnapshot(
  s: Session,
  root: Metadata<Root>,
  ts: {timestamp: Metadata<Timestamp>; label: string},
): {snapshot: Metadata<Snapshot>; label: string} {
  const snapshotMeta = ts.timestamp.signed.snapshotMeta
  const bytes = s.files.get('metadata/snapshot.json') ?? s.fail('snapshot.json is missing from the archive')
  const {md: snapshot, label} = checkListedMetadata(
    s.fail,
    MetadataKind.Snapshot,
    MetadataKind.Snapshot,
    bytes,
    {meta: snapshotMeta, by: ts.label},
    {md: root, label: `root v${root.signed.version}`},
    'snapshot/timestamp',
  )
  for (const [name, meta] of Object.entries(snapshot.signed.meta))
    checkVersion(s.fail, `${label} lists ${name} version`, meta.version)
  const floor = s.floor
  if (floor) {
    if (snapshot.signed.version < floor.snapshot)
      replay(s, 'snapshot', snapshot.signed.version, floor.snapshot, 'snapshot')
    const recorded: Array<[string, number]> = [
      ['targets.json', floor.targets],
      ...Object.entries(floor.delegated).map(([role, v]): [string, number] => [`${role}.json`, v]),
    ]
    for (const [name, v] of recorded) {
      if (v === 0) continue
      const listed =
        own(snapshot.signed.meta, name) ??
        s.fail(
          `${label} no longer lists ${name}, listed (v${v}) by the snapshot accepted on an earlier import (rollback)`,
        )
      if (listed.version < v)
        s.fail(`${label} lists ${name} v${listed.version}, older than v${v} accepted on an earlier import (rollback)`)
    }
  }
  s.expiry.check(MetadataKind.Snapshot, label, snapshot.signed.expires)
  return {snapshot, label}
}

/** 5.6: the top-level targets the snapshot lists, at exactly that version. */
function updateTargets(s: Session, root: Metadata<Root>, snap: {snapshot: Metadata<Snapshot>; label: string}): Role {
  const meta = own(snap.snapshot.signed.meta, 'targets.json') ?? s.fail(`${snap.label} does not list targets.json`)
  const bytes = s.files.get('metadata/targets.json') ?? s.fail('targets.json is missing from the archive')
  const {md, label} = checkListedMetadata(
    s.fail,
    MetadataKind.Targets,
    MetadataKind.Targets,
    bytes,
    {meta, by: snap.label},
    {md: root, label: `root v${root.signed.version}`},
    'snapshot/targets',
  )
  s.expiry.check(MetadataKind.Targets, label, md.signed.expires)
  return {md, label}
}

/**
 * 5.6.7: delegated targets roles. Every role present in the archive is verified (`loadAll`); a missing one only
 * matters when a target search has to go through it (`find`, the preorder depth-first search of tuf-js's Updater).
 */
class Delegations {
  readonly loaded = new Map<string, Role>()
  private readonly s: Session
  private readonly snap: {snapshot: Metadata<Snapshot>; label: string}
  private readonly top: Role

  constructor(s: Session, snap: {snapshot: Metadata<Snapshot>; label: string}, top: Role) {
    this.s = s
    this.snap = snap
    this.top = top
  }

  load(role: string, parent: Role): Role | undefined {
    const s = this.s
    const cached = this.loaded.get(role)
    if (cached) {
      requireThreshold(s.fail, parent.md, role, cached.md, cached.label, `${parent.label}'s ${role}`)
      return cached
    }
    const bytes = s.files.get(`metadata/${encodeURIComponent(role)}.json`)
    if (!bytes) return undefined
    const meta =
      own(this.snap.snapshot.signed.meta, `${role}.json`) ??
      s.fail(`delegated role ${role} is not listed in ${this.snap.label}`)
    const {md, label} = checkListedMetadata(
      s.fail,
      MetadataKind.Targets,
      role,
      bytes,
      {meta, by: this.snap.label},
      parent,
      'snapshot/targets',
    )
    s.expiry.check(MetadataKind.Targets, label, md.signed.expires)
    const entry = {md, label}
    this.loaded.set(role, entry)
    return entry
  }

  loadAll(): void {
    const queue: Role[] = [this.top]
    const seen = new Set<string>([MetadataKind.Targets])
    while (queue.length) {
      const parent = queue.shift() as Role
      for (const role of Object.keys(parent.md.signed.delegations?.roles ?? {})) {
        if (seen.has(role)) continue
        seen.add(role)
        if (seen.size > MAX_DELEGATIONS + 1) this.s.fail(`too many delegated roles (over ${MAX_DELEGATIONS})`)
        const entry = this.load(role, parent)
        if (entry) queue.push(entry)
      }
    }
  }

  find(path: string): {info: TargetFile; by: string} | undefined {
    const stack: Array<{role: string; parent?: Role}> = [{role: MetadataKind.Targets}]
    const visited = new Set<string>()
    while (stack.length && visited.size <= MAX_DELEGATIONS) {
      const {role, parent} = stack.pop() as {role: string; parent?: Role}
      if (visited.has(role)) continue
      const entry = parent ? this.load(role, parent) : this.top
      if (!entry)
        return this.s.fail(`delegated role ${role}, needed to resolve target ${path}, is missing from the archive`)
      const info = own(entry.md.signed.targets, path)
      if (info) return {info, by: entry.label}
      visited.add(role)
      const children: Array<{role: string; parent: Role}> = []
      for (const {role: child, terminating} of entry.md.signed.delegations?.rolesForTarget(path) ?? []) {
        children.push({role: child, parent: entry})
        if (terminating) {
          stack.splice(0)
          break
        }
      }
      stack.push(...children.reverse())
    }
    return undefined
  }
}

/** 5.7: every file under `targets/` must be a target of the verified metadata, with its listed length and hashes. */
function verifyTargetFiles(s: Session, delegations: Delegations): Map<string, Buffer> {
  const verified = new Map<string, Buffer>()
  for (const [name, bytes] of s.files) {
    if (!name.startsWith('targets/')) continue
    const path = name.slice('targets/'.length)
    const found =
      delegations.find(path) ?? s.fail(`targets/${path} is not listed in the TUF targets metadata (unverified file)`)
    checkTargetFile(s.fail, path, bytes, found.info, found.by)
    verified.set(path, bytes)
  }
  return verified
}

/** The state to record after success: the new trusted metadata replaces the old (none went back or vanished: checked). */
function stateAfter(
  pinnedFp: string,
  mirrorId: string,
  root: Metadata<Root>,
  ts: {timestamp: Metadata<Timestamp>; sha256: string},
  snapshot: Metadata<Snapshot>,
  targets: Metadata<Targets>,
  now: Date,
): TufState {
  // every role the snapshot lists, carried or not, so that none may vanish from a later one (5.5.5)
  const listed: Record<string, number> = Object.create(null)
  for (const [name, meta] of Object.entries(snapshot.signed.meta))
    if (name !== 'targets.json' && name !== 'root.json') listed[name.replace(/\.json$/, '')] = meta.version
  return {
    format: 2,
    pinnedRoot: pinnedFp,
    mirror: mirrorId,
    root: root.signed.version,
    timestamp: ts.timestamp.signed.version,
    timestampSha256: ts.sha256,
    snapshot: snapshot.signed.version,
    targets: targets.signed.version,
    delegated: listed,
    timestampKeys: roleKeys(root, MetadataKind.Timestamp, false),
    snapshotKeys: roleKeys(root, MetadataKind.Snapshot, false),
    updatedAt: now.toISOString(),
  }
}

export function verifyTufOffline(options: TufVerifyOptions): TufVerifyResult {
  const {mirrorId} = options
  assertMirrorId(mirrorId)
  const fail: Fail = message => {
    throw new AirlockError('TRUST_INVALID', `TUF ${mirrorId}: ${message}`, {details: {mirror: mirrorId}})
  }
  try {
    return verifyMirror(options, fail)
  } catch (error) {
    // a bug or a shape nobody foresaw is still a refusal of this mirror, never a crash past the --trusted-root fallback
    if (isAirlockError(error)) throw error
    throw new AirlockError(
      'TRUST_INVALID',
      `TUF ${mirrorId}: cannot verify the metadata: ${(error as Error).message}`,
      {cause: error, details: {mirror: mirrorId}},
    )
  }
}

function verifyMirror(options: TufVerifyOptions, fail: Fail): TufVerifyResult {
  const {files, mirrorId} = options
  const grace: Grace = options.grace ?? DEFAULT_GRACE_MS
  if (grace !== 'unlimited' && (!Number.isFinite(grace) || grace < 0))
    throw new AirlockError('USAGE', `invalid TUF grace period ${grace}`)
  const stateOpt = options.state === undefined ? {dir: defaultStateDir()} : options.state
  const pinned = parseMetadata(fail, MetadataKind.Root, options.pinnedRoot, 'the pinned root')
  const pinnedFp = pinnedRootFingerprint(pinned)
  const floor = readFloor(stateOpt, pinnedFp, mirrorId)
  if (grace === 'unlimited' && !floor)
    fail(
      'unlimited grace needs the rollback state of an earlier import from this pinned root (--state; not --no-state): verify a current archive first, or give a finite --tuf-grace',
    )
  // a clock set back behind the last accepted import cannot revive metadata
  const clock = options.now ?? new Date()
  const now = new Date(Math.max(clock.getTime(), floor?.updatedAt ?? 0))
  const s: Session = {mirrorId, files, fail, expiry: new ExpiryJudge(now, grace, fail, clock), floor}

  checkFileNames(s)
  const root = updateRoot(s, pinned)
  const ts = updateTimestamp(s, root)
  const snap = updateSnapshot(s, root, ts)
  const targets = updateTargets(s, root, snap)
  const delegations = new Delegations(s, snap, targets)
  delegations.loadAll()
  const verifiedTargets = verifyTargetFiles(s, delegations)
  const trustedRoot = verifiedTargets.get('trusted_root.json') ?? fail('trusted_root.json is missing from the archive')
  parseTrustedRoot(trustedRoot, `TUF ${mirrorId}: target trusted_root.json`) // its shape, as every trusted root

  const targetHashes: Record<string, string> = {}
  for (const [path, bytes] of verifiedTargets) targetHashes[path] = sha('sha256', bytes)
  const delegatedVersions: Record<string, number> = {}
  for (const [role, {md}] of delegations.loaded) delegatedVersions[role] = md.signed.version
  const report: TufReport = {
    source: 'tuf',
    mirror: mirrorId,
    pinnedRootVersion: pinned.signed.version,
    pinnedRootFingerprint: pinnedFp,
    rootVersion: root.signed.version,
    timestampVersion: ts.timestamp.signed.version,
    snapshotVersion: snap.snapshot.signed.version,
    targetsVersion: targets.md.signed.version,
    delegatedVersions,
    targetHashes,
    expiries: s.expiry.expiries,
    expiryKinds: s.expiry.kinds,
    ageNote: s.expiry.note(),
    graceUsed: s.expiry.graceRoles.length > 0,
    graceRoles: s.expiry.graceRoles,
    grace,
    maxExpiredMs: s.expiry.maxExpiredMs,
    now: now.toISOString(),
  }
  if (!stateOpt) return {trustedRoot, targets: verifiedTargets, report}
  const nextState = stateAfter(pinnedFp, mirrorId, root, ts, snap.snapshot, targets.md, now)
  report.stateFile =
    stateOpt.write === false ? stateFilePath(stateOpt.dir, pinnedFp) : writeTufState(stateOpt.dir, nextState)
  return {trustedRoot, targets: verifiedTargets, report, nextState}
}
