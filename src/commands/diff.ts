import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.ts'
import {checkReportFile, whereAndWhen} from '../cli/report-flag.ts'
import {diffArchives, type DiffResult} from '../diff/diff.ts'
import {diffDocument, renderDiff} from '../report/diff.ts'
import {writeReport} from '../report/write.ts'

export default class Diff extends BaseCommand {
  static override summary =
    'Show what changed between two archives: images, platforms and layers, signers, attestations, TUF trust, shared blobs.'
  static override description =
    'For the change review of a transfer. Both archives are read strictly (structure, manifests against their digests) but NOT verified: no policy is applied, no blob is hashed, no signature or TUF metadata is checked. Run airlock verify on the new archive to vouch for it.'
  static override examples = [
    '<%= config.bin %> diff talos-1.10.tar talos-1.11.tar',
    '<%= config.bin %> diff talos-1.10.tar talos-1.11.tar --json',
    '<%= config.bin %> diff talos-1.10.tar talos-1.11.tar --report change.md',
  ]
  static override args = {
    old: Args.string({description: 'the earlier archive', required: true, ignoreStdin: true}),
    new: Args.string({description: 'the later archive', required: true, ignoreStdin: true}),
  }
  static override flags = {
    report: Flags.string({
      summary:
        'Also write the diff to FILE: .html (a self-contained page that prints on A4) or .md (Markdown for a change ticket).',
    }),
  }

  async run(): Promise<DiffResult> {
    const {args, flags} = await this.parse(Diff)
    checkReportFile(flags.report)
    const diff = await diffArchives(args.old, args.new)
    for (const line of renderDiff(diff)) this.log(line)
    if (flags.report) {
      const where = whereAndWhen()
      await writeReport(
        flags.report,
        diffDocument(diff, {at: where.verifiedAt, host: where.host, version: where.airlock.version}),
      )
      this.log(`report written to ${flags.report}`)
    }
    return diff
  }
}
