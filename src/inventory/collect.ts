// Building an inventory: from a mirror registry (tags of each repository, their manifests walked to every config
// and layer) or from archives already imported (their manifests walked the same way), plus the TUF versions the
// rollback state has accepted. Only manifests are read (bounded, verified against their digest); blob bodies never.
import {readdirSync} from 'node:fs'
import {join} from 'node:path'
import {ArchiveReader} from '../archive/reader.ts'
import {REF_NAME_ANNOTATION} from '../archive/schema.ts'
import {fetchManifest} from '../content/read-manifest.ts'
import type {Fetcher, ResolveOptions} from '../content/types.ts'
import {AirlockError} from '../errors.ts'
import type {Descriptor} from '../oci/descriptor.ts'
import type {Digest} from '../oci/digest.ts'
import {successors} from '../oci/graph.ts'
import {isManifestType} from '../oci/media-types.ts'
import {parseReference} from '../reference/index.ts'
import {readTufState} from '../trust/state.ts'
import {Limiter} from '../util/concurrency.ts'
import type {ContentEntry, Inventory, InventoryRepository, InventoryTuf} from './format.ts'

/** cosign's legacy signature tags: `sha256-<hex>.sig|.att|.sbom`. */
const SIGNATURE_TAG = /^sha256-[a-f0-9]{64}\.(sig|att|sbom)$/
const MAX_DEPTH = 8
/** Manifests walked per repository: a Talos release is a few hundred; this only stops a hostile registry. */
const MAX_MANIFESTS = 100_000
/** Tags of one repository resolved at once (a separate bound from the walk's own fetches: no slot waits on itself). */
const TAGS_AT_ONCE = 8

class RepositoryWalk {
  readonly manifests = new Map<string, number>()
  readonly blobs = new Map<string, number>()
  readonly signatures = new Set<string>()
  private readonly fetcher: Fetcher
  private readonly limiter = new Limiter(8)
  private readonly name: string

  constructor(name: string, fetcher: Fetcher) {
    this.name = name
    this.fetcher = fetcher
  }

  async visit(descriptor: Descriptor, depth = 0): Promise<void> {
    if (!isManifestType(descriptor.mediaType)) {
      this.blobs.set(descriptor.digest, descriptor.size)
      return
    }
    if (this.manifests.has(descriptor.digest) || depth > MAX_DEPTH) return
    if (this.manifests.size >= MAX_MANIFESTS)
      throw new AirlockError('TOO_LARGE', `${this.name}: more than ${MAX_MANIFESTS} manifests`)
    this.manifests.set(descriptor.digest, descriptor.size)
    let manifest
    try {
      manifest = await this.limiter.run(() => fetchManifest(this.fetcher, descriptor))
    } catch (error) {
      // A child left out of a filtered index is simply not held; anything else is a real failure.
      if (error instanceof AirlockError && error.code === 'NOT_FOUND' && depth > 0) {
        this.manifests.delete(descriptor.digest)
        return
      }
      throw error
    }
    await Promise.all(successors(manifest.parsed).map(child => this.visit(child, depth + 1)))
  }

  result(): InventoryRepository {
    const sorted = (m: Map<string, number>): ContentEntry[] =>
      [...m].sort(([a], [b]) => (a < b ? -1 : 1)).map(([d, n]) => [d as Digest, n])
    return {
      name: this.name,
      manifests: sorted(this.manifests),
      blobs: sorted(this.blobs),
      signatures: [...this.signatures].sort(),
    }
  }
}

/** A repository of the mirror as the inventory needs it: tags, resolve, fetch. */
export interface InventoryRepositorySource extends Fetcher {
  tags(): Promise<string[]>
  resolve(reference: string, options?: ResolveOptions): Promise<Descriptor>
}

