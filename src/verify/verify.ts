// verify, integrity part: one hashing pass over the archive (ArchiveReader.open), then the graph of every image
// is walked and airlock.json is checked against what is really there. Other modules plug in more checks
// (signatures and policy per image, TUF trust per archive) through `imageChecks` / `archiveChecks`; they run only
// on content that passed integrity, so they never have to consider a corrupt blob. When everything passed, the
// result carries the verdict (verdict.ts): exactly what was judged, the only thing push writes.
import {ArchiveReader} from '../archive/reader.ts'
import {
  blobPath,
  digestFromBlobPath,
  type ArchiveImage,
  AIRLOCK_JSON,
  INDEX_JSON,
  OCI_LAYOUT,
  REF_NAME_ANNOTATION,
} from '../archive/schema.ts'
import {toAirlockError} from '../errors.ts'
import {
  BASE_SECTION,
  type BaseBlob,
  type BaseSection,
  parseBaseSection,
  TRUST_ONLY_SECTION,
} from '../archive/base-section.ts'
import type {Descriptor} from '../oci/descriptor.ts'
import type {Digest} from '../oci/digest.ts'
import {isManifestType} from '../oci/media-types.ts'
import type {CheckReport, ImageReport, Problem, VerifyReport} from './report-model.ts'
import {MAX_ARTIFACTS_PER_SUBJECT} from '../sigstore/artifacts.ts'
import {parseSignaturesSection} from '../sigstore/section.ts'
import {artifactBindingProblem, recordProblems} from './bindings.ts'
import {archiveBudget, walkImage, type GraphWalk, type NodeBudget} from './graph.ts'
import {freezeVerdict, type JudgedArtifact, type JudgedGraph, type Verdict, type VerifiedImage} from './verdict.ts'
export interface ImageCheckContext {
  archive: ArchiveReader
  /** The index.json entry of the image. */
  root: Descriptor
  /** Its airlock.json record (platforms carried, attached signature manifests, ...). */
  record: ArchiveImage | undefined
  report: ImageReport
  /** The root index's carried children (what a signature on them must cover) and how many it lists. */
  children: readonly Descriptor[]
  listedChildren: number
}

export interface ImageCheck {
  name: string
  run(context: ImageCheckContext): Promise<CheckReport>
}

export interface ArchiveCheck {
  name: string
  run(archive: ArchiveReader): Promise<CheckReport>
}

export interface VerifyOptions {
  imageChecks?: ImageCheck[]
  archiveChecks?: ArchiveCheck[]
  onBytes?: (n: number) => void
  /**
   * Push only: blob digests the mirror already holds. Their bodies are not hashed (the archive's copy is never
   * sent, and the registry serves its own content under that digest); names, sizes, structure, manifests,
   * signatures and policy are checked as always, and the report counts them in `hashSkipped`.
   */
  skipHash?: {digests: ReadonlySet<string>; reason: string}
  /**
   * Push only: blob digests left unhashed here because push hashes them while it uploads them, committing each
   * upload only once it matched and writing no manifest or tag unless all did (the verdict lists them in
   * `hashOnUpload`). Everything else, manifests, signatures, policy and trust included, is judged here first.
   */
  hashOnUpload?: ReadonlySet<string>
  /** Hashing threads (see ScanOptions.workers). */
  workers?: number
  /**
   * Delta archives: asks the mirror for the blobs airlock.json `base` says are there (verify --registry, push).
   * Without it a delta is never complete: the report says "complete only together with the base".
   */
  confirmBase?: ConfirmBase
}

/** Checks the blobs a delta leaves out in the mirror; returns one problem line per blob not there (or wrong size). */
export type ConfirmBase = (
  expected: ReadonlyArray<BaseBlob & {images: string[]}>,
) => Promise<{registry: string; problems: string[]}>

const LAYOUT_FILES = new Set([OCI_LAYOUT, INDEX_JSON, AIRLOCK_JSON])
/** Images one archive may carry (a Talos release is about 50). */
export const MAX_ARCHIVE_IMAGES = 5000

