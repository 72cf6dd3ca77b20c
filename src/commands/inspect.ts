import {Args} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.ts'
import {archiveArgument} from '../archive/volumes.ts'
import {oneLine} from '../cli/one-line.ts'
import {inspectArchive} from '../report/inspect.ts'
import type {InspectReport} from '../verify/report-model.ts'
import {renderInspect} from '../report/text.ts'

export default class Inspect extends BaseCommand {
  static override summary =
    'Show what an archive holds: images, their platforms, layers and sizes (does not verify blob contents).'
  static override examples = ['<%= config.bin %> inspect images.tar', '<%= config.bin %> inspect images.tar --json']
  static override args = {
    archive: Args.string({description: 'archive written by airlock export', required: true, ignoreStdin: true}),
  }
  static override strict = false

  async run(): Promise<InspectReport> {
    const {argv} = await this.parse(Inspect)
    const report = await inspectArchive(archiveArgument(argv as string[]))
    for (const line of renderInspect(report)) this.log(line)
    if (report.problems.length > 0) {
      // What could be read is printed (and is the --json output); the exit status says the archive is broken.
      process.stderr.write(
        `airlock: error: ${oneLine(`the archive's content graph is broken (${report.problems.length} problem(s)): ${report.problems[0]}`)}\n`,
      )
      process.exitCode = 1
    }
    return report
  }
}
