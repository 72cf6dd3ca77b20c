// `airlock push` as a library: verify first (or record loudly that it was skipped), compute the Talos config
// (so a policy Talos cannot express fails before the first byte moves), then copy archive -> mirror.
//
// Before verifying, push asks the mirror (HEAD) which blobs it already holds in the repositories they are going
// to. Registries are content-addressed: a blob the mirror holds under its digest is never sent, so the archive's
// copy of it cannot change what the mirror serves, and verification skips hashing it (structure, manifests,
// signatures and policy are still checked in full). A second push of the same archive then costs HEADs instead
// of hashing gigabytes. The HEAD answers are handed on to the copy, which does not ask again.
import {AirlockError, type ErrorCode} from '../errors.ts'
import type {Policy} from '../policy/index.ts'
import {parseReference} from '../reference/index.ts'
import type {RegistryClient} from '../registry/index.ts'
import {renderTalosYaml, talosConfig} from '../talos/config.ts'
import {talosRulesFromPolicy} from '../talos/policy.ts'
import {parseSignaturesSection} from '../sigstore/section.ts'
import type {AirlockJson} from '../archive/schema.ts'
import {ArchiveSource} from './archive-source.ts'
import type {PushEvent} from './engine.ts'
import type {MirrorTarget} from './mapping.ts'
import {RegistryMirror} from './mirror.ts'
import {collectGraph} from './graph.ts'
import {mapRepository} from './mapping.ts'
import {pushImages, type MirrorRegistry, type PushArtifact, type PushImage, type PushResult} from './push.ts'
import {Limiter} from '../util/concurrency.ts'
import type {Descriptor} from '../oci/descriptor.ts'

export {parseMirrorTarget, mapRepository, type MirrorTarget} from './mapping.ts'
export {pushImages, type PushResult, type ImagePushResult, type MirrorRegistry, type PushArtifact, type PushImage} from './push.ts'
export {ArchiveSource} from './archive-source.ts'
export {RegistryMirror} from './mirror.ts'

/** What the verification step reports; a failure carries the verify error's code and one-line message. */
export interface VerificationOutcome {
  passed: boolean
  summary: string
  code?: ErrorCode
  report?: unknown
}

export interface PushArchiveOptions {
  archive: string
  target: MirrorTarget
  client: RegistryClient
  keepHost?: boolean
  concurrency?: number
  /**
   * Runs the same verification as `airlock verify`; absent only with skipVerify. `skipHash` lists the blobs the
   * mirror already holds where they are going (verify need not hash them; see the top of this file).
   */
  verify?: (source: ArchiveSource, hints: {skipHash?: {digests: ReadonlySet<string>; reason: string}}) => Promise<VerificationOutcome>
  skipVerify?: boolean
  /** The policy verified against (becomes the Talos ImageVerificationConfig). */
  policy?: Policy
  /** Build the Talos machine-config documents (--emit-talos-config). */
  talos?: {plainHttp?: boolean}
  onEvent?: (event: PushEvent) => void
}

export interface PushArchiveResult extends PushResult {
  archive: string
  verification: {status: 'passed' | 'skipped'; summary: string; report?: unknown}
  /** Signature artifacts in the archive that were pushed with the images. */
  signatures: {legacyTags: number; referrers: number}
  talosConfig?: string
  seconds: number
  megabytesPerSecond: number
}

export async function pushArchive(options: PushArchiveOptions): Promise<PushArchiveResult> {
  const started = performance.now()
  const source = await ArchiveSource.open(options.archive)
  const images: PushImage[] = source.airlock.images.map((image) => ({
    reference: image.reference,
    root: {mediaType: image.mediaType, digest: image.digest, size: image.size},
    ...(image.tag ? {tag: image.tag} : {}),
  }))
  const mirror = new RegistryMirror(options.client, options.target)
  let verification: PushArchiveResult['verification']
  let held: Holdings | undefined
  if (options.skipVerify) {
    verification = {status: 'skipped', summary: 'verification SKIPPED (--skip-verify): content was pushed without checking it'}
  } else {
    if (!options.verify) throw new AirlockError('INTERNAL', 'push needs a verification step or --skip-verify')
    // Best effort: an archive too broken to walk, or a mirror that does not answer, just means everything is hashed
    // (verification then reports the archive's problem; the copy reports the mirror's).
    held = await mirrorHoldings(source, images, archiveArtifacts(source), mirror, options).catch(() => undefined)
    const outcome = await options.verify(source, held && held.digests.size > 0 ? {skipHash: {digests: held.digests, reason: 'the mirror already holds them under their digest'}} : {})
    if (!outcome.passed)
      throw new AirlockError(outcome.code ?? 'SIGNATURE_INVALID', `verification failed, nothing was pushed: ${outcome.summary}`, {
        hint: `run airlock verify ${options.archive} with the same policy flags for the full report`,
        details: {report: outcome.report},
      })
    verification = {status: 'passed', summary: outcome.summary, ...(outcome.report === undefined ? {} : {report: outcome.report})}
  }

  const artifacts = archiveArtifacts(source)
  const talos = options.talos ? talosYaml(options, images) : undefined

  const result = await pushImages(source, images, artifacts, mirror, {
    target: options.target,
    ...(held ? {held: held.pairs} : {}),
    keepHost: options.keepHost ?? false,
    ...(options.concurrency ? {concurrency: options.concurrency} : {}),
    ...(options.onEvent ? {onEvent: options.onEvent} : {}),
  })
  const seconds = (performance.now() - started) / 1000
  return {
    archive: options.archive,
    verification,
    ...result,
    signatures: {legacyTags: artifacts.filter((a) => a.kind === 'tag').length, referrers: artifacts.filter((a) => a.kind === 'referrer').length},
    ...(talos === undefined ? {} : {talosConfig: talos}),
    seconds,
    megabytesPerSecond: seconds > 0 ? result.totals.bytesPushed / 1e6 / seconds : 0,
  }
}

