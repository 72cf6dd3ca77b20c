// Human renderings of the report model. Commands print these; --json returns the model itself.
import {formatBytes} from '../util/progress.ts'
import type {InspectReport, VerifyReport} from '../verify/report-model.ts'

const short = (digest: string): string => digest.slice(0, 'sha256:'.length + 12)

/** Archive problems shown in text before the rest are counted (--json has them all). */
export const MAX_PROBLEM_LINES = 20
/** Failed images named in the one-line failure summary. */
const MAX_NAMED_FAILURES = 5

export {plural} from '../util/progress.ts'
import {plural} from '../util/progress.ts'

export interface RenderVerifyOptions {
  /** false under --signatures skip: the summary then says the signatures were not checked. */
  signaturesChecked?: boolean
}

export function renderVerify(report: VerifyReport, options: RenderVerifyOptions = {}): string[] {
  const lines: string[] = []
  for (const image of report.images) {
    const platforms = image.platforms.map(p => p.platform).join(', ')
    lines.push(
      `${image.ok ? 'ok  ' : 'FAIL'}  ${image.reference}  ${short(image.digest)}  [${platforms}]  ${formatBytes(image.bytes)}`,
    )
    if (image.omittedPlatforms.length)
      lines.push(`      not carried (--platform at export): ${image.omittedPlatforms.join(', ')}`)
    for (const check of image.checks) {
      if (check.skipped) lines.push(`      ${check.name}: skipped (${check.skipped})`)
      for (const info of check.info ?? []) lines.push(`      ${check.name}: ${info}`)
      for (const reason of check.reasons) lines.push(`      ${check.name}: ${reason}`)
    }
  }
  for (const check of report.checks) {
    // A check that passed with nothing to pass on (no trust source at all) is not "ok": it is "none".
    const sources = (check.details as {sources?: unknown[]} | undefined)?.sources
    const none = check.ok && Array.isArray(sources) && sources.length === 0
    lines.push(`${none ? 'none' : check.ok ? 'ok  ' : 'FAIL'}  ${check.name}`)
    for (const info of check.info ?? []) lines.push(`      ${info}`)
    for (const reason of check.reasons) lines.push(`      ${reason}`)
  }
  for (const problem of report.problems.slice(0, MAX_PROBLEM_LINES)) lines.push(`FAIL  ${problem.message}`)
  if (report.problems.length > MAX_PROBLEM_LINES)
    lines.push(`FAIL  ... and ${report.problems.length - MAX_PROBLEM_LINES} more problem(s) (--json lists them all)`)
  // Until when this archive verifies with the trust it carries (only said when signatures were judged with trust).
  if (report.trust && options.signaturesChecked !== false && report.policy?.source !== 'none')
    lines.push(`forecast: ${report.trust.forecast.summary}`)
  if (report.hashSkipped?.blobs)
    lines.push(
      `not re-hashed: ${report.hashSkipped.blobs} blob(s), ${formatBytes(report.hashSkipped.bytes)} (${report.hashSkipped.reason})`,
    )
  lines.push(...renderBase(report))
  const rate = report.seconds > 0 ? `, ${formatBytes(report.bytes / report.seconds)}/s` : ''
  const failed = report.images.filter(i => !i.ok).length
  const onlyBaseUnconfirmed =
    report.base?.status === 'unconfirmed' &&
    failed === 0 &&
    report.problems.length === 1 &&
    report.checks.every(c => c.ok)
  const verdict = onlyBaseUnconfirmed
    ? 'carried content verified, complete only together with the base (NOT verified alone)'
    : report.ok && report.trustOnly
      ? 'trust refresh verified'
      : !report.ok
        ? `NOT verified${failed ? ` (${failed} of ${report.images.length} failed)` : ''}`
        : options.signaturesChecked === false
          ? 'integrity verified, signatures NOT checked'
          : 'verified'
  if (report.ok && report.trustOnly) {
    const sources = report.checks.flatMap(
      c => (c.details as {sources?: Array<{kind?: string}>} | undefined)?.sources?.filter(s => s.kind === 'tuf') ?? [],
    )
    lines.push(
      `${verdict}: the TUF repository of ${plural(sources.length, 'mirror')}, ${formatBytes(report.bytes)} (no images: the images already inside stay verifiable with it)`,
    )
    return lines
  }
  lines.push(
    `${verdict}: ${plural(report.images.length, 'image')}, ${plural(report.blobs, 'blob')}, ${formatBytes(report.bytes)} in ${report.seconds.toFixed(1)} s${rate}`,
  )
  return lines
}

