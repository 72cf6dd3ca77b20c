// One repository on a registry, as a content store (Target of src/store/types.ts): what the graph copy, export
// and push work against. Each method is a thin composition of the wire modules beside this file.
import {Readable} from 'node:stream'
import {AirlockError} from '../errors.ts'
import type {Descriptor} from '../oci/descriptor.ts'
import {sha256} from '../oci/digest.ts'
import type {RawManifest} from '../oci/manifest.ts'
import {isManifestType} from '../oci/media-types.ts'
import type {ImageReference} from '../reference/reference.ts'
import {readManifestBytes} from '../store/read-manifest.ts'
import type {ReferrerLister, TagLister, Target} from '../store/types.ts'
import {fetchBlob} from './blobs.ts'
import {blobSize, contentExists, getManifest, headManifest, putManifest} from './manifests.ts'
import {listReferrersApi, listReferrersByTag, type ReferrersCapability} from './referrers.ts'
import type {Semaphore} from './semaphore.ts'
import type {RegistrySession} from './session.ts'
import {listTags} from './tags.ts'
import {mountBlob, pushBlob, pushBlobFrom} from './uploads.ts'
import type {RereadableBlob} from '../store/types.ts'

export interface RepositorySettings {
  semaphore: Semaphore
  chunkSize: number
  /** Re-readable blobs up to this size go in one streamed PUT (pushFrom). */
  monolithicMax: number
  resumeAttempts: number
  retryBaseMs: number
  tagPageSize: number | undefined
}

const TAG = /^[\w][\w.-]{0,127}$/

export class Repository implements Target, ReferrerLister, TagLister {
  /** The repository's reference without tag or digest. */
  readonly reference: ImageReference
  private readonly session: RegistrySession
  private readonly settings: RepositorySettings
  private capability: ReferrersCapability | undefined

  constructor(session: RegistrySession, reference: ImageReference, settings: RepositorySettings) {
    this.session = session
    this.reference = reference.withoutVersion()
    this.settings = settings
  }

  /** `registry/repository`, for messages. */
  get name(): string {
    return this.reference.name
  }

  private get path(): string {
    return this.reference.repository
  }

  /** Streams a manifest or blob, chosen by media type; the stream errors at its end unless the bytes verify. */
  async fetch(descriptor: Descriptor): Promise<Readable> {
    if (!isManifestType(descriptor.mediaType))
      return fetchBlob(this.session, this.path, descriptor, {
        semaphore: this.settings.semaphore,
        resumeAttempts: this.settings.resumeAttempts,
        retryBaseMs: this.settings.retryBaseMs,
      })
    const raw = await this.fetchManifest(descriptor.digest)
    if (raw.bytes.length !== descriptor.size)
      throw new AirlockError('SIZE_MISMATCH', `manifest ${this.name}@${descriptor.digest}: ${raw.bytes.length} bytes, descriptor says ${descriptor.size}`)
    return Readable.from([raw.bytes])
  }

  /** Fetches and parses a manifest by tag or digest, verified against the digest (asked for or announced). */
  fetchManifest(reference: string): Promise<RawManifest> {
    return getManifest(this.session, this.path, reference)
  }

  /** The root descriptor a tag or digest names: HEAD first (cheap, no rate-limit cost on Hub), GET if HEAD is not enough. */
  async resolve(reference: string): Promise<Descriptor> {
    const head = await headManifest(this.session, this.path, reference)
    if (head) return head
    const raw = await this.fetchManifest(reference)
    return {mediaType: raw.mediaType, digest: raw.digest, size: raw.bytes.length}
  }

  exists(descriptor: Descriptor): Promise<boolean> {
    return contentExists(this.session, this.path, descriptor)
  }

