// verify --report: the verify report model (plus where, when and under which policy it ran) as a ReportDocument an
// auditor files. Failures come first: the verdict says so at the top, failed images and checks lead their lists.
// Nothing here decides anything; it shows what verify judged, including the signers' own words (escaped later).
import type {CheckReport, ImageReport, VerifyReport} from '../verify/report-model.ts'
import type {ImageJudgement} from '../sigstore/judge.ts'
import type {TufReport} from '../trust/verify.ts'
import type {TrustedRootFileReport} from '../trust/trusted-root-file.ts'
import {graceText} from '../trust/expiry.ts'
import type {Grace} from '../trust/expiry.ts'
import {cell, type Block, type Cell, type ReportDocument, type Section, type Tone} from './document.ts'
import {formatBytes} from '../util/progress.ts'

/** The forecast's shape (src/trust/forecast.ts, issue 16 item 2), read when the model carries `trust.forecast`. */
export interface ForecastView {
  basis: string
  strictUntil: string | null
  graceUntil: string | null
  limitedBy: string | null
  noExpiry: string[]
  summary: string
}

export type PolicySource =
  | {kind: 'file'; file: string; sha256: string}
  | {kind: 'flags'; flags: string[]}
  | {kind: 'none'; reason: string}

export interface VerifyEvidence {
  report: VerifyReport & {trust?: {forecast?: ForecastView}}
  archive: {path: string; sha256?: string; size?: number}
  verifiedAt: string
  host: string
  airlock: {version: string; commit?: string}
  policy: PolicySource
  signaturesChecked: boolean
  notes: string[]
}

/** Why verify could not produce a report model at all (damaged archive, trust failure): still filed. */
export interface VerifyAbort {
  archive: {path: string; sha256?: string; size?: number}
  verifiedAt: string
  host: string
  airlock: {version: string; commit?: string}
  policy: PolicySource
  error: {code: string; message: string; hint?: string}
}

export interface SignerRow {
  subject: string
  role: string
  source: string
  identity: string
  issuer: string
  logIndex: string
  integratedTime: string
  ok: boolean
  checks: Array<{name: string; status: string; reason?: string}>
  failure?: string
}

function outcome(check: CheckReport): Cell {
  if (check.skipped) return cell('skipped', {tone: 'warn'})
  return check.ok ? cell('pass', {tone: 'ok'}) : cell('FAIL', {tone: 'fail'})
}

/** The signatures verify examined for an image, from the signatures check's details (ImageJudgement). */
export function signerRows(image: ImageReport): SignerRow[] {
  const check = image.checks.find(c => c.name === 'signatures')
  const judgement = check?.details as Partial<ImageJudgement> | undefined
  if (!judgement || !Array.isArray(judgement.subjects)) return []
  return judgement.subjects.flatMap(subject =>
    (subject.results ?? []).map(r => ({
      subject: subject.subjectDigest,
      role: r.role,
      source: r.source ?? r.kind,
      identity: r.signer.keyed ? 'the policy key' : (r.signer.identity ?? '-'),
      issuer: r.signer.keyed ? '-' : (r.signer.issuer ?? '-'),
      logIndex: r.tlog.map(t => t.logIndex).join(', ') || '-',
      integratedTime: r.tlog.map(t => t.integratedTime ?? '').find(t => t !== '') ?? '-',
      ok: r.ok,
      checks: r.checks.map(c => ({name: c.name, status: c.status, ...(c.reason ? {reason: c.reason} : {})})),
      ...(r.failure ? {failure: `${r.failure.check}: ${r.failure.reason}`} : {}),
    })),
  )
}

function checkRows(checks: CheckReport[]): Array<{cells: Array<string | Cell>; tone?: Tone}> {
  // Failures first, then skipped, then passes; each keeps its order otherwise.
  const rank = (c: CheckReport) => (c.skipped ? 1 : c.ok ? 2 : 0)
  return [...checks]
    .sort((a, b) => rank(a) - rank(b))
    .map(c => ({
      tone: c.skipped ? 'warn' : c.ok ? 'ok' : 'fail',
      cells: [
        c.name,
        outcome(c),
        [...(c.skipped ? [c.skipped] : []), ...c.reasons, ...(c.info ?? [])].join('; ') || '-',
      ],
    }))
}

