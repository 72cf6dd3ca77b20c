// The flat fields of push's --json (issue 16 item 1): per pushed image its platforms and who signed (from the
// verification that let it through), and the trust section with the forecast at the top level, as verify has them.
import type {PushArchiveResult} from '../push/index.ts'
import type {SignerSummary, TrustSummary} from '../verify/report-model.ts'

export interface PushFlatFields {
  images: Array<
    PushArchiveResult['images'][number] & {
      platforms: Array<{platform: string; digest: string}>
      signers: SignerSummary[]
    }
  >
  trust?: TrustSummary
}

export function pushFlatFields(result: PushArchiveResult): PushFlatFields {
  const report = result.verification.report
  const byReference = new Map((report?.images ?? []).map(i => [i.reference, i]))
  return {
    images: result.images.map(image => {
      const verified = byReference.get(image.source)
      return {
        ...image,
        platforms: (verified?.platforms ?? []).map(p => ({platform: p.platform, digest: p.manifest.digest})),
        signers: verified?.signers ?? [],
      }
    }),
    ...(report?.trust ? {trust: report.trust} : {}),
  }
}
