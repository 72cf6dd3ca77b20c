// Human rendering of a mirror check (`verify --registry`, `push --check`); --json returns the result itself.
import type {ImageCheck as MirrorImageCheck, MirrorCheckResult} from '../verify/mirror-check.ts'

/** A verified signer as one line: `identity (issuer ...)` or `the policy key`. */
export function describeSigner(
  signer: {identity?: string; issuer?: string; keyed: boolean} | undefined,
): string | undefined {
  if (!signer) return undefined
  return signer.keyed ? 'the policy key' : `${signer.identity ?? '?'} (issuer ${signer.issuer ?? '?'})`
}

/** Human lines for one image of a mirror check (`verify --registry`, `push --check`). */
export function renderMirrorImage(check: MirrorImageCheck): string[] {
  const ok = check.problems.length === 0
  const signer = describeSigner(check.verification?.signer)
  const what = [
    check.tag ? `tag ${check.tag.ok ? 'ok' : 'WRONG'}` : undefined,
    `${check.manifests} manifest(s), ${check.blobs} blob(s)`,
    check.verification
      ? `${check.verification.found.length} signature artifact(s) found on the mirror`
      : `${check.signatures} signature tag(s), ${check.referrers} referrer(s)`,
    signer ? `signed by ${signer}` : undefined,
  ].filter(x => x !== undefined)
  return [
    `${ok ? 'ok  ' : 'FAIL'} ${check.source} -> ${check.target}: ${what.join('; ')}`,
    ...check.problems.map(p => `     ${p}`),
  ]
}

/** Human lines for a whole mirror check: one block per image, then the summary. */
export function renderMirrorCheck(check: MirrorCheckResult): string[] {
  return [...check.images.flatMap(renderMirrorImage), `mirror: ${check.passed ? 'ok' : 'FAILED'}: ${check.summary}`]
}
