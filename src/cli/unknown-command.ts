// The one format for a command airlock does not have, typed as a command (`airlock exprot`, the command_not_found
// hook) or as the subject of help (`airlock help exprot`, src/cli/help.ts): one error line, a hint with a "did you
// mean" when a command is close, exit 2; under --json the failure envelope on stdout.
import type {Interfaces} from '@oclif/core'
import levenshtein from 'fast-levenshtein'
import {oneLine} from './one-line.ts'
import {failureEnvelope} from './envelope.ts'
import {AirlockError} from '../errors.ts'

/** The closest visible command to TYPED (space-separated id), if it is a plausible neighbour. */
export function closestCommand(config: Interfaces.Config, typed: string): string | undefined {
  const ids = config.commands.filter(c => !c.hidden).flatMap(c => [c.id, ...c.aliases])
  const best = ids
    .map(id => ({id: id.replaceAll(':', ' '), distance: levenshtein.get(typed, id.replaceAll(':', ' '))}))
    .sort((a, b) => a.distance - b.distance)[0]
  // Only a plausible neighbour: within a third of the word's length (at least 2 edits), or a prefix.
  return best && (best.distance <= Math.max(2, Math.floor(typed.length / 3)) || best.id.startsWith(typed))
    ? best.id
    : undefined
}

/** Prints the unknown-command error; `prefix` is what the suggestion starts with ("airlock" or "airlock help"). */
export function reportUnknownCommand(
  config: Interfaces.Config,
  typed: string,
  argv: readonly string[],
  prefix: string,
): void {
  const startedAt = new Date()
  const close = closestCommand(config, typed)
  const message = `unknown command "${oneLine(typed)}"`
  const hint = `${close ? `did you mean "${prefix} ${close}"? ` : ''}run "airlock help" for the list of commands`
  if (argv.includes('--json'))
    process.stdout.write(
      // the envelope of every --json output; `command` is `airlock`: no command ran
      JSON.stringify(
        failureEnvelope(
          new AirlockError('USAGE', message, {
            hint,
            details: {usage: {kind: 'unknown-command', suggestion: close ?? null}},
          }),
          {command: 'airlock', startedAt, exitCode: 2},
        ),
        null,
        2,
      ) + '\n',
    )
  else process.stderr.write(`airlock: error: ${message}\nairlock: hint: ${hint}\n`)
}
