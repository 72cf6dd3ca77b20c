// Pinned roots and mirror names. The pinned root is the one piece of TUF trust that does not come from the archive:
// airlock ships the Sigstore public-good root (from @sigstore/tuf's seeds.json), operators may pin their own.
import {readFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {embedded} from '../embedded.ts'
import {AirlockError} from '../errors.ts'

/** The Sigstore public-good TUF repository (metadata at its root, targets under /targets). */
export const PUBLIC_GOOD_MIRROR = 'https://tuf-repo-cdn.sigstore.dev'

type Seeds = Record<string, {'root.json': string; targets?: Record<string, string>}>

let seedsCache: Seeds | undefined
function seeds(): Seeds {
  if (!seedsCache) {
    // the single-file executable carries seeds.json inside itself (src/embedded.ts)
    const text =
      embedded()?.tufSeeds ?? readFileSync(createRequire(import.meta.url).resolve('@sigstore/tuf/seeds.json'), 'utf8')
    seedsCache = JSON.parse(text) as Seeds
  }
  return seedsCache
}

/** The public-good root.json embedded in @sigstore/tuf (bytes as published, base64-decoded from seeds.json). */
export function pinnedPublicGoodRoot(): Buffer {
  const seed = seeds()[PUBLIC_GOOD_MIRROR]
  if (!seed) throw new AirlockError('INTERNAL', `@sigstore/tuf seeds.json has no root for ${PUBLIC_GOOD_MIRROR}`)
  return Buffer.from(seed['root.json'], 'base64')
}

/**
 * The directory name a mirror's files live under in the archive (`sigstore/tuf/<mirrorId>/`): host, port and path
 * of the URL, lower-cased, every character outside [a-z0-9.-] turned into `_`. One path segment, never `.`/`..`.
 * `https://tuf-repo-cdn.sigstore.dev` -> `tuf-repo-cdn.sigstore.dev`; `http://127.0.0.1:8080/tuf/` -> `127.0.0.1_8080_tuf`.
 */
export function mirrorIdFor(mirrorUrl: string): string {
  let url: URL
  try {
    url = new URL(mirrorUrl)
  } catch {
    throw new AirlockError('USAGE', `not a TUF mirror URL: ${mirrorUrl}`)
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new AirlockError('USAGE', `TUF mirror must be http(s): ${mirrorUrl}`)
  const raw = (url.host + url.pathname).toLowerCase()
  const id = raw.replace(/[^a-z0-9.-]+/g, '_').replace(/^[_.]+|[_.]+$/g, '')
  if (!id || id === '.' || id === '..') throw new AirlockError('USAGE', `cannot derive a mirror name from ${mirrorUrl}`)
  return id
}

/** Checks a mirror id taken from an archive before it is used as a file name (state file, report). */
export function assertMirrorId(mirrorId: string): void {
  if (!/^[a-z0-9][a-z0-9._-]*$/.test(mirrorId) || mirrorId.includes('..'))
    throw new AirlockError('TRUST_INVALID', `invalid TUF mirror name in the archive: ${JSON.stringify(mirrorId)}`)
}
