// Image globs of policy rules, read exactly as Talos reads the `imagePattern` of its ImageVerificationConfig, so one
// policy file allows and denies the same images in airlock and on the cluster (docs/DECISIONS.md, "Policy globs").
//
// Talos matches with github.com/ryanuber/go-glob: `*` is the only special character and matches any run of
// characters, `/` included; everything else is literal; the whole name must match. The subject is the image's
// registry/repository with no tag or digest. Talos releases disagree on how that subject is spelled:
//   - older releases (internal/pkg/containers/image/verify/verify.go) match go-containerregistry's
//     `Repository.String()`, where Docker Hub is `index.docker.io/library/alpine`;
//   - newer ones (internal/pkg/containers/image/imageref) fold Docker Hub to `docker.io/library/alpine`, lower-case
//     the registry and normalize the pattern's registry literal the same way (NormalizePattern).
// airlock computes both readings and acts only where they agree: a glob that the two read differently for an image
// denies it, and globs that can never match, or that only one reading can match, are refused when the file is read.
import {AirlockError} from '../errors.ts'
import {parseReference} from '../reference/index.ts'

const DOCKER_HUB = 'docker.io'
/** go-containerregistry's spelling of Docker Hub (name.DefaultRegistry). */
const GGCR_DOCKER_HUB = 'index.docker.io'
const HUB_ALIASES = new Set([GGCR_DOCKER_HUB, 'registry-1.docker.io'])
/** Characters a registry/repository name can hold (distribution reference grammar, IPv6 brackets and port). */
const NAME_CHARACTERS = /^[a-z0-9._\-/:[\]*]*$/

/** `registry/repository` of a reference, normalized as airlock and newer Talos spell it (`docker.io/library/x`). */
export function repositoryName(imageReference: string): string {
  return parseReference(imageReference).name
}

/** go-containerregistry's spelling of a normalized name: Docker Hub is `index.docker.io`. */
export function talosRepositoryName(name: string): string {
  return name.startsWith(`${DOCKER_HUB}/`) ? `${GGCR_DOCKER_HUB}${name.slice(DOCKER_HUB.length)}` : name
}

/**
 * go-glob v1.0.0's Glob(pattern, subject), step for step: the text before the first `*` is a prefix, each text
 * between two `*` is found at its first occurrence in what is left, the text after the last `*` is a suffix of the
 * rest.
 */
export function goGlob(pattern: string, subject: string): boolean {
  if (pattern === '') return subject === ''
  if (pattern === '*') return true
  const parts = pattern.split('*')
  if (parts.length === 1) return subject === pattern
  const leading = pattern.startsWith('*')
  const trailing = pattern.endsWith('*')
  const end = parts.length - 1
  let rest = subject
  for (let i = 0; i < end; i++) {
    const part = parts[i]!
    const idx = rest.indexOf(part)
    if (i === 0 ? !leading && idx !== 0 : idx < 0) return false
    rest = rest.slice(idx + part.length)
  }
  return trailing || rest.endsWith(parts[end]!)
}

/** Talos's imageref.NormalizePattern: the registry literal before any `*` is lower-cased and Docker Hub folded. */
export function normalizePattern(pattern: string): string {
  const slash = pattern.indexOf('/')
  const domain = slash === -1 ? pattern : pattern.slice(0, slash)
  const star = domain.indexOf('*')
  const normalized = star === -1 ? normalizeDomain(domain) : normalizeDomain(domain.slice(0, star)) + domain.slice(star)
  return slash === -1 ? normalized : normalized + pattern.slice(slash)
}

function normalizeDomain(domain: string): string {
  const lower = domain.toLowerCase()
  return HUB_ALIASES.has(lower) ? DOCKER_HUB : lower
}

/**
 * Refuses a glob that no normalized name can match, or that only one Talos reading can match, with the spelling
 * that works everywhere as the hint.
 */
export function validateGlob(glob: string): void {
  if (glob.length === 0) throw new AirlockError('USAGE', 'empty image glob')
  const refuse = (why: string, hint: string): never => {
    throw new AirlockError('USAGE', `image glob ${JSON.stringify(glob)} ${why}`, {hint})
  }
  if (glob !== glob.toLowerCase())
    refuse('has upper-case letters, which no normalized image name has', `write it lower-case: ${glob.toLowerCase()}`)
  if (!NAME_CHARACTERS.test(glob))
    refuse(
      'has characters no registry/repository name has (tags and digests are never matched)',
      "the only wildcard is * (any run of characters, '/' included), as in Talos",
    )
  const slash = glob.indexOf('/')
  if (slash !== -1 && /[[\]:]/.test(glob.slice(slash + 1)))
    refuse(
      'has ":", "[" or "]" after the registry, which no repository name has (tags and digests are never matched)',
      'match the repository only: ghcr.io/siderolabs/installer',
    )
  if (!glob.includes('*')) {
    const name = ((): string => {
      try {
        return talosRepositoryName(parseReference(glob).name)
      } catch {
        return refuse(
          'is not a registry/repository name, and without * it must be one',
          'add * to match many names: ghcr.io/siderolabs/*',
        )
      }
    })()
    if (name !== glob)
      refuse(
        'can never match: names are compared in full, registry included, Docker Hub as index.docker.io/library/NAME',
        `write ${name}`,
      )
    return
  }
  const literal = glob.split('*')[0] ?? ''
  const hub = [DOCKER_HUB, ...HUB_ALIASES].find(
    h => h !== GGCR_DOCKER_HUB && (literal.startsWith(`${h}/`) || (literal === h && glob.length > h.length)),
  )
  if (hub !== undefined)
    refuse(
      `names Docker Hub as ${hub}, which Talos releases that match go-containerregistry names (index.docker.io/library/NAME) never match`,
      `write ${GGCR_DOCKER_HUB}${glob.slice(hub.length)}, which airlock and every Talos release read the same`,
    )
}

/** Whether `glob` covers the image, or why the two Talos readings disagree about it. */
export function matchGlob(glob: string, imageReference: string): {matches: boolean} | {conflict: string} {
  const name = repositoryName(imageReference)
  const older = goGlob(glob, talosRepositoryName(name))
  const newer = goGlob(normalizePattern(glob), name)
  if (older !== newer)
    return {
      conflict: `${glob} ${older ? 'matches' : 'does not match'} ${talosRepositoryName(name)} in older Talos releases but ${newer ? 'matches' : 'does not match'} ${name} in newer ones`,
    }
  return {matches: older}
}

export function globMatches(glob: string, imageReference: string): boolean {
  const result = matchGlob(glob, imageReference)
  return 'matches' in result && result.matches
}
