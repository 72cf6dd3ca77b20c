// Progress on stderr. On a terminal: one redrawn line (what is being worked on, bytes done of the total, percent,
// rate, ETA). Without a terminal (CI logs, pipes): a plain line every few seconds while long work runs, nothing for
// short work. Nothing at all under --json or --quiet.
import type {WriteStream} from 'node:tty'

export function formatBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB']
  let value = n
  let unit = 0
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000
    unit++
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?'
  const s = Math.round(seconds)
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
}

/** Width used when a terminal reports no size (0 columns: some serial consoles, `stty cols 0`). */
const FALLBACK_COLUMNS = 80
const REDRAW_MS = 200
const PLAIN_EVERY_MS = 5000

export interface ProgressOptions {
  enabled: boolean
  out?: NodeJS.WritableStream
  /** Bytes expected in all, when known: percent and ETA are shown then. */
  total?: number
  /** The total may still grow (export: more graphs and signatures are discovered as it goes): "of at least". */
  growing?: boolean
  /** How often a plain (non-terminal) line is written while work goes on. */
  plainEveryMs?: number
}

export class Progress {
  private readonly out: NodeJS.WritableStream & Partial<Pick<WriteStream, 'isTTY' | 'columns'>>
  private readonly enabled: boolean
  private readonly plainEveryMs: number
  private started = performance.now()
  private done = 0
  private total: number | undefined
  private growing: boolean
  private label = ''
  private lastDraw = 0
  private lastPlain: number
  private drawn = false

  constructor(options: ProgressOptions) {
    this.enabled = options.enabled
    this.out = (options.out ?? process.stderr) as Progress['out']
    this.total = options.total
    this.growing = options.growing ?? false
    this.plainEveryMs = options.plainEveryMs ?? PLAIN_EVERY_MS
    this.lastPlain = this.started
  }

  private get tty(): boolean {
    return Boolean(this.out.isTTY)
  }

  get bytes(): number {
    return this.done
  }

  rate(): string {
    return `${formatBytes(this.bytesPerSecond())}/s`
  }

  private bytesPerSecond(): number {
    const seconds = (performance.now() - this.started) / 1000
    return seconds > 0 ? this.done / seconds : 0
  }

  /** Starts a new phase (push: verification, then uploads): counts restart from zero. */
  phase(label: string, total?: number): void {
    this.started = performance.now()
    this.done = 0
    this.total = total
    this.setLabel(label)
  }

  /** The total as known now; `growing` while it may still increase (percent and ETA are then of the known part). */
  setTotal(total: number | undefined, growing = this.growing): void {
    this.total = total
    this.growing = growing
  }

  setLabel(label: string): void {
    this.label = label
    this.draw(true)
  }

  add(n: number): void {
    this.done += n
    this.draw(false)
  }

  /** The status text: "LABEL  1.2 GB of 3.4 GB  35%  120.0 MB/s  ETA 18s". */
  status(): string {
    return [this.label, this.figures()].filter(Boolean).join('  ')
  }

  /** Bytes done (of the total), percent, rate, ETA: the part that must stay visible on a narrow terminal. */
  private figures(): string {
    const parts: string[] = []
    const total = this.total
    if (total !== undefined && total > 0) {
      const done = Math.min(this.done, total)
      const rate = this.bytesPerSecond()
      parts.push(
        `${formatBytes(done)} of ${this.growing ? 'at least ' : ''}${formatBytes(total)}`,
        `${Math.floor((done / total) * 100)}%`,
        this.rate(),
        `ETA ${rate > 0 ? formatDuration((total - done) / rate) : '?'}`,
      )
    } else parts.push(formatBytes(this.done), this.rate())
    return parts.filter(Boolean).join('  ')
  }

  /** A permanent line (an image finished, a warning). */
  line(text: string): void {
    if (!this.enabled) return
    this.clear()
    this.out.write(text + '\n')
    this.draw(true)
  }

  finish(): void {
    this.clear()
  }

  private draw(force: boolean): void {
    if (!this.enabled) return
    const now = performance.now()
    if (!this.tty) {
      // Plain lines for logs: only for work long enough to need them, never more often than every few seconds.
      if (now - this.lastPlain >= this.plainEveryMs) {
        this.lastPlain = now
        this.out.write(`progress: ${this.status()}\n`)
      }
      return
    }
    if (!force && now - this.lastDraw < REDRAW_MS) return
    this.lastDraw = now
    const columns = this.out.columns && this.out.columns > 0 ? this.out.columns : FALLBACK_COLUMNS
    this.out.write(`\r\x1b[K${fit(this.label, this.figures(), columns - 1)}`)
    this.drawn = true
  }

  private clear(): void {
    if (this.drawn) this.out.write('\r\x1b[K')
    this.drawn = false
  }
}

/**
 * LABEL and FIGURES in at most WIDTH characters: the figures keep their place and the label gives way, shortened in
 * the middle (the start says what, the end which one); on a very narrow terminal the line is simply cut.
 */
export function fit(label: string, figures: string, width: number): string {
  const full = [label, figures].filter(Boolean).join('  ')
  if (full.length <= width) return full
  const room = width - figures.length - 2
  if (label && room >= 12) {
    const head = Math.ceil((room - 1) / 2)
    return `${label.slice(0, head)}…${label.slice(label.length - (room - 1 - head))}  ${figures}`
  }
  return full.slice(0, Math.max(width, 1))
}

/** `1 image`, `2 images`: a count with its noun. */
export const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`
