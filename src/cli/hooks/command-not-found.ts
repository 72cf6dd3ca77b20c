// An unknown command gets airlock's error format, a "did you mean" and exit 2 (a usage error), in text and --json.
// (@oclif/plugin-not-found prints oclif's own warning format and suggests only on a TTY, by prompting: a
// script gets no suggestion. Same idea and distance, airlock's output.)
import type {Hook} from '@oclif/core'
import {reportUnknownCommand} from '../unknown-command.ts'

const hook: Hook<'command_not_found'> = async function (options) {
  // With a space as topic separator oclif joins the arguments into the id ("verfy:a.tar"): the command is the first word.
  const typed = options.id.split(':')[0] ?? options.id
  reportUnknownCommand(options.config, typed, options.argv ?? [], 'airlock')
  this.exit(2)
}

export default hook
