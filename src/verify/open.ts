// The one composition of verification, used by `airlock verify` and by push: open the archive once, resolve trust
// from that same reader, build the signature checks, judge everything, and commit the TUF rollback state only
// after the whole verification passed. The result keeps the archive open: push streams the blobs it writes from
// the same file handle, at the offsets the verdict names, after checking the file is still the one verified.
import {ArchiveReader} from '../archive/reader.ts'
import {AirlockError, toAirlockError} from '../errors.ts'
import type {Policy} from '../policy/index.ts'
import type {VerifyReport} from './report-model.ts'
import type {parseTrustedRoot} from '../sigstore/trust.ts'
import type {TrustResolution} from './trust.ts'
import type {TrustFlagValues} from '../trust/flags.ts'
import type {VerifySignatureMode} from './signatures.ts'
import type {Verdict} from './verdict.ts'
import {type ConfirmBase, judgeArchive, plannedBlobs, type PlannedImage} from './verify.ts'
import {TRUST_ONLY_SECTION} from '../archive/base-section.ts'
import {addSummaries} from './summary.ts'
import {fileSha256} from '../util/file-sha256.ts'
import {
  type CacheEntry,
  cacheKey,
  cacheKeyBase,
  cacheStateDir,
  judgementValidUntil,
  stateDigest,
  VerdictCache,
  verdictFingerprint,
} from './verdict-cache.ts'
import {freezeVerdict} from './verdict.ts'
import {digestFromBlobPath} from '../archive/schema.ts'
import type {Digest} from '../oci/digest.ts'

export interface VerifyRequest {
  /** 'skip': integrity only (said loudly in `notes`); otherwise a policy is required. */
  signatures?: VerifySignatureMode | undefined
  policy?: Policy | undefined
  trust?: TrustFlagValues
  /**
   * push --skip-verify: nothing is hashed or judged up front; structure, sizes and bindings are still checked, and
   * the verdict says `verified: false`. (Uploads still hash what they send.)
   */
  structuralOnly?: boolean
  /**
   * push: given every image's blobs (walked before hashing, bounded), answers which digests the mirror already holds
   * where they are going; those bodies are not hashed (the registry serves its own content under that digest).
   */
  heldBlobs?: (plan: PlannedImage[]) => Promise<{digests: ReadonlySet<string>; reason: string} | undefined>
  /**
   * push: the blobs it will upload (every blob of the plan the mirror lacks) are not hashed here but while they
   * upload; everything else (manifests, signatures, policy, trust, the other files) is judged first, and the verdict
   * lists them in `hashOnUpload` (push commits each only once it matched, and writes no manifest or tag before all did).
   */
  hashOnUpload?: boolean
  onBytes?: (n: number) => void
  workers?: number
  /** Delta archives: confirms the blobs left out in the mirror (verify --registry, push). See VerifyOptions. */
  confirmBase?: ConfirmBase
  /** verify --trust-from: the TUF trust comes from this trust-only archive (export --trust-only). */
  trustFrom?: string
  /** verify: record the sha256 of the whole archive file in the report (one more streamed read, concurrent) */
  archiveSha256?: boolean
  /**
   * The verified-archive cache in the state directory (verdict-cache.ts): 'write' remembers a passing judgement
   * ('write-existing', verify: only into a state directory that exists); 'read-write' (push, which must also give
   * heldBlobs and hashOnUpload) also takes one it remembers for the same file and inputs instead of judging again.
   * Never with --no-state or --trust-from.
   */
  cache?: 'write-existing' | 'write' | 'read-write'
  /** Called with each line saying why the cache was not used (unsafe permissions, an edited entry): said at once. */
  onCacheNote?: (line: string) => void
}

