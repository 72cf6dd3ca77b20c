// airlock verify-blob: one artifact (a file, or sha256:<hex>) against one Sigstore bundle, fully offline.
import {readFileSync} from 'node:fs'
import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.ts'
import {AirlockError} from '../errors.ts'
import {identityFlags, loadPolicy} from '../policy/index.ts'
import {
  loadTrustedRoot,
  parseDigestArtifact,
  verifyBlob,
  type ArtifactInput,
  type BlobVerificationReport,
  type SignerRequirement,
} from '../sigstore/index.ts'

export type VerifyBlobResult = BlobVerificationReport & {artifact: string; bundle: string; trustedRoots: string[]}

export default class VerifyBlob extends BaseCommand {
  static override summary = 'Verify a file (or a sha256 digest) against a Sigstore bundle, offline.'
  static override description =
    'Checks the signature, the certificate chain at log time, the SCT, the transparency log entry (SET, inclusion proof, checkpoint) and the signer identity, with no network access. Exit 0 when it verifies, 1 when it does not, 2 for usage errors.'
  static override examples = [
    "<%= config.bin %> verify-blob --bundle release.tar.gz.sigstore.json --trusted-root trusted_root.json --certificate-identity-regexp '@example\\.com$' --certificate-oidc-issuer https://accounts.google.com release.tar.gz",
    '<%= config.bin %> verify-blob --bundle b.sigstore.json --key cosign.pub --trusted-root trusted_root.json sha256:0123...',
  ]
  static override args = {
    artifact: Args.string({required: true, description: 'the artifact file, or sha256:<hex> of it', ignoreStdin: true}),
  }
  static override flags = {
    bundle: Flags.string({required: true, summary: 'The Sigstore bundle (JSON) for the artifact.'}),
    'trusted-root': Flags.string({
      multiple: true,
      multipleNonGreedy: true,
      summary: 'trusted_root.json to trust (repeatable: roots are merged, e.g. public good plus a private instance).',
    }),
    ...identityFlags,
  }

  async run(): Promise<VerifyBlobResult> {
    const {args, flags} = await this.parse(VerifyBlob)
    const policy = loadPolicy(flags)
    const rule = policy.rules[0]!
    const trustedRootPaths = flags['trusted-root'] ?? []
    if (trustedRootPaths.length === 0 && rule.action === 'keyless')
      throw new AirlockError('USAGE', 'keyless verification needs --trusted-root (verify-blob never fetches one)', {
        hint: 'pass the trusted_root.json of the Sigstore instance(s) that signed',
      })
    const trustedRoots = trustedRootPaths.map(p => loadTrustedRoot(p))
    const bundle = readInput(flags.bundle, 'bundle')
    const artifact: ArtifactInput = args.artifact.startsWith('sha256:')
      ? parseDigestArtifact(args.artifact)
      : {kind: 'bytes', bytes: readInput(args.artifact, 'artifact')}
    const signer: SignerRequirement =
      rule.action === 'keyless' ? {kind: 'keyless', identities: rule.identities} : {kind: 'public-key'}
    const trust = rule.action === 'public-key' ? {trustedRoots, publicKeyPem: rule.publicKeyPem} : {trustedRoots}
    const report = verifyBlob({bundle, artifact, trust, signer, insecureIgnoreTlog: policy.insecureIgnoreTlog})
    const result: VerifyBlobResult = {
      ...report,
      artifact: args.artifact,
      bundle: flags.bundle,
      trustedRoots: trustedRootPaths,
    }

    for (const warning of report.warnings) this.note(warning)
    for (const check of report.checks) {
      if (check.status === 'not-applicable') continue
      this.log(`  ${mark(check.status)} ${check.name}${check.reason ? `: ${check.reason}` : ''}`)
    }
    const who = report.signer.identity
      ? `${report.signer.identity} (issuer ${report.signer.issuer ?? '?'})`
      : report.signer.keyed || rule.action === 'public-key'
        ? 'the given key'
        : '?'
    // A log entry that was not checked (--insecure-ignore-tlog) is not quoted as if it had been.
    const log =
      report.tlog[0] && !policy.insecureIgnoreTlog
        ? `, log index ${report.tlog[0].logIndex}${report.tlog[0].integratedTime ? ` at ${report.tlog[0].integratedTime}` : ''}`
        : ''
    if (report.ok) {
      this.log(`Verified OK: ${args.artifact} signed by ${who}${log}`)
      return result
    }
    const failure = report.failure!
    const code = failure.category === 'policy' ? 'POLICY_DENIED' : 'SIGNATURE_INVALID'
    // Exit 1; under --json the full report rides in error.details.report.
    throw new AirlockError(code, `verification failed: ${failure.check}: ${failure.reason}`, {
      details: {report: result},
    })
  }
}

function readInput(path: string, what: string): Buffer {
  try {
    return readFileSync(path)
  } catch (error) {
    throw new AirlockError('USAGE', `cannot read ${what} ${path}: ${(error as Error).message}`, {cause: error})
  }
}

function mark(status: string): string {
  return status === 'pass' ? 'ok  ' : status === 'fail' ? 'FAIL' : status === 'skipped' ? 'SKIP' : '--  '
}
