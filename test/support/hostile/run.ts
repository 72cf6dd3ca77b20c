// Runs one hostile case through the real CLI in a sandbox of temporary directories and reports what happened.
// Shared by test/hostile.test.ts (which asserts) and scripts/security-table.ts (which writes the docs table), so
// the table always shows what the tests check.
import {spawn} from 'node:child_process'
import {createHash} from 'node:crypto'
import {existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join, relative} from 'node:path'
import {ROOT} from './base.ts'
import type {CaseContext, HostileCase} from './corpus.ts'

export const CLI = join(ROOT, 'bin/run.js')
const TIME = '/usr/bin/time'
export const HAVE_TIME = existsSync(TIME)
/** Per-run bounds from issue 6: every case answers within 10 s; memory must not follow the archive's claims. */
export const MAX_MS = 10_000
export const MAX_RSS_KB = 200 * 1024

export interface Outcome {
  command: string
  exit: number | null
  signal: string | null
  ms: number
  /**
   * CPU time (user + system) of the CLI process in ms, from /usr/bin/time: what the bounds judge, because it does not
   * grow when other tests share the cores (an exponential walk or a bomb burns CPU; a stall is caught by the wall
   * clock kill below). Undefined when not measurable (then the wall clock is judged).
   */
  cpuMs?: number
  /** Peak resident set of the CLI process in KiB (from /usr/bin/time), undefined when not measurable. */
  rssKb?: number
  stdout: string
  stderr: string
  /** The message of the `airlock: error:` line, if any. */
  error?: string
  /** Files that appeared, disappeared or changed outside the archive's own temp dir after the run. */
  fsChanges: string[]
  timedOut: boolean
}

/** Path -> "type:size:sha256" for every file under dir (the archive's directory, the cwd, TMPDIR, HOME). */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>()
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name)
      const st = lstatSync(p)
      if (st.isDirectory()) {
        out.set(relative(dir, p) + '/', 'dir')
        walk(p)
      } else {
        const hash =
          st.isFile() && st.size < 64 * 1024 * 1024
            ? createHash('sha256').update(readFileSync(p)).digest('hex')
            : String(st.mtimeMs)
        out.set(relative(dir, p), `${st.isFile() ? 'file' : 'other'}:${st.size}:${hash}`)
      }
    }
  }
  walk(dir)
  return out
}

function diff(before: Map<string, string>, after: Map<string, string>): string[] {
  const changes: string[] = []
  for (const [p, v] of after) if (before.get(p) !== v) changes.push(before.has(p) ? `changed ${p}` : `created ${p}`)
  for (const p of before.keys()) if (!after.has(p)) changes.push(`removed ${p}`)
  return changes
}

export interface RunOptions {
  /** Extra CLI arguments after the archive path (e.g. the push destination). */
  extraArgs?: string[]
  timeoutMs?: number
  env?: Record<string, string>
}

/**
 * Writes the case's archive into a fresh sandbox (`<work>/<id>-<cmd>-XXXX/{archive,cwd,tmp,home}`), runs
 * `node bin/run.js <command> <archive> ...` with cwd, TMPDIR and HOME inside the sandbox, and compares the sandbox
 * before and after. The sandbox is removed afterwards; the caller also checks `escapeTarget` and the work root.
 */
