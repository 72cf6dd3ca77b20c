// The one way a test runs the built CLI (bin/run.js -> dist/): asynchronously, so registries started in the same
// process keep answering, with the build checked fresh once, stdin closed unless given, and a wall-clock limit that
// kills the whole run instead of hanging the file.
import {spawn} from 'node:child_process'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {assertFreshBuild} from './built.ts'
import {assertContract} from './json-contract.ts'

export const ROOT = fileURLToPath(new URL('../../', import.meta.url))
export const BIN = join(ROOT, 'bin/run.js')

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
  timeoutMs?: number
  /** Node options before bin/run.js, e.g. `['--import', './test/support/no-network.ts']` (relative to `cwd`). */
  nodeArgs?: readonly string[]
}

let checked = false

/** Runs `airlock ...args` and resolves when it exits (never rejects: the test asserts status and output). */
export function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliRun> {
  if (!checked) {
    assertFreshBuild()
    checked = true
  }
  const env: NodeJS.ProcessEnv = {...process.env}
  for (const [name, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete env[name]
    else env[name] = value
  }
  return new Promise(resolve => {
    const child = spawn(process.execPath, [...(options.nodeArgs ?? []), BIN, ...args], {
      cwd: options.cwd ?? ROOT,
      env,
      stdio: 'pipe',
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    child.stdin.on('error', () => {}) // the CLI may exit before reading what we offered
    child.stdin.end(options.input ?? '')
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 180_000)
    child.on('close', (status, signal) => {
      clearTimeout(timer)
      resolve({status, signal, stdout, stderr})
    })
  })
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
