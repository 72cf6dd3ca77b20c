// RFC 5988 Link headers, as registries use them to page tag lists and referrers: `<url>; rel="next"`.
import {AirlockError} from '../errors.ts'
import type {HttpResponse} from './transport.ts'
import {header} from './transport.ts'

/**
 * The next page's URL, or undefined on the last page. It must stay on the same origin: our credentials go with
 * the request, and a registry has no business sending them elsewhere.
 */
export function nextPage(response: HttpResponse, what: string): URL | undefined {
  const link = header(response.headers, 'link')
  if (!link) return undefined
  for (const part of link.split(',')) {
    const match = /^\s*<([^>]*)>\s*;(.*)$/.exec(part)
    if (!match || !/(?:^|;)\s*rel="?next"?\s*(?:;|$)/i.test(match[2]!)) continue
    const next = new URL(match[1]!, response.url)
    if (next.origin !== response.url.origin)
      throw new AirlockError('REGISTRY_ERROR', `${what}: next page on another origin (${next.origin})`)
    return next
  }
  return undefined
}

/** Stops a registry that links pages in a circle from keeping us busy forever. */
export const MAX_PAGES = 10_000
