// Strict parsing of manifests and indexes. Input is hostile: the raw bytes are kept (digests and signatures
// cover them) and the parsed view is validated field by field before anything uses it.
import {AirlockError} from '../errors.ts'
import type {Descriptor, Platform} from './descriptor.ts'
import {parseDigest, sha256, type Digest} from './digest.ts'
import {IMAGE_MANIFEST_TYPES, INDEX_TYPES, MAX_MANIFEST_BYTES, MediaType} from './media-types.ts'

export interface ImageManifest {
  kind: 'manifest'
  schemaVersion: 2
  mediaType: string
  artifactType?: string
  config: Descriptor
  layers: Descriptor[]
  subject?: Descriptor
  annotations?: Record<string, string>
}

export interface ImageIndex {
  kind: 'index'
  schemaVersion: 2
  mediaType: string
  artifactType?: string
  manifests: Descriptor[]
  subject?: Descriptor
  annotations?: Record<string, string>
}

export type Manifest = ImageManifest | ImageIndex

/** A manifest together with the exact bytes it was parsed from and their digest. */
export interface RawManifest {
  bytes: Buffer
  digest: Digest
  mediaType: string
  parsed: Manifest
}

/** Deepest nesting accepted in manifest JSON: real manifests are 4 levels deep. Protects JSON.parse callers. */
const MAX_JSON_DEPTH = 32

/** Parses JSON from untrusted bytes with a size limit and a nesting limit, as a one-line AirlockError on failure. */
export function parseJsonStrict(bytes: Buffer | string, what: string, limit = MAX_MANIFEST_BYTES): unknown {
  const length = typeof bytes === 'string' ? Buffer.byteLength(bytes) : bytes.length
  if (length > limit) throw new AirlockError('TOO_LARGE', `${what} is ${length} bytes, over the ${limit} byte limit`)
  const text = typeof bytes === 'string' ? bytes : bytes.toString('utf8')
  if (typeof bytes !== 'string' && !Buffer.from(text, 'utf8').equals(bytes))
    throw new AirlockError('MANIFEST_INVALID', `${what} is not valid UTF-8`)
  checkDepth(text, what)
  try {
    return JSON.parse(text)
  } catch (error) {
    throw new AirlockError('MANIFEST_INVALID', `${what} is not valid JSON: ${(error as Error).message.split('\n')[0]}`)
  }
}

function checkDepth(text: string, what: string): void {
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 0x5c)
        i++ // skip escaped char
      else if (c === 0x22) inString = false
    } else if (c === 0x22) inString = true
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > MAX_JSON_DEPTH)
        throw new AirlockError('MANIFEST_INVALID', `${what} nests JSON deeper than ${MAX_JSON_DEPTH} levels`)
    } else if (c === 0x7d || c === 0x5d) depth--
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function stringMap(value: unknown, what: string): Record<string, string> | undefined {
  if (value === undefined || value === null) return undefined
  if (!isObject(value)) throw new AirlockError('MANIFEST_INVALID', `${what} must be an object of strings`)
  for (const [k, v] of Object.entries(value))
    if (typeof v !== 'string') throw new AirlockError('MANIFEST_INVALID', `${what}.${k} must be a string`)
  return value as Record<string, string>
}

function optionalString(value: unknown, what: string): string | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string') throw new AirlockError('MANIFEST_INVALID', `${what} must be a string`)
  return value
}

function parsePlatform(value: unknown, what: string): Platform | undefined {
  if (value === undefined) return undefined
  if (!isObject(value) || typeof value.os !== 'string' || typeof value.architecture !== 'string')
    throw new AirlockError('MANIFEST_INVALID', `${what} must have string os and architecture`)
  const platform: Platform = {os: value.os, architecture: value.architecture}
  if (typeof value.variant === 'string') platform.variant = value.variant
  if (typeof value['os.version'] === 'string') platform['os.version'] = value['os.version']
  if (Array.isArray(value['os.features']))
    platform['os.features'] = value['os.features'].filter((f): f is string => typeof f === 'string')
  return platform
}

