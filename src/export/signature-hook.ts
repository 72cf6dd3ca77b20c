// Export's signature hook: discovery (discover.ts), the `--signatures required|optional|skip` rule, log proofs for
// SET-only legacy entries (proofs.ts), and, when a policy is given, the same judgement verify will make, run on
// the content as fetched from the source, before the archive is committed (a bad bundle never travels).
import type {TrustedRoot} from '@sigstore/protobuf-specs'
import {AirlockError, toAirlockError, type ErrorCode} from '../errors.ts'
import type {ExportHookContext, ExportHooks} from './export.ts'
import type {Descriptor} from '../oci/descriptor.ts'
import type {Digest} from '../oci/digest.ts'
import type {Policy} from '../policy/index.ts'
import {globMatches} from '../policy/glob.ts'
import {fetcherContentReader} from '../sigstore/artifacts.ts'
import {discoverSignatures, readManifest} from '../sigstore/discover.ts'
import {judgeImage, type ImageJudgement} from '../sigstore/judge.ts'
import {DEFAULT_REKOR_URL, fetchInclusionProof, proofPath, setPayload, type StoredProof} from '../sigstore/proofs.ts'
import {SIGNATURES_SECTION, type SignaturesSection, type SubjectSignatures} from '../sigstore/section.ts'

export type SignatureMode = 'required' | 'optional' | 'skip'

export interface SignatureExportOptions {
  mode: SignatureMode
  /** Rekor API for proofs; default: the trusted root's log with the entry's log ID, else the public-good log. */
  rekorUrl?: string
  /** false: do not contact Rekor (offline export); SETs are kept alone. */
  fetchProofs?: boolean
  /** Evaluate this policy on the signatures found, before the archive is committed. */
  policy?: Policy
  trustedRoots?: TrustedRoot[]
  onWarning?: (message: string) => void
  onJudgement?: (image: string, judgement: ImageJudgement) => void
}

export interface SignatureExportState {
  section: SignaturesSection
  warnings: string[]
  judgements: Record<string, ImageJudgement>
}

