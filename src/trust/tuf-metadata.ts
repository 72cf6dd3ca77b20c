// Checks on one TUF metadata file, shared by every step of the offline client (src/trust/verify.ts): parsing,
// thresholds of distinct keys, length and hashes against the listing role, versions. Lookups into objects parsed
// from the archive are own-property only: a target or algorithm named `constructor` is just an unknown name.
import {createHash} from 'node:crypto'
import {
  Metadata,
  MetadataKind,
  type MetaFile,
  type Root,
  type Snapshot,
  type Targets,
  type Timestamp,
} from '@tufjs/models'
import {validSigners} from './keys.ts'

export type AnyMetadata = Metadata<Root | Timestamp | Snapshot | Targets>
type Signed<K> = K extends MetadataKind.Root
  ? Root
  : K extends MetadataKind.Timestamp
    ? Timestamp
    : K extends MetadataKind.Snapshot
      ? Snapshot
      : Targets
export type Fail = (message: string) => never

const HASHES: Record<string, string> = {sha256: 'sha256', sha384: 'sha384', sha512: 'sha512'}

export function own<T>(record: Record<string, T> | undefined, key: string): T | undefined {
  return record && Object.hasOwn(record, key) ? record[key] : undefined
}

export function sha(alg: string, data: Buffer): string {
  return createHash(alg).update(data).digest('hex')
}

export function parseMetadata<K extends MetadataKind>(
  fail: Fail,
  kind: K,
  bytes: Buffer,
  label: string,
): Metadata<Signed<K>> {
  let json: unknown
  try {
    json = JSON.parse(bytes.toString('utf8'))
  } catch {
    return fail(`${label} is not valid JSON`)
  }
  let md: Metadata<Signed<K>>
  try {
    md = Metadata.fromJSON(kind as MetadataKind.Root, json as never) as unknown as Metadata<Signed<K>>
  } catch (error) {
    return fail(`${label} is not valid TUF ${kind} metadata: ${(error as Error).message}`)
  }
  checkVersion(fail, `${label.replace(/\.json$/, '').replace(/ v\d+$/, '')} version`, md.signed.version)
  return md
}

/** Versions are safe integers >= 1: a larger one would be stored and compared imprecisely. */
export function checkVersion(fail: Fail, what: string, version: unknown): number {
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1)
    fail(`${what} ${String(version)} is not a safe integer >= 1`)
  return version as number
}

/**
 * `delegate` must carry valid signatures from a threshold of distinct keys (by key material, not key id) of
 * `role` as `delegator` defines it (the root for top-level roles, a targets role for delegations).
 */
export function requireThreshold(
  fail: Fail,
  delegator: Metadata<Root> | Metadata<Targets>,
  role: string,
  delegate: AnyMetadata,
  what: string,
  by: string,
): void {
  let keyIDs: string[] = []
  let threshold = 0
  let keys = {}
  if (delegator.signed.type === MetadataKind.Root) {
    const signed = delegator.signed as Root
    const r = own(signed.roles, role)
    ;[keyIDs, threshold, keys] = [r?.keyIDs ?? [], r?.threshold ?? 0, signed.keys]
  } else {
    const d = (delegator.signed as Targets).delegations
    const r = own(d?.roles, role)
    ;[keyIDs, threshold, keys] = [r?.keyIDs ?? [], r?.threshold ?? 0, d?.keys ?? {}]
  }
  if (!Number.isSafeInteger(threshold) || threshold < 1)
    fail(`${by} role ${role} has no valid threshold (${String(threshold)})`)
  const valid = validSigners(keys, keyIDs, delegate).size
  if (valid < threshold) fail(`${what} is not signed by a threshold of ${by} keys (${valid}/${threshold})`)
}

/** Length and every listed hash of a metadata file against the entry of the role that lists it. */
export function checkMetaFile(fail: Fail, bytes: Buffer, meta: MetaFile, what: string, by: string): void {
  if (meta.length !== undefined && bytes.length !== meta.length)
    fail(`${what} is ${bytes.length} bytes, ${by} lists ${meta.length}`)
  for (const [alg, want] of Object.entries(meta.hashes ?? {})) {
    const node = own(HASHES, alg) ?? fail(`${what}: ${by} lists an unsupported hash algorithm ${alg}`)
    const got = sha(node, bytes)
    if (got !== String(want).toLowerCase())
      fail(`${what} ${alg} ${got.slice(0, 16)}... does not match ${by} (${String(want).slice(0, 16)}...)`)
  }
}

/** A target file against its entry: exact length and every listed hash (at least one). */
export function checkTargetFile(
  fail: Fail,
  path: string,
  bytes: Buffer,
  info: {length: number; hashes: Record<string, string>},
  by: string,
): void {
  if (bytes.length !== info.length) fail(`target ${path} is ${bytes.length} bytes, ${by} lists ${info.length}`)
  const algs = Object.entries(info.hashes ?? {})
  if (algs.length === 0) fail(`target ${path}: ${by} lists no hashes`)
  for (const [alg, want] of algs) {
    const node = own(HASHES, alg) ?? fail(`target ${path}: ${by} lists an unsupported hash algorithm ${alg}`)
    const got = sha(node, bytes)
    if (got !== String(want).toLowerCase())
      fail(
        `target ${path} ${alg} ${got.slice(0, 16)}... does not match the hash ${by} lists (${String(want).slice(0, 16)}...)`,
      )
  }
}

/**
 * A role's file as another role lists it (5.5.1-5.5.3, 5.6.1-5.6.3, 5.6.7): length and hashes as listed, parsed,
 * signed by its delegator's threshold, and exactly the listed version (else a `pair` mix-and-match).
 */
export function checkListedMetadata<K extends MetadataKind.Snapshot | MetadataKind.Targets>(
  fail: Fail,
  kind: K,
  role: string,
  bytes: Buffer,
  listed: {meta: MetaFile; by: string},
  delegator: {md: Metadata<Root> | Metadata<Targets>; label: string},
  pair: string,
): {md: Metadata<Signed<K>>; label: string} {
  checkMetaFile(fail, bytes, listed.meta, `${role}.json`, listed.by)
  const md = parseMetadata(fail, kind, bytes, `${role}.json`)
  const label = `${role} v${md.signed.version}`
  requireThreshold(fail, delegator.md, role, md, label, `${delegator.label}'s ${role}`)
  if (md.signed.version !== listed.meta.version)
    fail(`${label} is not the version ${listed.by} lists (v${listed.meta.version}): ${pair} mix-and-match`)
  return {md, label}
}