export async function verifyArchive(path: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  const started = performance.now()
  // Structural damage (bad names, links, truncation, missing layout files) throws: nothing else can be trusted.
  const archive = await ArchiveReader.open(path, {
    hash: true,
    ...(options.onBytes ? {onBytes: options.onBytes} : {}),
    ...(options.skipHash ? {skipHash: options.skipHash.digests} : {}),
    ...(options.workers !== undefined ? {workers: options.workers} : {}),
  })
  try {
    return (await judgeArchive(archive, options, started)).report
  } finally {
    await archive.close()
  }
}

interface ImageWork {
  report: ImageReport
  root: Descriptor
  record: ArchiveImage | undefined
  walk: GraphWalk
  artifacts: JudgedArtifact[]
}

/**
 * Judges an opened archive: integrity (every entry hashed, unless the reader was opened without hashing: then
 * only structure, sizes and bindings, for push --skip-verify), the plugged-in checks, and, when all passed, the
 * frozen verdict. The reader stays open (the caller pushes from it).
 */
export async function judgeArchive(
  archive: ArchiveReader,
  options: Pick<VerifyOptions, 'imageChecks' | 'archiveChecks' | 'skipHash' | 'hashOnUpload' | 'confirmBase'> = {},
  started = performance.now(),
): Promise<{report: VerifyReport; verdict?: Verdict}> {
  const problems: Problem[] = []
  const referenced = new Set<string>()
  let blobs = 0
  const skipped = {blobs: 0, bytes: 0}
  const deferred = {blobs: 0, bytes: 0, digests: [] as Digest[]}

  // Every blob must hash to its name, whether or not anything refers to it (unless push waived it: see skipHash).
  for (const record of archive.entries.values()) {
    const digest = digestFromBlobPath(record.name)
    if (!digest) continue
    blobs++
    if (record.hashSkipped) {
      const counted = options.hashOnUpload?.has(digest) ? deferred : skipped
      counted.blobs++
      counted.bytes += record.size
      if (counted === deferred) deferred.digests.push(digest)
      continue
    }
    if (!archive.hashed) continue
    if (record.digest !== digest)
      problems.push({
        code: 'DIGEST_MISMATCH',
        entry: record.name,
        message: `${record.name}: content hashes to ${record.digest}, not to its name`,
      })
  }

  // airlock.json and index.json must describe the same images, entry for entry, each once (issue 10, finding 2).
  const records = new Map<string, ArchiveImage>()
  for (const record of archive.airlock.images) {
    if (records.has(record.reference))
      problems.push({
        code: 'ARCHIVE_INVALID',
        entry: AIRLOCK_JSON,
        message: `airlock.json lists ${record.reference} more than once`,
      })
    else records.set(record.reference, record)
  }
  let section
  try {
    section = parseSignaturesSection(archive.airlock['signatures'])
  } catch (error) {
    problems.push({code: 'ARCHIVE_INVALID', entry: AIRLOCK_JSON, message: toAirlockError(error).message})
  }
  let base: BaseSection | undefined
  try {
    base = parseBaseSection(archive.airlock[BASE_SECTION])
  } catch (error) {
    problems.push({code: 'ARCHIVE_INVALID', entry: AIRLOCK_JSON, message: toAirlockError(error).message})
  }
  const baseSizes = base ? new Map(base.blobs.map(b => [b.digest as string, b.size])) : undefined
  /** digest -> the images whose graphs reach it through the base */
  const baseUsers = new Map<string, Set<string>>()
  const trustOnly = archive.airlock[TRUST_ONLY_SECTION] === true
  const indexNames = new Set<string>()
  const work: ImageWork[] = []
  // One node budget across the archive, and one walk per distinct (root, carried set): repeating a large index in
  // index.json costs nothing more (issue 10, finding 8).
  const budget = archiveBudget()
  const walks = new Map<string, Promise<GraphWalk>>()
  const walkOnce = (root: Descriptor, carried?: ReadonlySet<string>): Promise<GraphWalk> => {
    const key = `${root.digest} ${root.size} ${root.mediaType} ${carried ? [...carried].sort().join(',') : '*'}`
    let walk = walks.get(key)
    if (!walk) {
      walk = walkImage(archive, root, carried, budget, baseSizes)
      walks.set(key, walk)
    }
    return walk
  }
  const noteBase = (reference: string, walk: GraphWalk): void => {
    for (const digest of walk.fromBase) {
      const users = baseUsers.get(digest) ?? new Set<string>()
      users.add(reference)
      baseUsers.set(digest, users)
    }
  }
  // Bounded before anything is walked or judged (issue 10, finding 8).
  const tooMany = archive.index.manifests.length > MAX_ARCHIVE_IMAGES
  if (tooMany)
    problems.push({
      code: 'TOO_LARGE',
      entry: INDEX_JSON,
      message: `index.json lists ${archive.index.manifests.length} images, more than the ${MAX_ARCHIVE_IMAGES} one archive may carry`,
    })
  for (const [i, root] of (tooMany ? [] : archive.index.manifests).entries()) {
    const reference = root.annotations?.[REF_NAME_ANNOTATION] ?? `index.json manifests[${i}]`
    const duplicate = indexNames.has(reference)
    indexNames.add(reference)
    const record = records.get(reference)
    const reasons: string[] = []
    if (duplicate)
      problems.push({
        code: 'ARCHIVE_INVALID',
        entry: INDEX_JSON,
        message: `index.json lists ${reference} more than once`,
      })
    if (!isManifestType(root.mediaType))
      reasons.push(`index.json entry ${reference} has media type ${root.mediaType}, not a manifest or index`)
    if (!record) reasons.push(`index.json entry ${reference} is not listed in airlock.json`)
    else reasons.push(...recordProblems(reference, root, record))
    const carried = record?.filtered ? new Set((record.platforms ?? []).map(p => p.digest)) : undefined
    const walk = await walkOnce(root, carried)
    reasons.push(...walk.reasons)
    for (const d of walk.reached) referenced.add(d)
    noteBase(reference, walk)
    for (const [j, attached] of (record?.attached ?? []).entries()) {
      const extra = await walkOnce(attached)
      for (const d of extra.reached) referenced.add(d)
      noteBase(reference, extra)
      reasons.push(...extra.reasons.map(r => `attached[${j}]: ${r}`))
    }
    if (record?.platforms) {
      const carriedNow = new Set(walk.platforms.map(p => p.manifest.digest))
      for (const p of record.platforms)
        if (!carriedNow.has(p.digest))
          reasons.push(`airlock.json lists platform ${p.platform} (${p.digest}) but the index does not carry it`)
    }
    // Signature artifacts: bound to a subject of this image, walked like any content (issue 10, finding 4).
    const subjects = new Set<string>(walk.manifests.map(m => m.descriptor.digest))
    subjects.add(root.digest)
    const artifacts: JudgedArtifact[] = []
    const mine = section?.subjects.filter(s => s.image === reference) ?? []
    const entries = mine.reduce((n, s) => n + s.entries.length, 0)
    if (entries > MAX_ARTIFACTS_PER_SUBJECT)
      reasons.push(
        `airlock.json lists ${entries} signature artifacts for ${reference}, more than ${MAX_ARTIFACTS_PER_SUBJECT}`,
      )
    for (const subject of entries > MAX_ARTIFACTS_PER_SUBJECT ? [] : mine) {
      for (const entry of subject.entries) {
        const graph = await walkOnce(entry.descriptor)
        for (const d of graph.reached) referenced.add(d)
        noteBase(reference, graph)
        if (graph.reasons.length > 0) {
          reasons.push(...graph.reasons.map(r => `signature ${entry.descriptor.digest}: ${r}`))
          continue
        }
        const top = graph.manifests.at(-1)?.raw.parsed
        if (top?.kind === 'manifest' && top.layers.length > MAX_ARTIFACTS_PER_SUBJECT) {
          reasons.push(
            `signature ${entry.descriptor.digest} has ${top.layers.length} layers, more than ${MAX_ARTIFACTS_PER_SUBJECT}`,
          )
          continue
        }
        const problem = artifactBindingProblem(subject.digest, subjects, entry, graph.manifests.at(-1)?.raw)
        if (problem) {
          reasons.push(problem)
          continue
        }
        artifacts.push({
          kind: entry.kind === 'legacy-tag' ? 'tag' : 'referrer',
          role: entry.role,
          subject: subject.digest,
          ...(entry.tag ? {tag: entry.tag} : {}),
          graph: judgedGraph(entry.descriptor, graph),
        })
      }
    }
    work.push({
      root,
      record,
      walk,
      artifacts,
      report: {
        reference,
        digest: root.digest,
        mediaType: root.mediaType,
        ok: reasons.length === 0,
        platforms: walk.platforms,
        omittedPlatforms: walk.omittedPlatforms,
        bytes: walk.bytes,
        checks: [{name: 'integrity', ok: reasons.length === 0, reasons}],
      },
    })
  }
  for (const reference of records.keys())
    if (!indexNames.has(reference))
      problems.push({
        code: 'ARCHIVE_INCOMPLETE',
        entry: INDEX_JSON,
        message: `airlock.json lists ${reference} but index.json has no entry for it`,
      })
  for (const subject of section?.subjects ?? [])
    if (!records.has(subject.image))
      problems.push({
        code: 'ARCHIVE_INVALID',
        entry: AIRLOCK_JSON,
        message: `airlock.json signatures name ${subject.image}, which is not an image of the archive`,
      })

  // Files listed in airlock.json, and only those, besides the layout and the blobs.
  const listed = archive.airlock.files
  for (const [name, expected] of Object.entries(listed)) {
    const record = archive.entries.get(name)
    if (!record)
      problems.push({code: 'ARCHIVE_INCOMPLETE', entry: name, message: `${name} is listed in airlock.json but missing`})
    else if (record.size !== expected.size || (archive.hashed && record.digest !== expected.digest))
      problems.push({
        code: 'DIGEST_MISMATCH',
        entry: name,
        message: `${name} does not match airlock.json (${record.size} bytes, ${record.digest})`,
      })
  }
  for (const record of archive.entries.values()) {
    const digest = digestFromBlobPath(record.name)
    if (digest ? referenced.has(digest) : LAYOUT_FILES.has(record.name) || record.name in listed) continue
    problems.push({
      code: 'ARCHIVE_INVALID',
      entry: record.name,
      message: digest
        ? `unexpected entry ${record.name}: not referenced by any image`
        : `unexpected entry ${record.name}: not listed in airlock.json`,
    })
  }

  // A delta's base: every blob it lists must be needed and not carried (no second copy to choose between), and it
  // counts only once the mirror confirms it.
  let baseReport: VerifyReport['base']
  if (base) {
    for (const blob of base.blobs) {
      if (archive.entries.has(blobPath(blob.digest)))
        problems.push({
          code: 'ARCHIVE_INVALID',
          entry: AIRLOCK_JSON,
          message: `airlock.json base lists ${blob.digest} as left out, but the archive carries it`,
        })
      else if (!baseUsers.has(blob.digest))
        problems.push({
          code: 'ARCHIVE_INVALID',
          entry: AIRLOCK_JSON,
          message: `airlock.json base lists ${blob.digest}, which no image of the archive needs`,
        })
    }
    const expected = base.blobs
      .filter(b => baseUsers.has(b.digest))
      .map(b => ({...b, images: [...baseUsers.get(b.digest)!].sort()}))
    baseReport = {
      inventory: base.inventory,
      blobs: expected.length,
      bytes: expected.reduce((n, b) => n + b.size, 0),
      expected,
      status: 'unconfirmed',
    }
    const integrityOk = problems.length === 0 && work.every(w => w.report.ok)
    if (expected.length > 0 && options.confirmBase && integrityOk) {
      const answer = await options.confirmBase(expected)
      baseReport.registry = answer.registry
      if (answer.problems.length === 0) baseReport.status = 'confirmed'
      else {
        baseReport.status = 'missing'
        baseReport.missing = answer.problems
        for (const message of answer.problems) problems.push({code: 'ARCHIVE_INCOMPLETE', message})
      }
    } else if (expected.length === 0) baseReport.status = 'confirmed'
    if (baseReport.status === 'unconfirmed' && integrityOk)
      problems.push({
        code: 'ARCHIVE_INCOMPLETE',
        entry: AIRLOCK_JSON,
        message: `delta archive: complete only together with the base: ${expected.length} blob(s), ${expected.reduce((n, b) => n + b.size, 0)} bytes, are expected in the mirror (inventory ${base.inventory.sha256})`,
      })
  }

  // Archive-wide checks first (trust: the signatures image check takes its trusted roots from it).
  const checks: CheckReport[] = []
  for (const check of options.archiveChecks ?? []) checks.push(await runCheck(check.name, () => check.run(archive)))

  // Plugged-in checks, on images whose content is intact.
  for (const {report, root, record, walk} of work) {
    for (const check of options.imageChecks ?? []) {
      if (!report.ok) {
        report.checks.push({name: check.name, ok: false, reasons: [], skipped: 'integrity failed'})
        continue
      }
      const result = await runCheck(check.name, () =>
        check.run({archive, root, record, report, children: walk.children, listedChildren: walk.listedChildren}),
      )
      report.checks.push(result)
      if (!result.ok) report.ok = false
    }
  }
  const images = work.map(w => w.report)
  // A trust-only archive (export --trust-only) holds no images; it passes on its trust check alone, which must
  // have verified TUF data (a trust refresh that refreshes nothing is not a pass).
  const trustPassed =
    trustOnly &&
    checks.some(
      c =>
        c.name === 'trust' &&
        c.ok &&
        ((c.details as {sources?: Array<{kind?: string}>} | undefined)?.sources ?? []).some(s => s.kind === 'tuf'),
    )
  if (trustOnly && archive.index.manifests.length > 0)
    problems.push({
      code: 'ARCHIVE_INVALID',
      entry: INDEX_JSON,
      message: 'airlock.json says trust-only, but index.json lists images',
    })
  if (trustOnly && !trustPassed && checks.every(c => c.ok))
    problems.push({
      code: 'TRUST_INVALID',
      entry: AIRLOCK_JSON,
      message: 'trust-only archive: no TUF repository was verified (nothing to refresh)',
    })
  const ok =
    problems.length === 0 && (images.length > 0 || trustPassed) && images.every(i => i.ok) && checks.every(c => c.ok)
  if (images.length === 0 && !trustOnly)
    problems.push({code: 'ARCHIVE_INCOMPLETE', entry: INDEX_JSON, message: 'the archive holds no images'})
  const report: VerifyReport = {
    archive: archive.path,
    ok,
    entries: archive.entryCount,
    bytes: archive.totalBytes,
    blobs,
    ...(options.skipHash ? {hashSkipped: {...skipped, reason: options.skipHash.reason}} : {}),
    ...(deferred.blobs > 0 ? {hashDeferred: {blobs: deferred.blobs, bytes: deferred.bytes}} : {}),
    ...(baseReport ? {base: baseReport} : {}),
    ...(trustOnly ? {trustOnly: true} : {}),
    seconds: (performance.now() - started) / 1000,
    problems,
    checks,
    images,
  }
  if (!ok) return {report}
  const verified: VerifiedImage[] = work.map(({root, record, walk, artifacts}) => ({
    reference: record!.reference,
    ...(record!.tag === undefined ? {} : {tag: record!.tag}),
    root: {mediaType: root.mediaType, digest: root.digest, size: root.size},
    graph: judgedGraph(root, walk),
    children: walk.children,
    artifacts,
  }))
  return {
    report,
    verdict: freezeVerdict({
      archive: archive.path,
      verified: archive.hashed && (options.imageChecks?.length ?? 0) > 0,
      images: verified,
      ...(deferred.blobs > 0 ? {hashOnUpload: deferred.digests} : {}),
      report,
    }),
  }
}