/** Inventories repositories of a registry: every tag (signature tags too) resolved and walked. */
export async function inventoryRegistry(
  repositories: Array<{name: string; repo: InventoryRepositorySource}>,
): Promise<InventoryRepository[]> {
  const out: InventoryRepository[] = []
  for (const {name, repo} of repositories) {
    const walk = new RepositoryWalk(name, repo)
    let tags: string[]
    try {
      tags = await repo.tags()
    } catch (error) {
      if (error instanceof AirlockError && error.code === 'NOT_FOUND') {
        out.push(walk.result()) // an empty (or not yet created) repository holds nothing
        continue
      }
      throw error
    }
    // Tags are resolved several at once (a mirror holds hundreds per repository; the result is sorted, so the
    // order answers come in does not matter). The walk reads each root next unless another tag named it: one GET
    // either way, never HEAD then GET.
    // After a failure the tags still queued are not asked; the error is reported once nothing runs any more.
    const asks = new Limiter(TAGS_AT_ONCE)
    let failure: {error: unknown} | undefined
    await Promise.all(
      tags.map(tag =>
        asks.run(async () => {
          if (failure) return
          try {
            const root = await repo.resolve(tag, {read: true})
            if (SIGNATURE_TAG.test(tag)) walk.signatures.add(tag)
            await walk.visit(root)
          } catch (error) {
            failure ??= {error}
          }
        }),
      ),
    )
    if (failure) throw failure.error
    out.push(walk.result())
  }
  return out
}

/**
 * Inventories archives already imported: per source repository of each image, everything its airlock.json and
 * index.json reach (images and their signature artifacts). Structure is checked; bodies are not hashed (these are
 * the site's own archives, verified when imported, and a wrong entry only makes the next delta fail inside).
 */
export async function inventoryArchives(files: string[]): Promise<InventoryRepository[]> {
  const byRepo = new Map<string, RepositoryWalk>()
  for (const file of files) {
    const archive = await ArchiveReader.open(file, {hash: false})
    try {
      for (const root of archive.index.manifests) {
        const reference = root.annotations?.[REF_NAME_ANNOTATION]
        if (!reference) continue
        const record = archive.airlock.images.find(r => r.reference === reference)
        const ref = parseReference(reference)
        const name = repositoryPath(ref.registry, ref.repository)
        let walk = byRepo.get(name)
        if (!walk) {
          walk = new RepositoryWalk(name, archive)
          byRepo.set(name, walk)
        }
        // Each archive is walked through its own reader.
        const local = new RepositoryWalk(name, archive)
        await local.visit(root)
        for (const attached of record?.attached ?? []) await local.visit(attached)
        const signatures = archive.airlock['signatures'] as {subjects?: Array<{image?: string; entries?: unknown[]}>}
        for (const subject of signatures?.subjects ?? [])
          if (subject.image === reference)
            for (const entry of subject.entries ?? []) {
              const e = entry as {descriptor?: Descriptor; tag?: string}
              if (e.descriptor) await local.visit(e.descriptor)
              if (typeof e.tag === 'string' && SIGNATURE_TAG.test(e.tag)) local.signatures.add(e.tag)
            }
        for (const [d, n] of local.manifests) walk.manifests.set(d, n)
        for (const [d, n] of local.blobs) walk.blobs.set(d, n)
        for (const t of local.signatures) walk.signatures.add(t)
      }
    } finally {
      await archive.close()
    }
  }
  return [...byRepo.values()].map(w => w.result()).sort((a, b) => (a.name < b.name ? -1 : 1))
}

/** `registry/repository` as a repository path (Docker Hub's implicit host kept explicit: docker.io/library/x). */
function repositoryPath(registry: string, repository: string): string {
  void registry
  return repository
}

/** The TUF versions accepted in a rollback state directory (format-2 state files). */
export function inventoryTuf(stateDir: string | undefined): InventoryTuf[] {
  if (!stateDir) return []
  let names: string[]
  try {
    names = readdirSync(join(stateDir, 'tuf'))
  } catch {
    return [] // no state yet
  }
  const out: InventoryTuf[] = []
  for (const name of names.sort()) {
    const m = /^root-([a-f0-9]{64})\.json$/.exec(name)
    if (!m) continue
    const state = readTufState(stateDir, m[1]!)
    if (!state) continue
    out.push({
      pinnedRoot: state.pinnedRoot,
      mirror: state.mirror,
      root: state.root,
      timestamp: state.timestamp,
      snapshot: state.snapshot,
      targets: state.targets,
    })
  }
  return out
}

export function newInventory(
  source: Inventory['source'],
  repositories: InventoryRepository[],
  tuf: InventoryTuf[],
): Inventory {
  return {airlockInventory: 1, createdAt: new Date().toISOString(), source, repositories, tuf}
}
