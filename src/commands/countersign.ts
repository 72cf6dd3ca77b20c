import {Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.ts'
import {AirlockError} from '../errors.ts'
import {clusterConfigFlags, keyPasswordFlag} from '../countersign/cli-flags.ts'
import {countersignVerified, loadCountersignKey, type CountersignReport} from '../countersign/index.ts'
import {loadPolicy, policyFlags, type PolicyFlagValues} from '../policy/index.ts'
import {archiveToMirrorArgs, keepHostFlag, mirrorClient, mirrorRegistryFlags} from '../cli/mirror-flags.ts'
import {parseMirrorTarget} from '../reference/mirror-path.ts'
import {type TrustFlagValues, trustFlags} from '../trust/flags.ts'
import {openVerifiedArchive} from '../verify/open.ts'
import {firstFailure} from '../verify/verify.ts'

// --key is the SIGNING key here (as in cosign sign); upstream key-signed images are verified with a --policy file.
const {key: _verificationKey, ...verificationPolicyFlags} = policyFlags

export default class Countersign extends BaseCommand {
  static override summary =
    'Verify an archive offline, then sign its verified images in a mirror that already holds them with your key.'
  static override description =
    'Runs the same verification as `airlock verify` (offline, TUF root pinned outside the archive, the policy). Only images a signature satisfied the policy for are signed: ' +
    'the index digest and every carried platform manifest digest get a Sigstore bundle v0.3 referrer, an entry in the sha256-<hex> index and a layer on the .sig manifest, ' +
    'plus a signed receipt of what was verified (.att layer and referrer). Re-running adds nothing twice. Upstream key-signed images: give their key in a --policy file.'
  static override examples = [
    "<%= config.bin %> countersign talos.tar registry.dc.local/mirror --key cosign.key --certificate-identity-regexp '@siderolabs\\.com$' --certificate-oidc-issuer https://accounts.google.com --emit-talos-config talos-verify.yaml",
  ]
  static override args = archiveToMirrorArgs('airlock archive (tar) the mirror was populated from')
  static override flags = {
    key: Flags.string({
      summary: 'Signing key: cosign.key (ENCRYPTED SIGSTORE/COSIGN PRIVATE KEY) or an unencrypted PEM private key.',
      required: true,
      helpGroup: 'COUNTERSIGN',
    }),
    ...keyPasswordFlag,
    ...verificationPolicyFlags,
    ...trustFlags,
    ...keepHostFlag,
    ...mirrorRegistryFlags,
    'emit-talos-config': Flags.string({
      summary:
        'Write Talos documents with publicKey rules for the key (and a legacy machine.registries patch beside it) to FILE ("-" for stdout).',
      helpGroup: 'COUNTERSIGN',
    }),
    ...clusterConfigFlags,
  }

  async run(): Promise<CountersignReport> {
    const {args, flags} = await this.parse(Countersign)
    const target = parseMirrorTarget(args.target)
    const signingKey = await loadCountersignKey(flags.key, flags)
    const policyFlagsGiven = (
      [
        'policy',
        'certificate-identity',
        'certificate-identity-regexp',
        'certificate-oidc-issuer',
        'certificate-oidc-issuer-regexp',
      ] as const
    ).some(f => flags[f] !== undefined)
    if (!policyFlagsGiven)
      throw new AirlockError('USAGE', 'countersign verifies the archive first and needs a policy', {
        hint: 'give --certificate-identity[-regexp] with --certificate-oidc-issuer, or --policy FILE (--key is the signing key here)',
      })
    const policy = loadPolicy({...(flags as PolicyFlagValues), key: undefined})
    // The same verification as `airlock verify` (one open, trust, signatures), then sign exactly its verdict.
    const verified = await openVerifiedArchive(args.archive, {
      signatures: 'required',
      policy,
      trust: flags as TrustFlagValues,
    })
    const client = mirrorClient(flags, {registry: target.registry})
    try {
      const {report, verdict} = verified
      if (!verdict)
        throw new AirlockError(
          'SIGNATURE_INVALID',
          `verification failed, nothing was signed: ${firstFailure(report) ?? 'see airlock verify'}`,
          {
            hint: `run airlock verify ${args.archive} with the same policy flags for the full report`,
          },
        )
      this.note(`verification: verified ${report.images.length} image(s), ${report.blobs} blobs, ${report.bytes} bytes`)
      return await countersignVerified({
        archive: args.archive,
        policy,
        policyFile: flags.policy,
        verified,
        run: {verdict, target, client, keepHost: flags['keep-host'], key: signingKey},
        flags,
        note: line => this.note(line),
      })
    } finally {
      client.close()
      await verified.close()
    }
  }
}
