// The mirror check of a delta archive's base (issue 17): every blob the archive leaves out must be in the mirror,
// with the size the archive's manifests state, in the repository each image needing it goes to (or, failing that,
// in the repository the inventory found it in: push then mounts it from there). Registries are content-addressed,
// so a blob held under its digest is those bytes; a size that differs is named as such. Used by `verify --registry`
// and by push before anything is written: a delta whose base is not all there is never complete, never pushed.
import type {Descriptor} from '../oci/descriptor.ts'
import {parseReference} from '../reference/index.ts'
import {mapRepository, type MirrorTarget} from '../reference/mirror-path.ts'
import type {RegistryClient} from '../registry/index.ts'
import {RegistryMirror} from '../registry/mirror.ts'
import {Limiter} from '../util/concurrency.ts'
import type {ConfirmBase} from './verify.ts'

export interface BaseHolding {
  repository: string
  digest: string
  size: number
}

export interface MirrorBaseCheck {
  confirm: ConfirmBase
  /** After confirm: where each blob was found (push marks these held, so it skips or mounts them). */
  found: BaseHolding[]
}

export function mirrorBaseCheck(options: {
  client: RegistryClient
  target: MirrorTarget
  keepHost?: boolean
}): MirrorBaseCheck {
  const mirror = new RegistryMirror(options.client, options.target)
  const where = `${options.target.registry}${options.target.prefix ? `/${options.target.prefix}` : ''}`
  const found: BaseHolding[] = []
  const limiter = new Limiter(8) // HEADs are tiny
  const sizeIn = async (repository: string, descriptor: Descriptor): Promise<number | undefined> =>
    limiter.run(() => mirror.repository(repository).blobSize(descriptor))
  const confirm: ConfirmBase = async expected => {
    const problems: string[] = []
    await Promise.all(
      expected.map(async blob => {
        const descriptor: Descriptor = {mediaType: 'application/octet-stream', digest: blob.digest, size: blob.size}
        for (const image of blob.images) {
          const repository = mapRepository(parseReference(image), options.target, {keepHost: options.keepHost ?? false})
          let size = await sizeIn(repository, descriptor).catch(() => undefined)
          let from = repository
          if (size === undefined && blob.repository !== repository) {
            size = await sizeIn(blob.repository, descriptor).catch(() => undefined)
            from = blob.repository
          }
          if (size === undefined) {
            problems.push(
              `blob ${blob.digest} (${blob.size} bytes, ${image}) is expected in the base but ${options.target.registry}/${repository} does not have it${blob.repository !== repository ? ` (nor ${blob.repository})` : ''}`,
            )
            return
          }
          if (size >= 0 && size !== blob.size) {
            problems.push(
              `blob ${blob.digest} in ${options.target.registry}/${from} is ${size} bytes, the archive expects ${blob.size} (${image})`,
            )
            return
          }
          found.push({repository: from, digest: blob.digest, size: blob.size})
        }
      }),
    )
    problems.sort()
    return {registry: where, problems}
  }
  return {confirm, found}
}
