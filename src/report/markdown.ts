// A ReportDocument as Markdown for change tickets (GitHub, GitLab, Jira's Markdown). Every string is escaped: HTML
// is written as entities (a Markdown viewer renders inline HTML), Markdown punctuation is backslash-escaped so an
// archive cannot add links, images or table columns, and each value stays on one line.
import {printable, type Block, type Cell, type ReportDocument, type Section} from './document.ts'

export function escapeMarkdown(text: string): string {
  return printable(text)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/[\\`*_{}[\]()#!|~]/g, c => `\\${c}`)
    .replace(/^([+-])/, '\\$1')
    .replace(/^(\d+)([.)])/, '$1\\$2')
}

/** Code spans cannot hold escapes: digests and paths go in one only when they cannot break out of it. */
function code(text: string): string {
  const safe = printable(text)
  return /^[A-Za-z0-9:._/@+=,-]*$/.test(safe) && safe !== '' ? `\`${safe}\`` : escapeMarkdown(safe)
}

const MARKS = {ok: '✅ ', fail: '❌ ', warn: '⚠️ ', info: ''} as const

function renderCell(value: string | Cell): string {
  if (typeof value === 'string') return escapeMarkdown(value)
  const body = value.code ? code(value.text) : escapeMarkdown(value.text)
  return `${value.tone ? MARKS[value.tone] : ''}${value.tone === 'fail' ? `**${body}**` : body}`
}

function renderBlock(block: Block): string[] {
  switch (block.kind) {
    case 'fields':
      return [...block.rows.map(r => `- **${escapeMarkdown(r.label)}:** ${renderCell(r.value)}`), '']
    case 'table':
      return [
        `| ${block.columns.map(escapeMarkdown).join(' | ')} |`,
        `|${block.columns.map(() => ' --- |').join('')}`,
        ...block.rows.map(r => `| ${r.cells.map(renderCell).join(' | ')} |`),
        '',
      ]
    case 'list':
      return [...block.items.map(i => `- ${renderCell(i)}`), '']
    case 'text':
      return [`${block.tone ? MARKS[block.tone] : ''}${escapeMarkdown(block.text)}`, '']
  }
}

function renderSection(section: Section, level: number): string[] {
  return [
    `${'#'.repeat(level)} ${section.tone ? MARKS[section.tone] : ''}${escapeMarkdown(section.heading)}`,
    '',
    ...section.blocks.flatMap(renderBlock),
    ...(section.sections ?? []).flatMap(s => renderSection(s, level + 1)),
  ]
}

export function renderMarkdown(doc: ReportDocument): string {
  const v = doc.verdict
  return [
    `# ${escapeMarkdown(doc.title)}`,
    '',
    `> ${MARKS[v.tone]}**${escapeMarkdown(v.headline)}**`,
    ...v.lines.flatMap(l => ['>', `> ${escapeMarkdown(l)}`]),
    '',
    ...doc.sections.flatMap(s => renderSection(s, 2)),
    '---',
    '',
    escapeMarkdown(doc.footer),
    '',
  ].join('\n')
}
