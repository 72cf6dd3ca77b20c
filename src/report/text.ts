// Human renderings of the report model. Commands print these; --json returns the model itself.
import {formatBytes} from '../util/progress.ts'
import type {InspectReport, VerifyReport} from './model.ts'

const short = (digest: string): string => digest.slice(0, 'sha256:'.length + 12)

export function renderVerify(report: VerifyReport): string[] {
  const lines: string[] = []
  for (const image of report.images) {
    const platforms = image.platforms.map((p) => p.platform).join(', ')
    lines.push(`${image.ok ? 'ok  ' : 'FAIL'}  ${image.reference}  ${short(image.digest)}  [${platforms}]  ${formatBytes(image.bytes)}`)
    if (image.omittedPlatforms.length) lines.push(`      not carried (--platform at export): ${image.omittedPlatforms.join(', ')}`)
    for (const check of image.checks) {
      if (check.skipped) lines.push(`      ${check.name}: skipped (${check.skipped})`)
      for (const info of check.info ?? []) lines.push(`      ${check.name}: ${info}`)
      for (const reason of check.reasons) lines.push(`      ${check.name}: ${reason}`)
    }
  }
  for (const check of report.checks) {
    lines.push(`${check.ok ? 'ok  ' : 'FAIL'}  ${check.name}`)
    for (const info of check.info ?? []) lines.push(`      ${info}`)
    for (const reason of check.reasons) lines.push(`      ${reason}`)
  }
  for (const problem of report.problems) lines.push(`FAIL  ${problem.message}`)
  if (report.hashSkipped?.blobs)
    lines.push(`not re-hashed: ${report.hashSkipped.blobs} blob(s), ${formatBytes(report.hashSkipped.bytes)} (${report.hashSkipped.reason})`)
  const rate = report.seconds > 0 ? `, ${formatBytes(report.bytes / report.seconds)}/s` : ''
  lines.push(
    `${report.ok ? 'verified' : 'NOT verified'}: ${report.images.length} image(s), ${report.blobs} blobs, ${formatBytes(report.bytes)} in ${report.seconds.toFixed(1)} s${rate}`,
  )
  return lines
}

export function renderInspect(report: InspectReport): string[] {
  const lines = [`${report.archive}: ${report.images.length} image(s), ${report.blobs} blobs, ${formatBytes(report.bytes)} (airlock ${report.tool.version}, format ${report.formatVersion})`]
  for (const [i, image] of report.images.entries()) {
    const lastImage = i === report.images.length - 1
    lines.push(`${lastImage ? '└─' : '├─'} ${image.reference}  ${short(image.digest)}  ${formatBytes(image.bytes)}${image.attached ? `  (+${image.attached} attached)` : ''}`)
    const pad = lastImage ? '   ' : '│  '
    const omitted = image.omittedPlatforms.length ? [`(not carried: ${image.omittedPlatforms.join(', ')})`] : []
    for (const [j, platform] of image.platforms.entries()) {
      const lastPlatform = j === image.platforms.length - 1 && omitted.length === 0
      lines.push(`${pad}${lastPlatform ? '└─' : '├─'} ${platform.platform}  ${short(platform.manifest.digest)}  ${formatBytes(platform.bytes)}`)
      const pad2 = pad + (lastPlatform ? '   ' : '│  ')
      const leaves = [...(platform.config ? [{...platform.config, kind: 'config'}] : []), ...platform.layers.map((l) => ({...l, kind: 'layer'}))]
      for (const [k, leaf] of leaves.entries()) lines.push(`${pad2}${k === leaves.length - 1 ? '└─' : '├─'} ${leaf.kind} ${short(leaf.digest)}  ${formatBytes(leaf.size)}`)
    }
    for (const line of omitted) lines.push(`${pad}└─ ${line}`)
    for (const sig of image.signatures)
      lines.push(`${pad}   ${sig.role} (${sig.kind === 'legacy-tag' ? 'tag' : 'referrer'}) ${sig.name}  ${short(sig.digest)}  for ${short(sig.subject)}  [not verified by inspect]`)
  }
  for (const exe of report.airlock ?? []) lines.push(`airlock: ${exe.entry}  ${formatBytes(exe.size)}  ${exe.digest}  [not verified by inspect]`)
  if (report.files.length) lines.push(`files: ${report.files.length} (${report.files.slice(0, 3).join(', ')}${report.files.length > 3 ? ', ...' : ''})`)
  return lines
}