export interface VerifiedArchive {
  report: VerifyReport
  /** Present only when the report passed: the one input push may write from. */
  verdict: Verdict | undefined
  /** The open archive the verdict was judged from (push reads blobs through it). */
  archive: ArchiveReader
  notes: string[]
  /** The trusted roots signatures were checked with (the mirror check uses the same). */
  trustedRoots: ReturnType<typeof parseTrustedRoot>[]
  /** TUF state files written (after full success only). */
  stateFiles: string[]
  /** How the trusted roots were reached (TUF mirror, root version, grace), for receipts and reports. */
  trust: TrustResolution | undefined
  /** Present when the verdict is a remembered judgement (push): when it ran, and until when it holds. */
  cached?: {judgedAt: string; validUntil: string | null}
  /**
   * Present when a passing judgement left blob hashes to the upload (push): the entry is remembered only once the
   * push saw every one of them match (call after pushVerdict succeeded); keyed by the state this judgement left.
   */
  remember?: () => void
  close(): Promise<void>
}

export async function openVerifiedArchive(path: string, request: VerifyRequest): Promise<VerifiedArchive> {
  const started = performance.now()
  const startedAt = Date.now()
  const structural = request.structuralOnly === true
  const mode = structural ? 'skip' : request.signatures
  // Usage errors before the file is hashed. Only a trust-only archive (export --trust-only) needs no policy: its
  // layout is read first (cheap) to tell.
  const policyMissing = !structural && mode !== 'skip' && !request.policy
  const keyless = request.policy?.rules.some(r => r.action === 'keyless') ?? false
  // The file's sha256 for the record, read alongside verification; checkUnchanged covers a file replaced meanwhile.
  const fileHash = request.archiveSha256 ? fileSha256(path) : undefined
  fileHash?.catch(() => undefined)
  const hashNow = !structural && !request.heldBlobs && !policyMissing
  const archive = await ArchiveReader.open(path, {
    hash: hashNow,
    ...(hashNow && request.onBytes ? {onBytes: request.onBytes} : {}),
    ...(hashNow && request.workers !== undefined ? {workers: request.workers} : {}),
  })
  let trustSource: ArchiveReader | undefined
  // push: the plan is walked and the mirror asked what it holds (HEAD requests) while sigstore-js and tuf-js load
  // below, so the network waits overlap module loading; the answers are used exactly as before (hashing waived).
  // (not before a usage error: a missing policy is refused below without a request to the mirror)
  const usageError = policyMissing && archive.airlock[TRUST_ONLY_SECTION] !== true
  const needPlan = !structural && !archive.hashed && !usageError && (request.heldBlobs || request.hashOnUpload)
  const planned = needPlan ? planWithHoldings(archive, request.heldBlobs) : undefined
  planned?.catch(() => undefined) // awaited below; an early failure must not surface as an unhandled rejection
  let remember: {cache: VerdictCache; base: string} | undefined
  try {
    const stateDir =
      request.cache && !structural && !usageError && !policyMissing && !request.trustFrom
        ? cacheStateDir(request.trust ?? {})
        : undefined
    if (stateDir) {
      const cache = new VerdictCache(stateDir, request.onCacheNote)
      const base = await cacheKeyBase(
        archive,
        {signatures: mode, policy: request.policy, trust: request.trust ?? {}},
        stateDir,
      )
      remember = {cache, base}
      if (request.cache === 'read-write' && request.heldBlobs && request.hashOnUpload) {
        const entry = cache.read(cacheKey(base, stateDigest(stateDir)))
        const hit = entry ? await fromCache(archive, entry, request, planned, started) : undefined
        if (hit) return hit
      }
    }
    if (request.trustFrom) trustSource = await openTrustSource(request.trustFrom)
    const trustOnly = archive.airlock[TRUST_ONLY_SECTION] === true
    // Signatures and trust (sigstore-js, tuf-js) are loaded only when they are judged: push --skip-verify never pays
    // for them.
    const [{signatureSetup}, {ArchiveTrust}, {parseTrustedRoot: parseRoot}] = structural
      ? [{signatureSetup: undefined}, {ArchiveTrust: undefined}, {parseTrustedRoot: undefined}]
      : await Promise.all([import('./signatures.ts'), import('./trust.ts'), import('../sigstore/trust.ts')])
    if (policyMissing && !trustOnly) signatureSetup?.({mode, policy: undefined, trustedRoots: []}) // throws the usage error
    // Trust from this same reader (TUF verifies the bytes it reads; the integrity pass checks them against airlock.json).
    const trust = !ArchiveTrust
      ? undefined
      : new ArchiveTrust(request.trust ?? {}, {
          required: keyless || trustOnly,
          ...(trustSource ? {source: trustSource} : {}),
        })
    let trustedRoots: ReturnType<typeof parseTrustedRoot>[] = []
    if (trust && parseRoot && (mode !== 'skip' || trustOnly)) {
      try {
        const resolution = await trust.resolve(archive)
        trustedRoots = resolution.trustedRoots.map((bytes, i) => {
          const source = resolution.sources[i]
          return parseRoot(bytes, source ? `${source.kind === 'tuf' ? 'TUF' : 'file'} ${source.name}` : 'trusted root')
        })
      } catch (error) {
        if (keyless || trustOnly) throw error
        // Not needed for key-signed content: the 'trust' check reports the reason.
      }
    }
    const setup =
      !signatureSetup || trustOnly
        ? {imageChecks: [], notes: []}
        : signatureSetup({mode, policy: request.policy, trustedRoots})
    let skipHash: {digests: ReadonlySet<string>; reason: string} | undefined
    let hashOnUpload: Set<string> | undefined
    if (!structural && !archive.hashed) {
      const {plan, held} = planned ? await planned : {plan: [], held: undefined}
      skipHash = held
      if (request.hashOnUpload)
        hashOnUpload = new Set(plan.flatMap(i => i.blobs.map(b => b.digest)).filter(d => !skipHash?.digests.has(d)))
      const waived = new Set([...(skipHash?.digests ?? []), ...(hashOnUpload ?? [])])
      await archive.hashPending({
        ...(waived.size > 0 ? {skipHash: waived} : {}),
        ...(request.onBytes ? {onBytes: request.onBytes} : {}),
        ...(request.workers !== undefined ? {workers: request.workers} : {}),
      })
    }
    const {report, verdict} = await judgeArchive(
      archive,
      {
        imageChecks: setup.imageChecks,
        archiveChecks: trust ? [trust.check] : [],
        ...(skipHash && skipHash.digests.size > 0 ? {skipHash} : {}),
        ...(hashOnUpload && hashOnUpload.size > 0 ? {hashOnUpload} : {}),
        ...(request.confirmBase ? {confirmBase: request.confirmBase} : {}),
      },
      started,
    )
    if (verdict) await archive.checkUnchanged()
    addSummaries(report, {
      resolution: trust?.resolution,
      policy: request.policy,
      signaturesChecked: !structural && mode !== 'skip',
    })
    if (fileHash) report.archiveSha256 = await fileHash
    // The rollback memory moves forward only when everything passed.
    const stateFiles = verdict && trust ? trust.commitState(report) : []
    // Remembered only after full success, keyed by the rollback state as it now stands (a later state: a miss).
    const entry =
      remember && verdict && report.ok
        ? {
            format: 1,
            key: cacheKey(remember.base, stateDigest(remember.cache.stateDir)),
            judgedAt: new Date(startedAt).toISOString(),
            validUntil: judgementValidUntil(report, startedAt),
            verified: verdict.verified,
            verdict: verdictFingerprint(verdict),
            report: JSON.parse(JSON.stringify(report)) as VerifyReport,
            notes: setup.notes,
          }
        : undefined
    // A judgement that left hashes to the upload is complete only once push saw them match (`remember`).
    const cache = remember?.cache
    const createState = request.cache !== 'write-existing'
    if (entry && cache && !verdict?.hashOnUpload?.length) cache.write(entry, createState)
    return {
      ...(entry && cache && verdict?.hashOnUpload?.length ? {remember: () => cache.write(entry, createState)} : {}),
      report,
      verdict,
      archive,
      notes: setup.notes,
      trustedRoots,
      stateFiles,
      trust: trust?.resolution,
      close: async () => {
        await trustSource?.close()
        await archive.close()
      },
    }
  } catch (error) {
    await trustSource?.close()
    await archive.close()
    throw error instanceof AirlockError ? error : toAirlockError(error)
  }
}

