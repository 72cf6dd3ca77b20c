// airlock.json: airlock's own description of an archive, next to the OCI layout's index.json. Nothing in it is
// trusted by verify (GUIDE section 2): it is checked against the content it describes, and it records what the
// exporter intended (which platforms were carried, which files belong, which policy was used).
import {AirlockError} from '../errors.ts'
import type {Descriptor} from '../oci/descriptor.ts'
import type {Digest} from '../oci/digest.ts'
import {parseDigest} from '../oci/digest.ts'
import {parseJsonStrict} from '../oci/manifest.ts'

export const FORMAT_VERSION = 1
export const AIRLOCK_JSON = 'airlock.json'
export const INDEX_JSON = 'index.json'
export const OCI_LAYOUT = 'oci-layout'
export const OCI_LAYOUT_BYTES = Buffer.from('{"imageLayoutVersion":"1.0.0"}')
/** Annotation every OCI tool reads as the image's name inside a layout (skopeo `oci-archive:FILE:NAME`). */
export {REF_NAME_ANNOTATION} from '../oci/media-types.ts'
export const SOURCE_ANNOTATION = 'io.airlock.source'
/** airlock.json may carry many signatures and file records, but it is read whole: bound it. */
export const MAX_AIRLOCK_JSON_BYTES = 64 * 1024 * 1024

/** One child of an index carried in the archive. */
export interface ExportedPlatform {
  platform: string
  digest: Digest
}

export interface ArchiveImage {
  /** Full source reference; also the index.json ref.name annotation. */
  reference: string
  /** The source exactly as given (e.g. `oci:dir:tag`, `docker.io/library/alpine:3`). */
  source: string
  digest: Digest
  mediaType: string
  size: number
  tag?: string
  /** For an index: the children carried. Absent for a single-platform image. */
  platforms?: ExportedPlatform[]
  /** True when a --platform filter left some children of the index out of the archive on purpose. */
  filtered?: boolean
  /**
   * More graphs carried for this image (signature, attestation and referrer manifests), not listed in index.json.
   * verify walks them like the image, so their blobs are checked and count as referenced.
   */
  attached?: Array<{mediaType: string; digest: Digest; size: number}>
}

export interface FileRecord {
  digest: Digest
  size: number
}

export interface AirlockJson {
  formatVersion: number
  tool: {name: string; version: string}
  /** Informational only: never used to judge anything (GUIDE section 2, "Time"). */
  exportedAt?: string
  images: ArchiveImage[]
  /** Every non-blob, non-layout file in the archive (sigstore/tuf/..., sigstore/proofs/...). */
  files: Record<string, FileRecord>
  policy?: unknown
  /** Extra sections added by other modules through ArchiveWriter.setSection (e.g. signatures, trust). */
  [section: string]: unknown
}

export const RESERVED_SECTIONS = new Set(['formatVersion', 'tool', 'exportedAt', 'images', 'files'])

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function fail(message: string): never {
  throw new AirlockError('ARCHIVE_INVALID', `airlock.json: ${message}`)
}

/** A `{mediaType, digest, size}` record of airlock.json, checked field by field; `fail` raises the section's refusal. */
export function parseRecordedDescriptor(
  value: unknown,
  what: string,
  fail: (message: string) => never,
): Pick<Descriptor, 'mediaType' | 'digest' | 'size'> {
  if (
    !isObject(value) ||
    typeof value.mediaType !== 'string' ||
    typeof value.size !== 'number' ||
    !Number.isSafeInteger(value.size) ||
    value.size < 0
  )
    fail(`${what} must be {mediaType, digest, size}`)
  return {
    mediaType: value.mediaType,
    digest: parseDigest(value.digest, `airlock.json ${what}.digest`),
    size: value.size,
  }
}

