// `airlock push` as a library: verify the archive itself (src/verify/open.ts: one open, one reader, one verdict) or
// record loudly that it was skipped, compute the Talos config (so a policy Talos cannot express fails before the
// first byte moves), then copy exactly the verdict into the mirror, from the same open file.
//
// Before hashing, push asks the mirror (HEAD) which blobs it already holds in the repositories they are going to.
// Registries are content-addressed: a blob the mirror holds under its digest is never sent, so the archive's copy
// of it cannot change what the mirror serves, and verification skips hashing it (structure, manifests, signatures
// and policy are still checked in full). A second push of the same archive then costs HEADs instead of hashing
// gigabytes. The HEAD answers are handed on to the copy, which does not ask again.
import {AirlockError} from '../errors.ts'
import type {Descriptor} from '../oci/descriptor.ts'
import type {Policy} from '../policy/index.ts'
import {parseReference} from '../reference/index.ts'
import type {RegistryClient} from '../registry/index.ts'
import type {VerifyReport} from '../verify/report-model.ts'
import {formatBytes, plural} from '../util/progress.ts'
import type {TrustFlagValues} from '../trust/flags.ts'
import {Limiter} from '../util/concurrency.ts'
import {openVerifiedArchive, type VerifiedArchive} from '../verify/open.ts'
import type {VerifySignatureMode} from '../verify/signatures.ts'
import type {Verdict} from '../verify/verdict.ts'
import {firstFailure, type PlannedImage} from '../verify/verify.ts'
import type {MirrorCheckResult, SignatureForms} from '../verify/mirror-check.ts'
import {resolveOptional, type PushEvent} from './tags.ts'
import {checkHostIndependentRule} from './host-rules.ts'
import {mapRepository, type MirrorTarget} from '../reference/mirror-path.ts'
import {RegistryMirror} from '../registry/mirror.ts'
import {mirrorBaseCheck} from '../verify/base.ts'
import {pushVerdict, type MirrorRegistry, type PushResult} from './push.ts'

export {parseMirrorTarget, mapRepository, type MirrorTarget} from '../reference/mirror-path.ts'
export {pushVerdict, type PushResult, type ImagePushResult, type MirrorRegistry} from './push.ts'
export {RegistryMirror} from '../registry/mirror.ts'

export interface PushArchiveOptions {
  archive: string
  target: MirrorTarget
  client: RegistryClient
  keepHost?: boolean
  concurrency?: number
  /** Push WITHOUT verifying (insecure): structure, sizes and bindings are still checked; recorded in the result. */
  skipVerify?: boolean
  /** The policy to verify against (required unless skipVerify; also the Talos ImageVerificationConfig). */
  policy?: Policy
  /** Trust flags (--tuf-root, --trusted-root, --tuf-grace, --no-state...). */
  trust?: TrustFlagValues
  /** Move a mirror tag that points at other content (else refused, naming the old digest). */
  force?: boolean
  /** After pushing, re-read the verdict from the mirror and verify its signatures there (`push --check`). */
  check?: boolean
  /** 'legacy': push `.sig/.att/.sbom` tags only, no Sigstore bundle referrers (Quay <= 3.11). Default 'all'. */
  signatureForms?: SignatureForms
  /** Build the Talos machine-config documents (--emit-talos-config). */
  talos?: {plainHttp?: boolean}
  onEvent?: (event: PushEvent) => void
  /** 'skip': integrity only, as `airlock verify --signatures skip` (said so in the summary). Default 'required'. */
  signatures?: VerifySignatureMode
  /** Bytes hashed by the verification pass (progress). */
  onBytes?: (n: number) => void
  /** Verification passed (or was skipped): said before the first byte is written; `bytes` is what may be sent. */
  onVerified?: (verification: PushArchiveResult['verification'], bytes: number) => void
  /**
   * After the verdict is in the mirror (every tag written), before the mirror check: countersigning (issue 14)
   * signs exactly these images. Given only when verification passed (never with --skip-verify).
   */
  afterPush?: (verified: VerifiedArchive & {verdict: Verdict}) => Promise<void>
  /**
   * Use the verified-archive cache of the state directory (src/verify/verdict-cache.ts): take a remembered passing
   * judgement of the same file under the same inputs, and remember this one. Not with `check` or `afterPush`, which
   * need the trust material a judgement resolves (they judge, and remember).
   */
  cache?: boolean
  /** Why the cache was not used (one line each), said when it happens. */
  onCacheNote?: (line: string) => void
}

