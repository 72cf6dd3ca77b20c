// Tag listing, following the registry's pagination (`?n=` and Link headers) to the end.
import {AirlockError} from '../errors.ts'
import {repositoryScope} from './auth.ts'
import {readLimited} from './body.ts'
import {readErrorBody, statusError} from './errors.ts'
import {MAX_PAGES, nextPage} from './pagination.ts'
import type {RegistrySession} from './session.ts'

const MAX_PAGE_BYTES = 16 * 1024 * 1024

export async function listTags(session: RegistrySession, repository: string, pageSize?: number): Promise<string[]> {
  const what = `list tags of ${session.registry}/${repository}`
  let url: URL | undefined = session.url(`/v2/${repository}/tags/list`)
  if (pageSize) url.searchParams.set('n', String(pageSize))
  const tags: string[] = []
  for (let page = 0; url; page++) {
    if (page >= MAX_PAGES) throw new AirlockError('REGISTRY_ERROR', `${what}: more than ${MAX_PAGES} pages`)
    const response = await session.request(
      {method: 'GET', url, headers: {Accept: 'application/json'}},
      [repositoryScope(repository, 'pull')],
      what,
    )
    if (response.status !== 200)
      throw statusError(what, response.status, await readErrorBody(response.body), session.registry)
    const body = await readLimited(response.body, MAX_PAGE_BYTES, what)
    let json: {tags?: unknown}
    try {
      json = JSON.parse(body.toString('utf8')) as {tags?: unknown}
    } catch {
      throw new AirlockError('REGISTRY_ERROR', `${what}: the answer is not JSON`)
    }
    // Distribution answers `"tags": null` for a repository without tags.
    if (json.tags !== null && json.tags !== undefined) {
      if (!Array.isArray(json.tags) || !json.tags.every(t => typeof t === 'string'))
        throw new AirlockError('REGISTRY_ERROR', `${what}: "tags" is not a list of strings`)
      tags.push(...(json.tags as string[]))
    }
    url = nextPage(response, what)
  }
  return tags
}