function judgedGraph(root: Descriptor, walk: GraphWalk): JudgedGraph {
  return {
    root: {mediaType: root.mediaType, digest: root.digest as Digest, size: root.size},
    blobs: [...walk.blobs.values()],
    manifests: [...walk.manifests],
  }
}

/** Every blob each image would need, from an unhashed reader (push asks the mirror which it holds before hashing). */
/** What push will copy, per image: each root (the image, its signature artifacts) with the blobs under it. */
export interface PlannedImage {
  reference: string
  /** Every blob of the image and its artifacts, once. */
  blobs: Descriptor[]
  /** `tag`: where the archive says the root goes (the image's tag, a legacy signature tag), as claimed, unjudged. */
  roots: Array<{root: Descriptor; blobs: Descriptor[]; tag?: string}>
}

export async function plannedBlobs(archive: ArchiveReader): Promise<PlannedImage[]> {
  const budget: NodeBudget = archiveBudget()
  let section
  try {
    section = parseSignaturesSection(archive.airlock['signatures'])
  } catch {
    section = undefined // judgeArchive reports it
  }
  const plan: PlannedImage[] = []
  if (archive.index.manifests.length > MAX_ARCHIVE_IMAGES) return plan // judgeArchive refuses it
  let baseSizes: Map<string, number> | undefined
  try {
    const base = parseBaseSection(archive.airlock[BASE_SECTION])
    baseSizes = base ? new Map(base.blobs.map(b => [b.digest as string, b.size])) : undefined
  } catch {
    baseSizes = undefined // judgeArchive reports it
  }
  for (const [i, root] of archive.index.manifests.entries()) {
    const reference = root.annotations?.[REF_NAME_ANNOTATION] ?? `index.json manifests[${i}]`
    const record = archive.airlock.images.find(r => r.reference === reference)
    const carried = record?.filtered ? new Set((record.platforms ?? []).map(p => p.digest)) : undefined
    const roots: Array<{root: Descriptor; carried: Set<string> | undefined; tag: string | undefined}> = [
      {root, carried, tag: record?.tag},
      ...(section?.subjects
        .filter(s => s.image === reference)
        .flatMap(s =>
          s.entries.map(e => ({
            root: e.descriptor,
            carried: undefined,
            tag: e.kind === 'legacy-tag' ? e.tag : undefined,
          })),
        ) ?? []),
    ]
    const blobs = new Map<string, Descriptor>()
    const walked: PlannedImage['roots'] = []
    for (const r of roots) {
      const under = [...(await walkImage(archive, r.root, r.carried, budget, baseSizes)).blobs.values()].map(
        b => b.descriptor,
      )
      walked.push({
        root: {mediaType: r.root.mediaType, digest: r.root.digest, size: r.root.size},
        blobs: under,
        ...(r.tag ? {tag: r.tag} : {}),
      })
      for (const b of under) blobs.set(b.digest, b)
    }
    plan.push({reference, blobs: [...blobs.values()], roots: walked})
  }
  return plan
}

