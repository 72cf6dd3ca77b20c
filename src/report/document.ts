// The shape both file reports share (verify --report, diff --report): a verdict, then sections of fields, tables
// and lists. Builders (evidence.ts, diff) fill it from their models; html.ts and markdown.ts render it. Every string
// in it is plain text, never markup: the renderers escape all of it, since most of it comes from an archive.

/** How a row, cell or verdict reads: passed, failed, needs attention, or neutral. */
export type Tone = 'ok' | 'fail' | 'warn' | 'info'

export interface Cell {
  text: string
  tone?: Tone
  /** Rendered as code (digests, paths). */
  code?: boolean
}

export type Block =
  | {kind: 'fields'; rows: Array<{label: string; value: string | Cell}>}
  | {kind: 'table'; columns: string[]; rows: Array<{cells: Array<string | Cell>; tone?: Tone}>}
  | {kind: 'list'; items: Array<string | Cell>}
  | {kind: 'text'; text: string; tone?: Tone}

export interface Section {
  heading: string
  tone?: Tone
  blocks: Block[]
  sections?: Section[]
}

export interface ReportDocument {
  title: string
  verdict: {tone: Tone; headline: string; lines: string[]}
  sections: Section[]
  /** Last line of the page: which tool wrote it and when. */
  footer: string
}

export function cell(text: string, options: Omit<Cell, 'text'> = {}): Cell {
  return {text, ...options}
}

export function cellText(value: string | Cell): string {
  return typeof value === 'string' ? value : value.text
}

/**
 * Archive-written text made safe to show as one line: control characters, line and paragraph separators and the
 * Unicode bidirectional overrides (which can make `evil.example/a` display as something else) become U+FFFD.
 */
export function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, '\ufffd')
}
