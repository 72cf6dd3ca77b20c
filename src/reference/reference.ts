// Image references, parsed with the grammar of the distribution reference spec and normalized the way Docker does
// (`alpine` is `docker.io/library/alpine:latest`). A reference that does not parse is refused with one line that
// says what is wrong; nothing is guessed silently (an uppercase repository is an error, as in Docker).
import {AirlockError} from '../errors.ts'
import {isDigest, type Digest} from '../oci/digest.ts'
import {isPathComponent} from './repository-path.ts'

export const DOCKER_HUB = 'docker.io'
/** The host that actually serves Docker Hub's API: `docker.io` itself only redirects browsers. */
export const DOCKER_HUB_ENDPOINT = 'registry-1.docker.io'
const DEFAULT_TAG = 'latest'
const MAX_NAME_LENGTH = 255

// Grammar pieces from distribution/reference/regexp.go, kept readable.
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])'
const IPV6 = '\\[(?:[a-fA-F0-9:]+)\\]'
const HOST = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|${IPV6})`
const DOMAIN = new RegExp(`^${HOST}(?::[0-9]+)?$`)
const TAG = /^[\w][\w.-]{0,127}$/
const DIGEST_SHAPE = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/

export class ImageReference {
  /** Registry as users name it, normalized (`docker.io`, `ghcr.io`, `localhost:5000`). */
  readonly registry: string
  /** Repository path inside the registry (`library/alpine`). */
  readonly repository: string
  readonly tag: string | undefined
  readonly digest: Digest | undefined

  constructor(parts: {registry: string; repository: string; tag?: string | undefined; digest?: Digest | undefined}) {
    this.registry = parts.registry
    this.repository = parts.repository
    this.tag = parts.tag
    this.digest = parts.digest
  }

  /** `registry/repository`, the name without tag or digest. */
  get name(): string {
    return `${this.registry}/${this.repository}`
  }

  /** The digest if there is one, else the tag: what to ask the registry for. */
  get reference(): string {
    return this.digest ?? this.tag ?? DEFAULT_TAG
  }

  /** The host:port to talk to for this registry (Docker Hub's API lives on another host than its name). */
  get endpoint(): string {
    return registryEndpoint(this.registry)
  }

  withTag(tag: string): ImageReference {
    if (!TAG.test(tag)) throw new AirlockError('REFERENCE_INVALID', `invalid tag ${JSON.stringify(tag)}`)
    return new ImageReference({registry: this.registry, repository: this.repository, tag, digest: undefined})
  }

  /** The same image pinned to a digest; the tag is kept for display (`name:tag@digest`). */
  withDigest(digest: string): ImageReference {
    if (!isDigest(digest)) throw new AirlockError('REFERENCE_INVALID', `invalid digest ${JSON.stringify(digest)}`)
    return new ImageReference({registry: this.registry, repository: this.repository, tag: this.tag, digest})
  }

  /** The same repository with neither tag nor digest. */
  withoutVersion(): ImageReference {
    return new ImageReference({registry: this.registry, repository: this.repository})
  }

  toString(): string {
    return `${this.name}${this.tag ? `:${this.tag}` : ''}${this.digest ? `@${this.digest}` : ''}`
  }

  toJSON(): string {
    return this.toString()
  }
}

/** Maps a registry name to the host that serves its API. */
export function registryEndpoint(registry: string): string {
  return registry === DOCKER_HUB ? DOCKER_HUB_ENDPOINT : registry
}

function invalid(input: string, why: string, hint?: string): AirlockError {
  return new AirlockError(
    'REFERENCE_INVALID',
    `invalid image reference ${JSON.stringify(input.slice(0, 300))}: ${why}`,
    hint ? {hint} : {},
  )
}

/** True when the first path component names a registry rather than a Docker Hub namespace (Docker's rule). */
function looksLikeDomain(component: string): boolean {
  return (
    component.includes('.') ||
    component.includes(':') ||
    component === 'localhost' ||
    component.startsWith('[') ||
    component !== component.toLowerCase()
  )
}

export function parseReference(input: string): ImageReference {
  if (typeof input !== 'string' || input.length === 0) throw invalid(String(input), 'empty reference')
  if (input !== input.trim() || /\s/.test(input)) throw invalid(input, 'contains whitespace')
  if (input.includes('://'))
    throw invalid(input, 'a reference has no URL scheme', `drop the scheme: ${input.replace(/^[a-z]+:\/\//, '')}`)

  let rest = input
  let digest: Digest | undefined
  const at = rest.indexOf('@')
  if (at !== -1) {
    const digestText = rest.slice(at + 1)
    rest = rest.slice(0, at)
    if (!DIGEST_SHAPE.test(digestText)) throw invalid(input, `malformed digest ${JSON.stringify(digestText)}`)
    if (!digestText.startsWith('sha256:'))
      throw invalid(input, `unsupported digest algorithm in ${JSON.stringify(digestText)}: only sha256 is accepted`)
    if (!isDigest(digestText)) throw invalid(input, 'a sha256 digest is 64 lowercase hex characters')
    digest = digestText
  }

  // The tag is after the last ':' that comes after the last '/', so "host:5000/repo" keeps its port.
  let tag: string | undefined
  const lastSlash = rest.lastIndexOf('/')
  const colon = rest.indexOf(':', lastSlash + 1)
  if (colon !== -1) {
    tag = rest.slice(colon + 1)
    rest = rest.slice(0, colon)
    if (!TAG.test(tag))
      throw invalid(
        input,
        `invalid tag ${JSON.stringify(tag)} (letters, digits, '_', '.', '-', at most 128, not starting with '.' or '-')`,
      )
  }
  if (rest.length === 0) throw invalid(input, 'missing repository name')

  let registry = DOCKER_HUB
  let repository = rest
  const firstSlash = rest.indexOf('/')
  if (firstSlash !== -1 && looksLikeDomain(rest.slice(0, firstSlash))) {
    registry = rest.slice(0, firstSlash)
    repository = rest.slice(firstSlash + 1)
    if (!DOMAIN.test(registry)) throw invalid(input, `invalid registry host ${JSON.stringify(registry)}`)
    // Host names are case-insensitive; the rest of the reference is not.
    registry = registry.toLowerCase()
    if (registry === 'index.docker.io' || registry === DOCKER_HUB_ENDPOINT) registry = DOCKER_HUB
  }
  if (repository.length === 0) throw invalid(input, 'missing repository name')

  for (const component of repository.split('/')) {
    if (isPathComponent(component)) continue
    if (component.length > 0 && isPathComponent(component.toLowerCase()))
      throw invalid(
        input,
        'repository names must be lowercase',
        `use ${[registry, repository.toLowerCase()].join('/')}`,
      )
    throw invalid(input, `invalid repository path component ${JSON.stringify(component)}`)
  }
  if (registry === DOCKER_HUB && !repository.includes('/')) repository = `library/${repository}`
  if (`${registry}/${repository}`.length > MAX_NAME_LENGTH)
    throw invalid(input, `name longer than ${MAX_NAME_LENGTH} characters`)

  if (tag === undefined && digest === undefined) tag = DEFAULT_TAG
  return new ImageReference({registry, repository, tag, digest})
}

/** Like parseReference, but returns undefined instead of throwing. */
export function tryParseReference(input: string): ImageReference | undefined {
  try {
    return parseReference(input)
  } catch {
    return undefined
  }
}