function talosYaml(options: PushArchiveOptions, images: PushImage[]): string {
  const refs = images.map((image) => parseReference(image.reference))
  const conversion = options.policy ? talosRulesFromPolicy(options.policy, refs.map((r) => r.name)) : undefined
  const config = talosConfig({
    target: options.target,
    keepHost: options.keepHost ?? false,
    sourceRegistries: refs.map((r) => r.registry),
    ...(options.talos?.plainHttp ? {plainHttp: true} : {}),
    ...(conversion ? {rules: conversion.rules} : {}),
  })
  config.warnings.unshift(...(conversion?.warnings ?? []))
  if (options.skipVerify) config.warnings.unshift('the archive was pushed with --skip-verify: its content was NOT verified')
  return renderTalosYaml(config)
}

/**
 * The signature artifacts recorded in airlock.json by export's signature discovery (section `signatures`).
 * An archive without the section carries images only.
 */
export function archiveArtifacts(source: {airlock: AirlockJson}): PushArtifact[] {
  const section = parseSignaturesSection(source.airlock.signatures)
  const artifacts: PushArtifact[] = []
  for (const subject of section?.subjects ?? [])
    for (const entry of subject.entries) {
      if (entry.kind === 'legacy-tag' && entry.tag) artifacts.push({kind: 'tag', image: subject.image, subject: subject.digest, tag: entry.tag, root: entry.descriptor})
      else if (entry.kind === 'referrer') artifacts.push({kind: 'referrer', image: subject.image, subject: subject.digest, root: entry.descriptor})
    }
  return artifacts
}

interface Holdings {
  /** Blob digests present in every repository that needs them. */
  digests: Set<string>
  /** Every (repository, digest) the mirror answered "present" for, with the size it stated. */
  pairs: Array<{repository: string; digest: string; size?: number}>
}

/** HEADs every blob of every image (and its signature artifacts) in the repository it maps to. */
async function mirrorHoldings(source: ArchiveSource, images: PushImage[], artifacts: PushArtifact[], mirror: MirrorRegistry, options: PushArchiveOptions): Promise<Holdings> {
  const wanted = new Map<string, Map<string, Descriptor>>() // repository -> digest -> descriptor
  for (const image of images) {
    const repository = mapRepository(parseReference(image.reference), options.target, {keepHost: options.keepHost ?? false})
    const blobs = wanted.get(repository) ?? new Map<string, Descriptor>()
    wanted.set(repository, blobs)
    const roots = [image.root, ...artifacts.filter((a) => a.image === image.reference).map((a) => a.root)]
    for (const root of roots) for (const blob of (await collectGraph(source, root)).blobs) blobs.set(blob.digest, blob)
  }
  const limiter = new Limiter(8) // HEADs are tiny: more in flight than blob transfers
  const present = new Map<string, boolean>() // digest -> held in every repository asked so far
  const pairs: Holdings['pairs'] = []
  await Promise.all(
    [...wanted].flatMap(([repository, blobs]) =>
      [...blobs.values()].map((blob) =>
        limiter.run(async () => {
          const dst = mirror.repository(repository)
          const size = dst.blobSize ? await dst.blobSize(blob) : (await dst.exists(blob)) ? -1 : undefined
          const has = size !== undefined
          if (has) pairs.push({repository, digest: blob.digest, ...(size >= 0 ? {size} : {})})
          present.set(blob.digest, (present.get(blob.digest) ?? true) && has)
        }),
      ),
    ),
  )
  return {digests: new Set([...present].filter(([, has]) => has).map(([digest]) => digest)), pairs}
}
