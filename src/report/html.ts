// A ReportDocument as one self-contained HTML page: inline CSS (screen and A4 print rules), no script, no external
// font, image or stylesheet, and a Content-Security-Policy that forbids loading anything even if markup slipped
// through. Every string is escaped: the content is written by whoever made the archive.
import {cellText, printable, type Block, type Cell, type ReportDocument, type Section, type Tone} from './document.ts'

const ESCAPES: Record<string, string> = {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}

export function escapeHtml(text: string): string {
  return printable(text).replace(/[&<>"']/g, c => ESCAPES[c]!)
}

const STYLE = `
:root{--ok:#1a7f37;--fail:#c62828;--warn:#9a6700;--line:#d0d7de;--muted:#57606a}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#1f2328;margin:24px auto;max-width:1100px;padding:0 16px}
h1{font-size:22px;margin:0 0 12px}
h1,h2,h3{overflow-wrap:anywhere}
h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}
h3{font-size:15px;margin:18px 0 6px}
code,.code{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,monospace;font-size:12px;overflow-wrap:anywhere}
.verdict{border:2px solid;border-radius:6px;padding:12px 16px;margin:0 0 16px}
.verdict p{margin:4px 0}
.verdict .headline{font-size:18px;font-weight:700;margin:0 0 6px}
.tone-ok{color:var(--ok)}.tone-fail{color:var(--fail)}.tone-warn{color:var(--warn)}
.verdict.tone-ok{border-color:var(--ok);background:#f0fff4}
.verdict.tone-fail{border-color:var(--fail);background:#fff5f5}
.verdict.tone-warn{border-color:var(--warn);background:#fff8e1}
.verdict.tone-info{border-color:var(--line)}
.verdict p:not(.headline){color:#1f2328}
table{border-collapse:collapse;width:100%;margin:6px 0 10px}
th,td{border:1px solid var(--line);padding:4px 6px;text-align:left;vertical-align:top;overflow-wrap:break-word}
td code{word-break:break-all}
td:has(code){min-width:15em}
th,td.tone-ok,td.tone-fail,td.tone-warn{white-space:nowrap}
td:first-child{min-width:7em}
th{background:#f6f8fa}
table.fields th{width:22%;white-space:nowrap}
tr.tone-fail td:first-child{border-left:4px solid var(--fail)}
tr.tone-ok td:first-child{border-left:4px solid var(--ok)}
tr.tone-warn td:first-child{border-left:4px solid var(--warn)}
tr.tone-ok,tr.tone-fail,tr.tone-warn{color:inherit}
td.tone-ok,td.tone-fail,td.tone-warn{font-weight:600}
ul{margin:4px 0 10px;padding-left:22px}
section section{content-visibility:auto;contain-intrinsic-size:auto 500px}
footer{margin-top:28px;color:var(--muted);font-size:12px;border-top:1px solid var(--line);padding-top:6px}
@page{size:A4;margin:14mm 12mm}
@media print{
 body{margin:0;max-width:none;padding:0;font-size:10pt}
 h2{break-after:avoid;page-break-after:avoid}
 h3{break-after:avoid;page-break-after:avoid}
 table{font-size:8.5pt;table-layout:fixed}
 th,td{overflow-wrap:anywhere;white-space:normal!important}
 td:first-child,td:has(code){min-width:0}
 tr,.verdict{break-inside:avoid;page-break-inside:avoid}
 thead{display:table-header-group}
 .verdict{background:none!important}
 code,.code{font-size:8pt}
 section section{content-visibility:visible}
}
`

function toneClass(tone: Tone | undefined): string {
  return tone ? ` class="tone-${tone}"` : ''
}

function renderCell(value: string | Cell, tag: 'td' | 'th' = 'td'): string {
  const tone = typeof value === 'string' ? undefined : value.tone
  const text = escapeHtml(cellText(value))
  const body = typeof value !== 'string' && value.code ? `<code>${text}</code>` : text
  return `<${tag}${toneClass(tone)}>${body}</${tag}>`
}

function renderBlock(block: Block): string {
  switch (block.kind) {
    case 'fields':
      return `<table class="fields"><tbody>${block.rows
        .map(r => `<tr><th scope="row">${escapeHtml(r.label)}</th>${renderCell(r.value)}</tr>`)
        .join('')}</tbody></table>`
    case 'table':
      return `<table><thead><tr>${block.columns.map(c => `<th scope="col">${escapeHtml(c)}</th>`).join('')}</tr></thead><tbody>${block.rows
        .map(r => `<tr${toneClass(r.tone)}>${r.cells.map(c => renderCell(c)).join('')}</tr>`)
        .join('\n')}</tbody></table>`
    case 'list':
      return `<ul>${block.items
        .map(i => {
          const tone = typeof i === 'string' ? undefined : i.tone
          return `<li${toneClass(tone)}>${escapeHtml(cellText(i))}</li>`
        })
        .join('')}</ul>`
    case 'text':
      return `<p${toneClass(block.tone)}>${escapeHtml(block.text)}</p>`
  }
}

function renderSection(section: Section, level: 2 | 3): string {
  const inner = (section.sections ?? []).map(s => renderSection(s, 3)).join('\n')
  return `<section><h${level}${toneClass(section.tone)}>${escapeHtml(section.heading)}</h${level}>\n${section.blocks
    .map(renderBlock)
    .join('\n')}\n${inner}</section>`
}

export function renderHtml(doc: ReportDocument): string {
  const v = doc.verdict
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    // Nothing may load from anywhere: no scripts, no fetches, no images other than inline data (none are used).
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(doc.title)}</title>`,
    `<style>${STYLE}</style></head><body>`,
    `<h1>${escapeHtml(doc.title)}</h1>`,
    `<div class="verdict tone-${v.tone}" id="verdict" data-tone="${v.tone}"><p class="headline tone-${v.tone}">${escapeHtml(v.headline)}</p>${v.lines
      .map(l => `<p>${escapeHtml(l)}</p>`)
      .join('')}</div>`,
    ...doc.sections.map(s => renderSection(s, 2)),
    `<footer>${escapeHtml(doc.footer)}</footer>`,
    '</body></html>',
    '',
  ].join('\n')
}
