// One repository on a registry, as a content store (Target of src/store/types.ts): what the graph copy, export
// and push work against. Each method is a thin composition of the wire modules beside this file.
import {Readable} from 'node:stream'
import {AirlockError} from '../errors.ts'
import type {Descriptor} from '../oci/descriptor.ts'
import {isDigest, sha256, type Digest} from '../oci/digest.ts'
import type {RawManifest} from '../oci/manifest.ts'
import {isManifestType} from '../oci/media-types.ts'
import type {ImageReference} from '../reference/reference.ts'
import {readManifestBytes} from '../content/read-manifest.ts'
import type {ReferrerLister, ResolveOptions, TagLister, Target} from '../content/types.ts'
import {fetchBlob} from './blobs.ts'
import {blobSize, contentExists, getManifest, headManifest, putManifest} from './manifests.ts'
import {listReferrersApi, listReferrersByTag, type ReferrersCapability} from './referrers.ts'
import type {Semaphore} from './semaphore.ts'
import type {RegistrySession} from './session.ts'
import {listTags} from './tags.ts'
import {mountBlob, pushBlob, pushBlobFrom} from './uploads.ts'
import type {RereadableBlob} from '../content/types.ts'

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
    const held = this.session.manifestBytes.get(`${this.path}@${descriptor.digest}`)
    const raw =
      held && sha256(held) === descriptor.digest ? {bytes: held} : await this.fetchManifestByDigest(descriptor.digest)
    // Kept (verified against its digest): export reads a signature manifest for discovery, proofs, the judgement
    // and the copy; one GET serves them all.
    if (!held) this.session.rememberManifest(this.path, descriptor.digest, raw.bytes)
    if (raw.bytes.length !== descriptor.size)
      throw new AirlockError(
        'SIZE_MISMATCH',
        `manifest ${this.name}@${descriptor.digest}: ${raw.bytes.length} bytes, descriptor says ${descriptor.size}`,
      )
    return Readable.from([raw.bytes])
  }

  /**
   * Fetches and parses a manifest by tag or digest, verified against the digest (asked for or announced). By
   * digest, a 404 is retried by the tag that resolved to that digest in this run (registry.k8s.io's regional
   * backends lack what its canonical one serves by tag, siderolabs/talos#13342); the bytes must hash to the digest.
   */
  async fetchManifest(reference: string): Promise<RawManifest> {
    const raw = isDigest(reference)
      ? await this.fetchManifestByDigest(reference)
      : await getManifest(this.session, this.path, reference)
    if (!isDigest(reference)) this.session.tagOf.set(`${this.path}@${raw.digest}`, reference)
    this.session.rememberManifest(this.path, raw.digest, raw.bytes)
    return raw
  }

  private async fetchManifestByDigest(digest: string): Promise<RawManifest> {
    try {
      return await getManifest(this.session, this.path, digest)
    } catch (error) {
      const tag = this.session.tagOf.get(`${this.path}@${digest}`)
      if (!(error instanceof AirlockError) || error.code !== 'NOT_FOUND' || !tag) throw error
      const raw = await getManifest(this.session, this.path, tag)
      if (raw.digest !== digest)
        throw new AirlockError(
          'DIGEST_MISMATCH',
          `${this.name}@${digest} is missing by digest, and tag ${tag} now names ${raw.digest}`,
          {
            hint: 'the tag moved since it was resolved: run the export again',
          },
        )
      return raw
    }
  }

  /**
   * The root descriptor a tag or digest names: HEAD first (cheap, no rate-limit cost on Hub), GET if HEAD is not
   * enough. With `read` (the caller fetches the manifest next) one GET, its verified bytes kept for that fetch: the
   * same single pull Hub counts, one round trip fewer.
   */
  async resolve(reference: string, options: ResolveOptions = {}): Promise<Descriptor> {
    if (options.read) {
      const raw = await this.fetchManifest(reference)
      return {mediaType: raw.mediaType, digest: raw.digest, size: raw.bytes.length}
    }
    const head = await headManifest(this.session, this.path, reference)
    if (head) {
      if (!isDigest(reference)) this.session.tagOf.set(`${this.path}@${head.digest}`, reference)
      return head
    }
    const raw = await this.fetchManifest(reference)
    return {mediaType: raw.mediaType, digest: raw.digest, size: raw.bytes.length}
  }

  exists(descriptor: Descriptor): Promise<boolean> {
    return contentExists(this.session, this.path, descriptor)
  }

  /** Pushes a manifest (under its digest, bytes unchanged) or a blob (streamed); nothing lands unless it verifies. */
  async push(descriptor: Descriptor, content: Readable): Promise<void> {
    if (!isManifestType(descriptor.mediaType)) {
      await this.settings.semaphore.run(() =>
        pushBlob(this.session, this.path, descriptor, content, {chunkSize: this.settings.chunkSize}),
      )
      return
    }
    const bytes = await readManifestBytes(content, descriptor)
    await putManifest(this.session, this.path, descriptor.digest, descriptor.mediaType, bytes)
    this.session.rememberManifest(this.path, descriptor.digest, bytes)
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

  /**
   * Points a tag at a manifest already in the repository, re-sending its exact bytes as the API requires: the bytes
   * pushed or read in this run when we have them (Harbor's content-trust and vulnerability policies answer 412 to a
   * GET of an unscanned or unsigned manifest), else a GET.
   */
  async tag(descriptor: Descriptor, reference: string): Promise<void> {
    if (!TAG.test(reference)) throw new AirlockError('REFERENCE_INVALID', `invalid tag ${JSON.stringify(reference)}`)
    if (!isManifestType(descriptor.mediaType))
      throw new AirlockError(
        'UNSUPPORTED',
        `cannot tag ${descriptor.digest}: ${descriptor.mediaType} is not a manifest`,
      )
    const held = this.session.manifestBytes.get(`${this.path}@${descriptor.digest}`)
    const bytes =
      held && sha256(held) === descriptor.digest ? held : (await this.fetchManifestByDigest(descriptor.digest)).bytes
    await putManifest(this.session, this.path, reference, descriptor.mediaType, bytes)
  }

  /** Pushes manifest bytes under a tag directly (no fetch back), for callers that hold the verified bytes. */
  async pushManifest(bytes: Buffer, mediaType: string, reference?: string): Promise<Descriptor> {
    const digest = sha256(bytes)
    await putManifest(this.session, this.path, reference ?? digest, mediaType, bytes)
    this.session.rememberManifest(this.path, digest, bytes)
    return {mediaType, digest, size: bytes.length}
  }

  /** All tags, following pagination. */
  tags(): Promise<string[]> {
    return listTags(this.session, this.path, this.settings.tagPageSize)
  }

  /**
   * Referrers of a subject: the API when the registry has it (a 200 OCI index; anything else means no API, for
   * the rest of the run on this host), else the `sha256-<hex>` fallback tag.
   */
  async referrers(subject: Descriptor, artifactType?: string): Promise<Descriptor[]> {
    if (this.session.referrersApi !== false) {
      const viaApi = await listReferrersApi(this.session, this.path, subject.digest)
      if (viaApi) {
        this.session.referrersApi = true
        const described = await Promise.all(viaApi.map(d => this.describeReferrer(d)))
        return artifactType === undefined ? described : described.filter(d => d.artifactType === artifactType)
      }
      this.session.referrersApi = false
    }
    return listReferrersByTag(this.session, this.path, subject.digest, artifactType)
  }

  /**
   * A referrer as its own manifest describes it, not as the listing does: Harbor 2.8-2.10 lists the config media
   * type as artifactType and a wrong size. The manifest is read (verified against its digest) and kept for the copy.
   */
  private async describeReferrer(listed: Descriptor): Promise<Descriptor> {
    if (!isManifestType(listed.mediaType)) return listed
    const raw = await this.fetchManifestByDigest(listed.digest)
    this.session.rememberManifest(this.path, raw.digest, raw.bytes)
    const parsed = raw.parsed
    const described: Descriptor = {mediaType: raw.mediaType, digest: raw.digest, size: raw.bytes.length}
    const type = parsed.artifactType ?? (parsed.kind === 'manifest' ? parsed.config.mediaType : undefined)
    if (type) described.artifactType = type
    if (parsed.annotations && Object.keys(parsed.annotations).length > 0)
      described.annotations = {...parsed.annotations}
    return described
  }

  /**
   * Whether this registry serves the referrers API, probed on a real `subject` that exists (a made-up one gets 400
   * from Quay >= 3.12 and `{}` from Harbor 2.10) and, when `expect` is given, only if the referrers just pushed are
   * listed (Harbor 2.8-2.10 lists them wrongly): otherwise the caller writes the fallback tag. Remembered per host.
   */
  async referrersCapability(
    subject?: Descriptor,
    expect: Array<Pick<Descriptor, 'digest' | 'size'>> = [],
  ): Promise<ReferrersCapability> {
    if (this.session.referrersApi === undefined || (this.session.referrersApi && expect.length > 0)) {
      const probe = await listReferrersApi(
        this.session,
        this.path,
        (subject?.digest ?? sha256(Buffer.alloc(0))) as Digest,
      )
      const listed = new Set((probe ?? []).map(d => `${d.digest}/${d.size}`))
      this.session.referrersApi = probe !== undefined && expect.every(d => listed.has(`${d.digest}/${d.size}`))
    }
    this.capability = this.session.referrersApi ? 'api' : 'tag-schema'
    return this.capability
  }

  /** Cross-repository blob mount on the same registry; false when the registry declined (then push the blob). */
  mount(descriptor: Descriptor, fromRepository: string): Promise<boolean> {
    if (isManifestType(descriptor.mediaType)) return Promise.resolve(false)
    return mountBlob(this.session, this.path, descriptor, fromRepository)
  }
}