export interface PushArchiveResult extends PushResult {
  archive: string
  /** notes: what the verification did not check (`--signatures skip`), said before the summary. */
  verification: {
    status: 'passed' | 'skipped'
    summary: string
    report?: VerifyReport
    notes?: string[]
    /** The judgement was remembered (verified-archive cache): when it ran, and until when it holds. */
    cache?: {judgedAt: string; validUntil: string | null}
  }
  /** Signature artifacts of the verdict that were pushed with the images (and bundle referrers left out by `legacy`). */
  signatures: {legacyTags: number; referrers: number; referrersNotPushed: number}
  talosConfig?: string
  check?: MirrorCheckResult
  seconds: number
  megabytesPerSecond: number
}

export async function pushArchive(options: PushArchiveOptions): Promise<PushArchiveResult> {
  const started = performance.now()
  if (!options.skipVerify && !options.policy && options.signatures !== 'skip')
    throw new AirlockError('USAGE', 'push verifies the archive first and needs a policy', {
      hint: 'give --certificate-identity[-regexp] with --certificate-oidc-issuer, --key, or --policy FILE',
    })
  const mirror = new RegistryMirror(options.client, options.target)
  // A delta archive's base is checked in the mirror during verification, before anything is written (issue 17).
  const base = mirrorBaseCheck({client: options.client, target: options.target, keepHost: options.keepHost ?? false})
  let held: Holdings | undefined
  const verified: VerifiedArchive = await openVerifiedArchive(options.archive, {
    ...(options.skipVerify
      ? {structuralOnly: true}
      : {
          signatures: options.signatures ?? 'required',
          policy: options.policy,
          trust: options.trust ?? {},
          // the blobs to upload are hashed as they upload (pushVerdict: all of them before any manifest or tag)
          hashOnUpload: true,
          ...(options.cache ? {cache: options.check || options.afterPush ? 'write' : 'read-write'} : {}),
          ...(options.onCacheNote ? {onCacheNote: options.onCacheNote} : {}),
        }),
    ...(options.onBytes ? {onBytes: options.onBytes} : {}),
    confirmBase: base.confirm,
    heldBlobs: async plan => {
      held = await mirrorHoldings(plan, mirror, options).catch(() => undefined)
      return held && held.digests.size > 0
        ? {digests: held.digests, reason: 'the mirror already holds them under their digest'}
        : undefined
    },
  })
  try {
    const {report, verdict} = verified
    if (!verdict) {
      const code = report.images.flatMap(i => i.checks).find(c => !c.ok && c.name === 'signatures')?.details as
        | {subjects?: Array<{errorCode?: string}>}
        | undefined
      throw new AirlockError(
        failureCode(report, code),
        `verification failed, nothing was pushed: ${firstFailure(report) ?? 'see the report'}`,
        {
          hint: `run airlock verify ${options.archive} with the same policy flags for the full report`,
          details: {report},
        },
      )
    }
    const verification: PushArchiveResult['verification'] = options.skipVerify
      ? {status: 'skipped', summary: 'verification SKIPPED (--skip-verify): content was pushed without checking it'}
      : {
          status: 'passed',
          summary: summary(report),
          report,
          ...(verified.notes.length ? {notes: verified.notes} : {}),
          ...(verified.cached ? {cache: verified.cached} : {}),
        }
    options.onVerified?.(
      verification,
      verdict.images.reduce((n, image) => n + image.graph.blobs.reduce((m, b) => m + b.descriptor.size, 0), 0),
    )
    const talos = options.talos ? await talosYaml(options, verdict) : undefined

    // Without --keep-host the mirror path answers for every source host: the rule must not depend on the host.
    if (options.policy && !options.skipVerify && !options.keepHost)
      for (const image of verdict.images) {
        const path = mapRepository(parseReference(image.reference), options.target, {keepHost: false})
        checkHostIndependentRule(image.reference, options.policy, `${options.target.registry}/${path}`)
      }
    // The file must still be the one judged before anything is written, and after (issue 10, finding 6).
    await verified.archive.checkUnchanged()
    const result = await pushVerdict(verdict, verified.archive, mirror, {
      target: options.target,
      ...(held || base.found.length ? {held: [...(held?.pairs ?? []), ...base.found]} : {}),
      ...(held?.roots.length ? {heldManifests: held.roots} : {}),
      ...(held?.absent.length ? {absent: held.absent} : {}),
      ...(held?.tags.length ? {tagsInPlace: held.tags} : {}),
      keepHost: options.keepHost ?? false,
      force: options.force ?? false,
      ...(options.concurrency ? {concurrency: options.concurrency} : {}),
      ...(options.onEvent ? {onEvent: options.onEvent} : {}),
      ...(options.signatureForms ? {signatureForms: options.signatureForms} : {}),
    })
    await verified.archive.checkUnchanged()
    // every blob left to the upload matched: the judgement is complete and may be remembered
    verified.remember?.()
    if (options.afterPush) {
      if (options.skipVerify || !verdict.verified)
        throw new AirlockError('USAGE', 'airlock never signs what it did not verify (--skip-verify)')
      await options.afterPush({...verified, verdict})
    }
    const artifacts = verdict.images.flatMap(i => i.artifacts)
    const seconds = (performance.now() - started) / 1000
    const out: PushArchiveResult = {
      archive: options.archive,
      verification,
      ...result,
      signatures: {
        legacyTags: artifacts.filter(a => a.kind === 'tag').length,
        referrers: artifacts.filter(a => a.kind === 'referrer').length - result.signatureForms.referrersNotPushed,
        referrersNotPushed: result.signatureForms.referrersNotPushed,
      },
      ...(talos === undefined ? {} : {talosConfig: talos}),
      seconds,
      megabytesPerSecond: seconds > 0 ? result.totals.bytesPushed / 1e6 / seconds : 0,
    }
    if (!options.check) return out
    // The same mirror check as `airlock verify --registry`, on the same verdict; signatures verified from the
    // mirror when a policy was verified against (not with --skip-verify, which checked nothing).
    // loaded when asked for: a plain push (a second push above all) does not pay for what it does not run
    const {mirrorCheckError, verifyMirror} = await import('../verify/mirror-check.ts')
    const check = await verifyMirror({
      verdict,
      archive: verified.archive,
      target: options.target,
      client: options.client,
      keepHost: options.keepHost ?? false,
      ...(options.signatureForms ? {signatureForms: options.signatureForms} : {}),
      ...(options.policy && !options.skipVerify
        ? {signatures: {policy: options.policy, trustedRoots: verified.trustedRoots}}
        : {}),
    })
    if (!check.passed) {
      const error = mirrorCheckError(check)
      throw new AirlockError(error.code, error.message, {
        ...(error.hint ? {hint: error.hint} : {}),
        details: {check, push: out},
      })
    }
    return {...out, check}
  } finally {
    await verified.close()
  }
}

