// Progress on stderr: a single redrawn status line on a terminal (bytes, rate, what is being worked on), plain
// lines otherwise (CI logs, pipes), nothing at all under --json or when disabled.
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

export class Progress {
  private readonly out: NodeJS.WritableStream & Partial<Pick<WriteStream, 'isTTY' | 'columns'>>
  private readonly enabled: boolean
  private readonly started = performance.now()
  private done = 0
  private label = ''
  private lastDraw = 0
  private drawn = false

  constructor(options: {enabled: boolean; out?: NodeJS.WritableStream}) {
    this.enabled = options.enabled
    this.out = (options.out ?? process.stderr) as Progress['out']
  }

  private get tty(): boolean {
    return Boolean(this.out.isTTY)
  }

  get bytes(): number {
    return this.done
  }

  rate(): string {
    const seconds = (performance.now() - this.started) / 1000
    return `${formatBytes(seconds > 0 ? this.done / seconds : 0)}/s`
  }

  setLabel(label: string): void {
    this.label = label
    this.draw(true)
  }

  add(n: number): void {
    this.done += n
    this.draw(false)
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
    if (!this.enabled || !this.tty) return
    const now = performance.now()
    if (!force && now - this.lastDraw < 200) return
    this.lastDraw = now
    const text = `${this.label}  ${formatBytes(this.done)}  ${this.rate()}`
    const width = (this.out.columns ?? 100) - 1
    this.out.write(`\r\x1b[K${text.slice(0, width)}`)
    this.drawn = true
  }

  private clear(): void {
    if (this.drawn) this.out.write('\r\x1b[K')
    this.drawn = false
  }
}
