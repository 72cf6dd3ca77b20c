import {BaseCommand} from '../cli/base-command.ts'
import {describeSelf, type SelfDescription} from '../cli/self.ts'

export default class Version extends BaseCommand {
  static override summary =
    'Print the airlock version, build commit, Node version and (single-file executable) its own sha256.'
  static override description =
    'Compare the sha256 with the value in SHA256SUMS carried out of band before trusting a copy. The single-file executable also checks its embedded code against the sha256 recorded at build time at every start, and refuses to run when it differs.'
  static override examples = ['<%= config.bin %> version', '<%= config.bin %> version --json']

  async run(): Promise<SelfDescription> {
    const self = await describeSelf()
    this.log(
      `airlock ${self.version} (node ${self.node}, ${self.platform}${self.commit ? `, commit ${self.commit}` : ''})`,
    )
    if (self.executable) {
      this.log(`executable ${self.executable.path}`)
      this.log(`sha256     ${self.executable.sha256}`)
      this.log(`embedded code sha256 ${self.embeddedCodeSha256} (checked at start)`)
    } else this.log('not a single-file executable (running on a separate Node.js)')
    this.log(`pinned public-good TUF root v${self.publicGoodTufRoot.version} sha256 ${self.publicGoodTufRoot.sha256}`)
    return self
  }
}
