// airlock diff as text lines and as a ReportDocument (diff --report FILE.html|FILE.md). The first line and the
// report's verdict say that nothing was verified: a diff is a change description, never a verification.
import type {ClaimedSigner} from '../diff/claims.ts'
import type {DiffResult, ImageChange, PlatformChange} from '../diff/diff.ts'
import {formatBytes} from '../util/progress.ts'
import {type Block, cell, type ReportDocument, type Section} from './document.ts'
import {printable} from './document.ts'

const short = (digest: string | undefined) => (digest ? digest.slice(0, 19) : '-')

function signer(s: ClaimedSigner): string {
  return s.keyed ? 'a key (no certificate)' : `${s.identity ?? '?'} (issuer ${s.issuer ?? '?'})`
}

function platformLine(p: PlatformChange): string {
  const layers = [
    ...p.layersAdded.map(l => `+${short(l.digest)} ${formatBytes(l.size)}`),
    ...p.layersRemoved.map(l => `-${short(l.digest)} ${formatBytes(l.size)}`),
  ]
  return `${p.platform}: ${p.change}${p.oldDigest && p.newDigest && p.change === 'changed' ? ` ${short(p.oldDigest)} -> ${short(p.newDigest)}` : ''}${p.configChanged && p.change === 'changed' ? ', config changed' : ''}${layers.length ? `; layers ${layers.join(' ')}` : ''}`
}

function changedPlatforms(image: ImageChange): PlatformChange[] {
  return image.platforms.filter(p => p.change !== 'unchanged')
}

export function renderDiff(diff: DiffResult): string[] {
  const t = (s: string) => printable(s)
  const lines = [`NOT VERIFIED: ${diff.notice}`]
  lines.push(
    `old ${t(diff.old.archive)}: ${diff.old.images} images, ${diff.old.blobs} blobs, ${formatBytes(diff.old.bytes)}`,
    `new ${t(diff.new.archive)}: ${diff.new.images} images, ${diff.new.blobs} blobs, ${formatBytes(diff.new.bytes)}`,
  )
  for (const i of diff.imagesAdded)
    lines.push(
      `added    ${t(i.reference)}  ${short(i.digest)}  [${t(i.platforms.join(', '))}]  ${formatBytes(i.bytes)}`,
    )
  for (const i of diff.imagesRemoved) lines.push(`removed  ${t(i.reference)}  ${short(i.digest)}`)
  for (const i of diff.imagesChanged) {
    lines.push(`changed  ${t(i.reference)}  ${short(i.oldDigest)} -> ${short(i.newDigest)}`)
    for (const p of changedPlatforms(i)) lines.push(`         ${t(platformLine(p))}`)
  }
  lines.push(`unchanged: ${diff.imagesUnchanged.length} image(s)`)
  for (const s of diff.signersChanged) {
    for (const a of s.appeared) lines.push(`signer appeared  ${t(s.reference)}: ${t(signer(a))}`)
    for (const g of s.gone) lines.push(`signer gone      ${t(s.reference)}: ${t(signer(g))}`)
  }
  for (const a of diff.attestationsAdded)
    lines.push(`attestation added  ${t(a.reference)}: ${t(a.name)} ${short(a.digest)}`)
  for (const m of diff.tuf)
    lines.push(
      `TUF ${t(m.mirror)}: ${tufText(m.old, ', ')} -> ${tufText(m.new, ', ')}${m.trustedRootChanged ? '; trusted_root.json changed' : '; trusted_root.json unchanged'}`,
    )
  const b = diff.blobs
  lines.push(
    `blobs: ${b.shared} shared (${formatBytes(b.sharedBytes)} the second transfer did not need), ${b.added} new (${formatBytes(b.addedBytes)}), ${b.removed} dropped (${formatBytes(b.removedBytes)})`,
  )
  return lines
}

/** The carried TUF metadata versions of one side, joined by `sep`. */
function tufText(x: DiffResult['tuf'][number]['old'], sep: string): string {
  return x
    ? [
        `root v${x.rootVersion ?? '?'}`,
        `timestamp v${x.timestampVersion ?? '?'}`,
        `snapshot v${x.snapshotVersion ?? '?'}`,
        `targets v${x.targetsVersion ?? '?'}`,
      ].join(sep)
    : 'not carried'
}

type TableRow = Extract<Block, {kind: 'table'}>['rows'][number]

/** A section holding one table, or the line `none` when the table would have no row. */
function tableSection(heading: string, columns: string[], rows: TableRow[], none: string): Section {
  return {heading, blocks: rows.length ? [{kind: 'table', columns, rows}] : [{kind: 'text', text: none}]}
}

