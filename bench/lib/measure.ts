// Running the measured commands: wall time from the parent (hrtime), peak RSS from GNU time (`-f %M`, in KiB),
// every run's stderr kept in a log so a failure can be diagnosed.
import {spawn} from 'node:child_process'
import {readFileSync, rmSync, appendFileSync} from 'node:fs'

export interface RunResult {
  seconds: number
  maxRssKiB: number
  stdout: string
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv
  cwd?: string
  log?: string // file that receives the command line, stdout and stderr
  allowFail?: boolean
}

let counter = 0

/** Runs argv under /usr/bin/time, returns its wall time (s) and peak RSS (KiB). Throws on a non-zero exit. */
export async function timed(argv: string[], options: RunOptions = {}): Promise<RunResult> {
  const rssFile = `/tmp/airlock-bench-time-${process.pid}-${counter++}`
  const started = process.hrtime.bigint()
  const {code, stdout, stderr} = await new Promise<{code: number; stdout: string; stderr: string}>(
    (resolve, reject) => {
      const child = spawn('/usr/bin/time', ['-f', '%M', '-o', rssFile, ...argv], {
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
  let maxRssKiB = 0
  try {
    const text = readFileSync(rssFile, 'utf8').trim().split('\n')
    maxRssKiB = Number(text[text.length - 1]) || 0
    rmSync(rssFile, {force: true})
  } catch {
    // time could not write it
  }
  if (options.log)
    appendFileSync(
      options.log,
      `$ ${argv.join(' ')}\n# exit ${code}, ${seconds.toFixed(2)} s, ${maxRssKiB} KiB\n${stdout.slice(-4000)}${stderr.slice(-8000)}\n`,
    )
  if (code !== 0 && !options.allowFail) {
    throw new Error(`command failed (exit ${code}): ${argv.join(' ')}\n${stderr.slice(-2000)}`)
  }
  return {seconds, maxRssKiB, stdout}
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
