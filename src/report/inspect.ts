// inspect: what an archive holds, without hashing blobs (bodies are skipped by seeking, so this is fast on a
// huge archive). Names and types are still checked and manifests are verified as they are read: inspect is as
// careful with a hostile archive as verify, it just does not vouch for layer contents.
import {ArchiveReader} from '../archive/reader.ts'
import {digestFromBlobPath, REF_NAME_ANNOTATION} from '../archive/schema.ts'
import {walkImage} from '../verify/graph.ts'
import {BASE_SECTION, parseBaseSection} from '../archive/base-section.ts'
import {parseSignaturesSection, type SignatureEntry} from '../sigstore/section.ts'
import type {InspectReport} from '../verify/report-model.ts'

export async function inspectArchive(path: string): Promise<InspectReport> {
  const archive = await ArchiveReader.open(path, {hash: false})
  try {
    const records = new Map(archive.airlock.images.map(r => [r.reference, r]))
    const signatures = parseSignaturesSection(archive.airlock['signatures'])
    const images: InspectReport['images'] = []
    // A delta's layers left out are not "missing" here (verify checks them against the mirror).
    let base: ReturnType<typeof parseBaseSection>
    try {
      base = parseBaseSection(archive.airlock[BASE_SECTION])
    } catch {
      base = undefined
    }
    const baseSizes = base ? new Map(base.blobs.map(b => [b.digest as string, b.size])) : undefined
    for (const [i, root] of archive.index.manifests.entries()) {
      const reference = root.annotations?.[REF_NAME_ANNOTATION] ?? `index.json manifests[${i}]`
      const record = records.get(reference)
      const carried = record?.filtered ? new Set((record.platforms ?? []).map(p => p.digest)) : undefined
      const walk = await walkImage(archive, root, carried, undefined, baseSizes)
      images.push({
        reference,
        source: record?.source ?? reference,
        ...(record?.tag ? {tag: record.tag} : {}),
        digest: root.digest,
        mediaType: root.mediaType,
        platforms: walk.platforms,
        omittedPlatforms: walk.omittedPlatforms,
        bytes: walk.bytes,
        attached: record?.attached?.length ?? 0,
        signatures: (signatures?.subjects ?? [])
          .filter(s => s.image === reference)
          .flatMap(s => s.entries.map(e => describeEntry(s.digest, e))),
        problems: walk.reasons,
      })
    }
    let blobs = 0
    for (const name of archive.entries.keys()) if (digestFromBlobPath(name)) blobs++
    return {
      archive: path,
      formatVersion: archive.airlock.formatVersion,
      tool: archive.airlock.tool,
      ...(archive.airlock.exportedAt ? {exportedAt: archive.airlock.exportedAt} : {}),
      entries: archive.entryCount,
      bytes: archive.totalBytes,
      blobs,
      files: Object.keys(archive.airlock.files).sort(),
      images,
      ...(base
        ? {
            base: {
              inventory: base.inventory,
              blobs: base.blobs.length,
              bytes: base.blobs.reduce((n, b) => n + b.size, 0),
            },
          }
        : {}),
      airlockExecutables: Object.entries(archive.airlock.files)
        .filter(([name]) => name.startsWith('airlock/'))
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([entry, record]) => ({entry, size: record.size, digest: record.digest})),
      problems: images.flatMap(image => image.problems.map(p => `${image.reference}: ${p}`)),
    }
  } finally {
    await archive.close()
  }
}

/** One carried signature artifact, as airlock.json claims it (inspect does not verify signatures; verify does). */
function describeEntry(
  subject: string,
  entry: SignatureEntry,
): {subject: string; kind: string; role: string; name: string; digest: string} {
  const name =
    entry.kind === 'legacy-tag'
      ? (entry.tag ?? '').replace(/^sha256-[0-9a-f]{64}/, '')
      : (entry.artifactType ?? entry.descriptor.mediaType)
  return {subject, kind: entry.kind, role: entry.role, name, digest: entry.descriptor.digest}
}
