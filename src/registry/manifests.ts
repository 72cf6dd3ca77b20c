// Manifests over the wire: fetched with an Accept header naming every type we parse, read under the 4 MiB limit,
// and checked against their name before anyone sees them (Docker-Content-Digest, and the digest asked for).
// Pushed byte for byte: the digest of what we send is the digest the registry must report back.
import {AirlockError} from '../errors.ts'
import type {Descriptor} from '../oci/descriptor.ts'
import {isDigest, sha256, type Digest} from '../oci/digest.ts'
import {parseManifest, type RawManifest} from '../oci/manifest.ts'
import {isManifestType, MANIFEST_ACCEPT, MAX_MANIFEST_BYTES} from '../oci/media-types.ts'
import {repositoryScope} from './auth.ts'
import {contentType, readLimited} from './body.ts'
import {readErrorBody, statusError} from './errors.ts'
import type {RegistrySession} from './session.ts'
import {discard, header} from './transport.ts'

function manifestUrl(session: RegistrySession, repository: string, reference: string): URL {
  return session.url(`/v2/${repository}/manifests/${reference}`)
}

/** Checks a Docker-Content-Digest header against the digest of the bytes (or the digest that HEAD answered for). */
function checkDigestHeader(value: string | undefined, actual: Digest, what: string): void {
  if (value === undefined) return
  // Some registries send the bare hex without the algorithm: that is still a sha256 claim we can check.
  if (/^[a-f0-9]{64}$/.test(value)) value = `sha256:${value}`
  if (!isDigest(value)) {
    // A registry that names content with another algorithm tells us nothing we can check; say so, do not guess.
    if (/^[a-z0-9]+:/.test(value) && !value.startsWith('sha256:')) return
    throw new AirlockError(
      'REGISTRY_ERROR',
      `${what}: malformed Docker-Content-Digest ${JSON.stringify(value.slice(0, 100))}`,
    )
  }
  if (value !== actual)
    throw new AirlockError(
      'DIGEST_MISMATCH',
      `${what}: registry says Docker-Content-Digest ${value} but the content hashes to ${actual}`,
    )
}

/** GETs a manifest by tag or digest. The bytes are verified against the requested digest and the digest header. */
export async function getManifest(
  session: RegistrySession,
  repository: string,
  reference: string,
): Promise<RawManifest> {
  const what = `GET manifest ${session.registry}/${repository}${isDigest(reference) ? '@' : ':'}${reference}`
  const response = await session.request(
    {method: 'GET', url: manifestUrl(session, repository, reference), headers: {Accept: MANIFEST_ACCEPT}},
    [repositoryScope(repository, 'pull')],
    what,
  )
  if (response.status !== 200)
    throw statusError(what, response.status, await readErrorBody(response.body), session.registry, response.headers)
  const bytes = await readLimited(response.body, MAX_MANIFEST_BYTES, what)
  const actual = sha256(bytes)
  if (isDigest(reference) && actual !== reference)
    throw new AirlockError('DIGEST_MISMATCH', `${what}: content hashes to ${actual}`)
  checkDigestHeader(header(response.headers, 'docker-content-digest'), actual, what)
  const served = contentType(response.body)
  return parseManifest(
    bytes,
    isManifestType(served) ? served : undefined,
    `manifest ${session.registry}/${repository}@${actual}`,
  )
}

/**
 * HEADs a manifest: its descriptor without the body, or undefined when the answer lacks what a descriptor needs
 * (some registries omit the digest header on HEAD), in which case the caller falls back to GET.
 */
export async function headManifest(
  session: RegistrySession,
  repository: string,
  reference: string,
): Promise<Descriptor | undefined> {
  const what = `HEAD manifest ${session.registry}/${repository}${isDigest(reference) ? '@' : ':'}${reference}`
  const response = await session.request(
    {method: 'HEAD', url: manifestUrl(session, repository, reference), headers: {Accept: MANIFEST_ACCEPT}},
    [repositoryScope(repository, 'pull')],
    what,
  )
  discard(response.body)
  if (response.status === 404 || response.status === 401 || response.status === 403)
    throw statusError(what, response.status, '', session.registry)
  if (response.status === 429) throw statusError(what, response.status, '', session.registry, response.headers)
  if (response.status !== 200) return undefined
  const digest = header(response.headers, 'docker-content-digest')
  const size = Number(header(response.headers, 'content-length'))
  const mediaType = contentType(response.body)
  if (!isDigest(digest) || !Number.isSafeInteger(size) || !isManifestType(mediaType)) return undefined
  if (isDigest(reference) && digest !== reference)
    throw new AirlockError('DIGEST_MISMATCH', `${what}: registry says ${digest}`)
  if (size > MAX_MANIFEST_BYTES)
    throw new AirlockError('TOO_LARGE', `${what}: manifest is ${size} bytes, over the ${MAX_MANIFEST_BYTES} byte limit`)
  return {mediaType: mediaType!, digest, size}
}