function failureCode(
  report: VerifyReport,
  signatures: {subjects?: Array<{errorCode?: string}>} | undefined,
): AirlockError['code'] {
  const integrity =
    report.problems.length > 0 || report.images.some(i => i.checks.some(c => c.name === 'integrity' && !c.ok))
  if (integrity) return report.problems[0]?.code ?? 'ARCHIVE_INVALID'
  const code = signatures?.subjects?.find(s => s.errorCode)?.errorCode
  return (
    (code as AirlockError['code'] | undefined) ??
    (report.checks.some(c => !c.ok) ? 'TRUST_INVALID' : 'SIGNATURE_INVALID')
  )
}

function summary(report: VerifyReport): string {
  const skipped = report.hashSkipped?.blobs
    ? ` (${plural(report.hashSkipped.blobs, 'blob')}, ${formatBytes(report.hashSkipped.bytes)}, not re-hashed: ${report.hashSkipped.reason})`
    : ''
  const deferred = report.hashDeferred?.blobs
    ? `; ${plural(report.hashDeferred.blobs, 'blob')}, ${formatBytes(report.hashDeferred.bytes)}, hashed as they upload: no manifest or tag is written unless every one matches`
    : ''
  return `verified ${plural(report.images.length, 'image')}, ${plural(report.blobs, 'blob')}, ${formatBytes(report.bytes)}${skipped}${deferred}`
}