/** Validates one descriptor object from untrusted JSON. */
export function parseDescriptor(value: unknown, what: string): Descriptor {
  if (!isObject(value)) throw new AirlockError('MANIFEST_INVALID', `${what} is not an object`)
  if (typeof value.mediaType !== 'string' || value.mediaType.length === 0 || value.mediaType.length > 255)
    throw new AirlockError('MANIFEST_INVALID', `${what}.mediaType must be a non-empty string`)
  const digest = parseDigest(value.digest, `${what}.digest`)
  if (typeof value.size !== 'number' || !Number.isSafeInteger(value.size) || value.size < 0)
    throw new AirlockError('MANIFEST_INVALID', `${what}.size must be a non-negative integer`)
  const descriptor: Descriptor = {mediaType: value.mediaType, digest, size: value.size}
  const annotations = stringMap(value.annotations, `${what}.annotations`)
  if (annotations) descriptor.annotations = annotations
  const platform = parsePlatform(value.platform, `${what}.platform`)
  if (platform) descriptor.platform = platform
  const artifactType = optionalString(value.artifactType, `${what}.artifactType`)
  if (artifactType !== undefined) descriptor.artifactType = artifactType
  if (value.urls !== undefined) {
    if (!Array.isArray(value.urls) || !value.urls.every(u => typeof u === 'string'))
      throw new AirlockError('MANIFEST_INVALID', `${what}.urls must be strings`)
    descriptor.urls = value.urls as string[]
  }
  if (value.data !== undefined) {
    if (typeof value.data !== 'string') throw new AirlockError('MANIFEST_INVALID', `${what}.data must be base64`)
    descriptor.data = value.data
  }
  return descriptor
}

function descriptorList(value: unknown, what: string, max = 10_000): Descriptor[] {
  if (!Array.isArray(value)) throw new AirlockError('MANIFEST_INVALID', `${what} must be an array`)
  if (value.length > max)
    throw new AirlockError('TOO_LARGE', `${what} has ${value.length} entries, over the limit of ${max}`)
  return value.map((d, i) => parseDescriptor(d, `${what}[${i}]`))
}

/**
 * Parses and validates a manifest or index. `declaredType` is the media type that the transport or the parent
 * descriptor claimed; when both it and the body's mediaType are present they must agree.
 */
export function parseManifest(bytes: Buffer, declaredType?: string, what = 'manifest'): RawManifest {
  const json = parseJsonStrict(bytes, what)
  if (!isObject(json)) throw new AirlockError('MANIFEST_INVALID', `${what} is not a JSON object`)
  if (json.schemaVersion !== 2)
    throw new AirlockError(
      'MANIFEST_INVALID',
      `${what} has schemaVersion ${JSON.stringify(json.schemaVersion)}, expected 2`,
    )
  const bodyType = optionalString(json.mediaType, `${what}.mediaType`)
  if (bodyType && declaredType && bodyType !== declaredType)
    throw new AirlockError('MANIFEST_INVALID', `${what} says mediaType ${bodyType} but was served as ${declaredType}`)
  let mediaType = bodyType ?? declaredType
  // OCI allows an absent mediaType; tell the two shapes apart by their fields.
  if (!mediaType) mediaType = Array.isArray(json.manifests) ? MediaType.OciIndex : MediaType.OciManifest
  const common = {
    schemaVersion: 2 as const,
    mediaType,
    ...(json.artifactType !== undefined
      ? {artifactType: optionalString(json.artifactType, `${what}.artifactType`)!}
      : {}),
    ...(json.subject !== undefined ? {subject: parseDescriptor(json.subject, `${what}.subject`)} : {}),
    ...(json.annotations !== undefined ? {annotations: stringMap(json.annotations, `${what}.annotations`)!} : {}),
  }
  let parsed: Manifest
  if (INDEX_TYPES.includes(mediaType)) {
    if (json.config !== undefined || json.layers !== undefined)
      throw new AirlockError('MANIFEST_INVALID', `${what} is an index but has config or layers`)
    parsed = {kind: 'index', ...common, manifests: descriptorList(json.manifests, `${what}.manifests`)}
  } else if (IMAGE_MANIFEST_TYPES.includes(mediaType)) {
    if (json.manifests !== undefined)
      throw new AirlockError('MANIFEST_INVALID', `${what} is an image manifest but has manifests`)
    parsed = {
      kind: 'manifest',
      ...common,
      config: parseDescriptor(json.config, `${what}.config`),
      layers: descriptorList(json.layers ?? [], `${what}.layers`),
    }
  } else {
    throw new AirlockError('UNSUPPORTED', `${what} has unsupported media type ${mediaType}`)
  }
  return {bytes, digest: sha256(bytes), mediaType, parsed}
}
