import {Args} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.ts'
import type {VerifyReport} from '../report/model.ts'
import {renderVerify} from '../report/text.ts'
import {Progress} from '../util/progress.ts'
import {firstFailure, verifyArchive, type VerifyOptions} from '../verify/verify.ts'

export default class Verify extends BaseCommand {
  static override summary = 'Check an archive offline: every blob hashes to its name, every image is complete, nothing unexpected.'
  static override examples = ['<%= config.bin %> verify images.tar', '<%= config.bin %> verify images.tar --json']
  static override args = {archive: Args.string({description: 'archive written by airlock export', required: true})}
  static override flags = {}

  /** Where signature, policy and trust checks plug in (subclasses or later flags fill these). */
  protected async checks(): Promise<Pick<VerifyOptions, 'imageChecks' | 'archiveChecks'>> {
    return {}
  }

  async run(): Promise<VerifyReport> {
    const {args} = await this.parse(Verify)
    const progress = new Progress({enabled: !this.jsonEnabled()})
    progress.setLabel(`verifying ${args.archive}`)
    let report: VerifyReport
    try {
      report = await verifyArchive(args.archive, {...(await this.checks()), onBytes: (n) => progress.add(n)})
    } finally {
      progress.finish()
    }
    for (const line of renderVerify(report)) this.log(line)
    if (!report.ok) {
      // The report is the output (also under --json); the exit status says it failed.
      process.stderr.write(`airlock: error: verification failed: ${firstFailure(report) ?? 'see above'}\n`)
      process.exitCode = 1
    }
    return report
  }
}