/** A check that throws fails with its error's message: one broken check must not hide the others' results. */
async function runCheck(name: string, run: () => Promise<CheckReport>): Promise<CheckReport> {
  try {
    return await run()
  } catch (error) {
    return {name, ok: false, reasons: [toAirlockError(error).message]}
  }
}

/** The first line to print when verification fails: the most specific reason there is. */
export function firstFailure(report: VerifyReport): string | undefined {
  // An unreferenced blob is usually the symptom of a broken reference (an edited index.json or manifest), so the
  // image's own failure, which names the cause, is reported before it.
  const isSymptom = (message: string) => message.startsWith('unexpected entry')
  const problem = report.problems.find(p => !isSymptom(p.message))
  if (problem) return problem.message
  // Integrity before signatures: damaged content in any image outranks a signature verdict in an earlier one
  // (a signature check is skipped or meaningless on content that does not hold together).
  const failures = report.images.flatMap(image =>
    image.checks.filter(c => !c.ok && c.reasons[0]).map(check => ({image, check})),
  )
  const first = failures.find(f => f.check.name === 'integrity') ?? failures[0]
  if (first) return `${first.image.reference}: ${first.check.reasons[0]}`
  const symptom = report.problems[0]
  if (symptom) return symptom.message
  for (const check of report.checks) if (!check.ok) return `${check.name}: ${check.reasons[0] ?? 'failed'}`
  return undefined
}