export function signatureExportHooks(options: SignatureExportOptions): {
  hooks: ExportHooks
  state: SignatureExportState
} {
  const state: SignatureExportState = {section: {version: 1, subjects: []}, warnings: [], judgements: {}}
  const warn = (message: string): void => {
    state.warnings.push(message)
    options.onWarning?.(message)
  }
  // Rekor proofs, one fetch per log index for the whole run (several images may run at once): the promise is kept,
  // so an image judged while another fetches the same entry waits for that fetch instead of asking again.
  const proofFetches = new Map<string, Promise<StoredProof | undefined>>()
  const proofsWritten = new Set<string>()
  let rekorDown = false
  const logUrls = new Map<string, string>()
  for (const root of options.trustedRoots ?? [])
    for (const tlog of root.tlogs)
      if (tlog.logId?.keyId && tlog.baseUrl) logUrls.set(Buffer.from(tlog.logId.keyId).toString('hex'), tlog.baseUrl)

  /** What the network and the judgement found for one image, before anything is recorded. */
  interface Prepared {
    found: SubjectSignatures[]
    proofs: StoredProof[]
    warnings: string[]
    judgement?: ImageJudgement
  }
  const proofFor = (
    set: NonNullable<ReturnType<typeof setPayload>>,
    warnings: string[],
  ): Promise<StoredProof | undefined> => {
    const key = String(set.logIndex)
    let fetch = proofFetches.get(key)
    if (!fetch) {
      const url = options.rekorUrl ?? logUrls.get(set.logID) ?? DEFAULT_REKOR_URL
      fetch = rekorDown
        ? Promise.resolve(undefined)
        : fetchInclusionProof(url, set).catch((error: unknown) => {
            const e = toAirlockError(error)
            if (e.code === 'NETWORK_ERROR') {
              if (!rekorDown)
                warnings.push(`${e.message}; keeping the signed entry timestamps (SET) without inclusion proofs`)
              rekorDown = true
            } else warnings.push(`log entry ${set.logIndex}: no inclusion proof stored (${e.message}); keeping the SET`)
            return undefined
          })
      proofFetches.set(key, fetch)
    }
    return fetch
  }

  /**
   * Everything that needs the network or the CPU for one image: discovery, the log proofs of SET-only legacy
   * entries, and the policy's judgement. Runs for several images at once (ExportHooks.discover); what it finds is
   * recorded by extraRoots, in image order, so the archive and the messages do not depend on timing.
   */
  const prepare = async (context: ExportHookContext): Promise<Prepared> => {
    const {source, image, subjects, content} = context
    const found = await discoverSignatures(source, subjects, image.reference)
    const warnings: string[] = []
    const stored: StoredProof[] = []
    if (options.fetchProofs !== false) {
      const legacy = found
        .flatMap(s => s.entries)
        .filter(e => e.kind === 'legacy-tag' && (e.role === 'signature' || e.role === 'attestation'))
      const manifests = await Promise.all(legacy.map(e => readManifest(content, e.descriptor)))
      const sets = manifests.flatMap(m => (m.parsed.kind === 'manifest' ? m.parsed.layers : []))
      const fetched = await Promise.all(
        sets.flatMap(layer => {
          const set = setPayload(layer.annotations ?? {})
          return set ? [proofFor(set, warnings)] : []
        }),
      )
      for (const proof of fetched) if (proof && !stored.some(p => p.logIndex === proof.logIndex)) stored.push(proof)
    }
    if (!options.policy) return {found, proofs: stored, warnings}
    const judgement = await judgeImage({
      image: image.reference,
      root: {mediaType: image.mediaType, digest: image.digest, size: image.size},
      platforms: subjects.slice(1),
      entriesFor: d => found.filter(s => s.digest === d).flatMap(s => s.entries),
      reader: fetcherContentReader(content, async logIndex => (await proofFetches.get(logIndex))?.inclusionProof),
      policy: options.policy,
      trustedRoots: options.trustedRoots ?? [],
    })
    return {found, proofs: stored, warnings, judgement}
  }
  const prepared = new Map<ExportHookContext, Promise<Prepared>>()
  const preparedFor = (context: ExportHookContext): Promise<Prepared> => {
    let work = prepared.get(context)
    if (!work) {
      work = prepare(context)
      work.catch(() => undefined) // awaited (and reported) by extraRoots
      prepared.set(context, work)
    }
    return work
  }

  const missing: string[] = []
  const denied: Array<{reference: string; reason: string; code: string; judgement: unknown}> = []
  const hooks: ExportHooks = {
    discover: context => {
      if (options.mode !== 'skip') void preparedFor(context)
    },
    extraRoots: async context => {
      const {image, subjects, writer} = context
      if (options.mode === 'skip') return []
      const {found, proofs, warnings, judgement} = await preparedFor(context)
      prepared.delete(context)
      for (const message of warnings) warn(message)
      const signed = (d: Digest): boolean =>
        found.some(s => s.digest === d && s.entries.some(e => e.role === 'signature'))
      const covered = signed(image.digest) || (subjects.length > 1 && subjects.slice(1).every(s => signed(s.digest)))
      // A policy rule `skip: true` for this image relaxes --signatures required for it (first matching rule wins).
      const rule = options.policy?.rules.find(r => globMatches(r.image, image.reference))
      if (!covered && options.mode === 'required' && rule?.action !== 'skip') {
        // Every image is looked at before failing, so one run lists all the unsigned ones (beforeCommit throws).
        missing.push(`${image.reference} (${image.digest})`)
        return []
      }
      if (!covered)
        warn(
          `${image.reference}: no signature found (carried unsigned: ${rule?.action === 'skip' ? `policy rule ${rule.image} skip` : '--signatures optional'})`,
        )

      for (const stored of proofs) {
        if (proofsWritten.has(stored.logIndex)) continue
        proofsWritten.add(stored.logIndex)
        await writer.addFile(proofPath(stored.logIndex), Buffer.from(JSON.stringify(stored, null, 2) + '\n'))
        state.section.proofs = {...state.section.proofs, [stored.logIndex]: proofPath(stored.logIndex)}
      }

      if (judgement) {
        state.judgements[image.reference] = judgement
        options.onJudgement?.(image.reference, judgement)
        if (!judgement.ok) {
          denied.push({
            reference: image.reference,
            reason: judgement.reason,
            code: judgement.subjects[0]?.errorCode ?? 'SIGNATURE_INVALID',
            judgement,
          })
          return []
        }
      }

      state.section.subjects.push(...found)
      writer.setSection(SIGNATURES_SECTION, state.section)
      const roots = new Map<string, Descriptor>()
      for (const entry of found.flatMap(s => s.entries)) roots.set(entry.descriptor.digest, entry.descriptor)
      return [...roots.values()]
    },
    beforeCommit: async () => {
      if (missing.length > 0)
        throw new AirlockError(
          'SIGNATURE_MISSING',
          `${missing.length === 1 ? 'an image has' : `${missing.length} images have`} no signature, nothing written: ${missing.join(', ')}`,
          {
            hint: 'export unsigned images on purpose with --signatures optional (or skip), or a policy rule with skip: true',
            details: {unsigned: missing},
          },
        )
      if (denied.length > 0)
        throw new AirlockError(
          denied[0]!.code as ErrorCode,
          denied.length === 1
            ? `${denied[0]!.reference}: signature policy not met, nothing written: ${denied[0]!.reason}`
            : `${denied.length} images: signature policy not met, nothing written: ${denied.map(d => `${d.reference}: ${d.reason}`).join('; ')}`,
          {
            details: {
              judgement: denied[0]!.judgement,
              denied: denied.map(d => ({reference: d.reference, reason: d.reason})),
            },
          },
        )
    },
  }
  return {hooks, state}
}
