// The inventory file (issue 17): what the disconnected side already holds, carried back across the gap so the next
// export can leave those blobs out. It is small on purpose (about 100 bytes per blob: one `["sha256:…", size]` pair)
// and parsed strictly: it decides what is NOT carried, so a wrong digest form, a repeated entry or an unknown field
// is refused in one line before anything is downloaded. A lying inventory can only make a delta that fails on the
// inside (verify and push check every blob it leaves out against the mirror); it can never make bad content pass.
import {createHash} from 'node:crypto'
import {AirlockError} from '../errors.ts'
import {type Digest, parseDigest} from '../oci/digest.ts'
import {parseJsonStrict} from '../oci/manifest.ts'

export const INVENTORY_FORMAT = 1
/** An inventory of a large site (hundreds of thousands of blobs) stays well under this. */
export const MAX_INVENTORY_BYTES = 64 * 1024 * 1024
/** A repository path as registries accept it (lower-case components separated by slashes). */
const REPOSITORY = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/

/** One piece of content: [digest, size]. */
export type ContentEntry = [Digest, number]

export interface InventoryRepository {
  /** Repository path inside the registry (or, for an archive inventory, the images' source repository). */
  name: string
  manifests: ContentEntry[]
  blobs: ContentEntry[]
  /** Signature artifact tags present (cosign `sha256-<hex>.sig/.att/.sbom`). */
  signatures: string[]
}

export interface InventoryTuf {
  /** Fingerprint of the pinned root (the state file's key). */
  pinnedRoot: string
  mirror: string
  root: number
  timestamp: number
  snapshot: number
  targets: number
}

export interface Inventory {
  airlockInventory: 1
  createdAt: string
  /** What was inventoried: a registry (host[:port]) or archive file names. */
  source: {registry: string} | {archives: string[]}
  repositories: InventoryRepository[]
  tuf: InventoryTuf[]
}

/** Serialized compactly: one line per repository list would be nicer to read but costs bytes on paper media. */
export function serializeInventory(inventory: Inventory): Buffer {
  return Buffer.from(`${JSON.stringify(inventory)}\n`)
}

