import {statSync, writeFileSync} from 'node:fs'
import {constants as osConstants} from 'node:os'
import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.ts'
import {checkOutputFile} from '../cli/output-path.ts'
import {AirlockError} from '../errors.ts'
import {loadPolicy, policyFlags, type PolicyFlagValues} from '../policy/index.ts'
import {parseMirrorTarget, pushArchive, type PushArchiveResult} from '../push/index.ts'
import {firstFailure, verifyArchive} from '../verify/verify.ts'
import {failureSummary, plural} from '../report/text.ts'
import {formatBytes} from '../util/progress.ts'
import {mirrorCheckError, verifyMirror, type MirrorCheckResult} from '../push/check.ts'
import {renderMirrorCheck} from '../report/mirror.ts'
import {keepHostFlag, mirrorClient, mirrorRegistryFlags} from '../push/flags.ts'
import {signatureSetup, type VerifySignatureMode} from '../verify/signatures.ts'
import {prepareVerifyTrust} from '../trust/archive.ts'
import {type TrustFlagValues, trustFlags} from '../trust/flags.ts'

export default class Push extends BaseCommand {
  static override summary = 'Push a verified archive into a mirror registry, signatures and referrers included.'
  static override description =
    'Verifies the archive first and pushes nothing if that fails. Images land at REGISTRY/PREFIX/<repository> ' +
    '(--keep-host: REGISTRY/PREFIX/<source host>/<repository>); manifests are pushed byte for byte after their children, tags last.'
  static override examples = [
    '<%= config.bin %> push talos-1.11.tar registry.dc.local/mirror --certificate-identity-regexp \'@siderolabs\\.com$\' --certificate-oidc-issuer https://accounts.google.com',
    '<%= config.bin %> push talos-1.11.tar registry.dc.local:5000 --policy policy.yaml --emit-talos-config talos-mirror.yaml',
  ]
  static override args = {
    archive: Args.string({description: 'airlock archive (tar)', required: true}),
    target: Args.string({description: 'REGISTRY[/PREFIX] of the mirror', required: true}),
  }
  static override flags = {
    ...policyFlags,
    ...keepHostFlag,
    signatures: Flags.string({
      summary: 'required (default): every image needs a signature satisfying the policy; skip: verify integrity only (like airlock verify --signatures skip; said so in the output).',
      options: ['required', 'skip'],
    }),
    'skip-verify': Flags.boolean({summary: 'Push WITHOUT verifying the archive first. Insecure; warned about and recorded in the output.', default: false}),
    check: Flags.boolean({
      summary: "After pushing, re-read images, signatures and referrers from the mirror and verify them with the archive's trust material and the policy (as `airlock verify --registry`).",
      default: false,
    }),
    'emit-talos-config': Flags.string({summary: 'Write Talos RegistryMirrorConfig (+ ImageVerificationConfig from the policy) to FILE ("-" for stdout).'}),
    ...trustFlags,
    concurrency: Flags.integer({summary: 'Blob transfers at once.', default: 4, min: 1, max: 64}),
    ...mirrorRegistryFlags,
  }