/**
 * A remembered judgement (push): the verdict is walked again from the same open archive (structure, sizes and
 * bindings; manifests by digest) and must be the one judged, byte for byte (its fingerprint); every blob the mirror
 * does not hold is hashed as it uploads, as after a fresh judgement. Anything else is a miss (undefined).
 */
async function fromCache(
  archive: ArchiveReader,
  entry: CacheEntry,
  request: VerifyRequest,
  planned: ReturnType<typeof planWithHoldings> | undefined,
  started: number,
): Promise<(Omit<VerifiedArchive, 'close'> & {close(): Promise<void>}) | undefined> {
  const {verdict: rebuilt} = await judgeArchive(archive, request.confirmBase ? {confirmBase: request.confirmBase} : {})
  if (!rebuilt || verdictFingerprint(rebuilt) !== entry.verdict) return undefined
  const {held} = planned ? await planned : {held: undefined}
  const heldDigests = held?.digests ?? new Set<string>()
  const graphs = rebuilt.images.flatMap(image => [image.graph, ...image.artifacts.map(a => a.graph)])
  const hashOnUpload = [...new Set(graphs.flatMap(g => g.blobs.map(b => b.descriptor.digest)))].filter(
    d => !heldDigests.has(d),
  )
  const pending = new Set<string>(hashOnUpload)
  const skipped = {blobs: 0, bytes: 0}
  const deferred = {blobs: 0, bytes: 0}
  for (const record of archive.entries.values()) {
    const digest = digestFromBlobPath(record.name)
    if (!digest) continue
    const counted = pending.has(digest) ? deferred : heldDigests.has(digest) ? skipped : undefined
    if (!counted) continue
    counted.blobs++
    counted.bytes += record.size
  }
  const {hashSkipped: _s, hashDeferred: _d, ...judged} = entry.report
  const report: VerifyReport = {
    ...judged,
    archive: archive.path,
    seconds: (performance.now() - started) / 1000,
    ...(held ? {hashSkipped: {...skipped, reason: held.reason}} : {}),
    ...(deferred.blobs > 0 ? {hashDeferred: deferred} : {}),
  }
  await archive.checkUnchanged()
  return {
    report,
    verdict: freezeVerdict({
      ...rebuilt,
      verified: entry.verified,
      ...(hashOnUpload.length > 0 ? {hashOnUpload: hashOnUpload as Digest[]} : {}),
      report,
    }),
    archive,
    notes: entry.notes,
    trustedRoots: [],
    stateFiles: [],
    trust: undefined,
    cached: {judgedAt: entry.judgedAt, validUntil: entry.validUntil},
    close: () => archive.close(),
  }
}

