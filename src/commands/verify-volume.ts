import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.ts'
import {checkVolume, type VolumeCheck} from '../archive/volume-check.ts'
import {describeVolumeCheck} from '../report/volumes.ts'

export default class VerifyVolume extends BaseCommand {
  static override summary =
    'Check one volume of a set written by export --volume-size as it arrives, and say which volumes are still missing.'
  static override description =
    "Checks the volume against the set's NAME.volumes.json (beside it, or --volumes): that it belongs to this export, which volume it is, its size and its sha256, and its tar structure. Volumes present beside volumes.json at their listed size count as arrived. Then `airlock verify NAME.vol*` (or NAME.volumes.json) verifies the whole set."
  static override examples = [
    '<%= config.bin %> verify-volume talos.vol001.tar',
    '<%= config.bin %> verify-volume talos.vol001.tar --volumes talos.volumes.json --json',
  ]
  static override args = {
    volume: Args.string({description: 'a volume (NAME.volNNN.tar)', required: true, ignoreStdin: true}),
  }
  static override flags = {
    volumes: Flags.string({summary: "The set's NAME.volumes.json (default: the one beside the volume)."}),
  }

  async run(): Promise<VolumeCheck> {
    const {args, flags} = await this.parse(VerifyVolume)
    const check = await checkVolume(args.volume, flags.volumes)
    for (const line of describeVolumeCheck(check)) this.log(line)
    return check
  }
}