export function inventorySha256(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`
}

function fail(what: string, message: string): never {
  throw new AirlockError('MANIFEST_INVALID', `inventory ${what}: ${message}`, {
    hint: 'write it again with airlock inventory on the disconnected side',
  })
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function onlyKeys(value: Record<string, unknown>, allowed: string[], where: string, file: string): void {
  for (const key of Object.keys(value))
    if (!allowed.includes(key)) fail(file, `${where} has an unexpected field ${JSON.stringify(key)}`)
}

function count(value: unknown, where: string, file: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0)
    fail(file, `${where} must be a non-negative integer`)
  return value
}

function entries(value: unknown, where: string, file: string): ContentEntry[] {
  if (!Array.isArray(value)) fail(file, `${where} must be an array of [digest, size]`)
  const seen = new Set<string>()
  return value.map((entry, i) => {
    if (!Array.isArray(entry) || entry.length !== 2) fail(file, `${where}[${i}] must be [digest, size]`)
    let digest: Digest
    try {
      digest = parseDigest(entry[0], `${where}[${i}]`)
    } catch (error) {
      fail(file, (error as Error).message)
    }
    if (seen.has(digest)) fail(file, `${where} lists ${digest} twice`)
    seen.add(digest)
    return [digest, count(entry[1], `${where}[${i}] size`, file)]
  })
}

/** Strictly parses an inventory from untrusted bytes. `file` names it in messages. */
export function parseInventory(bytes: Buffer, file: string): Inventory {
  let json: unknown
  try {
    json = parseJsonStrict(bytes, `inventory ${file}`, MAX_INVENTORY_BYTES)
  } catch (error) {
    throw new AirlockError((error as AirlockError).code ?? 'MANIFEST_INVALID', (error as Error).message, {
      hint: 'an inventory is the JSON file written by airlock inventory',
    })
  }
  if (!isObject(json)) fail(file, 'is not a JSON object')
  if (json.airlockInventory !== INVENTORY_FORMAT)
    fail(file, `airlockInventory is ${JSON.stringify(json.airlockInventory)}, expected ${INVENTORY_FORMAT}`)
  onlyKeys(json, ['airlockInventory', 'createdAt', 'source', 'repositories', 'tuf'], 'the file', file)
  if (typeof json.createdAt !== 'string' || Number.isNaN(Date.parse(json.createdAt)))
    fail(file, 'createdAt must be an ISO-8601 time')
  let source: Inventory['source']
  if (isObject(json.source) && typeof json.source.registry === 'string' && Object.keys(json.source).length === 1)
    source = {registry: json.source.registry}
  else if (
    isObject(json.source) &&
    Array.isArray(json.source.archives) &&
    json.source.archives.every(a => typeof a === 'string') &&
    Object.keys(json.source).length === 1
  )
    source = {archives: json.source.archives as string[]}
  else fail(file, 'source must be {registry} or {archives}')
  if (!Array.isArray(json.repositories)) fail(file, 'repositories must be an array')
  const names = new Set<string>()
  const repositories = json.repositories.map((repo, i): InventoryRepository => {
    const where = `repositories[${i}]`
    if (!isObject(repo)) fail(file, `${where} is not an object`)
    onlyKeys(repo, ['name', 'manifests', 'blobs', 'signatures'], where, file)
    if (typeof repo.name !== 'string' || !REPOSITORY.test(repo.name) || repo.name.length > 255)
      fail(file, `${where}.name is not a repository path`)
    if (names.has(repo.name)) fail(file, `repository ${repo.name} is listed twice`)
    names.add(repo.name)
    if (!Array.isArray(repo.signatures)) fail(file, `${where}.signatures must be an array of tags`)
    const tags = new Set<string>()
    for (const tag of repo.signatures) {
      if (typeof tag !== 'string' || !TAG.test(tag)) fail(file, `${where}.signatures has an invalid tag`)
      if (tags.has(tag)) fail(file, `${where}.signatures lists ${tag} twice`)
      tags.add(tag)
    }
    return {
      name: repo.name,
      manifests: entries(repo.manifests, `${repo.name} manifests`, file),
      blobs: entries(repo.blobs, `${repo.name} blobs`, file),
      signatures: [...tags],
    }
  })
  // The same digest is the same bytes everywhere: two sizes for it is a lie (or a corrupt file).
  const sizes = new Map<string, number>()
  for (const repo of repositories)
    for (const [digest, size] of [...repo.manifests, ...repo.blobs]) {
      const known = sizes.get(digest)
      if (known !== undefined && known !== size) fail(file, `${digest} is listed with sizes ${known} and ${size}`)
      sizes.set(digest, size)
    }
  if (!Array.isArray(json.tuf)) fail(file, 'tuf must be an array')
  const pinned = new Set<string>()
  const tuf = json.tuf.map((t, i): InventoryTuf => {
    const where = `tuf[${i}]`
    if (!isObject(t)) fail(file, `${where} is not an object`)
    onlyKeys(t, ['pinnedRoot', 'mirror', 'root', 'timestamp', 'snapshot', 'targets'], where, file)
    if (typeof t.pinnedRoot !== 'string' || !/^[a-f0-9]{64}$/.test(t.pinnedRoot))
      fail(file, `${where}.pinnedRoot must be a sha256 fingerprint`)
    if (pinned.has(t.pinnedRoot)) fail(file, `${where}: pinned root ${t.pinnedRoot} is listed twice`)
    pinned.add(t.pinnedRoot)
    if (typeof t.mirror !== 'string') fail(file, `${where}.mirror must be a string`)
    return {
      pinnedRoot: t.pinnedRoot,
      mirror: t.mirror,
      root: count(t.root, `${where}.root`, file),
      timestamp: count(t.timestamp, `${where}.timestamp`, file),
      snapshot: count(t.snapshot, `${where}.snapshot`, file),
      targets: count(t.targets, `${where}.targets`, file),
    }
  })
  return {airlockInventory: 1, createdAt: json.createdAt, source, repositories, tuf}
}

/** Every blob the inventory names, with its size and the first repository that holds it. */
export function inventoryBlobs(inventory: Inventory): Map<string, {size: number; repository: string}> {
  const blobs = new Map<string, {size: number; repository: string}>()
  for (const repo of inventory.repositories)
    for (const [digest, size] of repo.blobs) if (!blobs.has(digest)) blobs.set(digest, {size, repository: repo.name})
  return blobs
}
