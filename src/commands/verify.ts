import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.ts'
import {loadPolicy, policyFlags, policyGiven, type PolicyFlagValues} from '../policy/index.ts'
import type {VerifyReport} from '../verify/report-model.ts'
import {failureSummary, renderVerify} from '../report/text.ts'
import {oneLine} from '../cli/one-line.ts'
import {renderMirrorCheck} from '../report/mirror.ts'
import {AirlockError, toAirlockError} from '../errors.ts'
import {mirrorCheckError, verifyMirror, type MirrorCheckResult, type SignatureForms} from '../verify/mirror-check.ts'
import {
  keepHostFlag,
  mirrorClient,
  mirrorRegistryFlags,
  signatureFormsFlag,
  type MirrorRegistryFlagValues,
} from '../cli/mirror-flags.ts'
import {parseMirrorTarget} from '../reference/mirror-path.ts'
import {statSync} from 'node:fs'
import {archiveArgument, isManifestFile, readVolumesJson} from '../archive/volumes.ts'
import type {VolumeSetInfo} from '../archive/reader.ts'
import type {VerifySignatureMode} from '../verify/signatures.ts'
import {openVerifiedArchive, type VerifiedArchive} from '../verify/open.ts'
import {firstFailure} from '../verify/verify.ts'
import {type TrustFlagValues, trustFlags} from '../trust/flags.ts'
import {talosKeyFlag} from '../countersign/cli-flags.ts'
import {mirrorBaseCheck} from '../verify/base.ts'
import type {TalosMirrorView} from '../countersign/index.ts'
import {archiveFacts, checkReportFile, policySource, reportFlag, whereAndWhen} from '../cli/report-flag.ts'
import {abortedDocument, verifyDocument} from '../report/evidence.ts'
import {writeReport} from '../report/write.ts'

export default class Verify extends BaseCommand {
  static override summary =
    "Check an archive offline: integrity of every blob and image, then every image's signatures against a policy."
  static override description =
    "Without --registry it opens no network connection. Signatures (legacy .sig/.att tags and Sigstore bundle referrers carried in the archive) are verified against the trusted root(s) and judged by the policy (cosign-style flags or --policy FILE); an image passes when one signature satisfies its rule. With --registry REGISTRY[/PREFIX], once the archive passed, the mirror it was pushed to is checked the way an in-cluster verifier sees it: each tag resolves to the archive's digest, the content is there, and every image's signatures are discovered on the mirror (.sig/.att tags, referrers or fallback tag) and verified with the archive's trust material and the same policy. A volume set (export --volume-size) is given as its NAME.volumes.json or as all its volumes, in any order."
  static override examples = [
    "<%= config.bin %> verify images.tar --trusted-root trusted_root.json --certificate-identity-regexp '@siderolabs\\.com$' --certificate-oidc-issuer https://accounts.google.com",
    '<%= config.bin %> verify images.tar --key cosign.pub',
    '<%= config.bin %> verify images.tar --policy policy.yaml --trusted-root trusted_root.json --json',
    '<%= config.bin %> verify images.tar --signatures skip',
    '<%= config.bin %> verify images.tar --policy policy.yaml --report verification.html',
    '<%= config.bin %> verify images.tar --policy policy.yaml --registry registry.dc.local/mirror --ca-file dc-ca.pem',
  ]
  static override args = {
    archive: Args.string({description: 'archive written by airlock export', required: true, ignoreStdin: true}),
  }
  // A volume set may be given as its volumes, in any order (NAME.vol*.tar).
  static override strict = false
  static override flags = {
    ...policyFlags,
    ...trustFlags,
    signatures: Flags.string({
      summary:
        'required: every image needs a signature satisfying the policy (default when a policy is given); skip: integrity only.',
      options: ['required', 'skip'],
    }),
    registry: Flags.string({
      summary:
        'Then check the mirror REGISTRY[/PREFIX] the archive was pushed to: tags, content, and signatures verified from the mirror.',
    }),
    'trust-from': Flags.string({
      summary:
        "Take the TUF trust from this trust refresh (export --trust-only) instead of the archive's own: images already inside stay verifiable after the archive's metadata expired.",
    }),
    ...keepHostFlag,
    ...signatureFormsFlag,
    ...mirrorRegistryFlags,
    ...talosKeyFlag,
    ...reportFlag,
  }

