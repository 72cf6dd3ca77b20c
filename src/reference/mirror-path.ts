// Where each archived image lands in the mirror. Kept pure (strings in, strings out) so the mapping the push
// uses and the mapping the Talos mirror config promises are one function and cannot drift apart.
//
//   ghcr.io/siderolabs/installer:v1.4.0  -> REGISTRY/PREFIX/siderolabs/installer:v1.4.0          (default)
//   ghcr.io/siderolabs/installer:v1.4.0  -> REGISTRY/PREFIX/ghcr.io/siderolabs/installer:v1.4.0  (--keep-host)
//   docker.io/library/alpine:3.20        -> REGISTRY/PREFIX/library/alpine:3.20
//
// The default drops the source host because that is what a containerd mirror sends: a pull of
// ghcr.io/siderolabs/installer through a mirror endpoint asks the mirror for `siderolabs/installer`.
import {AirlockError} from '../errors.ts'
import {isPathComponent} from './repository-path.ts'

/** A push destination: `REGISTRY[/PREFIX]`, e.g. `registry.dc.local:5000/mirror`. */
export interface MirrorTarget {
  /** host[:port], lower-cased. */
  registry: string
  /** Repository path prefix without leading/trailing slashes; '' for none. */
  prefix: string
}

/** The source side of the mapping: a normalized reference's registry host and repository path. */
export interface SourceRepository {
  registry: string
  repository: string
}

export interface MappingOptions {
  keepHost?: boolean
}

const HOST =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?$/

/** Parses the `REGISTRY[/PREFIX]` argument of `airlock push` (no scheme, no tag). */
export function parseMirrorTarget(input: string): MirrorTarget {
  const text = input.trim().replace(/\/+$/, '')
  if (/^[a-z]+:\/\//i.test(text))
    throw new AirlockError(
      'USAGE',
      `mirror target ${JSON.stringify(input)} must be REGISTRY[/PREFIX], without a URL scheme`,
      {
        hint: 'use --insecure-registry for plain HTTP',
      },
    )
  const [host = '', ...path] = text.split('/')
  if (!HOST.test(host) || (!host.includes('.') && !host.includes(':') && host !== 'localhost'))
    throw new AirlockError(
      'USAGE',
      `mirror target ${JSON.stringify(input)} does not start with a registry host (e.g. registry.dc.local[:5000])`,
    )
  for (const component of path) {
    if (!isPathComponent(component))
      throw new AirlockError(
        'USAGE',
        `mirror prefix component ${JSON.stringify(component)} is not a valid repository path component`,
        {
          hint: 'use lower-case letters, digits and . _ - only',
        },
      )
  }
  if (/[@:]/.test(path.join('/')))
    throw new AirlockError('USAGE', `mirror target ${JSON.stringify(input)} must not carry a tag or digest`)
  return {registry: host.toLowerCase(), prefix: path.join('/')}
}

/** Docker Hub has several names; they all mean one registry and containerd calls it docker.io. */
export function canonicalHost(registry: string): string {
  const host = registry.toLowerCase()
  return host === 'index.docker.io' || host === 'registry-1.docker.io' ? 'docker.io' : host
}

/** The repository path (without the registry host) that `source` is pushed to in `target`. */
export function mapRepository(source: SourceRepository, target: MirrorTarget, options: MappingOptions = {}): string {
  const parts = [target.prefix]
  if (options.keepHost) parts.push(hostAsPath(canonicalHost(source.registry)))
  parts.push(source.repository)
  return parts.filter(p => p.length > 0).join('/')
}

/**
 * A registry host as a repository path component, injectively: `localhost:5000` is not a legal component (':' is
 * not allowed), so the port is joined with '_' (`localhost_5000`), a character no host name can contain, so that
 * `reg.example:5000` and the host `reg.example-5000` never share a mirror path (issue 10, finding 1). IPv6 literals
 * have no injective spelling in the path grammar and are refused. Talos config uses the same function.
 */
export function hostAsPath(host: string): string {
  const lower = host.toLowerCase()
  if (lower.startsWith('['))
    throw new AirlockError('USAGE', `--keep-host cannot spell the IPv6 registry ${host} as a repository path`, {
      hint: 'name the source registry by a host name',
    })
  const m = /^([a-z0-9.-]+)(?::(\d+))?$/.exec(lower)
  if (!m) throw new AirlockError('USAGE', `registry host ${JSON.stringify(host)} cannot be kept in a repository path`)
  return m[2] === undefined ? m[1]! : `${m[1]}_${m[2]}`
}

/**
 * Refuses mappings where two different source repositories would land in the same mirror repository (e.g.
 * ghcr.io/x/app and quay.io/x/app without --keep-host): their tags would overwrite each other silently.
 */
export function checkCollisions(
  sources: SourceRepository[],
  target: MirrorTarget,
  options: MappingOptions = {},
): Map<string, string> {
  const byTarget = new Map<string, string>()
  for (const source of sources) {
    const from = `${canonicalHost(source.registry)}/${source.repository}`
    const to = mapRepository(source, target, options)
    const seen = byTarget.get(to)
    if (seen !== undefined && seen !== from)
      throw new AirlockError('USAGE', `${seen} and ${from} would both be pushed to ${target.registry}/${to}`, {
        hint: 'use --keep-host to keep the source registry host in the mirror path',
      })
    byTarget.set(to, from)
  }
  return byTarget
}