/** The blobs of every image (walked from the archive, bounded) and which of them the mirror already holds. */
async function planWithHoldings(
  archive: ArchiveReader,
  heldBlobs: VerifyRequest['heldBlobs'],
): Promise<{plan: PlannedImage[]; held: Awaited<ReturnType<NonNullable<VerifyRequest['heldBlobs']>>>}> {
  const plan = await plannedBlobs(archive)
  return {plan, held: heldBlobs ? await heldBlobs(plan).catch(() => undefined) : undefined}
}

/**
 * Opens the archive named by --trust-from: it must be a trust refresh (export --trust-only), and every file it
 * lists must be there with its digest (TUF then verifies the metadata itself from the pinned root).
 */
async function openTrustSource(path: string): Promise<ArchiveReader> {
  const reader = await ArchiveReader.open(path, {hash: true})
  try {
    if (reader.airlock[TRUST_ONLY_SECTION] !== true)
      throw new AirlockError('USAGE', `--trust-from ${path}: not a trust refresh`, {
        hint: 'give an archive written by airlock export --trust-only',
      })
    for (const [name, expected] of Object.entries(reader.airlock.files)) {
      const record = reader.entries.get(name)
      if (!record || record.size !== expected.size || record.digest !== expected.digest)
        throw new AirlockError('TRUST_INVALID', `--trust-from ${path}: ${name} does not match airlock.json`)
    }
    return reader
  } catch (error) {
    await reader.close()
    throw error
  }
}