async function talosYaml(options: PushArchiveOptions, verdict: Verdict): Promise<string> {
  const [{renderTalosYaml, talosConfig}, {talosRulesFromPolicy}] = await Promise.all([
    import('../talos/config.ts'),
    import('../talos/policy.ts'),
  ])
  const refs = verdict.images.map(image => parseReference(image.reference))
  const conversion = options.policy
    ? talosRulesFromPolicy(
        options.policy,
        refs.map(r => r.name),
      )
    : undefined
  const config = talosConfig({
    target: options.target,
    keepHost: options.keepHost ?? false,
    sourceRegistries: refs.map(r => r.registry),
    ...(options.talos?.plainHttp ? {plainHttp: true} : {}),
    ...(conversion ? {rules: conversion.rules} : {}),
  })
  config.warnings.unshift(...(conversion?.warnings ?? []))
  if (options.skipVerify)
    config.warnings.unshift('the archive was pushed with --skip-verify: its content was NOT verified')
  return renderTalosYaml(config)
}

interface Holdings {
  /** Blob digests present in every repository that needs them. */
  digests: Set<string>
  /** Every (repository, digest) the mirror answered "present" for, with the size it stated. */
  pairs: Array<{repository: string; digest: string; size?: number}>
  /** Root manifests (image, signature artifact) the mirror holds where they are going. */
  roots: Array<{repository: string; digest: string}>
  /** Root manifests and blobs the mirror answered "missing" for where they are going: sent without asking again. */
  absent: Array<{repository: string; digest: string}>
  /** Tags the mirror answered already pointing at their root. */
  tags: Array<{repository: string; tag: string; descriptor: Descriptor}>
}

/**
 * Asks the mirror what it holds where each image is going. A root manifest the mirror holds vouches for every blob
 * under it (a registry takes a manifest only once the blobs it names are there, and its bytes are the archive's:
 * same digest), so a second push asks one HEAD per root; other blobs are HEADed one by one (bounded).
 */
async function mirrorHoldings(
  plan: PlannedImage[],
  mirror: MirrorRegistry,
  options: PushArchiveOptions,
): Promise<Holdings> {
  const limiter = new Limiter(16) // HEADs are tiny: more in flight than blob transfers
  const wanted = new Map<string, Map<string, Descriptor>>() // repository -> digest -> descriptor still to ask about
  const vouched = new Map<string, Set<string>>() // repository -> digests under a root manifest it holds
  const askRoots: Array<Promise<void>> = []
  const roots: Holdings['roots'] = []
  const absent: Holdings['absent'] = []
  const tags: Holdings['tags'] = []
  for (const image of plan) {
    const repository = mapRepository(parseReference(image.reference), options.target, {
      keepHost: options.keepHost ?? false,
    })
    const dst = mirror.repository(repository)
    const blobs = wanted.get(repository) ?? new Map<string, Descriptor>()
    wanted.set(repository, blobs)
    const held = vouched.get(repository) ?? new Set<string>()
    vouched.set(repository, held)
    for (const {root, blobs: under, tag} of image.roots)
      askRoots.push(
        limiter.run(async () => {
          // A tag naming the root answers two questions in one request: the root is held, and the tag is in place.
          const tagged = tag ? await resolveOptional(dst, tag).catch(() => undefined) : undefined
          if (tag && tagged?.digest === root.digest) tags.push({repository, tag, descriptor: tagged})
          if (tagged?.digest === root.digest || (await dst.exists(root))) {
            roots.push({repository, digest: root.digest})
            for (const blob of under) held.add(blob.digest)
          } else {
            absent.push({repository, digest: root.digest})
            for (const blob of under) blobs.set(blob.digest, blob)
          }
        }),
      )
  }
  await Promise.all(askRoots)
  const present = new Map<string, boolean>() // digest -> held in every repository that needs it
  const pairs: Holdings['pairs'] = []
  for (const [repository, held] of vouched)
    for (const digest of held) {
      present.set(digest, present.get(digest) ?? true)
      pairs.push({repository, digest})
    }
  await Promise.all(
    [...wanted].flatMap(([repository, blobs]) =>
      [...blobs.values()]
        .filter(blob => !vouched.get(repository)?.has(blob.digest))
        .map(blob =>
          limiter.run(async () => {
            const dst = mirror.repository(repository)
            const size = dst.blobSize ? await dst.blobSize(blob) : (await dst.exists(blob)) ? -1 : undefined
            const has = size !== undefined
            if (has) pairs.push({repository, digest: blob.digest, ...(size >= 0 ? {size} : {})})
            else absent.push({repository, digest: blob.digest})
            present.set(blob.digest, (present.get(blob.digest) ?? true) && has)
          }),
        ),
    ),
  )
  return {digests: new Set([...present].filter(([, has]) => has).map(([digest]) => digest)), pairs, roots, absent, tags}
}