export function diffDocument(diff: DiffResult, written: {at: string; host: string; version: string}): ReportDocument {
  const changes = diff.imagesAdded.length + diff.imagesRemoved.length + diff.imagesChanged.length
  const sections: Section[] = [
    {
      heading: 'Archives',
      blocks: [
        {
          kind: 'table',
          columns: ['', 'Archive', 'Images', 'Blobs', 'Size', 'Exported at', 'Exported by'],
          rows: (['old', 'new'] as const).map(side => {
            const a = diff[side]
            return {
              cells: [
                side,
                cell(a.archive, {code: true}),
                String(a.images),
                String(a.blobs),
                formatBytes(a.bytes),
                a.exportedAt ?? '-',
                `${a.tool.name} ${a.tool.version}`,
              ],
            }
          }),
        },
      ],
    },
    {
      heading: 'Images',
      blocks: [
        {
          kind: 'table',
          columns: ['Change', 'Image', 'Old digest', 'New digest', 'Platforms'],
          rows: [
            ...diff.imagesChanged.map(i => ({
              tone: 'warn' as const,
              cells: [
                cell('changed', {tone: 'warn'}),
                i.reference,
                cell(i.oldDigest, {code: true}),
                cell(i.newDigest, {code: true}),
                i.platforms.map(p => `${p.platform}: ${p.change}`).join(', '),
              ],
            })),
            ...diff.imagesAdded.map(i => ({
              cells: ['added', i.reference, '-', cell(i.digest, {code: true}), i.platforms.join(', ')],
            })),
            ...diff.imagesRemoved.map(i => ({
              cells: ['removed', i.reference, cell(i.digest, {code: true}), '-', i.platforms.join(', ')],
            })),
          ],
        },
        {kind: 'text', text: `${diff.imagesUnchanged.length} image(s) unchanged.`},
      ],
      sections: diff.imagesChanged.map(i => ({
        heading: `${i.reference}: changed layers`,
        blocks: [
          {
            kind: 'table',
            columns: ['Platform', 'Change', 'Layer', 'Size'],
            rows: changedPlatforms(i).flatMap(p => [
              {cells: [p.platform, `${p.change}${p.configChanged ? ' (config changed)' : ''}`, '-', '-']},
              ...p.layersAdded.map(l => ({
                cells: [p.platform, 'layer added', cell(l.digest, {code: true}), formatBytes(l.size)],
              })),
              ...p.layersRemoved.map(l => ({
                cells: [p.platform, 'layer removed', cell(l.digest, {code: true}), formatBytes(l.size)],
              })),
            ]),
          },
        ],
      })),
    },
    tableSection(
      'Signers (as the certificates claim them, not verified)',
      ['Image', 'Change', 'Signer'],
      diff.signersChanged.flatMap(s => [
        ...s.appeared.map(a => ({cells: [s.reference, 'appeared', signer(a)]})),
        ...s.gone.map(g => ({cells: [s.reference, 'gone', signer(g)]})),
      ]),
      'No signer appeared or disappeared.',
    ),
    tableSection(
      'Attestations added',
      ['Image', 'Kind', 'Name', 'Digest'],
      diff.attestationsAdded.map(a => ({cells: [a.reference, a.kind, a.name, cell(a.digest, {code: true})]})),
      'None.',
    ),
    tableSection(
      'Trust material (TUF versions as carried, not verified)',
      ['Mirror', 'Old', 'New', 'trusted_root.json'],
      diff.tuf.map(m => ({
        ...(m.trustedRootChanged ? {tone: 'warn' as const} : {}),
        cells: [
          m.mirror,
          tufText(m.old, ' · '),
          tufText(m.new, ' · '),
          m.trustedRootChanged
            ? cell(`changed: ${m.old?.trustedRootSha256 ?? 'none'} -> ${m.new?.trustedRootSha256 ?? 'none'}`, {
                tone: 'warn',
              })
            : 'unchanged',
        ],
      })),
      'Neither archive carries TUF metadata.',
    ),
    {
      heading: 'Blobs',
      blocks: [
        {
          kind: 'fields',
          rows: [
            {
              label: 'Shared (not needed again)',
              value: `${diff.blobs.shared} blobs, ${formatBytes(diff.blobs.sharedBytes)}`,
            },
            {label: 'New', value: `${diff.blobs.added} blobs, ${formatBytes(diff.blobs.addedBytes)}`},
            {label: 'Dropped', value: `${diff.blobs.removed} blobs, ${formatBytes(diff.blobs.removedBytes)}`},
          ],
        },
      ],
    },
  ]
  return {
    title: `airlock diff: ${diff.old.archive} -> ${diff.new.archive}`,
    verdict: {
      tone: 'warn',
      headline: `NOT VERIFIED: ${changes} image change(s)`,
      lines: [diff.notice],
    },
    sections,
    footer: `Written by airlock ${written.version} on ${written.host} at ${written.at}.`,
  }
}