export async function runCase(
  work: string,
  c: HostileCase,
  ctx: CaseContext,
  command: string,
  options: RunOptions = {},
): Promise<Outcome> {
  // The sandbox name must not contain the case id: the archive path appears in messages and would match them.
  const box = mkdtempSync(join(work, `run-`))
  const dirs = {archive: join(box, 'archive'), cwd: join(box, 'cwd'), tmp: join(box, 'tmp'), home: join(box, 'home')}
  for (const d of Object.values(dirs)) mkdirSync(d)
  const archive = join(dirs.archive, 'bundle.tar')
  writeFileSync(archive, c.build(ctx))
  const before = snapshot(box)
  const rssFile = join(work, `.rss-${relative(work, box)}`)
  // verify: integrity is what the corpus attacks; signatures are covered by test/signatures.test.ts.
  const args = [
    CLI,
    command,
    archive,
    ...(command === 'verify' ? ['--signatures', 'skip'] : []),
    ...(options.extraArgs ?? []),
  ]
  const [bin, argv] = HAVE_TIME
    ? [TIME, ['-f', '%M %U %S', '-o', rssFile, process.execPath, ...args]]
    : [process.execPath, args]
  const started = Date.now()
  const timeoutMs = options.timeoutMs ?? MAX_MS
  const result = await new Promise<{
    exit: number | null
    signal: string | null
    stdout: string
    stderr: string
    timedOut: boolean
  }>(resolve => {
    const child = spawn(bin, argv, {
      cwd: dirs.cwd,
      env: {
        ...process.env,
        TMPDIR: dirs.tmp,
        HOME: dirs.home,
        XDG_CACHE_HOME: join(dirs.home, '.cache'),
        AIRLOCK_DEBUG: '',
        NO_COLOR: '1',
        ...options.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Own process group, so a timeout kills node and not just /usr/bin/time in front of it.
      detached: true,
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', d => (stdout += d))
    child.stderr.on('data', d => (stderr += d))
    let timedOut = false
    // The bound is enforced here: a hang is a failure of the case, never of the test run.
    const timer = setTimeout(
      () => {
        timedOut = true
        try {
          process.kill(-child.pid!, 'SIGKILL')
        } catch {
          child.kill('SIGKILL')
        }
      },
      3 * timeoutMs + 2000,
    ) // wall clock: a stall (no CPU spent) still ends the case
    child.on('close', (exit, signal) => {
      clearTimeout(timer)
      resolve({exit, signal, stdout, stderr, timedOut})
    })
  })
  const ms = Date.now() - started
  const fsChanges = diff(before, snapshot(box))
  rmSync(box, {recursive: true, force: true})
  let rssKb: number | undefined
  let cpuMs: number | undefined
  if (HAVE_TIME && existsSync(rssFile)) {
    const [rss, user, system] = (readFileSync(rssFile, 'utf8').trim().split('\n').pop() ?? '').split(' ').map(Number)
    if (Number.isFinite(rss)) rssKb = rss
    if (Number.isFinite(user) && Number.isFinite(system)) cpuMs = Math.round((user! + system!) * 1000)
    rmSync(rssFile, {force: true})
  }
  const errorLine = result.stderr.split('\n').find(l => l.startsWith('airlock: error: '))
  return {
    command,
    exit: result.exit,
    signal: result.signal,
    ms,
    ...(cpuMs !== undefined ? {cpuMs} : {}),
    ...(rssKb !== undefined ? {rssKb} : {}),
    stdout: result.stdout,
    stderr: result.stderr,
    // The archive's path is replaced so that expectations match what the message says about the content.
    ...(errorLine ? {error: errorLine.slice('airlock: error: '.length).split(archive).join('<archive>')} : {}),
    fsChanges,
    timedOut: result.timedOut,
  }
}

/**
 * The safety properties every command must keep on every hostile input, whatever its verdict: exit 0/1 only (a
 * crash or a signal is a failure), stderr = at most one error line (plus its hint line), no stack trace, no file
 * created/changed/removed in the sandbox, within the time and memory bounds. Returns the violations.
 */
export function safetyProblems(o: Outcome, maxMs = MAX_MS): string[] {
  const p: string[] = []
  if (o.timedOut) p.push(`did not finish within ${3 * maxMs} ms of wall clock (killed)`)
  else if (spent(o) > maxMs) p.push(`took ${spent(o)} ms${o.cpuMs === undefined ? '' : ' of CPU'} (bound ${maxMs} ms)`)
  if (o.exit !== 0 && o.exit !== 1)
    p.push(`exit status ${o.exit}${o.signal ? ` (signal ${o.signal})` : ''}, expected 0 or 1`)
  const lines = o.stderr.split('\n').filter(l => l.trim() !== '')
  if (lines.some(l => /^\s+at /.test(l))) p.push('stderr has a stack trace')
  const errors = lines.filter(l => l.startsWith('airlock: error: '))
  // `progress:` lines are the documented non-TTY progress of long work (every few seconds), not extra errors
  const others = lines.filter(
    l => !l.startsWith('airlock: error: ') && !l.startsWith('airlock: hint: ') && !l.startsWith('progress: '),
  )
  if (o.exit === 1 && errors.length !== 1)
    p.push(`stderr has ${errors.length} "airlock: error:" lines, expected exactly 1`)
  if (o.exit === 1 && others.length > 0)
    p.push(`stderr has lines besides the error and its hint: ${JSON.stringify(others.slice(0, 3))}`)
  if (o.error && o.error.length > 400)
    p.push(`error line is ${o.error.length} chars long (an attacker-chosen name must not flood the terminal)`)
  if (o.fsChanges.length) p.push(`file system changed: ${o.fsChanges.slice(0, 5).join(', ')}`)
  if (o.rssKb !== undefined && o.rssKb > MAX_RSS_KB)
    p.push(`peak RSS ${Math.round(o.rssKb / 1024)} MiB over ${MAX_RSS_KB / 1024} MiB`)
  return p
}

/** The verdict checks for `verify`: the expected exit and a message that names the problem and the entry. */
export function verdictProblems(c: HostileCase, o: Outcome): string[] {
  const p: string[] = []
  if (o.exit !== c.expect.exit)
    p.push(`exit ${o.exit}, expected ${c.expect.exit}${o.error ? ` (error: ${o.error})` : ''}`)
  if (c.expect.exit === 1 && o.error) {
    if (c.expect.problem && !c.expect.problem.test(o.error))
      p.push(`message does not describe the problem (${c.expect.problem}): ${o.error}`)
    if (c.expect.entry && !o.error.includes(c.expect.entry))
      p.push(`message does not name ${JSON.stringify(c.expect.entry)}: ${o.error}`)
  }
  const bound = c.expect.maxMs ?? MAX_MS
  if (spent(o) > bound)
    p.push(`took ${spent(o)} ms${o.cpuMs === undefined ? '' : ' of CPU'}, bound for this case ${bound} ms`)
  return p
}

/** What the time bounds judge: CPU time when /usr/bin/time measured it, else the wall clock. */
function spent(o: Outcome): number {
  return o.cpuMs ?? o.ms
}
