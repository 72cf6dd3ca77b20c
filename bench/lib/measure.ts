// Running the measured commands: wall time from the parent (hrtime), peak RSS and CPU from GNU time (`-f '%M %U %S'`,
// KiB and seconds), every run's stderr and CPU kept in a log so a failure or a slow run can be diagnosed.
import {spawn} from 'node:child_process'
import {readFileSync, rmSync, appendFileSync} from 'node:fs'

export interface RunResult {
  seconds: number
  maxRssKiB: number
  /** user and system CPU seconds of the command (GNU time), when it could tell */
  cpu?: {user: number; system: number}
  stdout: string
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv
  cwd?: string
  log?: string // file that receives the command line, stdout and stderr
  allowFail?: boolean
}

let counter = 0

/** Busy and total jiffies of the whole machine (/proc/stat), to log how loaded it was while a command ran. */
function machineTicks(): {busy: number; total: number} | undefined {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number)
    const idle = (f[3] ?? 0) + (f[4] ?? 0)
    const total = f.reduce((a, b) => a + b, 0)
    return {busy: total - idle, total}
  } catch {
    return undefined
  }
}

/** Runs argv under /usr/bin/time, returns its wall time (s) and peak RSS (KiB). Throws on a non-zero exit. */
export async function timed(argv: string[], options: RunOptions = {}): Promise<RunResult> {
  const rssFile = `/tmp/airlock-bench-time-${process.pid}-${counter++}`
  const ticks = machineTicks()
  const started = process.hrtime.bigint()
  const {code, stdout, stderr} = await new Promise<{code: number; stdout: string; stderr: string}>(
    (resolve, reject) => {
      const child = spawn('/usr/bin/time', ['-f', '%M %U %S', '-o', rssFile, ...argv], {
        env: options.env ?? process.env,
        cwd: options.cwd,
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      const out: Buffer[] = []
      const err: Buffer[] = []
      child.stdout.on('data', (c: Buffer) => out.push(c))
      child.stderr.on('data', (c: Buffer) => err.push(c))
      child.on('error', reject)
      child.on('close', c =>
        resolve({code: c ?? 1, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString()}),
      )
    },
  )
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  const after = machineTicks()
  const busy =
    ticks && after && after.total > ticks.total ? (after.busy - ticks.busy) / (after.total - ticks.total) : undefined
  let maxRssKiB = 0
  let cpu: RunResult['cpu']
  try {
    const text = readFileSync(rssFile, 'utf8').trim().split('\n')
    const [rss, user, system] = (text[text.length - 1] ?? '').split(' ').map(Number)
    maxRssKiB = rss || 0
    if (Number.isFinite(user) && Number.isFinite(system)) cpu = {user: user!, system: system!}
    rmSync(rssFile, {force: true})
  } catch {
    // time could not write it
  }
  if (options.log)
    appendFileSync(
      options.log,
      `$ ${argv.join(' ')}\n# exit ${code}, ${seconds.toFixed(2)} s, ${maxRssKiB} KiB${cpu ? `, CPU ${cpu.user.toFixed(2)} s user + ${cpu.system.toFixed(2)} s system` : ''}${busy === undefined ? '' : `, machine ${Math.round(100 * busy)} % busy`}\n${stdout.slice(-4000)}${stderr.slice(-8000)}\n`,
    )
  if (code !== 0 && !options.allowFail) {
    throw new Error(`command failed (exit ${code}): ${argv.join(' ')}\n${stderr.slice(-2000)}`)
  }
  return {seconds, maxRssKiB, ...(cpu ? {cpu} : {}), stdout}
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

/** Runs a possibly multi-command step and sums its time; peak RSS is the largest of its processes. */
export async function step(commands: string[][], options: RunOptions = {}): Promise<RunResult> {
  let seconds = 0
  let maxRssKiB = 0
  let stdout = ''
  for (const argv of commands) {
    const r = await timed(argv, options)
    seconds += r.seconds
    maxRssKiB = Math.max(maxRssKiB, r.maxRssKiB)
    stdout += r.stdout
  }
  return {seconds, maxRssKiB, stdout}
}
