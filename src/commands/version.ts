import {BaseCommand} from '../cli/base-command.ts'
import {TOOL_VERSION} from '../version.ts'

export default class Version extends BaseCommand {
  static override summary = 'Print the airlock version.'

  async run(): Promise<{version: string; node: string}> {
    this.log(`airlock ${TOOL_VERSION} (node ${process.version})`)
    return {version: TOOL_VERSION, node: process.version}
  }
}