/** Strictly parses airlock.json from untrusted bytes. Unknown sections are kept (later modules read them). */
export function parseAirlockJson(bytes: Buffer): AirlockJson {
  const json = parseJsonStrict(bytes, AIRLOCK_JSON, MAX_AIRLOCK_JSON_BYTES)
  if (!isObject(json)) fail('not a JSON object')
  if (json.formatVersion !== FORMAT_VERSION)
    throw new AirlockError(
      'UNSUPPORTED',
      `airlock.json: format version ${JSON.stringify(json.formatVersion)} is not supported (expected ${FORMAT_VERSION})`,
      {
        hint: 'use the airlock version that wrote the archive, or a newer one',
      },
    )
  if (!isObject(json.tool) || typeof json.tool.name !== 'string' || typeof json.tool.version !== 'string')
    fail('tool must be {name, version}')
  if (!Array.isArray(json.images)) fail('images must be an array')
  const images = json.images.map((image, i): ArchiveImage => {
    const what = `images[${i}]`
    if (!isObject(image)) fail(`${what} is not an object`)
    for (const key of ['reference', 'source', 'mediaType'] as const)
      if (typeof image[key] !== 'string') fail(`${what}.${key} must be a string`)
    if (typeof image.size !== 'number' || !Number.isSafeInteger(image.size) || image.size < 0)
      fail(`${what}.size must be a non-negative integer`)
    const out: ArchiveImage = {
      reference: image.reference as string,
      source: image.source as string,
      digest: parseDigest(image.digest, `airlock.json ${what}.digest`),
      mediaType: image.mediaType as string,
      size: image.size,
    }
    if (image.tag !== undefined) {
      if (typeof image.tag !== 'string') fail(`${what}.tag must be a string`)
      out.tag = image.tag
    }
    if (image.platforms !== undefined) {
      if (!Array.isArray(image.platforms)) fail(`${what}.platforms must be an array`)
      out.platforms = image.platforms.map((p, j) => {
        if (!isObject(p) || typeof p.platform !== 'string') fail(`${what}.platforms[${j}] must be {platform, digest}`)
        return {platform: p.platform, digest: parseDigest(p.digest, `airlock.json ${what}.platforms[${j}].digest`)}
      })
    }
    if (image.attached !== undefined) {
      if (!Array.isArray(image.attached)) fail(`${what}.attached must be an array`)
      out.attached = image.attached.map((d, j) => parseRecordedDescriptor(d, `${what}.attached[${j}]`, fail))
    }
    if (image.filtered !== undefined) {
      if (typeof image.filtered !== 'boolean') fail(`${what}.filtered must be a boolean`)
      out.filtered = image.filtered
    }
    return out
  })
  if (!isObject(json.files)) fail('files must be an object')
  const files: Record<string, FileRecord> = {}
  for (const [path, record] of Object.entries(json.files)) {
    if (!isObject(record) || typeof record.size !== 'number' || !Number.isSafeInteger(record.size) || record.size < 0)
      fail(`files[${JSON.stringify(path)}] must be {digest, size}`)
    files[path] = {
      digest: parseDigest(record.digest, `airlock.json files[${JSON.stringify(path)}].digest`),
      size: record.size,
    }
  }
  return {
    ...json,
    formatVersion: FORMAT_VERSION,
    tool: {name: json.tool.name, version: json.tool.version},
    images,
    files,
  } as AirlockJson
}

// ---------------------------------------------------------------------------------------------------------------
// Entry names

const BLOB_NAME = /^blobs\/sha256\/([a-f0-9]{64})$/
/** Extra files live under these top-level directories only (GUIDE section 3). */
export const EXTRA_FILE_ROOTS = ['sigstore/', 'airlock/']
/**
 * `export --include-airlock` carries airlock's single-file executables, and their Sigstore bundles when the build
 * signed them, under airlock/ with exactly these names and nothing else there (docs/DECISIONS.md).
 */
export const AIRLOCK_EXECUTABLE_ENTRY =
  /^airlock\/airlock-[0-9]+\.[0-9]+\.[0-9]+(?:-[0-9A-Za-z.-]+)?-linux-(amd64|arm64)(\.sigstore\.json)?$/
const SAFE_SEGMENT = /^[A-Za-z0-9._@+=,-]+$/

export function blobPath(digest: Digest): string {
  return `blobs/sha256/${digest.slice('sha256:'.length)}`
}

export function digestFromBlobPath(name: string): Digest | undefined {
  const m = BLOB_NAME.exec(name)
  return m ? (`sha256:${m[1]}` as Digest) : undefined
}

/**
 * Checks an extra-file path (what ArchiveWriter.addFile accepts and verify allows): relative, under an allowed
 * root, plain segments only. Returns a reason when invalid.
 */
export function extraFilePathProblem(path: string): string | undefined {
  if (path.length > 1024) return 'path is too long'
  if (!EXTRA_FILE_ROOTS.some(root => path.startsWith(root)))
    return `path must be under ${EXTRA_FILE_ROOTS.join(' or ')}`
  if (path.startsWith('airlock/') && !AIRLOCK_EXECUTABLE_ENTRY.test(path))
    return 'only airlock executables (airlock/airlock-<version>-linux-<amd64|arm64>[.sigstore.json]) may be under airlock/'
  const segments = path.split('/')
  for (const segment of segments) {
    if (segment === '' || segment === '.' || segment === '..') return 'path has an empty, "." or ".." segment'
    if (!SAFE_SEGMENT.test(segment))
      return `path segment ${JSON.stringify(segment)} has characters outside [A-Za-z0-9._@+=,-]`
  }
  return undefined
}
