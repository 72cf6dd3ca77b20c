// The one way a test runs the built CLI (bin/run.js -> dist/airlock.cjs): asynchronously, so registries started in the same
// process keep answering, with the build checked fresh once, stdin closed unless given, and a wall-clock limit that
// kills the whole run instead of hanging the file.
import {type ChildProcessWithoutNullStreams, spawn} from 'node:child_process'
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath, pathToFileURL} from 'node:url'
import {assertFreshBuild} from './built.ts'
import {assertContract} from './json-contract.ts'

export const ROOT = fileURLToPath(new URL('../../', import.meta.url))
export const BIN = join(ROOT, 'bin/run.js')
const NO_NETWORK = pathToFileURL(join(ROOT, 'test/support/no-network.ts')).href

export interface CliRun {
  status: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

export interface CliOptions {
  cwd?: string
  /** Merged over process.env (a value of undefined removes the variable). */
  env?: Record<string, string | undefined>
  /** Written to stdin, then stdin is closed; without it stdin is closed at once. */
  input?: string
  /**
   * Kills the CLI after this long. A hang guard only: the default is generous because a loaded CI machine runs two
   * test files at once (a 60 s limit once killed a healthy push --check there); pass a short one only to test a hang.
   */
  timeoutMs?: number
  /** Node options before bin/run.js, e.g. `['--import', './test/support/no-network.ts']` (relative to `cwd`). */
  nodeArgs?: readonly string[]
  /**
   * Runs under the no-network preload (test/support/no-network.ts): every socket, DNS lookup and request throws and
   * is recorded in this file (read it with networkAttempts).
   */
  networkLog?: string
  /** Another installation's bin/run.js instead of this checkout's (test/cli-bundle.test.ts compares the two). */
  bin?: string
  /** Called with the child once it is started, for tests that signal it while it runs. */
  onSpawn?: (child: ChildProcessWithoutNullStreams) => void
}

/** How long a CLI run may take before the test calls it hung. */
export const HANG_GUARD_MS = 600_000

let checked = false

/** Runs `airlock ...args` and resolves when it exits (never rejects: the test asserts status and output). */
export function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliRun> {
  if (!checked) {
    assertFreshBuild()
    checked = true
  }
  const env: NodeJS.ProcessEnv = {...process.env}
  const nodeArgs = [...(options.networkLog ? ['--import', NO_NETWORK] : []), ...(options.nodeArgs ?? [])]
  if (options.networkLog) env['AIRLOCK_NETWORK_LOG'] = options.networkLog
  for (const [name, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete env[name]
    else env[name] = value
  }
  return new Promise(resolve => {
    const child = spawn(process.execPath, [...nodeArgs, options.bin ?? BIN, ...args], {
      cwd: options.cwd ?? ROOT,
      env,
      stdio: 'pipe',
    })
    let stdout = ''
    let stderr = ''
    options.onSpawn?.(child)
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    child.stdin.on('error', () => {}) // the CLI may exit before reading what we offered
    child.stdin.end(options.input ?? '')
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? HANG_GUARD_MS)
    child.on('close', (status, signal) => {
      clearTimeout(timer)
      resolve({status, signal, stdout, stderr})
    })
  })
}

/** The network attempts the no-network preload recorded in `log` (one JSON line each; none when it has no file). */
export function networkAttempts(log: string): string[] {
  return existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : []
}

/**
 * Runs the CLI with `--json` appended, parses stdout and validates it against the command's JSON Schema
 * (schema/<command>.schema.json, test/support/json-contract.ts); throws with both streams when it is not JSON and
 * naming every violation when it does not conform.
 */
export async function runCliJson<T = Record<string, unknown>>(
  args: readonly string[],
  options: CliOptions = {},
): Promise<CliRun & {json: T}> {
  const run = await runCli([...args, '--json'], options)
  let json: T
  try {
    json = JSON.parse(run.stdout) as T
  } catch {
    throw new Error(
      `airlock ${args.join(' ')} --json did not print JSON (exit ${run.status}):\n${run.stdout}\n${run.stderr}`,
    )
  }
  assertContract(json, `airlock ${args.join(' ')} --json`)
  return {...run, json}
}
