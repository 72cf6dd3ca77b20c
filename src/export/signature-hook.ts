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
import type {RekorInclusionProof} from '../sigstore/cosign-legacy.ts'
import {fetcherContentReader} from '../sigstore/artifacts.ts'
import {discoverSignatures, readManifest} from '../sigstore/discover.ts'
import {judgeImage, type ImageJudgement} from '../sigstore/judge.ts'
import {DEFAULT_REKOR_URL, fetchInclusionProof, proofPath, setPayload} from '../sigstore/proofs.ts'
import {SIGNATURES_SECTION, type SignaturesSection} from '../sigstore/section.ts'

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
  const proofs = new Map<string, RekorInclusionProof>()
  const tried = new Set<string>()
  let rekorDown = false
  const logUrls = new Map<string, string>()
  for (const root of options.trustedRoots ?? [])
    for (const tlog of root.tlogs)
      if (tlog.logId?.keyId && tlog.baseUrl) logUrls.set(Buffer.from(tlog.logId.keyId).toString('hex'), tlog.baseUrl)

  // Discovery starts for several images at once (ExportHooks.discover); extraRoots, in image order, awaits it.
  type Found = Awaited<ReturnType<typeof discoverSignatures>>
  const discoveries = new Map<ExportHookContext, Promise<Found>>()
  const discoveryOf = (context: ExportHookContext): Promise<Found> => {
    let found = discoveries.get(context)
    if (!found) {
      found = discoverSignatures(context.source, context.subjects, context.image.reference)
      found.catch(() => undefined) // awaited (and reported) by extraRoots
      discoveries.set(context, found)
    }
    return found
  }

  const missing: string[] = []
  const denied: Array<{reference: string; reason: string; code: string; judgement: unknown}> = []
  const hooks: ExportHooks = {
    discover: context => {
      if (options.mode !== 'skip') void discoveryOf(context)
    },
    extraRoots: async context => {
      const {source, image, subjects, writer} = context
      if (options.mode === 'skip') return []
      const found = await discoveryOf(context)
      discoveries.delete(context)
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

      // Log proofs for SET-only legacy entries.
      if (options.fetchProofs !== false) {
        for (const entry of found.flatMap(s => s.entries)) {
          if (entry.kind !== 'legacy-tag' || (entry.role !== 'signature' && entry.role !== 'attestation') || rekorDown)
            continue
          const manifest = await readManifest(source.store, entry.descriptor)
          if (manifest.parsed.kind !== 'manifest') continue
          for (const layer of manifest.parsed.layers) {
            const set = setPayload(layer.annotations ?? {})
            if (!set || tried.has(String(set.logIndex)) || rekorDown) continue
            tried.add(String(set.logIndex))
            const url = options.rekorUrl ?? logUrls.get(set.logID) ?? DEFAULT_REKOR_URL
            try {
              const stored = await fetchInclusionProof(url, set)
              await writer.addFile(proofPath(stored.logIndex), Buffer.from(JSON.stringify(stored, null, 2) + '\n'))
              proofs.set(stored.logIndex, stored.inclusionProof)
              state.section.proofs = {...state.section.proofs, [stored.logIndex]: proofPath(stored.logIndex)}
            } catch (error) {
              const e = toAirlockError(error)
              if (e.code === 'NETWORK_ERROR') {
                rekorDown = true
                warn(`${e.message}; keeping the signed entry timestamps (SET) without inclusion proofs`)
              } else warn(`log entry ${set.logIndex}: no inclusion proof stored (${e.message}); keeping the SET`)
            }
          }
        }
      }

      if (options.policy) {
        const judgement = await judgeImage({
          image: image.reference,
          root: {mediaType: image.mediaType, digest: image.digest, size: image.size},
          platforms: subjects.slice(1),
          entriesFor: d => found.filter(s => s.digest === d).flatMap(s => s.entries),
          reader: fetcherContentReader(source.store, async logIndex => proofs.get(logIndex)),
          policy: options.policy,
          trustedRoots: options.trustedRoots ?? [],
        })
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
