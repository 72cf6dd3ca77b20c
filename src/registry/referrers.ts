// OCI 1.1 referrers: the registry API (`GET /v2/<name>/referrers/<digest>`) where it exists, and the referrers
// tag schema (an index tagged `sha256-<hex>`) where it does not. Anything but a 200 OCI index means "no API".
import {AirlockError} from '../errors.ts'
import type {Descriptor} from '../oci/descriptor.ts'
import {digestHex, type Digest} from '../oci/digest.ts'
import {parseManifest} from '../oci/manifest.ts'
import {MAX_MANIFEST_BYTES, MediaType} from '../oci/media-types.ts'
import {repositoryScope} from './auth.ts'
import {contentType, readLimited} from './body.ts'
import {describeErrorBody, readErrorBody, statusError} from './errors.ts'
import {getManifest} from './manifests.ts'
import {MAX_PAGES, nextPage} from './pagination.ts'
import type {RegistrySession} from './session.ts'
import {discard} from './transport.ts'

/** 'api': the registry serves the referrers API. 'tag-schema': it does not; referrers live in `sha256-<hex>` tags. */
export type ReferrersCapability = 'api' | 'tag-schema'

/** The fallback tag of the referrers tag schema for a subject digest. */
export function referrersTag(subject: Digest): string {
  return `sha256-${digestHex(subject)}`
}

function filterByType(descriptors: Descriptor[], artifactType: string | undefined): Descriptor[] {
  return artifactType === undefined ? descriptors : descriptors.filter(d => d.artifactType === artifactType)
}

/**
 * Lists referrers through the API; undefined when the registry does not have it. Only a 200 answer that is an OCI
 * index counts as the API, as go-containerregistry and regclient decide: 404, 400 (Quay >= 3.12 for an unknown
 * subject, quay/quay#3071), 401 without a challenge (Harbor <= 2.7), 405/406 (Artifactory), 501, a 200 `{}`
 * (Harbor 2.10, goharbor/harbor#18430) and a redirect off the registry (GHCR sends this route to github.com, which
 * answers 429, artifacthub/hub#4785) all mean "use the fallback tag". Redirects are not followed here for that
 * reason. A later page that fails is still an error: the API exists and broke mid-listing.
 */
export async function listReferrersApi(
  session: RegistrySession,
  repository: string,
  subject: Digest,
  artifactType?: string,
): Promise<Descriptor[] | undefined> {
  const what = `list referrers of ${session.registry}/${repository}@${subject}`
  let url: URL | undefined = session.url(`/v2/${repository}/referrers/${subject}`)
  if (artifactType) url.searchParams.set('artifactType', artifactType)
  const referrers: Descriptor[] = []
  for (let page = 0; url; page++) {
    if (page >= MAX_PAGES) throw new AirlockError('REGISTRY_ERROR', `${what}: more than ${MAX_PAGES} pages`)
    const response = await session.request(
      {method: 'GET', url, headers: {Accept: MediaType.OciIndex}, followRedirects: false},
      [repositoryScope(repository, 'pull')],
      what,
    )
    if (response.status !== 200) {
      const body = await readErrorBody(response.body)
      // An unknown repository says nothing about the API; it is an error whatever the API.
      if (response.status === 404 && /NAME_UNKNOWN/.test(describeErrorBody(body)))
        throw statusError(what, 404, body, session.registry)
      if (page === 0) return undefined
      throw statusError(what, response.status, body, session.registry)
    }
    if (contentType(response.body) !== MediaType.OciIndex) {
      discard(response.body)
      if (page === 0) return undefined
      throw new AirlockError('REGISTRY_ERROR', `${what}: page ${page + 1} is not an OCI index`)
    }
    const bytes = await readLimited(response.body, MAX_MANIFEST_BYTES, what)
    let index
    try {
      index = parseManifest(bytes, MediaType.OciIndex, `referrers index of ${subject}`)
    } catch (error) {
      // `{}` or another body that is not an index, under the right content type: no usable API.
      if (page === 0) return undefined
      throw error
    }
    if (index.parsed.kind !== 'index') {
      if (page === 0) return undefined
      throw new AirlockError('REGISTRY_ERROR', `${what}: the answer is not an index`)
    }
    referrers.push(...index.parsed.manifests)
    url = nextPage(response, what)
  }
  // Registries may ignore the filter (they say so in OCI-Filters-Applied); filtering again costs nothing.
  return filterByType(referrers, artifactType)
}

/** Lists referrers from the fallback tag; no tag means no referrers. */
export async function listReferrersByTag(
  session: RegistrySession,
  repository: string,
  subject: Digest,
  artifactType?: string,
): Promise<Descriptor[]> {
  let index
  try {
    index = await getManifest(session, repository, referrersTag(subject))
  } catch (error) {
    if (error instanceof AirlockError && error.code === 'NOT_FOUND') return []
    throw error
  }
  if (index.parsed.kind !== 'index')
    throw new AirlockError(
      'MANIFEST_INVALID',
      `${session.registry}/${repository}:${referrersTag(subject)} is not an index, so it is not a referrers tag`,
    )
  return filterByType(index.parsed.manifests, artifactType)
}