  async run(): Promise<
    VerifyReport & {notes?: string[]; mirror?: MirrorCheckResult & {pending?: string[]}; talos?: TalosMirrorView}
  > {
    const {argv, flags} = await this.parse(Verify)
    const args = {archive: archiveArgument(argv as string[])}
    const mirrorOnly = (
      [
        'keep-host',
        'insecure-registry',
        'ca-file',
        'client-cert',
        'client-key',
        'authfile',
        'username',
        'password-stdin',
        'creds-for',
        'timeout',
        'talos-key',
        'signature-forms',
      ] as const
    ).filter(f => flags[f] !== undefined && flags[f] !== false)
    if (!flags.registry && mirrorOnly.length > 0)
      throw new AirlockError('USAGE', `--${mirrorOnly[0]} needs --registry REGISTRY[/PREFIX]`)
    const target = flags.registry ? parseMirrorTarget(flags.registry) : undefined
    const given = policyGiven(flags)
    const policy = given && flags.signatures !== 'skip' ? loadPolicy(flags as PolicyFlagValues) : undefined
    this.sweepTufState(flags)
    checkReportFile(flags.report)
    const context = flags.report
      ? {...whereAndWhen(), policy: await policySource(flags, flags.signatures === 'skip')}
      : undefined
    const progress = this.progress(archiveSize(args.archive))
    progress.setLabel(`verifying ${args.archive}`)
    let verified: VerifiedArchive
    // With --registry, a delta archive's base (the blobs it leaves out) is looked up in the mirror (HEAD, size).
    const client = target ? mirrorClient(flags as MirrorRegistryFlagValues, {registry: target.registry}) : undefined
    const base = client && target ? mirrorBaseCheck({client, target, keepHost: flags['keep-host']}) : undefined
    try {
      // One library call: open once, trust, signatures, integrity, the verdict, the TUF state after full success.
      verified = await openVerifiedArchive(args.archive, {
        signatures: flags.signatures as VerifySignatureMode | undefined,
        policy,
        trust: flags as TrustFlagValues,
        onBytes: n => progress.add(n),
        ...(base ? {confirmBase: base.confirm} : {}),
        ...(flags['trust-from'] ? {trustFrom: flags['trust-from']} : {}),
        // the whole file's sha256 is one more full read: only for the outputs that record it (--json, --report)
        archiveSha256: this.jsonEnabled() || flags.report !== undefined,
        // a passing judgement is remembered for push, in a state directory that exists (verify itself always judges)
        cache: 'write-existing',
        onCacheNote: line => process.stderr.write(`airlock: note: ${line}\n`),
      })
    } catch (error) {
      progress.finish()
      // Verification stopped before judging: the report is still filed, and says why at the top.
      const e = toAirlockError(error)
      // A usage error is not a verification that failed: nothing was judged, nothing to file.
      if (flags.report && context && e.code !== 'USAGE') {
        await writeReport(
          flags.report,
          abortedDocument({
            ...context,
            // verification stopped before its own hash of the file: read it here
            archive: await archiveFacts(args.archive),
            error: {code: e.code, message: e.message, ...(e.hint ? {hint: e.hint} : {})},
          }),
        )
        this.note(`report written to ${flags.report} (verification failed)`)
      }
      client?.close()
      throw error
    } finally {
      progress.finish()
    }
    try {
      const {report, notes} = verified
      for (const line of renderVerify(report, {signaturesChecked: flags.signatures !== 'skip'})) this.log(line)
      for (const note of notes) this.log(note)
      for (const file of verified.stateFiles) this.log(`TUF state recorded in ${file}`)
      const set = verified.archive.volumeSet
      if (set)
        this.log(
          `volume set ${set.setId}: ${set.count} volume(s), each hashed against ${set.manifest} (sha256 ${set.manifestSha256}: compare with the one export printed)`,
        )
      if (flags.report && context) {
        await writeReport(
          flags.report,
          verifyDocument({
            ...context,
            report,
            archive: await archiveFacts(args.archive, report.archiveSha256),
            signaturesChecked: flags.signatures !== 'skip',
            notes,
          }),
        )
        this.log(`report written to ${flags.report}${report.ok ? '' : ' (verification failed)'}`)
      }
      if (!report.ok) {
        // The report is the output (also under --json); the exit status says it failed.
        process.stderr.write(
          `airlock: error: verification failed: ${oneLine(failureSummary(report, firstFailure(report)))}\n`,
        )
        process.exitCode = 1
      }
      const result: VerifyReport & {
        notes?: string[]
        mirror?: MirrorCheckResult & {pending?: string[]}
        volumeSet?: VolumeSetInfo
      } = {
        ...report,
        ...(notes.length ? {notes} : {}),
        ...(set ? {volumeSet: set} : {}),
      }
      if (!target || !client) return result
      if (!verified.verdict) {
        client.close()
        // The archive's digests and trust material are what the mirror is judged by: not from a failed archive.
        this.log(
          `mirror: not checked (${target.registry}${target.prefix ? `/${target.prefix}` : ''}): the archive failed verification`,
        )
        return result
      }
      try {
        const mirror = await verifyMirror({
          verdict: verified.verdict,
          archive: verified.archive,
          target,
          client,
          keepHost: flags['keep-host'],
          ...(flags['signature-forms'] ? {signatureForms: flags['signature-forms'] as SignatureForms} : {}),
          ...(policy ? {signatures: {policy, trustedRoots: verified.trustedRoots}} : {}),
        })
        for (const line of renderMirrorCheck(mirror)) this.log(line)
        // A delta verified against its base before being pushed: images not in the mirror yet are "to push", not
        // a failure; every image that IS there is checked in full, and the verdict names the ones to push.
        const pending = report.base ? mirror.images.filter(i => i.notPushed).map(i => i.source) : []
        const pendingOnly = pending.length > 0 && mirror.images.every(i => i.notPushed || i.problems.length === 0)
        if (pendingOnly) {
          this.log(
            `mirror: ${pending.length} image(s) of this delta are not pushed to ${target.registry}${target.prefix ? `/${target.prefix}` : ''} yet (its base is there): push it, then verify --registry again`,
          )
          return {...result, mirror: {...mirror, pending}}
        }
        if (!mirror.passed) {
          process.stderr.write(`airlock: error: ${mirrorCheckError(mirror).message}\n`)
          process.exitCode = 1
        }
        if (!flags['talos-key']) return {...result, ok: report.ok && mirror.passed, mirror}
        // The cluster's view: each digest looked up as a Talos publicKey rule for this key does (issue 14).
        const {readTalosKey, renderTalosView, talosMirrorView} = await import('../countersign/index.ts')
        const talos = await talosMirrorView({
          verdict: verified.verdict,
          target,
          client,
          keepHost: flags['keep-host'],
          publicKey: readTalosKey(flags['talos-key']),
        })
        for (const line of renderTalosView(talos)) this.log(line)
        if (!talos.passed) {
          process.stderr.write(
            `airlock: error: a Talos publicKey rule for ${flags['talos-key']} would refuse images from the mirror (see the talos: lines)\n`,
          )
          process.exitCode = 1
        }
        return {...result, ok: report.ok && mirror.passed && talos.passed, mirror, talos}
      } finally {
        client.close()
      }
    } finally {
      await verified.close()
    }
  }
}

function archiveSize(path: string): number | undefined {
  try {
    return isManifestFile(path) ? readVolumesJson(path).totalBytes : statSync(path).size
  } catch {
    return undefined
  }
}
