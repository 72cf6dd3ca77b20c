// airlock.json `base` (issue 17): a delta archive's statement of what it does NOT carry. `inventory` names the
// inventory it was built from (sha256 of the file, and the signer's key fingerprint when it was signed); `blobs`
// lists each blob left out (digest, size, the repository the inventory found it in). A claim like every other
// field of airlock.json: verify treats a listed blob as present only once the mirror confirms it (HEAD, size).
import {AirlockError} from '../errors.ts'
import {type Digest, parseDigest} from '../oci/digest.ts'

export const BASE_SECTION = 'base'
/** airlock.json `trustOnly: true`: an archive made by export --trust-only (the TUF repository, no images). */
export const TRUST_ONLY_SECTION = 'trustOnly'
/** Blobs one delta may leave out (the archive-wide descriptor budget is of the same order). */
export const MAX_BASE_BLOBS = 200_000

export interface BaseBlob {
  digest: Digest
  size: number
  repository: string
}

export interface BaseSection {
  inventory: {sha256: string; signer?: string}
  blobs: BaseBlob[]
}

function fail(message: string): never {
  throw new AirlockError('ARCHIVE_INVALID', `airlock.json base: ${message}`)
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** Strict: every field checked, no blob twice, nothing else in the section. Undefined when there is no section. */
export function parseBaseSection(value: unknown): BaseSection | undefined {
  if (value === undefined) return undefined
  if (!isObject(value)) fail('is not an object')
  for (const key of Object.keys(value))
    if (key !== 'inventory' && key !== 'blobs') fail(`unexpected field ${JSON.stringify(key)}`)
  const inv = value.inventory
  if (!isObject(inv) || typeof inv.sha256 !== 'string' || !/^sha256:[a-f0-9]{64}$/.test(inv.sha256))
    fail('inventory must be {sha256, signer?}')
  if (inv.signer !== undefined && (typeof inv.signer !== 'string' || !/^sha256:[a-f0-9]{64}$/.test(inv.signer)))
    fail('inventory.signer must be a key fingerprint (sha256:…)')
  for (const key of Object.keys(inv))
    if (key !== 'sha256' && key !== 'signer') fail(`inventory has an unexpected field ${JSON.stringify(key)}`)
  if (!Array.isArray(value.blobs)) fail('blobs must be an array')
  if (value.blobs.length > MAX_BASE_BLOBS) fail(`lists more than ${MAX_BASE_BLOBS} blobs`)
  const seen = new Set<string>()
  const blobs = value.blobs.map((b, i): BaseBlob => {
    if (
      !isObject(b) ||
      typeof b.size !== 'number' ||
      !Number.isSafeInteger(b.size) ||
      b.size < 0 ||
      typeof b.repository !== 'string' ||
      b.repository.length === 0 ||
      b.repository.length > 255 ||
      Object.keys(b).length !== 3
    )
      fail(`blobs[${i}] must be {digest, size, repository}`)
    const digest = parseDigest(b.digest, `airlock.json base.blobs[${i}].digest`)
    if (seen.has(digest)) fail(`lists ${digest} twice`)
    seen.add(digest)
    return {digest, size: b.size, repository: b.repository}
  })
  return {
    inventory: {sha256: inv.sha256, ...(inv.signer ? {signer: inv.signer as string} : {})},
    blobs,
  }
}
