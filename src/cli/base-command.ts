// The one place where library results and errors become terminal output and exit codes. Commands extend this,
// parse their flags, call the library and return a result object: with --json that object is the output.
import {Command, Flags} from '@oclif/core'
import {Progress, plural} from '../util/progress.ts'
import {AirlockError, toAirlockError} from '../errors.ts'
import {defaultStateDir, removeStaleStateFiles} from '../trust/state.ts'
import {oneLine} from './one-line.ts'
import {failureEnvelope, successEnvelope, type RunFacts} from './envelope.ts'
import {usageError} from './usage.ts'

export {oneLine}

export abstract class BaseCommand extends Command {
  static override enableJsonFlag = true
  static override baseFlags = {
    quiet: Flags.boolean({
      char: 'q',
      summary: 'No progress output (results, warnings and errors are still printed).',
      default: false,
      helpGroup: 'GLOBAL',
    }),
  }

  /** When the command started (the envelope's startedAt and durationSeconds). */
  private startedAt = new Date()

  override async init(): Promise<void> {
    this.startedAt = new Date()
    await super.init()
  }

  private runFacts(exitCode: number): RunFacts {
    return {command: this.id ?? 'airlock', startedAt: this.startedAt, exitCode}
  }

  /** Every --json output is the envelope (src/cli/envelope.ts): the command returns its own fields only. */
  protected override toSuccessJson(result: unknown): unknown {
    const code = process.exitCode
    return successEnvelope(result, this.runFacts(typeof code === 'number' ? code : Number(code ?? 0)))
  }

  /** The progress display: off under --json and --quiet; `total` in bytes when known (percent and ETA). */
  protected progress(total?: number): Progress {
    const quiet = this.argv.includes('--quiet') || this.argv.includes('-q')
    return new Progress({enabled: !this.jsonEnabled() && !quiet, ...(total !== undefined ? {total} : {})})
  }

  /** Prints a human line to stderr (progress, warnings), silent under --json so stdout stays machine-readable. */
  protected note(line: string): void {
    if (!this.jsonEnabled()) process.stderr.write(line + '\n')
  }

  /**
   * One line for the temporary files a killed run left (SIGKILL, power loss) that this run removed before starting:
   * `removed 2 stale temporary files in PLACE (left by an interrupted export; no live process held them)`.
   */
  protected noteStale(removed: readonly string[], place: string, why: string): void {
    if (removed.length === 0) return
    const what =
      removed.length === 1 ? `stale temporary file ${removed[0]}` : plural(removed.length, 'stale temporary file')
    this.note(`removed ${what} in ${place} (${why}; no live process held ${removed.length === 1 ? 'it' : 'them'})`)
  }

  /** Removes what a killed verify or push left in the TUF state directory (unless --no-state), in one line. */
  protected sweepTufState(flags: {state?: string | undefined; 'no-state'?: boolean | undefined}): void {
    if (flags['no-state']) return
    const dir = flags.state ?? defaultStateDir()
    this.noteStale(removeStaleStateFiles(dir), `TUF state ${dir}`, 'left by an interrupted verify or push')
  }

  protected override async catch(error: Error & {exitCode?: number; oclif?: {exit?: number}}): Promise<unknown> {
    // oclif's own parse errors (unknown flag, missing arg) are usage errors: exit 2 with oclif's message.
    if (
      !(error instanceof AirlockError) &&
      (error.oclif?.exit !== undefined ||
        error.name?.includes('Parse') ||
        /flag|argument/i.test(error.constructor?.name ?? ''))
    ) {
      if (error.oclif?.exit === 0) throw error
      const ctor = this.constructor as unknown as {
        flags?: Record<string, {summary?: string}>
        args?: Record<string, {name: string; description?: string}>
      }
      return this.fail(usageError(error, {id: this.id ?? '', flags: ctor.flags ?? {}, args: ctor.args ?? {}}))
    }
    return this.fail(toAirlockError(error))
  }

  private fail(error: AirlockError): never {
    // Messages can carry names taken from hostile input (tar entry names, registry error bodies): keep them to
    // one printable line of bounded length so they cannot flood a terminal or forge extra output lines.
    error = new AirlockError(error.code, oneLine(error.message), {
      hint: error.hint === undefined ? undefined : oneLine(error.hint),
      details: error.details,
      cause: error.cause,
    })
    if (this.jsonEnabled()) {
      process.stdout.write(JSON.stringify(failureEnvelope(error, this.runFacts(error.exitCode)), null, 2) + '\n')
    } else {
      process.stderr.write(`airlock: error: ${error.message}\n`)
      if (error.hint) process.stderr.write(`airlock: hint: ${error.hint}\n`)
      if (process.env.AIRLOCK_DEBUG && error.cause)
        process.stderr.write(String((error.cause as Error).stack ?? error.cause) + '\n')
    }
    this.exit(error.exitCode)
  }
}
