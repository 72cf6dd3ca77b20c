import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.ts'
import {loadPolicy, policyFlags, type PolicyFlagValues} from '../policy/index.ts'
import type {VerifyReport} from '../report/model.ts'
import {failureSummary, renderVerify} from '../report/text.ts'
import {oneLine} from '../cli/one-line.ts'
import {renderMirrorCheck} from '../report/mirror.ts'
import {AirlockError} from '../errors.ts'
import {mirrorCheckError, verifyMirror, type MirrorCheckResult, type MirrorSignatureOptions} from '../push/check.ts'
import {keepHostFlag, mirrorClient, mirrorRegistryFlags, type MirrorRegistryFlagValues} from '../push/flags.ts'
import {parseMirrorTarget} from '../push/mapping.ts'
import {statSync} from 'node:fs'
import {signatureSetup, type VerifySignatureMode} from '../verify/signatures.ts'
import {firstFailure, verifyArchive, type VerifyOptions} from '../verify/verify.ts'
import {type ArchiveTrust, prepareVerifyTrust} from '../trust/archive.ts'
import {type TrustFlagValues, trustFlags} from '../trust/flags.ts'

const POLICY_FLAG_NAMES = ['policy', 'key', 'certificate-identity', 'certificate-identity-regexp', 'certificate-oidc-issuer', 'certificate-oidc-issuer-regexp'] as const

export default class Verify extends BaseCommand {
  static override summary = 'Check an archive offline: integrity of every blob and image, then every image\'s signatures against a policy.'
  static override description =
    'Without --registry it opens no network connection. Signatures (legacy .sig/.att tags and Sigstore bundle referrers carried in the archive) are verified against the trusted root(s) and judged by the policy (cosign-style flags or --policy FILE); an image passes when one signature satisfies its rule. With --registry REGISTRY[/PREFIX], once the archive passed, the mirror it was pushed to is checked the way an in-cluster verifier sees it: each tag resolves to the archive\'s digest, the content is there, and every image\'s signatures are discovered on the mirror (.sig/.att tags, referrers or fallback tag) and verified with the archive\'s trust material and the same policy.'
  static override examples = [
    '<%= config.bin %> verify images.tar --trusted-root trusted_root.json --certificate-identity-regexp \'@siderolabs\\.com$\' --certificate-oidc-issuer https://accounts.google.com',
    '<%= config.bin %> verify images.tar --key cosign.pub',
    '<%= config.bin %> verify images.tar --policy policy.yaml --trusted-root trusted_root.json --json',
    '<%= config.bin %> verify images.tar --signatures skip',
    '<%= config.bin %> verify images.tar --policy policy.yaml --registry registry.dc.local/mirror --ca-file dc-ca.pem',
  ]
  static override args = {archive: Args.string({description: 'archive written by airlock export', required: true})}
  static override flags = {
    ...policyFlags,
    ...trustFlags,
    signatures: Flags.string({summary: 'required: every image needs a signature satisfying the policy (default when a policy is given); skip: integrity only.', options: ['required', 'skip']}),
    registry: Flags.string({summary: 'Then check the mirror REGISTRY[/PREFIX] the archive was pushed to: tags, content, and signatures verified from the mirror.'}),
    ...keepHostFlag,
    ...mirrorRegistryFlags,
  }

  private parsedFlags: Record<string, unknown> = {}
  private notes: string[] = []
  private archivePath = ''
  private trust: ArchiveTrust | undefined
  /** What the mirror check verifies signatures with: the archive's policy and trusted roots (none: presence only). */
  private mirrorSignatures: MirrorSignatureOptions | undefined

  /** Where signature, policy and trust checks plug in. */
  protected async checks(): Promise<Pick<VerifyOptions, 'imageChecks' | 'archiveChecks'>> {
    const flags = this.parsedFlags
    const policyGiven = POLICY_FLAG_NAMES.some((f) => flags[f] !== undefined)
    const policy = policyGiven && flags['signatures'] !== 'skip' ? loadPolicy(flags as PolicyFlagValues) : undefined
    // Trusted roots: the archive's TUF data verified from pinned roots, plus --trusted-root (src/trust/archive.ts).
    const {trust, trustedRoots} = await prepareVerifyTrust(this.archivePath, flags as TrustFlagValues, {keyless: policy?.rules.some((r) => r.action === 'keyless') ?? false})
    this.trust = trust
    const setup = signatureSetup({mode: flags['signatures'] as VerifySignatureMode | undefined, policy, trustedRoots})
    this.notes = setup.notes
    if (policy) this.mirrorSignatures = {policy, trustedRoots}
    return {imageChecks: setup.imageChecks, archiveChecks: [trust.check]}
  }

  async run(): Promise<VerifyReport & {notes?: string[]; mirror?: MirrorCheckResult}> {
    const {args, flags} = await this.parse(Verify)
    this.parsedFlags = flags as Record<string, unknown>
    this.archivePath = args.archive
    const mirrorOnly = (['keep-host', 'insecure-registry', 'ca-file', 'username', 'password-stdin'] as const).filter((f) => flags[f] !== undefined && flags[f] !== false)
    if (!flags.registry && mirrorOnly.length > 0) throw new AirlockError('USAGE', `--${mirrorOnly[0]} needs --registry REGISTRY[/PREFIX]`)
    const target = flags.registry ? parseMirrorTarget(flags.registry) : undefined
    const checks = await this.checks()
    const progress = this.progress(archiveSize(args.archive))
    progress.setLabel(`verifying ${args.archive}`)
    let report: VerifyReport
    try {
      report = await verifyArchive(args.archive, {...checks, onBytes: (n) => progress.add(n)})
    } finally {
      progress.finish()
    }
    for (const line of renderVerify(report, {signaturesChecked: flags.signatures !== 'skip'})) this.log(line)
    for (const note of this.notes) this.log(note)
    for (const file of this.trust?.commitState(report) ?? []) this.log(`TUF state recorded in ${file}`)
    if (!report.ok) {
      // The report is the output (also under --json); the exit status says it failed.
      process.stderr.write(`airlock: error: verification failed: ${oneLine(failureSummary(report, firstFailure(report)))}\n`)
      process.exitCode = 1
    }
    const result: VerifyReport & {notes?: string[]; mirror?: MirrorCheckResult} = this.notes.length ? {...report, notes: this.notes} : {...report}
    if (!target) return result
    if (!report.ok) {
      // The archive's digests and trust material are what the mirror is judged by: not from a failed archive.
      this.log(`mirror: not checked (${target.registry}${target.prefix ? `/${target.prefix}` : ''}): the archive failed verification`)
      return result
    }
    const client = mirrorClient(flags as MirrorRegistryFlagValues)
    try {
      const mirror = await verifyMirror({
        archive: args.archive,
        target,
        client,
        keepHost: flags['keep-host'],
        ...(this.mirrorSignatures ? {signatures: this.mirrorSignatures} : {}),
      })
      for (const line of renderMirrorCheck(mirror)) this.log(line)
      if (!mirror.passed) {
        process.stderr.write(`airlock: error: ${mirrorCheckError(mirror).message}\n`)
        process.exitCode = 1
      }
      return {...result, ok: report.ok && mirror.passed, mirror}
    } finally {
      client.close()
    }
  }
}

function archiveSize(path: string): number | undefined {
  try {
    return statSync(path).size
  } catch {
    return undefined
  }
}