/** A delta archive's base: what it leaves out and whether the mirror was seen to hold it. */
function renderBase(report: VerifyReport): string[] {
  const base = report.base
  if (!base) return []
  const signer = base.inventory.signer ? `, signed by ${base.inventory.signer.slice(0, 19)}…` : ', unsigned'
  const head = `delta: ${plural(base.blobs, 'blob')}, ${formatBytes(base.bytes)}, left out (inventory ${base.inventory.sha256.slice(0, 19)}…${signer})`
  if (base.status === 'confirmed')
    return [`ok    ${head}: each one in ${base.registry ?? 'the mirror'} with its size: complete`]
  if (base.status === 'missing') return [`FAIL  ${head}: ${base.missing?.length ?? 0} not in ${base.registry}`]
  const lines = [`base  ${head}: complete only together with the base; expected in the mirror:`]
  for (const blob of base.expected.slice(0, MAX_PROBLEM_LINES))
    lines.push(`      ${blob.digest}  ${formatBytes(blob.size)}  ${blob.repository}`)
  if (base.expected.length > MAX_PROBLEM_LINES)
    lines.push(`      ... and ${base.expected.length - MAX_PROBLEM_LINES} more (--json lists them all)`)
  lines.push('      check them with: airlock verify ARCHIVE --registry MIRROR (same policy flags)')
  return lines
}

/**
 * The one-line reason a verification failed: the leading cause (`lead`, from verify's firstFailure), then every
 * failed image by name (up to a few, then a count), so "4 images failed" never names only the first.
 */
export function failureSummary(report: VerifyReport, lead: string | undefined): string {
  const failed = report.images.filter(i => !i.ok)
  const head = lead ?? 'verification failed'
  if (failed.length <= 1 && report.problems.length <= 1) return head
  const names = failed.slice(0, MAX_NAMED_FAILURES).map(i => i.reference)
  const more = failed.length > MAX_NAMED_FAILURES ? ` and ${failed.length - MAX_NAMED_FAILURES} more` : ''
  const images = failed.length
    ? `${failed.length} of ${plural(report.images.length, 'image')} failed: ${names.join(', ')}${more}`
    : ''
  const problems = report.problems.length > 1 ? `${plural(report.problems.length, 'archive problem')}` : ''
  return [head, [images, problems].filter(Boolean).join('; ')].join(' (') + ')'
}

export function renderInspect(report: InspectReport): string[] {
  const lines = [
    `${report.archive}: ${report.images.length} image(s), ${report.blobs} blobs, ${formatBytes(report.bytes)} (airlock ${report.tool.version}, format ${report.formatVersion})`,
  ]
  if (report.base)
    lines.push(
      `delta: ${plural(report.base.blobs, 'layer')}, ${formatBytes(report.base.bytes)}, left out: expected in the mirror holding the base (inventory ${report.base.inventory.sha256.slice(0, 19)}…)`,
    )
  for (const [i, image] of report.images.entries()) {
    const lastImage = i === report.images.length - 1
    lines.push(
      `${lastImage ? '└─' : '├─'} ${image.reference}  ${short(image.digest)}  ${formatBytes(image.bytes)}${image.attached ? `  (+${image.attached} attached)` : ''}`,
    )
    const pad = lastImage ? '   ' : '│  '
    const omitted = image.omittedPlatforms.length ? [`(not carried: ${image.omittedPlatforms.join(', ')})`] : []
    for (const [j, platform] of image.platforms.entries()) {
      const lastPlatform = j === image.platforms.length - 1 && omitted.length === 0
      lines.push(
        `${pad}${lastPlatform ? '└─' : '├─'} ${platform.platform}  ${short(platform.manifest.digest)}  ${formatBytes(platform.bytes)}`,
      )
      const pad2 = pad + (lastPlatform ? '   ' : '│  ')
      const leaves = [
        ...(platform.config ? [{...platform.config, kind: 'config'}] : []),
        ...platform.layers.map(l => ({...l, kind: 'layer'})),
      ]
      for (const [k, leaf] of leaves.entries())
        lines.push(
          `${pad2}${k === leaves.length - 1 ? '└─' : '├─'} ${leaf.kind} ${short(leaf.digest)}  ${formatBytes(leaf.size)}`,
        )
    }
    for (const line of omitted) lines.push(`${pad}└─ ${line}`)
    for (const sig of image.signatures)
      lines.push(
        `${pad}   ${sig.role} (${sig.kind === 'legacy-tag' ? 'tag' : 'referrer'}) ${sig.name}  ${short(sig.digest)}  for ${short(sig.subject)}  [not verified by inspect]`,
      )
  }
  for (const exe of report.airlockExecutables ?? [])
    lines.push(`airlock: ${exe.entry}  ${formatBytes(exe.size)}  ${exe.digest}  [not verified by inspect]`)
  for (const problem of report.problems.slice(0, MAX_PROBLEM_LINES)) lines.push(`FAIL  ${problem}`)
  if (report.problems.length > MAX_PROBLEM_LINES)
    lines.push(`FAIL  ... and ${report.problems.length - MAX_PROBLEM_LINES} more problem(s) (--json lists them all)`)
  if (report.files.length)
    lines.push(
      `files: ${report.files.length} (${report.files.slice(0, 3).join(', ')}${report.files.length > 3 ? ', ...' : ''})`,
    )
  return lines
}
