// The registry's catalog (`GET /v2/_catalog`, distribution's "Listing Repositories"): every repository name, paged
// with `?n=` and Link headers. Many registries refuse it (GHCR, Docker Hub, Harbor for non-admins); that refusal is
// one error that says to name the repositories instead. A hostile registry may list without end or loop its Link
// headers: pages, names and page sizes are bounded, a Link to another origin or back to a page seen is refused.
import {AirlockError} from '../errors.ts'
import {isRepositoryPath} from '../reference/repository-path.ts'
import {readLimited} from './body.ts'
import {describeErrorBody, readErrorBody, statusError} from './errors.ts'
import {nextPage} from './pagination.ts'
import type {RegistrySession} from './session.ts'

/** The token scope the catalog needs (distribution's token auth). */
export const CATALOG_SCOPE = 'registry:catalog:*'
/** Names asked for per page: distribution's default `catalog.maxentries`. */
export const CATALOG_PAGE_SIZE = 1000
/** A mirror of tens of thousands of repositories is big; past this a registry is listing without end. */
export const MAX_CATALOG_NAMES = 100_000
export const MAX_CATALOG_PAGES = 1000
const MAX_PAGE_BYTES = 16 * 1024 * 1024
const MAX_NAME_LENGTH = 255

export interface CatalogOptions {
  /** Only names under this path (`PREFIX/...`); '' or absent for all. */
  prefix?: string
  pageSize?: number
  maxNames?: number
  maxPages?: number
}

/** The registry would not list its repositories: status and its own error codes, for the message. */
function refused(registry: string, reason: string, cause?: unknown): AirlockError {
  return new AirlockError('UNSUPPORTED', `${registry} does not list its repositories (GET /v2/_catalog: ${reason})`, {
    hint: `name the repositories to inventory as arguments: airlock inventory --registry ${registry}[/PREFIX] REPOSITORY... -o FILE (or use an account allowed to list the catalog)`,
    details: {registry, catalogRefused: true},
    ...(cause === undefined ? {} : {cause}),
  })
}

/** Repository names of the registry (under `prefix` when given), sorted, each once. */
export async function listCatalog(session: RegistrySession, options: CatalogOptions = {}): Promise<string[]> {
  const what = `list repositories of ${session.registry}`
  const prefix = (options.prefix ?? '').replace(/^\/+|\/+$/g, '')
  const maxNames = options.maxNames ?? MAX_CATALOG_NAMES
  const maxPages = options.maxPages ?? MAX_CATALOG_PAGES
  let url: URL | undefined = session.url('/v2/_catalog')
  url.searchParams.set('n', String(options.pageSize ?? CATALOG_PAGE_SIZE))
  const seen = new Set<string>()
  const names = new Set<string>()
  let listed = 0
  for (let page = 0; url; page++) {
    if (page >= maxPages)
      throw new AirlockError('TOO_LARGE', `${what}: more than ${maxPages} pages`, {
        hint: 'name the repositories to inventory as arguments',
      })
    if (seen.has(url.href)) throw new AirlockError('REGISTRY_ERROR', `${what}: the next page links back to ${url.href}`)
    seen.add(url.href)
    let response
    try {
      response = await session.request(
        {method: 'GET', url, headers: {Accept: 'application/json'}},
        [CATALOG_SCOPE],
        what,
      )
    } catch (error) {
      // Docker Hub and Harbor grant a token without the catalog scope, then answer 401 insufficient_scope.
      if (error instanceof AirlockError && error.code === 'UNAUTHORIZED')
        throw refused(session.registry, error.message, error)
      throw error
    }
    if (response.status !== 200) {
      const body = await readErrorBody(response.body)
      const codes = describeErrorBody(body)
      if ([401, 403, 404, 405].includes(response.status) || /\bUNSUPPORTED\b/.test(codes))
        throw refused(session.registry, `HTTP ${response.status}${codes ? ` ${codes}` : ''}`)
      throw statusError(what, response.status, body, session.registry)
    }
    const body = await readLimited(response.body, MAX_PAGE_BYTES, what)
    let json: {repositories?: unknown}
    try {
      json = JSON.parse(body.toString('utf8')) as {repositories?: unknown}
    } catch {
      throw new AirlockError('REGISTRY_ERROR', `${what}: the answer is not JSON`)
    }
    const entries = json.repositories ?? []
    if (!Array.isArray(entries) || !entries.every(n => typeof n === 'string'))
      throw new AirlockError('REGISTRY_ERROR', `${what}: "repositories" is not a list of strings`)
    for (const name of entries as string[]) {
      if (name.length > MAX_NAME_LENGTH || !isRepositoryPath(name))
        throw new AirlockError(
          'REGISTRY_ERROR',
          `${what}: ${JSON.stringify(name.slice(0, 300))} is not a repository name`,
        )
      if (++listed > maxNames)
        throw new AirlockError('TOO_LARGE', `${what}: more than ${maxNames} repositories`, {
          hint: 'name the repositories to inventory as arguments',
        })
      if (!prefix || name.startsWith(`${prefix}/`)) names.add(name)
    }
    url = nextPage(response, what)
  }
  return [...names].sort()
}