/** Distinct values of the passing signatures, joined (three signatures by one signer name it once). */
function verifiedList(signers: SignerRow[], field: 'identity' | 'issuer' | 'logIndex' | 'integratedTime'): string {
  return [...new Set(signers.filter(s => s.ok).map(s => s[field]))].join(', ') || '-'
}

function imageSection(image: ImageReport): Section {
  const signers = signerRows(image)
  const blocks: Block[] = [
    {
      kind: 'fields',
      rows: [
        {label: 'Outcome', value: image.ok ? cell('passed', {tone: 'ok'}) : cell('FAILED', {tone: 'fail'})},
        {label: 'Digest', value: cell(image.digest, {code: true})},
        {label: 'Media type', value: image.mediaType},
        {label: 'Platforms', value: image.platforms.map(p => p.platform).join(', ') || '-'},
        ...(image.omittedPlatforms.length
          ? [{label: 'Left out at export', value: image.omittedPlatforms.join(', ')}]
          : []),
        {label: 'Size', value: formatBytes(image.bytes)},
        {label: 'Signer', value: verifiedList(signers, 'identity')},
        {label: 'Issuer', value: verifiedList(signers, 'issuer')},
        {label: 'Log index', value: verifiedList(signers, 'logIndex')},
        {label: 'Log time', value: verifiedList(signers, 'integratedTime')},
      ],
    },
    {kind: 'table', columns: ['Check', 'Outcome', 'Detail'], rows: checkRows(image.checks)},
  ]
  if (signers.length > 0)
    blocks.push({
      kind: 'table',
      columns: [
        'Signature',
        'Signer',
        'Log index',
        'Outcome',
        'Checks passed',
        'Checks failed, skipped or not applicable',
      ],
      rows: [...signers]
        .sort((a, b) => Number(a.ok) - Number(b.ok))
        .map(s => ({
          tone: s.ok ? 'ok' : 'fail',
          cells: [
            `${s.role} ${s.source}`,
            `${s.identity} (${s.issuer})`,
            s.logIndex,
            s.ok ? cell('pass', {tone: 'ok'}) : cell('FAIL', {tone: 'fail'}),
            s.checks
              .filter(c => c.status === 'pass')
              .map(c => c.name)
              .join(', ') || '-',
            s.checks
              .filter(c => c.status !== 'pass')
              .map(c => `${c.name}: ${c.status}${c.reason ? ` (${c.reason})` : ''}`)
              .join('; ') || '-',
          ],
        })),
    })
  return {heading: image.reference, tone: image.ok ? 'ok' : 'fail', blocks}
}

function tufFields(r: TufReport): Section {
  return {
    heading: `TUF mirror ${r.mirror}`,
    blocks: [
      {
        kind: 'fields',
        rows: [
          {label: 'Mirror', value: r.mirror},
          {label: 'Pinned root', value: `v${r.pinnedRootVersion} (fingerprint ${r.pinnedRootFingerprint})`},
          {label: 'Root reached', value: `v${r.rootVersion}`},
          {
            label: 'Timestamp / snapshot / targets',
            value: `v${r.timestampVersion} / v${r.snapshotVersion} / v${r.targetsVersion}`,
          },
          {
            label: 'trusted_root.json sha256',
            value: cell(r.targetHashes['trusted_root.json'] ?? '-', {code: true}),
          },
          {label: 'Grace allowed', value: graceText(r.grace as Grace)},
          {
            label: 'Grace used',
            value: r.graceUsed ? cell(`yes, by ${r.graceRoles.join(', ')}`, {tone: 'warn'}) : 'no',
          },
          {label: 'Metadata age', value: r.ageNote},
          {label: 'Judged at', value: r.now},
        ],
      },
      {
        kind: 'table',
        columns: ['Role', 'Expires'],
        rows: Object.entries(r.expiries).map(([role, at]) => ({cells: [role, at]})),
      },
    ],
  }
}