/** PUTs manifest bytes unchanged under a tag or their digest. */
export async function putManifest(
  session: RegistrySession,
  repository: string,
  reference: string,
  mediaType: string,
  bytes: Buffer,
): Promise<void> {
  const what = `PUT manifest ${session.registry}/${repository}${isDigest(reference) ? '@' : ':'}${reference}`
  if (bytes.length > MAX_MANIFEST_BYTES)
    throw new AirlockError('TOO_LARGE', `${what}: ${bytes.length} bytes, over the ${MAX_MANIFEST_BYTES} byte limit`)
  const response = await session.request(
    {
      method: 'PUT',
      url: manifestUrl(session, repository, reference),
      headers: {'Content-Type': mediaType},
      body: bytes,
    },
    [repositoryScope(repository, 'pull,push')],
    what,
  )
  if (response.status !== 201 && response.status !== 200)
    throw manifestRefused(what, response.status, await readErrorBody(response.body), session.registry, bytes)
  discard(response.body)
  checkDigestHeader(header(response.headers, 'docker-content-digest'), sha256(bytes), what)
}

/** HEAD on a manifest or blob by digest: true when present, false on 404. */
export async function contentExists(
  session: RegistrySession,
  repository: string,
  descriptor: Descriptor,
): Promise<boolean> {
  const manifest = isManifestType(descriptor.mediaType)
  const what = `HEAD ${manifest ? 'manifest' : 'blob'} ${session.registry}/${repository}@${descriptor.digest}`
  const path = `/v2/${repository}/${manifest ? 'manifests' : 'blobs'}/${descriptor.digest}`
  const response = await session.request(
    {method: 'HEAD', url: session.url(path), headers: manifest ? {Accept: MANIFEST_ACCEPT} : {}},
    [repositoryScope(repository, 'pull')],
    what,
  )
  discard(response.body)
  if (response.status === 404) return false
  if (response.status !== 200) throw statusError(what, response.status, '', session.registry)
  return true
}

/**
 * HEAD of a blob: its size as the registry states it (Content-Length), or undefined when it is absent. A registry
 * that answers 200 without a usable Content-Length is taken at its word that it holds the blob (-1).
 */
export async function blobSize(
  session: RegistrySession,
  repository: string,
  descriptor: Descriptor,
): Promise<number | undefined> {
  const what = `HEAD blob ${session.registry}/${repository}@${descriptor.digest}`
  const response = await session.request(
    {method: 'HEAD', url: session.url(`/v2/${repository}/blobs/${descriptor.digest}`)},
    [repositoryScope(repository, 'pull')],
    what,
  )
  discard(response.body)
  if (response.status === 404) return undefined
  if (response.status !== 200) throw statusError(what, response.status, '', session.registry)
  const length = Number(header(response.headers, 'content-length'))
  return Number.isSafeInteger(length) && length >= 0 ? length : -1
}

/**
 * Quay <= 3.11 refuses manifests whose config and layer media types its admin has not allowed: Sigstore bundles
 * (empty config, bundle layer) are not in its defaults (quay/quay#877). Say which setting, not just "invalid".
 */
function manifestRefused(what: string, status: number, body: string, registry: string, bytes: Buffer): AirlockError {
  const error = statusError(what, status, body, registry)
  const bundle = bytes.includes('application/vnd.dev.sigstore.bundle')
  if (!bundle || (status !== 400 && status !== 415) || !/MANIFEST_INVALID|UNSUPPORTED|media ?type/i.test(body))
    return error
  return new AirlockError(
    'REGISTRY_ERROR',
    `${error.message}: ${registry} does not accept Sigstore bundle manifests (Quay: ALLOWED_OCI_ARTIFACT_TYPES), or push the legacy .sig/.att forms only with --signature-forms legacy`,
    {
      hint: `on Quay, the admin sets FEATURE_GENERAL_OCI_SUPPORT: true and adds "application/vnd.oci.empty.v1+json": ["application/vnd.dev.sigstore.bundle.v0.3+json"] to ALLOWED_OCI_ARTIFACT_TYPES; else --signature-forms legacy pushes the .sig/.att tags without the bundles (an image signed only by bundles is then refused)`,
      details: error.details ?? {},
    },
  )
}
