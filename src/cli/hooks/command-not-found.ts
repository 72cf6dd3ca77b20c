// An unknown command gets airlock's error format, a "did you mean" and exit 2 (a usage error), in text and --json.
// (@oclif/plugin-not-found prints oclif's own warning format and suggests only on a TTY, by prompting: a
// script gets no suggestion. Same idea and distance, airlock's output.)
import type {Hook} from '@oclif/core'
import levenshtein from 'fast-levenshtein'
import {oneLine} from '../one-line.ts'
import {failureEnvelope} from '../envelope.ts'
import {AirlockError} from '../../errors.ts'

const hook: Hook<'command_not_found'> = async function (options) {
  const startedAt = new Date()
  const ids = options.config.commands.filter(c => !c.hidden).flatMap(c => [c.id, ...c.aliases])
  // With a space as topic separator oclif joins the arguments into the id ("verfy:a.tar"): the command is the first word.
  const typed = options.id.split(':')[0] ?? options.id
  const best = ids
    .map(id => ({id: id.replaceAll(':', ' '), distance: levenshtein.get(typed, id.replaceAll(':', ' '))}))
    .sort((a, b) => a.distance - b.distance)[0]
  // Only a plausible neighbour: within a third of the word's length (at least 2 edits), or a prefix.
  const close =
    best && (best.distance <= Math.max(2, Math.floor(typed.length / 3)) || best.id.startsWith(typed))
      ? best.id
      : undefined
  const message = `unknown command "${oneLine(typed)}"`
  const hint = `${close ? `did you mean "airlock ${close}"? ` : ''}run "airlock help" for the list of commands`
  if ((options.argv ?? []).includes('--json'))
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
  this.exit(2)
}

export default hook
