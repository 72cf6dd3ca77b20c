// verify, integrity part: one hashing pass over the archive (ArchiveReader.open), then the graph of every image
// is walked and airlock.json is checked against what is really there. Other modules plug in more checks
// (signatures and policy per image, TUF trust per archive) through `imageChecks` / `archiveChecks`; they run only
// on content that passed integrity, so they never have to consider a corrupt blob.
import {ArchiveReader} from '../archive/reader.ts'
import {digestFromBlobPath, type ArchiveImage, AIRLOCK_JSON, INDEX_JSON, OCI_LAYOUT, REF_NAME_ANNOTATION} from '../archive/schema.ts'
import {toAirlockError} from '../errors.ts'
import type {Descriptor} from '../oci/descriptor.ts'
import {isManifestType} from '../oci/media-types.ts'
import type {CheckReport, ImageReport, Problem, VerifyReport} from '../report/model.ts'
import {walkImage} from './graph.ts'

export interface ImageCheckContext {
  archive: ArchiveReader
  /** The index.json entry of the image. */
  root: Descriptor
  /** Its airlock.json record (platforms carried, attached signature manifests, ...). */
  record: ArchiveImage | undefined
  report: ImageReport
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
  /** Hashing threads (see ScanOptions.workers). */
  workers?: number
}

const LAYOUT_FILES = new Set([OCI_LAYOUT, INDEX_JSON, AIRLOCK_JSON])

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
    const problems: Problem[] = []
    const referenced = new Set<string>()
    let blobs = 0
    const skipped = {blobs: 0, bytes: 0}

    // Every blob must hash to its name, whether or not anything refers to it (unless push waived it: see skipHash).
    for (const record of archive.entries.values()) {
      const digest = digestFromBlobPath(record.name)
      if (!digest) continue
      blobs++
      if (record.hashSkipped) {
        skipped.blobs++
        skipped.bytes += record.size
        continue
      }
      if (record.digest !== digest) problems.push({code: 'DIGEST_MISMATCH', entry: record.name, message: `${record.name}: content hashes to ${record.digest}, not to its name`})
    }

    // airlock.json and index.json must describe the same images.
    const records = new Map(archive.airlock.images.map((r) => [r.reference, r]))
    const indexNames = new Set<string>()
    const images: ImageReport[] = []
    for (const [i, root] of archive.index.manifests.entries()) {
      const reference = root.annotations?.[REF_NAME_ANNOTATION] ?? `index.json manifests[${i}]`
      indexNames.add(reference)
      const record = records.get(reference)
      const reasons: string[] = []
      if (!isManifestType(root.mediaType)) reasons.push(`index.json entry ${reference} has media type ${root.mediaType}, not a manifest or index`)
      if (!record) reasons.push(`index.json entry ${reference} is not listed in airlock.json`)
      else if (record.digest !== root.digest) reasons.push(`airlock.json says ${reference} is ${record.digest} but index.json says ${root.digest}`)
      const carried = record?.filtered ? new Set((record.platforms ?? []).map((p) => p.digest)) : undefined
      const walk = await walkImage(archive, root, carried)
      reasons.push(...walk.reasons)
      walk.reached.forEach((d) => referenced.add(d))
      for (const [j, attached] of (record?.attached ?? []).entries()) {
        const extra = await walkImage(archive, attached)
        extra.reached.forEach((d) => referenced.add(d))
        reasons.push(...extra.reasons.map((r) => `attached[${j}]: ${r}`))
      }
      if (record?.platforms) {
        const carriedNow = new Set(walk.platforms.map((p) => p.manifest.digest))
        for (const p of record.platforms) if (!carriedNow.has(p.digest)) reasons.push(`airlock.json lists platform ${p.platform} (${p.digest}) but the index does not carry it`)
      }
      images.push({
        reference,
        digest: root.digest,
        mediaType: root.mediaType,
        ok: reasons.length === 0,
        platforms: walk.platforms,
        omittedPlatforms: walk.omittedPlatforms,
        bytes: walk.bytes,
        checks: [{name: 'integrity', ok: reasons.length === 0, reasons}],
      })
    }
    for (const record of archive.airlock.images)
      if (!indexNames.has(record.reference))
        problems.push({code: 'ARCHIVE_INCOMPLETE', entry: INDEX_JSON, message: `airlock.json lists ${record.reference} but index.json has no entry for it`})

    // Files listed in airlock.json, and only those, besides the layout and the blobs.
    const listed = archive.airlock.files
    for (const [name, expected] of Object.entries(listed)) {
      const record = archive.entries.get(name)
      if (!record) problems.push({code: 'ARCHIVE_INCOMPLETE', entry: name, message: `${name} is listed in airlock.json but missing`})
      else if (record.size !== expected.size || record.digest !== expected.digest)
        problems.push({code: 'DIGEST_MISMATCH', entry: name, message: `${name} does not match airlock.json (${record.size} bytes, ${record.digest})`})
    }
    for (const record of archive.entries.values()) {
      const digest = digestFromBlobPath(record.name)
      if (digest ? referenced.has(digest) : LAYOUT_FILES.has(record.name) || record.name in listed) continue
      problems.push({
        code: 'ARCHIVE_INVALID',
        entry: record.name,
        message: digest ? `unexpected entry ${record.name}: not referenced by any image` : `unexpected entry ${record.name}: not listed in airlock.json`,
      })
    }

    // Archive-wide checks first (trust: the signatures image check takes its trusted roots from it).
    const checks: CheckReport[] = []
    for (const check of options.archiveChecks ?? []) checks.push(await runCheck(check.name, () => check.run(archive)))

    // Plugged-in checks, on images whose content is intact.
    for (const report of images) {
      const root = archive.index.manifests.find((d) => d.digest === report.digest)!
      for (const check of options.imageChecks ?? []) {
        if (!report.ok) {
          report.checks.push({name: check.name, ok: false, reasons: [], skipped: 'integrity failed'})
          continue
        }
        const result = await runCheck(check.name, () => check.run({archive, root, record: records.get(report.reference), report}))
        report.checks.push(result)
        if (!result.ok) report.ok = false
      }
    }
    const ok = problems.length === 0 && images.length > 0 && images.every((i) => i.ok) && checks.every((c) => c.ok)
    if (images.length === 0) problems.push({code: 'ARCHIVE_INCOMPLETE', entry: INDEX_JSON, message: 'the archive holds no images'})
    return {
      archive: path,
      ok,
      entries: archive.entryCount,
      bytes: archive.totalBytes,
      blobs,
      ...(options.skipHash ? {hashSkipped: {...skipped, reason: options.skipHash.reason}} : {}),
      seconds: (performance.now() - started) / 1000,
      problems,
      checks,
      images,
    }
  } finally {
    await archive.close()
  }
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
  const problem = report.problems.find((p) => !isSymptom(p.message))
  if (problem) return problem.message
  // Integrity before signatures: damaged content in any image outranks a signature verdict in an earlier one
  // (a signature check is skipped or meaningless on content that does not hold together).
  const failures = report.images.flatMap((image) => image.checks.filter((c) => !c.ok && c.reasons[0]).map((check) => ({image, check})))
  const first = failures.find((f) => f.check.name === 'integrity') ?? failures[0]
  if (first) return `${first.image.reference}: ${first.check.reasons[0]}`
  const symptom = report.problems[0]
  if (symptom) return symptom.message
  for (const check of report.checks) if (!check.ok) return `${check.name}: ${check.reasons[0] ?? 'failed'}`
  return undefined
}

