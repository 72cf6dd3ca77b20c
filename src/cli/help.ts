// `airlock help [command]` is oclif's help (@oclif/plugin-help), except for a subject that is neither a command nor a
// topic: oclif prints its own "Error: Command X not found."; airlock prints its one-line error with a "did you mean"
// (src/cli/unknown-command.ts) and exits 2, as for an unknown command typed directly.
import {Errors, Help} from '@oclif/core'
import {reportUnknownCommand} from './unknown-command.ts'

export default class AirlockHelp extends Help {
  override async showHelp(argv: string[]): Promise<void> {
    const subject = argv.find(arg => !arg.startsWith('-'))
    if (subject !== undefined) {
      const id = argv.filter(arg => !arg.startsWith('-')).join(':')
      const known = this.config.findCommand(id) ?? this.config.findCommand(subject) ?? this.config.findTopic(subject)
      if (!known) {
        reportUnknownCommand(this.config, subject, argv, 'airlock help')
        throw new Errors.ExitError(2)
      }
    }
    await super.showHelp(argv)
  }
}