function trustSection(evidence: VerifyEvidence): Section {
  const check = evidence.report.checks.find(c => c.name === 'trust')
  const details = check?.details as
    | {
        sources?: Array<{kind: string; name: string; report: TufReport | TrustedRootFileReport}>
        grace?: Grace
        skipped?: Array<{mirror: string; reason: string}>
      }
    | undefined
  const sections: Section[] = []
  const rows: Array<{label: string; value: string | Cell}> = []
  if (!check) rows.push({label: 'Trust', value: 'not checked'})
  else rows.push({label: 'Outcome', value: outcome(check)})
  if (details?.grace !== undefined) rows.push({label: 'Grace policy', value: graceText(details.grace)})
  for (const line of check?.reasons ?? []) rows.push({label: 'Reason', value: cell(line, {tone: 'fail'})})
  for (const line of check?.info ?? []) rows.push({label: 'Source', value: line})
  for (const s of details?.skipped ?? []) rows.push({label: 'Mirror not used', value: `${s.mirror}: ${s.reason}`})
  for (const source of details?.sources ?? []) {
    if (source.report.source === 'tuf') sections.push(tufFields(source.report))
    else
      sections.push({
        heading: `Trusted root file ${source.report.path}`,
        tone: 'warn',
        blocks: [
          {
            kind: 'fields',
            rows: [
              {label: 'File', value: cell(source.report.path, {code: true})},
              {label: 'sha256', value: cell(source.report.sha256, {code: true})},
              {
                label: 'Through TUF',
                value: cell('no: given with --trusted-root, not verified through TUF', {tone: 'warn'}),
              },
            ],
          },
        ],
      })
  }
  const forecast = evidence.report.trust?.forecast
  if (forecast)
    sections.push({
      heading: 'Forecast',
      blocks: [
        {
          kind: 'fields',
          rows: [
            {label: 'Summary', value: forecast.summary},
            {label: 'Basis', value: forecast.basis},
            {label: 'Verifies strictly until', value: forecast.strictUntil ?? 'no expiry applies'},
            {label: 'Within the grace period until', value: forecast.graceUntil ?? 'no expiry applies'},
            {label: 'Limited by', value: forecast.limitedBy ?? '-'},
            {label: 'Inputs without expiry', value: forecast.noExpiry.join(', ') || '-'},
          ],
        },
      ],
    })
  return {
    heading: 'Trust chain',
    ...(check ? {tone: check.ok ? 'ok' : 'fail'} : {}),
    blocks: [{kind: 'fields', rows}],
    sections,
  }
}

function policyBlock(policy: PolicySource): Block {
  switch (policy.kind) {
    case 'file':
      return {
        kind: 'fields',
        rows: [
          {label: 'Policy file', value: cell(policy.file, {code: true})},
          {label: 'sha256', value: cell(policy.sha256, {code: true})},
        ],
      }
    case 'flags':
      return {kind: 'fields', rows: [{label: 'Policy flags', value: cell(policy.flags.join(' '), {code: true})}]}
    case 'none':
      return {kind: 'text', text: policy.reason, tone: 'warn'}
  }
}

function archiveRows(evidence: {
  archive: VerifyEvidence['archive']
  verifiedAt: string
  host: string
  airlock: VerifyEvidence['airlock']
}): Array<{label: string; value: string | Cell}> {
  return [
    {label: 'Archive', value: cell(evidence.archive.path, {code: true})},
    {
      label: 'sha256',
      value: cell(evidence.archive.sha256 ?? 'not computed (the file could not be read)', {code: true}),
    },
    {
      label: 'Size',
      value:
        evidence.archive.size === undefined
          ? '-'
          : `${formatBytes(evidence.archive.size)} (${evidence.archive.size} bytes)`,
    },
    {label: 'Verified at', value: evidence.verifiedAt},
    {label: 'Verified on (host)', value: evidence.host},
    {
      label: 'airlock version',
      value: `${evidence.airlock.version}${evidence.airlock.commit ? ` (${evidence.airlock.commit})` : ''}`,
    },
  ]
}