  /** Pushes a manifest (under its digest, bytes unchanged) or a blob (streamed); nothing lands unless it verifies. */
  async push(descriptor: Descriptor, content: Readable): Promise<void> {
    if (!isManifestType(descriptor.mediaType)) {
      await this.settings.semaphore.run(() => pushBlob(this.session, this.path, descriptor, content, {chunkSize: this.settings.chunkSize}))
      return
    }
    const bytes = await readManifestBytes(content, descriptor)
    await putManifest(this.session, this.path, descriptor.digest, descriptor.mediaType, bytes)
  }

  /**
   * Pushes a blob from a re-readable source (a file region) in one streamed PUT, or in streamed PATCH chunks when
   * it is over the monolithic limit or the registry refuses it whole; a transient failure re-reads and re-sends.
   */
  async pushFrom(descriptor: Descriptor, source: RereadableBlob): Promise<void> {
    if (isManifestType(descriptor.mediaType)) return this.push(descriptor, source.open(0, source.size))
    await this.settings.semaphore.run(() =>
      pushBlobFrom(this.session, this.path, descriptor, source, {
        monolithicMax: this.settings.monolithicMax,
        chunkSize: this.settings.chunkSize,
        retries: this.settings.resumeAttempts,
        retryBaseMs: this.settings.retryBaseMs,
      }),
    )
  }

  /** Size of a blob the registry holds under `descriptor`'s digest (HEAD Content-Length), undefined when absent. */
  blobSize(descriptor: Descriptor): Promise<number | undefined> {
    return blobSize(this.session, this.path, descriptor)
  }

  /** Points a tag at a manifest already in the repository, re-sending its exact bytes as the API requires. */
  async tag(descriptor: Descriptor, reference: string): Promise<void> {
    if (!TAG.test(reference)) throw new AirlockError('REFERENCE_INVALID', `invalid tag ${JSON.stringify(reference)}`)
    if (!isManifestType(descriptor.mediaType)) throw new AirlockError('UNSUPPORTED', `cannot tag ${descriptor.digest}: ${descriptor.mediaType} is not a manifest`)
    const raw = await this.fetchManifest(descriptor.digest)
    await putManifest(this.session, this.path, reference, descriptor.mediaType, raw.bytes)
  }

  /** Pushes manifest bytes under a tag directly (no fetch back), for callers that hold the verified bytes. */
  async pushManifest(bytes: Buffer, mediaType: string, reference?: string): Promise<Descriptor> {
    const digest = sha256(bytes)
    await putManifest(this.session, this.path, reference ?? digest, mediaType, bytes)
    return {mediaType, digest, size: bytes.length}
  }

  /** All tags, following pagination. */
  tags(): Promise<string[]> {
    return listTags(this.session, this.path, this.settings.tagPageSize)
  }

  /** Referrers of a subject: the API when the registry has it, else the `sha256-<hex>` fallback tag. */
  async referrers(subject: Descriptor, artifactType?: string): Promise<Descriptor[]> {
    if (this.capability !== 'tag-schema') {
      const viaApi = await listReferrersApi(this.session, this.path, subject.digest, artifactType)
      if (viaApi) {
        this.capability = 'api'
        return viaApi
      }
      this.capability = 'tag-schema'
    }
    return listReferrersByTag(this.session, this.path, subject.digest, artifactType)
  }

  /** Whether this repository's registry serves the referrers API; probed once, then remembered. */
  async referrersCapability(): Promise<ReferrersCapability> {
    if (!this.capability) {
      // Any digest will do: a registry with the API answers an (empty) index even for an unknown subject.
      const probe = await listReferrersApi(this.session, this.path, sha256(''))
      this.capability = probe ? 'api' : 'tag-schema'
    }
    return this.capability
  }

  /** Cross-repository blob mount on the same registry; false when the registry declined (then push the blob). */
  mount(descriptor: Descriptor, fromRepository: string): Promise<boolean> {
    if (isManifestType(descriptor.mediaType)) return Promise.resolve(false)
    return mountBlob(this.session, this.path, descriptor, fromRepository)
  }
}
