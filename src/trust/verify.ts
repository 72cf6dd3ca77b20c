// Offline TUF client workflow (TUF specification section 5, without the network): everything is checked against the
// pinned root and the in-memory files of one mirror. No I/O except the optional state file.
import {createHash} from 'node:crypto'
import {Metadata, MetadataKind, type MetaFile, type Root, type Snapshot, type TargetFile, type Targets, type Timestamp} from '@tufjs/models'
import {AirlockError} from '../errors.ts'
import {assertMirrorId} from './pinned.ts'
import {defaultStateDir, readTufState, stateFilePath, type TufState, writeTufState} from './state.ts'
import {validateTrustedRoot} from './trusted-root-file.ts'

export const DEFAULT_GRACE_MS = 30 * 24 * 60 * 60 * 1000
const MAX_ROOT_ROTATIONS = 1024
const MAX_DELEGATIONS = 32
const HASHES: Record<string, string> = {sha256: 'sha256', sha384: 'sha384', sha512: 'sha512'}

export type Grace = number | 'unlimited'

export interface TufVerifyOptions {
  /** the mirror's files, keyed by path relative to `sigstore/tuf/<mirrorId>/` (`metadata/13.root.json`, `targets/trusted_root.json`) */
  files: Map<string, Buffer>
  /** root.json pinned outside the archive (the public-good root shipped with airlock, or `--tuf-root`) */
  pinnedRoot: Buffer
  mirrorId: string
  /** how long after its signed expiry a role is still accepted, in ms; 0 = strict, default 30 days */
  grace?: Grace
  /** the reference time (default: the wall clock) */
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
  rootVersion: number
  timestampVersion: number
  snapshotVersion: number
  targetsVersion: number
  delegatedVersions: Record<string, number>
  /** sha256 of every verified target file, by target path */
  targetHashes: Record<string, string>
  /** signed expiry of every accepted role, e.g. {"root v15": "...", "timestamp v762": "..."} */
  expiries: Record<string, string>
  /** one line on metadata age: how far past its expiry the stalest role is, or when the first one expires */
  ageNote: string
  /** true when at least one role was accepted only thanks to the grace period */
  graceUsed: boolean
  grace: Grace
  /** largest time past expiry among accepted roles, in ms (0 if none expired) */
  maxExpiredMs: number
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
  /** the state to record for this mirror (written already unless `state.write === false`) */
  nextState?: TufState
}

type AnyMetadata = Metadata<Root | Timestamp | Snapshot | Targets>

export function formatDuration(ms: number): string {
  const abs = Math.abs(ms)
  const d = Math.floor(abs / 86_400_000)
  const h = Math.floor((abs % 86_400_000) / 3_600_000)
  const m = Math.floor((abs % 3_600_000) / 60_000)
  if (d > 0) return h > 0 ? `${d}d ${h}h` : `${d}d`
  if (h > 0) return m > 0 ? `${h}h ${m}m` : `${h}h`
  return `${Math.max(m, abs > 0 ? 1 : 0)}m`
}

/** Parses `--tuf-grace`: `0`, `unlimited`, or a duration like `30d`, `12h`, `90m`, `1w`. */
export function parseGrace(text: string): Grace {
  const t = text.trim().toLowerCase()
  if (t === 'unlimited' || t === 'inf' || t === 'infinity') return 'unlimited'
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?$/.exec(t)
  if (!m) throw new AirlockError('USAGE', `invalid TUF grace period ${JSON.stringify(text)} (use e.g. 30d, 12h, 0 or unlimited)`)
  const unit = {ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000}[(m[2] ?? 'd') as 'd']
  return Math.round(Number(m[1]) * unit)
}

function sha(alg: string, data: Buffer): string {
  return createHash(alg).update(data).digest('hex')
}

