// Scores of the committed mutation reports, as the tables in docs/MUTATION.md show them: per file and per folder,
// from reports/mutation/<folder>.json (or, after an interrupted run, the partial <folder>.incremental.json, which
// Stryker saves on SIGINT). `node scripts/mutation/summary.ts archive [--incremental] [--survivors] [--by-line]
// [--files a.ts,b.ts]`: --by-line prints the survivors one line of source each (how many, which mutators), the form
// the survivor list of docs/MUTATION.md is written from. `--instrumented N` (the count Stryker logs as "Instrumented
// 19 source file(s) with N mutant(s)"): also the worst case over the whole folder, every mutant without a row in the
// report (not judged yet) counted as survived; static mutants with an "Ignored" row stay outside the score.
import {readFileSync} from 'node:fs'

interface Mutant {
  mutatorName: string
  replacement?: string
  status: string
  location: {start: {line: number; column: number}}
}
interface Report {
  files: Record<string, {mutants: Mutant[]; source: string}>
}

const args = process.argv.slice(2)
const folder = args.find(a => !a.startsWith('--'))
if (!folder) throw new Error('usage: summary.ts <folder> [--incremental] [--survivors] [--files a.ts,b.ts]')
const incremental = args.includes('--incremental')
const filesArg = args[args.indexOf('--files') + 1]
const only =
  args.includes('--files') && filesArg ? new Set(filesArg.split(',').map(f => `src/${folder}/${f}`)) : undefined
const report = JSON.parse(
  readFileSync(`reports/mutation/${folder}${incremental ? '.incremental' : ''}.json`, 'utf8'),
) as Report

const STATUSES = ['Killed', 'Timeout', 'Survived', 'NoCoverage', 'Ignored'] as const
type Counts = Record<(typeof STATUSES)[number], number>
const zero = (): Counts => ({Killed: 0, Timeout: 0, Survived: 0, NoCoverage: 0, Ignored: 0})
const score = (c: Counts) => {
  const judged = c.Killed + c.Timeout + c.Survived + c.NoCoverage
  return judged === 0 ? 'n/a' : `${((100 * (c.Killed + c.Timeout)) / judged).toFixed(1)} %`
}
const row = (name: string, c: Counts) =>
  `| ${name} | ${score(c)} | ${c.Killed} | ${c.Timeout} | ${c.Survived} | ${c.NoCoverage} | ${c.Ignored} |`

const total = zero()
const lines = [
  '| file | score | killed | timeout | survived | no coverage | ignored (static) |',
  '|---|---|---|---|---|---|---|',
]
const survivors: string[] = []
/** file:line -> survivors of that line (--by-line) */
const byLine = new Map<string, {file: string; line: number; text: string; what: string[]}>()
for (const [file, {mutants, source}] of Object.entries(report.files).sort(([a], [b]) => a.localeCompare(b))) {
  if (only && !only.has(file)) continue
  const c = zero()
  const text = source.split('\n')
  for (const m of mutants) {
    if (m.status in c) c[m.status as keyof Counts]++
    if (m.status === 'Survived' || m.status === 'NoCoverage') {
      const line = m.location.start.line
      const key = `${file}:${line}`
      const entry = byLine.get(key) ?? {file, line, text: text[line - 1]?.trim().slice(0, 90) ?? '', what: []}
      entry.what.push(`${m.status === 'NoCoverage' ? 'nocov ' : ''}${m.mutatorName}`)
      byLine.set(key, entry)
      survivors.push(
        `${file}:${line} ${m.status} ${m.mutatorName} -> ${JSON.stringify((m.replacement ?? '').slice(0, 60))} | ${text[line - 1]?.trim().slice(0, 100)}`,
      )
    }
  }
  for (const s of STATUSES) total[s] += c[s]
  lines.push(row(file, c))
}
lines.push(row(`**src/${folder}**`, total))
console.log(lines.join('\n'))
const instrumented = args.includes('--instrumented') ? Number(args[args.indexOf('--instrumented') + 1]) : undefined
if (instrumented !== undefined) {
  const rows = STATUSES.reduce((sum, s) => sum + total[s], 0)
  const scored = instrumented - total.Ignored
  console.log(
    `\n${instrumented} mutants, ${rows} with a row, ${instrumented - rows} not judged; worst case over the whole folder: ` +
      `${total.Killed + total.Timeout} / ${scored} = ${((100 * (total.Killed + total.Timeout)) / scored).toFixed(1)} %`,
  )
}
if (args.includes('--survivors')) console.log(`\n${survivors.join('\n')}`)
if (args.includes('--by-line')) {
  console.log('')
  for (const {file, line, text, what} of byLine.values())
    console.log(`${file}:${line} (${what.length}: ${[...new Set(what)].join(', ')}) | ${text}`)
}