export function verifyDocument(evidence: VerifyEvidence): ReportDocument {
  const {report} = evidence
  const failed = report.images.filter(i => !i.ok)
  const failedChecks = report.checks.filter(c => !c.ok && !c.skipped)
  const tone: Tone = !report.ok ? 'fail' : evidence.signaturesChecked ? 'ok' : 'warn'
  const headline = !report.ok
    ? 'VERIFICATION FAILED'
    : evidence.signaturesChecked
      ? 'Verified: integrity, trust and signatures passed'
      : 'Integrity verified; signatures and policy were NOT checked'
  const lines = [
    `${report.images.length} image(s), ${failed.length} failed; ${report.blobs} blobs, ${formatBytes(report.bytes)} checked in ${report.seconds.toFixed(1)} s`,
    ...(report.problems.length ? [`${report.problems.length} archive problem(s)`] : []),
    ...failedChecks.map(c => `${c.name} check failed: ${c.reasons[0] ?? ''}`),
    ...evidence.notes,
  ]
  const failures: string[] = [
    ...report.problems.map(p => `${p.entry ? `${p.entry}: ` : ''}${p.message}`),
    ...failedChecks.flatMap(c => c.reasons.map(r => `${c.name}: ${r}`)),
    ...failed.flatMap(i =>
      i.checks.filter(c => !c.ok && !c.skipped).flatMap(c => c.reasons.map(r => `${i.reference}: ${c.name}: ${r}`)),
    ),
  ]
  const images = [...failed, ...report.images.filter(i => i.ok)]
  const sections: Section[] = []
  if (failures.length)
    sections.push({
      heading: 'Failures',
      tone: 'fail',
      blocks: [{kind: 'list', items: failures.map(f => cell(f, {tone: 'fail'}))}],
    })
  sections.push({heading: 'Archive', blocks: [{kind: 'fields', rows: archiveRows(evidence)}]})
  sections.push(trustSection(evidence))
  sections.push({heading: 'Policy', blocks: [policyBlock(evidence.policy)]})
  sections.push({
    heading: 'Images',
    blocks: [
      {
        kind: 'table',
        columns: ['Outcome', 'Image', 'Digest', 'Platforms', 'Signer', 'Issuer', 'Log index', 'Log time'],
        rows: images.map(image => {
          const signers = signerRows(image)
          return {
            tone: image.ok ? 'ok' : 'fail',
            cells: [
              image.ok ? cell('passed', {tone: 'ok'}) : cell('FAILED', {tone: 'fail'}),
              image.reference,
              cell(image.digest, {code: true}),
              image.platforms.map(p => p.platform).join(', ') || '-',
              verifiedList(signers, 'identity'),
              verifiedList(signers, 'issuer'),
              verifiedList(signers, 'logIndex'),
              verifiedList(signers, 'integratedTime'),
            ],
          }
        }),
      },
    ],
    sections: images.map(imageSection),
  })
  if (report.checks.length)
    sections.push({
      heading: 'Archive checks',
      blocks: [{kind: 'table', columns: ['Check', 'Outcome', 'Detail'], rows: checkRows(report.checks)}],
    })
  return {
    title: `airlock verification report: ${evidence.archive.path}`,
    verdict: {tone, headline, lines},
    sections,
    footer: `Written by airlock ${evidence.airlock.version} on ${evidence.host} at ${evidence.verifiedAt}.`,
  }
}

/** The report when verify stopped before judging (the archive could not be read, trust failed): it says so. */
export function abortedDocument(abort: VerifyAbort): ReportDocument {
  return {
    title: `airlock verification report: ${abort.archive.path}`,
    verdict: {
      tone: 'fail',
      headline: 'VERIFICATION FAILED',
      lines: [
        `verification stopped: ${abort.error.message}`,
        ...(abort.error.hint ? [`hint: ${abort.error.hint}`] : []),
      ],
    },
    sections: [
      {
        heading: 'Failures',
        tone: 'fail',
        blocks: [{kind: 'list', items: [cell(`${abort.error.code}: ${abort.error.message}`, {tone: 'fail'})]}],
      },
      {heading: 'Archive', blocks: [{kind: 'fields', rows: archiveRows(abort)}]},
      {heading: 'Policy', blocks: [policyBlock(abort.policy)]},
      {
        heading: 'Images',
        blocks: [{kind: 'text', text: 'No image was judged: verification stopped first.', tone: 'fail'}],
      },
    ],
    footer: `Written by airlock ${abort.airlock.version} on ${abort.host} at ${abort.verifiedAt}.`,
  }
}
