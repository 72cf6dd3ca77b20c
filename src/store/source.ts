// Image sources named the way skopeo names them: `oci:DIR[:REF]`, `oci-archive:FILE[:REF]`, `docker://REF` or a
// bare registry reference. Parsing is pure; opening returns a read-only target plus the reference to resolve in it.
// The registry store is injected (`openRegistry`) so this module does not depend on the registry client's options.
import {AirlockError} from '../errors.ts'
import {isDigest} from '../oci/digest.ts'
import {parseReference} from '../reference/index.ts'
import type {RegistryClient} from '../registry/index.ts'
import type {ReadOnlyTarget} from '../content/types.ts'
import {OciArchiveStore} from './oci-archive.ts'
import {OciLayoutStore} from './oci-layout.ts'
import type {Source, SourceSpec} from '../content/source.ts'

export type {Source, SourceSpec} from '../content/source.ts'

/** Opens a registry repository for a normalized reference; provided by the command layer. */
export type RegistryOpener = (
  reference: string,
) => Promise<{store: ReadOnlyTarget; name: string; reference: string; tag?: string}>

/**
 * The usual opener: each reference through one registry client, which `client()` may create on first use (a run that
 * names only layouts and archives never builds one).
 */
export function registryOpener(client: () => RegistryClient): RegistryOpener {
  return async reference => {
    const ref = parseReference(reference)
    return {
      store: client().repository(ref),
      name: ref.toString(),
      reference: ref.reference,
      ...(ref.tag ? {tag: ref.tag} : {}),
    }
  }
}

/** Splits `transport:rest`; like skopeo, the path ends at the first colon and the rest is the image name. */
export function parseSource(input: string): SourceSpec {
  const text = input.trim()
  if (text.length === 0) throw new AirlockError('USAGE', 'empty image source')
  for (const transport of ['oci-archive', 'oci'] as const) {
    if (!text.startsWith(`${transport}:`)) continue
    const rest = text.slice(transport.length + 1)
    const colon = rest.indexOf(':')
    const path = colon < 0 ? rest : rest.slice(0, colon)
    const ref = colon < 0 ? undefined : rest.slice(colon + 1)
    if (!path) throw new AirlockError('USAGE', `${JSON.stringify(input)}: missing path after ${transport}:`)
    return ref ? {transport, input: text, path, ref} : {transport, input: text, path}
  }
  const ref = text.startsWith('docker://') ? text.slice('docker://'.length) : text
  return {transport: 'registry', input: text, ref}
}

function tagOf(ref: string | undefined): string | undefined {
  if (!ref || isDigest(ref.replace(/^@/, ''))) return undefined
  const name = ref.split('@')[0] ?? ''
  const colon = name.lastIndexOf(':')
  if (colon >= 0) {
    const tag = name.slice(colon + 1)
    return tag && !tag.includes('/') ? tag : undefined
  }
  // A bare layout name such as "v1" is what skopeo and oras treat as the tag.
  return name && !name.includes('/') ? name : undefined
}

export async function openSource(spec: SourceSpec, options: {openRegistry?: RegistryOpener} = {}): Promise<Source> {
  switch (spec.transport) {
    case 'oci': {
      const store = await OciLayoutStore.open(spec.path)
      return describe(spec, store, spec.ref ?? '', await store.index())
    }
    case 'oci-archive': {
      const store = await OciArchiveStore.open(spec.path)
      return describe(spec, store, spec.ref ?? '', store.index())
    }
    case 'registry': {
      const parsed = parseReference(spec.ref) // validates early, with the reference module's one error
      if (!options.openRegistry)
        throw new AirlockError('UNSUPPORTED', `registry sources are not available in this build (${spec.input})`, {
          hint: 'use an oci: or oci-archive: source',
        })
      const opened = await options.openRegistry(parsed.toString())
      const source: Source = {spec, store: opened.store, reference: opened.reference, name: opened.name}
      if (opened.tag) source.tag = opened.tag
      return source
    }
  }
}

function describe(
  spec: SourceSpec,
  store: ReadOnlyTarget & {isLocal?: boolean},
  ref: string,
  index: {manifests: Array<{annotations?: Record<string, string>}>},
): Source {
  // With no REF and one image in the layout, name it by the layout's own annotation, like skopeo would.
  const name = ref || index.manifests[0]?.annotations?.['org.opencontainers.image.ref.name'] || spec.input
  const source: Source = {spec, store, reference: ref, name}
  const tag = tagOf(ref || (name !== spec.input ? name : undefined))
  if (tag) source.tag = tag
  return source
}