  async run(): Promise<PushArchiveResult & {check?: MirrorCheckResult}> {
    const {args, flags} = await this.parse(Push)
    const target = parseMirrorTarget(args.target)
    const talosFile = flags['emit-talos-config']
    if (talosFile && talosFile !== '-') checkOutputFile(talosFile, '--emit-talos-config', {force: true})
    const policyGiven = ['policy', 'key', 'certificate-identity', 'certificate-identity-regexp', 'certificate-oidc-issuer', 'certificate-oidc-issuer-regexp'].some(
      (f) => (flags as Record<string, unknown>)[f] !== undefined,
    )
    const policy = policyGiven ? loadPolicy(flags as PolicyFlagValues) : undefined
    const signatureMode = (flags.signatures ?? 'required') as VerifySignatureMode
    if (signatureMode === 'skip' && flags['skip-verify']) throw new AirlockError('USAGE', '--signatures skip and --skip-verify together: choose one (--signatures skip still checks integrity)')
    if (signatureMode === 'skip' && policy) throw new AirlockError('USAGE', '--signatures skip cannot be combined with a policy (nothing would be checked)')
    if (!policy && !flags['skip-verify'] && signatureMode !== 'skip')
      throw new AirlockError('USAGE', 'push verifies the archive first and needs the same policy flags as airlock verify', {
        hint: 'give --certificate-identity[-regexp] with --certificate-oidc-issuer, --key, or --policy FILE; or --signatures skip to check integrity only (or --skip-verify, insecure)',
      })
    // The same signature check as `airlock verify`: push refuses unsigned or unverified content.
    const keyless = policy?.rules.some((r) => r.action === 'keyless') ?? false
    const trust = flags['skip-verify'] ? undefined : await prepareVerifyTrust(args.archive, flags as TrustFlagValues, {keyless})
    // The same verification options as `airlock verify` (integrity only under --signatures skip).
    const signatures = trust ? signatureSetup({mode: signatureMode, policy, trustedRoots: trust.trustedRoots}) : undefined
    for (const note of signatures?.notes ?? []) process.stderr.write(`airlock: ${note}\n`)
    if (flags['skip-verify']) process.stderr.write('airlock: WARNING: --skip-verify: pushing content that has NOT been verified; this is recorded in the output\n')
    const client = mirrorClient(flags, {concurrency: flags.concurrency})
    const plainHttp = (flags['insecure-registry'] ?? []).includes(target.registry)
    const progress = this.progress()
    const archiveBytes = fileSize(args.archive)
    // What has landed so far, for the interrupt message (an interrupted push is resumed by running it again).
    const landed = {blobs: 0, bytes: 0, tags: 0, manifests: 0}
    const onInterrupt = (signal: NodeJS.Signals): void => {
      progress.finish()
      const what = `${plural(landed.blobs, 'blob')} (${formatBytes(landed.bytes)}), ${plural(landed.manifests, 'manifest')} and ${plural(landed.tags, 'tag')} were pushed`
      process.stderr.write(`${process.stderr.isTTY ? '\r\x1b[K' : ''}airlock: error: push interrupted (${signal}): ${what}; no tag points at incomplete content\n`)
      process.stderr.write('airlock: hint: run the same command again to resume: what is already on the mirror is not sent again\n')
      process.exit(128 + (osConstants.signals[signal] ?? 0))
    }
    if (flags['skip-verify']) progress.phase(`push: uploading to ${target.registry}`)
    const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const
    for (const signal of signals) process.once(signal, onInterrupt)
    try {
      const result = await pushArchive({
        archive: args.archive,
        target,
        client,
        keepHost: flags['keep-host'],
        concurrency: flags.concurrency,
        skipVerify: flags['skip-verify'],
        // The same library call and checks as `airlock verify` (integrity, then signatures against the policy).
        verify: async (_source, hints) => {
          progress.phase(`push: verifying ${args.archive}`, archiveBytes)
          const report = await verifyArchive(args.archive, {
            onBytes: (n) => progress.add(n),
            imageChecks: signatures?.imageChecks ?? [],
            archiveChecks: trust ? [trust.trust.check] : [],
            ...(hints.skipHash ? {skipHash: hints.skipHash} : {}),
          })
          trust?.trust.commitState(report)
          const skipped = report.hashSkipped?.blobs ? ` (${plural(report.hashSkipped.blobs, 'blob')}, ${formatBytes(report.hashSkipped.bytes)}, not re-hashed: ${report.hashSkipped.reason})` : ''
          const summary = report.ok ? `verified ${plural(report.images.length, 'image')}, ${plural(report.blobs, 'blob')}, ${formatBytes(report.bytes)}${skipped}` : failureSummary(report, firstFailure(report))
          // Said when it happens: before the first upload and tag, never after them.
          progress.finish()
          if (report.ok) this.note(`verification: ${summary}`)
          progress.phase(`push: uploading to ${target.registry}`, report.ok ? report.bytes : undefined)
          return {passed: report.ok, summary, report}
        },
        ...(policy ? {policy} : {}),
        ...(flags['emit-talos-config'] ? {talos: {plainHttp}} : {}),
        onEvent: (event) => {
          if (event.type === 'blob-start') progress.setLabel(`push: ${event.repository}`)
          else if (event.type === 'blob') {
            if (event.action === 'pushed') (landed.blobs++, (landed.bytes += event.descriptor.size))
            progress.add(event.descriptor.size)
          } else if (event.type === 'manifest' && event.action === 'pushed') landed.manifests++
          else if (event.type === 'tag' && event.action === 'written') {
            landed.tags++
            if (!this.jsonEnabled()) progress.line(`tagged ${target.registry}/${event.repository}:${event.tag}`)
          }
        },
      })
      for (const image of result.images)
        this.note(
          `${image.source} -> ${image.target}: ${plural(image.blobs.pushed, 'blob')} pushed (${formatBytes(image.blobs.bytes)}), ${image.blobs.mounted} mounted, ${image.blobs.skipped} already there; ${plural(image.manifests.pushed, 'manifest')} pushed; tags ${image.tags.written.join(', ') || '(unchanged)'}${image.fallbackTags.length ? `; fallback tags ${image.fallbackTags.join(', ')}` : ''}`,
        )
      this.note(`pushed ${formatBytes(result.totals.bytesPushed)} in ${result.seconds.toFixed(1)} s (${formatBytes(result.totals.bytesPushed / Math.max(result.seconds, 0.001))}/s)`)
      if (flags['emit-talos-config'] && result.talosConfig) {
        // "-": the YAML alone on stdout (progress and notes are on stderr), ready for a pipe or a redirect.
        if (flags['emit-talos-config'] === '-') {
          if (!this.jsonEnabled()) process.stdout.write(result.talosConfig)
        }
        else {
          writeFileSync(flags['emit-talos-config'], result.talosConfig)
          this.note(`Talos config written to ${flags['emit-talos-config']} (review before applying):`)
          this.note(result.talosConfig.trimEnd())
        }
      }
      if (!flags.check) return result
      // The same mirror check as `airlock verify --registry`: signatures verified from the mirror when a policy
      // and trust were used to verify the archive (not with --skip-verify, which checked nothing).
      const check = await verifyMirror({
        archive: args.archive,
        target,
        client,
        keepHost: flags['keep-host'],
        ...(policy && trust ? {signatures: {policy, trustedRoots: trust.trustedRoots}} : {}),
      })
      for (const line of renderMirrorCheck(check)) this.note(`check: ${line}`)
      if (!check.passed) throw mirrorCheckError(check)
      return {...result, check}
    } finally {
      progress.finish()
      for (const signal of signals) process.removeListener(signal, onInterrupt)
      client.close()
    }
  }
}

function fileSize(path: string): number | undefined {
  try {
    return statSync(path).size
  } catch {
    return undefined
  }
}
