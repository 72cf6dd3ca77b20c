// Trusted-root selection for verify: which trusted_root.json files signatures are checked against, and why.
import {AirlockError, isAirlockError} from '../errors.ts'
import {mirrorIdFor, pinnedPublicGoodRoot, PUBLIC_GOOD_MIRROR} from './pinned.ts'
import {type TrustedRootFileReport, loadTrustedRootFile} from './trusted-root-file.ts'
import type {TufState} from './state.ts'
import {type Grace, type TufReport, verifyTufOffline} from './verify.ts'

export interface TrustSource {
  kind: 'tuf' | 'file'
  /** mirror id for TUF sources, file path for `--trusted-root` */
  name: string
  trustedRoot: Buffer
  report: TufReport | TrustedRootFileReport
  /** TUF sources: the state to record once the whole verification passed (when `state.write === false`) */
  nextState?: TufState
}

export interface SelectTrustOptions {
  /** the archive's TUF mirrors: mirrorId -> files under `sigstore/tuf/<mirrorId>/` (relative paths) */
  mirrors: Map<string, Map<string, Buffer>>
  /** pinned roots by mirror id (`--tuf-root`); the public-good mirror defaults to the root shipped in airlock */
  pinnedRoots?: Map<string, Buffer>
  /** `--trusted-root FILE`s: used as given; then broken or unpinned TUF data is skipped instead of failing */
  trustedRootFiles?: string[]
  grace?: Grace
  now?: Date
  state?: {dir: string; write?: boolean} | false
}

export interface TrustSelection {
  sources: TrustSource[]
  /** TUF mirrors not used, with the reason (only when --trusted-root was given; otherwise they fail) */
  skipped: Array<{mirror: string; reason: string}>
}

/**
 * Every TUF mirror in the archive is verified from its pinned root (public good: shipped in airlock; others: the
 * operator's `--tuf-root`). Any failure, or an archive without TUF data, is an error unless the operator supplied
 * `--trusted-root` explicitly, in which case those files are used and the failure is reported as skipped.
 */
export function selectTrustedRoots(options: SelectTrustOptions): TrustSelection {
  const manual = options.trustedRootFiles ?? []
  const sources: TrustSource[] = []
  const skipped: TrustSelection['skipped'] = []
  const publicGood = mirrorIdFor(PUBLIC_GOOD_MIRROR)
  for (const [mirrorId, files] of [...options.mirrors].sort(([a], [b]) => a.localeCompare(b))) {
    try {
      const pinnedRoot =
        options.pinnedRoots?.get(mirrorId) ?? (mirrorId === publicGood ? pinnedPublicGoodRoot() : undefined)
      if (!pinnedRoot)
        throw new AirlockError('TRUST_INVALID', `TUF ${mirrorId}: no pinned root for this mirror`, {
          hint: `pass --tuf-root <root.json> for ${mirrorId}`,
        })
      const verifyOptions: Parameters<typeof verifyTufOffline>[0] = {files, pinnedRoot, mirrorId}
      if (options.grace !== undefined) verifyOptions.grace = options.grace
      if (options.now !== undefined) verifyOptions.now = options.now
      if (options.state !== undefined) verifyOptions.state = options.state
      const {trustedRoot, report, nextState} = verifyTufOffline(verifyOptions)
      sources.push({kind: 'tuf', name: mirrorId, trustedRoot, report, ...(nextState ? {nextState} : {})})
    } catch (error) {
      // anything unforeseen is a refusal of this mirror too: it must not defeat the --trusted-root fallback
      const e = isAirlockError(error)
        ? error
        : new AirlockError(
            'TRUST_INVALID',
            `TUF ${mirrorId}: cannot verify the metadata: ${(error as Error).message}`,
            {cause: error},
          )
      if (manual.length === 0 || e.code !== 'TRUST_INVALID') throw e
      skipped.push({mirror: mirrorId, reason: e.message})
    }
  }
  for (const path of manual) {
    const {trustedRoot, report} = loadTrustedRootFile(path)
    sources.push({kind: 'file', name: path, trustedRoot, report})
  }
  if (sources.length === 0)
    throw new AirlockError('TRUST_INVALID', 'the archive carries no TUF repository to take a trusted root from', {
      hint: 'export with TUF (the default), or pass --trusted-root FILE to use a trusted root managed by hand',
    })
  return {sources, skipped}
}