export function verifyTufOffline(options: TufVerifyOptions): TufVerifyResult {
  const {files, pinnedRoot, mirrorId} = options
  assertMirrorId(mirrorId)
  const grace: Grace = options.grace ?? DEFAULT_GRACE_MS
  if (grace !== 'unlimited' && (!Number.isFinite(grace) || grace < 0)) throw new AirlockError('USAGE', `invalid TUF grace period ${grace}`)
  const now = options.now ?? new Date()
  const stateOpt = options.state === undefined ? {dir: defaultStateDir()} : options.state

  const fail = (message: string): never => {
    throw new AirlockError('TRUST_INVALID', `TUF ${mirrorId}: ${message}`, {details: {mirror: mirrorId}})
  }

  for (const name of files.keys()) {
    const parts = name.split('/')
    if (name.startsWith('/') || parts.some((p) => p === '' || p === '.' || p === '..') || name.includes('\\'))
      fail(`unsafe file name in the archive: ${JSON.stringify(name)}`)
  }

  const parse = <K extends MetadataKind>(kind: K, bytes: Buffer, label: string) => {
    let json: unknown
    try {
      json = JSON.parse(bytes.toString('utf8'))
    } catch {
      return fail(`${label} is not valid JSON`)
    }
    try {
      return Metadata.fromJSON(kind as MetadataKind.Root, json as never) as unknown as Metadata<
        K extends MetadataKind.Root ? Root : K extends MetadataKind.Timestamp ? Timestamp : K extends MetadataKind.Snapshot ? Snapshot : Targets
      >
    } catch (error) {
      return fail(`${label} is not valid TUF ${kind} metadata: ${(error as Error).message}`)
    }
  }

  /** Threshold check through @tufjs/models' verifyDelegate; on failure, counts the valid signatures for the message. */
  const requireThreshold = (delegator: Metadata<Root> | Metadata<Targets>, role: string, delegate: AnyMetadata, what: string, by: string) => {
    try {
      delegator.verifyDelegate(role, delegate)
      return
    } catch {
      // fall through to count
    }
    let keyids: string[] = []
    let threshold = 0
    let keys: Record<string, {verifySignature(m: AnyMetadata): void}> = {}
    if (delegator.signed.type === MetadataKind.Root) {
      const r = (delegator.signed as Root).roles[role]
      keyids = r?.keyIDs ?? []
      threshold = r?.threshold ?? 0
      keys = (delegator.signed as Root).keys
    } else {
      const d = (delegator.signed as Targets).delegations
      const r = d?.roles?.[role]
      keyids = r?.keyIDs ?? []
      threshold = r?.threshold ?? 0
      keys = d?.keys ?? {}
    }
    let valid = 0
    for (const id of new Set(keyids)) {
      try {
        keys[id]?.verifySignature(delegate)
        if (keys[id]) valid++
      } catch {
        // not signed by this key
      }
    }
    fail(`${what} is not signed by a threshold of ${by} keys (${valid}/${threshold})`)
  }

  const checkMeta = (bytes: Buffer, meta: MetaFile, what: string, by: string) => {
    if (meta.length !== undefined && bytes.length !== meta.length) fail(`${what} is ${bytes.length} bytes, ${by} lists ${meta.length}`)
    for (const [alg, want] of Object.entries(meta.hashes ?? {})) {
      const node = HASHES[alg]
      if (!node) fail(`${what}: ${by} lists an unsupported hash algorithm ${alg}`)
      const got = sha(node as string, bytes)
      if (got !== want.toLowerCase()) fail(`${what} ${alg} ${got.slice(0, 16)}... does not match ${by} (${want.slice(0, 16)}...)`)
    }
  }

  let graceUsed = false
  let maxExpiredMs = 0
  let stalest: {label: string; expires: string; past: number} | undefined
  const expiries: Record<string, string> = {}
  const checkExpiry = (label: string, expires: string) => {
    const t = Date.parse(expires)
    if (Number.isNaN(t)) fail(`${label} has an invalid expiry ${JSON.stringify(expires)}`)
    expiries[label] = expires
    const past = now.getTime() - t
    if (!stalest || past > stalest.past) stalest = {label, expires, past}
    if (past <= 0) return
    if (grace !== 'unlimited' && past >= grace)
      fail(
        grace === 0
          ? `${label} expired ${expires} (${formatDuration(past)} ago) and expiry is strict (grace 0)`
          : `${label} expired ${expires} (${formatDuration(past)} ago), beyond the ${formatDuration(grace)} grace period`,
      )
    graceUsed = true
    maxExpiredMs = Math.max(maxExpiredMs, past)
  }

  // --- state (rollback memory across imports) ---
  const previous: TufState | undefined = stateOpt ? readTufState(stateOpt.dir, mirrorId) : undefined
  const replay = (what: string, got: number, had: number, role: string) =>
    fail(`${what} v${got} is older than ${role} v${had} accepted on an earlier import (rollback or replayed archive)`)

  // --- 5.3 root chain, version by version from the pinned root ---
  const pinned = parse(MetadataKind.Root, pinnedRoot, 'the pinned root')
  const pinnedVersion = pinned.signed.version
  requireThreshold(pinned, MetadataKind.Root, pinned, `the pinned root v${pinnedVersion}`, 'its own')
  const roots = new Map<number, Buffer>()
  for (const [name, bytes] of files) {
    const m = /^metadata\/(\d+)\.root\.json$/.exec(name)
    if (m) roots.set(Number(m[1]), bytes)
  }
  const newest = roots.size ? Math.max(...roots.keys()) : pinnedVersion
  if (newest < pinnedVersion) fail(`the archive's newest root is v${newest}, older than the pinned root v${pinnedVersion} (rollback)`)
  if (newest - pinnedVersion > MAX_ROOT_ROTATIONS) fail(`root chain from v${pinnedVersion} to v${newest} is too long`)
  const samePinned = roots.get(pinnedVersion)
  if (samePinned && !parse(MetadataKind.Root, samePinned, `root v${pinnedVersion}`).signed.equals(pinned.signed))
    fail(`root v${pinnedVersion} in the archive differs from the pinned root v${pinnedVersion}`)
  let root = pinned
  for (let v = pinnedVersion + 1; v <= newest; v++) {
    const bytes = roots.get(v)
    if (!bytes) {
      const next = [...roots.keys()].filter((x) => x > v).sort((a, b) => a - b)[0]
      fail(`root v${v} is missing from the archive (the chain would skip from v${v - 1} to v${next})`)
    }
    const candidate = parse(MetadataKind.Root, bytes as Buffer, `root v${v}`)
    if (candidate.signed.version !== v) fail(`metadata/${v}.root.json holds root v${candidate.signed.version}, not v${v}`)
    requireThreshold(root, MetadataKind.Root, candidate, `root v${v}`, `root v${v - 1}'s`)
    requireThreshold(candidate, MetadataKind.Root, candidate, `root v${v}`, 'its own')
    root = candidate
  }
  const rootVersion = root.signed.version
  const rootLabel = `root v${rootVersion}`
  checkExpiry(rootLabel, root.signed.expires)

  const keyidsOf = (role: string) => [...(root.signed.roles[role]?.keyIDs ?? [])].sort()
  const sameIds = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i])
  let floor = previous ? {...previous, delegated: {...previous.delegated}} : undefined
  if (floor) {
    if (rootVersion < floor.root) replay('root', rootVersion, floor.root, 'root')
    // TUF 5.3.11: after a rotation of the timestamp or snapshot keys, forget their versions (fast-forward recovery).
    if (rootVersion > floor.root && (!sameIds(keyidsOf('timestamp'), floor.timestampKeyids) || !sameIds(keyidsOf('snapshot'), floor.snapshotKeyids))) {
      floor = {...floor, timestamp: 0, snapshot: 0}
    }
  }

  // --- 5.4 timestamp ---
  const tsBytes = files.get('metadata/timestamp.json') ?? fail('timestamp.json is missing from the archive')
  const timestamp = parse(MetadataKind.Timestamp, tsBytes, 'timestamp.json')
  const tsLabel = `timestamp v${timestamp.signed.version}`
  requireThreshold(root, MetadataKind.Timestamp, timestamp, tsLabel, `${rootLabel}'s timestamp`)
  const snapshotMeta = timestamp.signed.snapshotMeta
  if (floor && timestamp.signed.version < floor.timestamp) replay('timestamp', timestamp.signed.version, floor.timestamp, 'timestamp')
  if (floor && snapshotMeta.version < floor.snapshot)
    fail(`${tsLabel} lists snapshot v${snapshotMeta.version}, older than snapshot v${floor.snapshot} accepted on an earlier import (rollback or replayed archive)`)
  checkExpiry(tsLabel, timestamp.signed.expires)

  // --- 5.5 snapshot ---
  const snapBytes = files.get('metadata/snapshot.json') ?? fail('snapshot.json is missing from the archive')
  checkMeta(snapBytes, snapshotMeta, 'snapshot.json', tsLabel)
  const snapshot = parse(MetadataKind.Snapshot, snapBytes, 'snapshot.json')
  const snapLabel = `snapshot v${snapshot.signed.version}`
  requireThreshold(root, MetadataKind.Snapshot, snapshot, snapLabel, `${rootLabel}'s snapshot`)
  if (snapshot.signed.version !== snapshotMeta.version)
    fail(`${snapLabel} is not the version ${tsLabel} lists (v${snapshotMeta.version}): snapshot/timestamp mix-and-match`)
  if (floor) {
    if (snapshot.signed.version < floor.snapshot) replay('snapshot', snapshot.signed.version, floor.snapshot, 'snapshot')
    const recorded: Record<string, number> = {'targets.json': floor.targets}
    for (const [role, v] of Object.entries(floor.delegated)) recorded[`${role}.json`] = v
    for (const [name, v] of Object.entries(recorded)) {
      const now = snapshot.signed.meta[name]
      if (now && now.version < v) fail(`${snapLabel} lists ${name} v${now.version}, older than v${v} accepted on an earlier import (rollback)`)
    }
  }
  checkExpiry(snapLabel, snapshot.signed.expires)

  // --- 5.6 targets ---
  const targetsMeta = snapshot.signed.meta['targets.json'] ?? fail(`${snapLabel} does not list targets.json`)
  const tgBytes = files.get('metadata/targets.json') ?? fail('targets.json is missing from the archive')
  checkMeta(tgBytes, targetsMeta, 'targets.json', snapLabel)
  const targets = parse(MetadataKind.Targets, tgBytes, 'targets.json')
  const tgLabel = `targets v${targets.signed.version}`
  requireThreshold(root, MetadataKind.Targets, targets, tgLabel, `${rootLabel}'s targets`)
  if (targets.signed.version !== targetsMeta.version)
    fail(`${tgLabel} is not the version ${snapLabel} lists (v${targetsMeta.version}): snapshot/targets mix-and-match`)
  checkExpiry(tgLabel, targets.signed.expires)

  // --- 5.6.7 delegated targets: every delegated role present in the archive is verified; missing ones only
  // matter when a target search has to go through them ---
  const delegated = new Map<string, {md: Metadata<Targets>; label: string}>()
  const loadDelegated = (role: string, parent: Metadata<Targets>, parentLabel: string): {md: Metadata<Targets>; label: string} | undefined => {
    const cached = delegated.get(role)
    if (cached) {
      requireThreshold(parent, role, cached.md, cached.label, `${parentLabel}'s ${role}`)
      return cached
    }
    const bytes = files.get(`metadata/${encodeURIComponent(role)}.json`)
    if (!bytes) return undefined
    const meta = snapshot.signed.meta[`${role}.json`] ?? fail(`delegated role ${role} is not listed in ${snapLabel}`)
    checkMeta(bytes, meta, `${role}.json`, snapLabel)
    const md = parse(MetadataKind.Targets, bytes, `${role}.json`)
    const label = `${role} v${md.signed.version}`
    requireThreshold(parent, role, md, label, `${parentLabel}'s ${role}`)
    if (md.signed.version !== meta.version) fail(`${label} is not the version ${snapLabel} lists (v${meta.version}): snapshot/targets mix-and-match`)
    checkExpiry(label, md.signed.expires)
    const entry = {md, label}
    delegated.set(role, entry)
    return entry
  }
  {
    const queue: Array<{md: Metadata<Targets>; label: string}> = [{md: targets, label: tgLabel}]
    const seen = new Set<string>([MetadataKind.Targets])
    while (queue.length) {
      const {md, label} = queue.shift() as {md: Metadata<Targets>; label: string}
      for (const role of Object.keys(md.signed.delegations?.roles ?? {})) {
        if (seen.has(role)) continue
        seen.add(role)
        if (seen.size > MAX_DELEGATIONS + 1) fail(`too many delegated roles (over ${MAX_DELEGATIONS})`)
        const entry = loadDelegated(role, md, label)
        if (entry) queue.push(entry)
      }
    }
  }

  /** Preorder depth-first search for a target (TUF 5.6.7.2), as tuf-js's Updater does. */
  const findTarget = (path: string): {info: TargetFile; by: string} | undefined => {
    const stack: Array<{role: string; parent?: {md: Metadata<Targets>; label: string}}> = [{role: MetadataKind.Targets}]
    const visited = new Set<string>()
    while (stack.length && visited.size <= MAX_DELEGATIONS) {
      const {role, parent} = stack.pop() as {role: string; parent?: {md: Metadata<Targets>; label: string}}
      if (visited.has(role)) continue
      const entry = parent ? loadDelegated(role, parent.md, parent.label) : {md: targets, label: tgLabel}
      if (!entry) fail(`delegated role ${role}, needed to resolve target ${path}, is missing from the archive`)
      const {md, label} = entry as {md: Metadata<Targets>; label: string}
      const info = md.signed.targets[path]
      if (info) return {info, by: label}
      visited.add(role)
      const children: Array<{role: string; parent: {md: Metadata<Targets>; label: string}}> = []
      for (const {role: child, terminating} of md.signed.delegations?.rolesForTarget(path) ?? []) {
        children.push({role: child, parent: {md, label}})
        if (terminating) {
          stack.splice(0)
          break
        }
      }
      stack.push(...children.reverse())
    }
    return undefined
  }

  // --- 5.7 target files ---
  const verifiedTargets = new Map<string, Buffer>()
  const targetHashes: Record<string, string> = {}
  for (const [name, bytes] of files) {
    if (!name.startsWith('targets/')) continue
    const path = name.slice('targets/'.length)
    const found = findTarget(path) ?? fail(`targets/${path} is not listed in the TUF targets metadata (unverified file)`)
    const {info, by} = found as {info: TargetFile; by: string}
    if (bytes.length !== info.length) fail(`target ${path} is ${bytes.length} bytes, ${by} lists ${info.length}`)
    const algs = Object.entries(info.hashes)
    if (algs.length === 0) fail(`target ${path}: ${by} lists no hashes`)
    for (const [alg, want] of algs) {
      const node = HASHES[alg] ?? fail(`target ${path}: ${by} lists an unsupported hash algorithm ${alg}`)
      const got = sha(node, bytes)
      if (got !== want.toLowerCase()) fail(`target ${path} ${alg} ${got.slice(0, 16)}... does not match the hash ${by} lists (${want.slice(0, 16)}...)`)
    }
    verifiedTargets.set(path, bytes)
    targetHashes[path] = sha('sha256', bytes)
  }
  const trustedRoot = verifiedTargets.get('trusted_root.json') ?? fail('trusted_root.json is missing from the archive')
  validateTrustedRoot(trustedRoot, `TUF ${mirrorId}: target trusted_root.json`)

  const delegatedVersions: Record<string, number> = {}
  for (const [role, {md}] of delegated) delegatedVersions[role] = md.signed.version

  const s = stalest as {label: string; expires: string; past: number} | undefined
  let ageNote = 'no expiry to report'
  if (s && s.past > 0)
    ageNote = `${s.label} expired ${s.expires} (${formatDuration(s.past)} before ${now.toISOString()}); accepted within the ${grace === 'unlimited' ? 'unlimited' : formatDuration(grace)} grace period`
  else if (s) ageNote = `all metadata current; first expiry: ${s.label} at ${s.expires} (in ${formatDuration(-s.past)})`

  const report: TufReport = {
    source: 'tuf',
    mirror: mirrorId,
    pinnedRootVersion: pinnedVersion,
    rootVersion,
    timestampVersion: timestamp.signed.version,
    snapshotVersion: snapshot.signed.version,
    targetsVersion: targets.signed.version,
    delegatedVersions,
    targetHashes,
    expiries,
    ageNote,
    graceUsed,
    grace,
    maxExpiredMs,
    now: now.toISOString(),
  }

  let nextState: TufState | undefined
  if (stateOpt) {
    const mergedDelegated: Record<string, number> = {...(floor?.delegated ?? {})}
    for (const [role, v] of Object.entries(delegatedVersions)) mergedDelegated[role] = Math.max(v, mergedDelegated[role] ?? 0)
    nextState = {
      format: 1,
      mirror: mirrorId,
      root: rootVersion, // never below floor.root: that failed above
      timestamp: Math.max(timestamp.signed.version, floor?.timestamp ?? 0),
      snapshot: Math.max(snapshot.signed.version, floor?.snapshot ?? 0),
      targets: Math.max(targets.signed.version, floor?.targets ?? 0),
      delegated: mergedDelegated,
      timestampKeyids: keyidsOf('timestamp'),
      snapshotKeyids: keyidsOf('snapshot'),
      updatedAt: new Date().toISOString(),
    }
    report.stateFile = stateOpt.write === false ? stateFilePath(stateOpt.dir, mirrorId) : writeTufState(stateOpt.dir, nextState)
  }
  return {trustedRoot, targets: verifiedTargets, report, ...(nextState ? {nextState} : {})}
}
