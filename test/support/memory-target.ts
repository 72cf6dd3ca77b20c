// An in-memory OCI registry for copy-engine tests: repositories of content-addressed blobs and manifests plus tags,
// with the registry behaviours the engine relies on checked as a registry checks them (a push whose bytes do not
// hash to the descriptor is refused and stores nothing; a manifest is refused while a blob it names is missing,
// as Distribution does; a tag must name a manifest that is there). Optional capabilities (HEAD with size, mount,
// re-readable upload) can be switched off to test that the engine only uses what a destination offers. Every
// request is logged in order, and faults can be injected per operation and digest.
//
// This is a test double for the engine's seam only; the same behaviours run against a real Distribution registry
// in test/push-registry.test.ts, test/push-mount.test.ts and test/faults-push.test.ts.
import {createHash} from 'node:crypto'
import {Readable} from 'node:stream'
import {AirlockError} from '../../src/errors.ts'
import type {Descriptor} from '../../src/oci/descriptor.ts'
import type {Digest} from '../../src/oci/digest.ts'
import {parseManifest} from '../../src/oci/manifest.ts'
import {isManifestType} from '../../src/oci/media-types.ts'
import {successors} from '../../src/oci/graph.ts'
import type {Fetcher, RereadableBlob} from '../../src/content/types.ts'
import type {PushDestination} from '../../src/push/push.ts'

export function sha256(bytes: Buffer | string): Digest {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}` as Digest
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

export type Operation = 'HEAD' | 'GET' | 'PUT' | 'MOUNT' | 'TAG' | 'RESOLVE'

export interface Capabilities {
  blobSize: boolean
  mount: boolean
  pushFrom: boolean
}

interface Repo {
  content: Map<string, Buffer>
  tags: Map<string, Descriptor>
}

export class MemoryRegistry {
  readonly log: string[] = []
  readonly repos = new Map<string, Repo>()
  capabilities: Capabilities = {blobSize: true, mount: true, pushFrom: false}
  /** Answer mounts with "no" (an upload session), as a registry that does not mount across repositories. */
  refuseMounts = false
  /** Uploads in progress now, and the most seen at once. */
  active = 0
  maxActive = 0
  private readonly faults: Array<{op: Operation; digest?: string; error: Error; times: number}> = []

  /** The next `times` requests of `op` (for `digest`, or any) fail with `error`. */
  fail(op: Operation, error: Error, options: {digest?: string; times?: number} = {}): void {
    this.faults.push({op, error, times: options.times ?? 1, ...(options.digest ? {digest: options.digest} : {})})
  }

  private check(op: Operation, repository: string, digest: string): void {
    this.log.push(`${op} ${repository} ${digest.startsWith('sha256:') ? digest.slice(7, 15) : digest}`)
    const fault = this.faults.find(f => f.op === op && f.times > 0 && (!f.digest || f.digest === digest))
    if (fault) {
      fault.times--
      throw fault.error
    }
  }

  repoData(name: string): Repo {
    let repo = this.repos.get(name)
    if (!repo) this.repos.set(name, (repo = {content: new Map(), tags: new Map()}))
    return repo
  }

  /** Bytes of `digest` in `repository`, or undefined. */
  get(repository: string, digest: string): Buffer | undefined {
    return this.repos.get(repository)?.content.get(digest)
  }

  /** The requests of one kind, in order ('PUT r 12345678' with a short digest, 'TAG r v1'). */
  requests(op: Operation): string[] {
    return this.log.filter(line => line.startsWith(`${op} `))
  }

  repository(name: string): PushDestination {
    const registry = this
    const repo = this.repoData(name)
    const store = async (d: Descriptor, bytes: Buffer): Promise<void> => {
      if (bytes.length !== d.size || sha256(bytes) !== d.digest)
        throw new AirlockError('DIGEST_MISMATCH', `${name}: upload of ${d.digest} does not match its digest`)
      if (isManifestType(d.mediaType))
        for (const child of successors(parseManifest(bytes, d.mediaType).parsed))
          if (!isManifestType(child.mediaType) && !repo.content.has(child.digest))
            throw new AirlockError('REGISTRY_ERROR', `${name}: MANIFEST_BLOB_UNKNOWN ${child.digest}`)
      repo.content.set(d.digest, bytes)
    }
    const upload = async (d: Descriptor, read: () => Promise<Buffer>): Promise<void> => {
      registry.active++
      registry.maxActive = Math.max(registry.maxActive, registry.active)
      try {
        registry.check('PUT', name, d.digest)
        await store(d, await read())
      } finally {
        registry.active--
      }
    }
    const destination: PushDestination = {
      async exists(d) {
        registry.check('HEAD', name, d.digest)
        return repo.content.has(d.digest)
      },
      async fetch(d) {
        registry.check('GET', name, d.digest)
        const bytes = repo.content.get(d.digest)
        if (!bytes) throw new AirlockError('NOT_FOUND', `${name}: no ${d.digest}`)
        return Readable.from([bytes])
      },
      async push(d, content) {
        await upload(d, () => readAll(content))
      },
      async resolve(reference) {
        registry.check('RESOLVE', name, reference)
        const d = repo.tags.get(reference)
        if (!d) throw new AirlockError('NOT_FOUND', `${name}: no tag ${reference}`)
        return d
      },
      async tag(d, reference) {
        registry.check('TAG', name, reference)
        if (!repo.content.has(d.digest))
          throw new AirlockError('REGISTRY_ERROR', `${name}: tag ${reference} names missing ${d.digest}`)
        repo.tags.set(reference, d)
      },
    }
    if (this.capabilities.blobSize)
      destination.blobSize = async d => {
        registry.check('HEAD', name, d.digest)
        return repo.content.get(d.digest)?.length
      }
    if (this.capabilities.mount)
      destination.mount = async (d, from) => {
        registry.check('MOUNT', name, d.digest)
        const bytes = registry.get(from, d.digest)
        if (registry.refuseMounts || !bytes) return false
        repo.content.set(d.digest, bytes)
        return true
      }
    if (this.capabilities.pushFrom)
      destination.pushFrom = async (d, region: RereadableBlob) => {
        await upload(d, () => readAll(region.open(0, region.size)))
      }
    return destination
  }
}

/** Content to copy from: blobs, image manifests, indexes and referrers built in memory, served by digest. */
export class MemoryContent implements Fetcher {
  readonly store = new Map<string, Buffer>()
  /** Fetches served, by short digest (to see what a copy read). */
  readonly fetched: string[] = []

  add(bytes: Buffer | string, mediaType: string): Descriptor {
    const buffer = Buffer.from(bytes)
    const d: Descriptor = {mediaType, digest: sha256(buffer), size: buffer.length}
    this.store.set(d.digest, buffer)
    return d
  }

  async fetch(d: Descriptor): Promise<Readable> {
    const bytes = this.store.get(d.digest)
    if (!bytes) throw new AirlockError('NOT_FOUND', `source: no ${d.digest}`)
    this.fetched.push(d.digest.slice(7, 15))
    return Readable.from([bytes])
  }

  /** Re-readable regions, as the archive reader hands them out. */
  async rereadable(d: Descriptor): Promise<RereadableBlob | undefined> {
    const bytes = this.store.get(d.digest)
    if (!bytes) return undefined
    return {size: bytes.length, open: (offset, length) => Readable.from([bytes.subarray(offset, offset + length)])}
  }
}
