import {statSync} from 'node:fs'
import {constants as osConstants} from 'node:os'
import {Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.ts'
import {archiveArgument, isManifestFile, readVolumesJson} from '../archive/volumes.ts'
import {checkOutputFile} from '../cli/output-path.ts'
import {plural} from '../report/text.ts'
import {formatBytes} from '../util/progress.ts'
import {writeFileAtomicSync} from '../util/files.ts'
import type {VerifySignatureMode} from '../verify/signatures.ts'
import {AirlockError} from '../errors.ts'
import {loadPolicy, policyFlags, policyGiven, type PolicyFlagValues} from '../policy/index.ts'
import {parseMirrorTarget, pushArchive, type PushArchiveResult} from '../push/index.ts'
import type {MirrorCheckResult, SignatureForms} from '../verify/mirror-check.ts'
import {renderMirrorCheck} from '../report/mirror.ts'
import {pushFlatFields} from '../report/push-fields.ts'
import {
  archiveToMirrorArgs,
  keepHostFlag,
  mirrorClient,
  mirrorRegistryFlags,
  signatureFormsFlag,
} from '../cli/mirror-flags.ts'
import {type TrustFlagValues, trustFlags} from '../trust/flags.ts'
import {clusterConfigFlags, keyPasswordFlag, talosKeyFlag} from '../countersign/cli-flags.ts'
import type {CountersignReport, TalosMirrorView} from '../countersign/index.ts'
import type {Verdict} from '../verify/verdict.ts'

/** The countersign library (sigstore-js and all) is loaded only when a countersign flag asks for it. */
const countersignLib = () => import('../countersign/index.ts')

export default class Push extends BaseCommand {
  static override summary = 'Push a verified archive into a mirror registry, signatures and referrers included.'
  static override description =
    'Verifies the archive first and pushes nothing if that fails. Images land at REGISTRY/PREFIX/<repository> ' +
    '(--keep-host: REGISTRY/PREFIX/<source host>/<repository>); manifests are pushed byte for byte after their children, tags last.'
  static override examples = [
    "<%= config.bin %> push talos-1.11.tar registry.dc.local/mirror --certificate-identity-regexp '@siderolabs\\.com$' --certificate-oidc-issuer https://accounts.google.com",
    '<%= config.bin %> push talos-1.11.tar registry.dc.local:5000 --policy policy.yaml --emit-talos-config talos-mirror.yaml',
  ]
  // A volume set may be given as NAME.volumes.json or as its volumes, NAME.vol*.tar, before the target.
  static override strict = false
  static override args = archiveToMirrorArgs('airlock archive (tar), or a volume set (NAME.volumes.json)')
  static override flags = {
    ...policyFlags,
    ...keepHostFlag,
    signatures: Flags.string({
      summary:
        'required (default): every image needs a signature satisfying the policy; skip: verify integrity only (like airlock verify --signatures skip; said so in the output).',
      options: ['required', 'skip'],
    }),
    ...signatureFormsFlag,
    force: Flags.boolean({
      summary: 'Move mirror tags that already point at other content (refused otherwise, naming the old digest).',
      default: false,
    }),
    'skip-verify': Flags.boolean({
      summary: 'Push WITHOUT verifying the archive first. Insecure; warned about and recorded in the output.',
      default: false,
    }),
    check: Flags.boolean({
      summary:
        "After pushing, re-read images, signatures and referrers from the mirror and verify them with the archive's trust material and the policy (as `airlock verify --registry`).",
      default: false,
    }),
    'emit-talos-config': Flags.string({
      summary:
        'Write Talos RegistryMirrorConfig (+ ImageVerificationConfig from the policy; with --countersign-key: publicKey rules for the key, RegistryTLSConfig, RegistryAuthConfig, and a legacy machine.registries patch beside it) to FILE ("-" for stdout).',
    }),
    'countersign-key': Flags.string({
      summary:
        'After verification passed and the images landed, sign every verified image in the mirror with this private key (cosign.key or PEM) in every form Talos reads, with a signed receipt.',
      helpGroup: 'COUNTERSIGN',
    }),
    ...keyPasswordFlag,
    ...clusterConfigFlags,
    ...talosKeyFlag,
    ...trustFlags,
    'no-cache': Flags.boolean({
      summary:
        'Judge the archive again even when the state directory (--state) remembers a passing verification of the same file under the same policy and trust inputs; and do not remember this one.',
      default: false,
    }),
    concurrency: Flags.integer({
      summary: 'Blob transfers at once (6, as skopeo copies layers).',
      default: 6,
      min: 1,
      max: 64,
    }),
    ...mirrorRegistryFlags,
  }

  async run(): Promise<PushArchiveResult & {countersign?: CountersignReport; talos?: TalosMirrorView}> {
    const parsed = await this.parse(Push)
    const {flags} = parsed
    // ARCHIVE... TARGET: a volume set may be given as its volumes (NAME.vol*.tar) before the target.
    const positional = parsed.argv as string[]
    const args = {archive: archiveArgument(positional.slice(0, -1)), target: positional[positional.length - 1]!}
    const target = parseMirrorTarget(args.target)
    if (flags['countersign-key'] && flags['skip-verify'])
      throw new AirlockError(
        'USAGE',
        '--countersign-key cannot be used with --skip-verify: airlock never signs what it did not verify',
      )
    if (!flags['countersign-key'] && (flags['emit-policy-controller'] || flags['key-password-stdin']))
      throw new AirlockError(
        'USAGE',
        `--${flags['emit-policy-controller'] ? 'emit-policy-controller' : 'key-password-stdin'} needs --countersign-key`,
      )
    if (flags['talos-key'] && !flags.check) throw new AirlockError('USAGE', '--talos-key needs --check')
    const signatureForms = (flags['signature-forms'] ?? 'all') as SignatureForms
    if (signatureForms === 'legacy' && flags['countersign-key'])
      throw new AirlockError(
        'USAGE',
        '--countersign-key writes a Sigstore bundle referrer, which --signature-forms legacy leaves out: choose one',
      )
    const talosFile = flags['emit-talos-config']
    if (talosFile && talosFile !== '-') checkOutputFile(talosFile, '--emit-talos-config', {force: true})
    const signatureMode = (flags.signatures ?? 'required') as VerifySignatureMode
    if (signatureMode === 'skip' && flags['skip-verify'])
      throw new AirlockError(
        'USAGE',
        '--signatures skip and --skip-verify together: choose one (--signatures skip still checks integrity)',
      )
    if (signatureMode === 'skip' && flags['countersign-key'])
      throw new AirlockError(
        'USAGE',
        '--countersign-key cannot be used with --signatures skip: airlock never signs what it did not verify',
      )
    // The key first: a wrong password or an unusable key stops here, with nothing pushed.
    const countersignKey = flags['countersign-key']
      ? await (await countersignLib()).loadCountersignKey(flags['countersign-key'], flags)
      : undefined
    const given = policyGiven(flags)
    const policy = given ? loadPolicy(flags as PolicyFlagValues) : undefined
    if (signatureMode === 'skip' && policy)
      throw new AirlockError('USAGE', '--signatures skip cannot be combined with a policy (nothing would be checked)')
    if (!policy && !flags['skip-verify'] && signatureMode !== 'skip')
      throw new AirlockError(
        'USAGE',
        'push verifies the archive first and needs the same policy flags as airlock verify',
        {
          hint: 'give --certificate-identity[-regexp] with --certificate-oidc-issuer, --key, or --policy FILE; or --signatures skip to check integrity only (or --skip-verify, insecure)',
        },
      )
    if (flags['skip-verify'])
      process.stderr.write(
        'airlock: WARNING: --skip-verify: pushing content that has NOT been verified; this is recorded in the output\n',
      )
    const client = mirrorClient(flags, {concurrency: flags.concurrency, registry: target.registry})
    const plainHttp = (flags['insecure-registry'] ?? []).includes(target.registry)
    let countersign: CountersignReport | undefined
    let pushed: Verdict | undefined
    this.sweepTufState(flags)
    const progress = this.progress()
    // What has landed so far, for the interrupt message (an interrupted push is resumed by running it again).
    const landed = {blobs: 0, bytes: 0, tags: 0, manifests: 0}
    const onInterrupt = (signal: NodeJS.Signals): void => {
      progress.finish()
      const what = `${plural(landed.blobs, 'blob')} (${formatBytes(landed.bytes)}), ${plural(landed.manifests, 'manifest')} and ${plural(landed.tags, 'tag')} were pushed`
      process.stderr.write(
        `${process.stderr.isTTY ? '\r\x1b[K' : ''}airlock: error: push interrupted (${signal}): ${what}; no tag points at incomplete content\n`,
      )
      process.stderr.write(
        'airlock: hint: run the same command again to resume: what is already on the mirror is not sent again\n',
      )
      process.exit(128 + (osConstants.signals[signal] ?? 0))
    }
    const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const
    for (const signal of signals) process.once(signal, onInterrupt)
    if (flags['skip-verify']) progress.phase(`push: uploading to ${target.registry}`)
    else progress.phase(`push: verifying ${args.archive}`, fileSize(args.archive))
    try {
      // One library call: verify (the same checks as `airlock verify`), push exactly the verdict, check the mirror.
      const result = await pushArchive({
        archive: args.archive,
        target,
        client,
        keepHost: flags['keep-host'],
        force: flags.force,
        concurrency: flags.concurrency,
        skipVerify: flags['skip-verify'],
        ...(policy ? {policy} : {}),
        signatures: signatureMode,
        trust: flags as TrustFlagValues,
        cache: !flags['no-cache'],
        onCacheNote: line => process.stderr.write(`airlock: note: ${line}\n`),
        onBytes: n => progress.add(n),
        // Said when it happens: before the first upload and tag, never after them.
        onVerified: (verification, bytes) => {
          progress.finish()
          for (const note of verification.notes ?? []) process.stderr.write(`airlock: ${note}\n`)
          // --skip-verify was already said loudly (the WARNING line) and is recorded in the --json result
          if (verification.status === 'passed') this.note(`verification: ${verification.summary}`)
          if (verification.cache)
            this.note(
              `verification: remembered from the judgement of ${verification.cache.judgedAt}${verification.cache.validUntil ? `, valid until ${verification.cache.validUntil}` : ''} (verified-archive cache; --no-cache judges again)`,
            )
          const forecast = verification.report?.trust?.forecast
          if (verification.status === 'passed' && forecast) this.note(`forecast: ${forecast.summary}`)
          progress.phase(`push: uploading to ${target.registry}`, bytes)
        },
        check: flags.check,
        signatureForms,
        ...(flags['emit-talos-config'] && !countersignKey ? {talos: {plainHttp}} : {}),
        // Countersigning signs exactly the verdict push just wrote, before the mirror check reads it back (issue 14).
        ...((countersignKey || flags['talos-key']) && policy
          ? {
              afterPush: async verified => {
                pushed = verified.verdict
                if (!countersignKey) return
                const {countersignVerified} = await countersignLib()
                countersign = await countersignVerified({
                  archive: args.archive,
                  policy,
                  policyFile: flags.policy,
                  verified,
                  run: {verdict: verified.verdict, target, client, keepHost: flags['keep-host'], key: countersignKey},
                  flags,
                  note: line => this.note(line),
                })
              },
            }
          : {}),
        onEvent: event => {
          if (event.type === 'blob-start') progress.setLabel(`push: ${event.repository}`)
          else if (event.type === 'blob') {
            if (event.action === 'pushed') {
              landed.blobs++
              landed.bytes += event.descriptor.size
            }
            progress.add(event.descriptor.size)
          } else if (event.type === 'manifest' && event.action === 'pushed') landed.manifests++
          else if (event.type === 'tag' && event.action === 'written') {
            landed.tags++
            if (!this.jsonEnabled()) progress.line(`tagged ${target.registry}/${event.repository}:${event.tag}`)
          }
        },
      })
      progress.finish()
      for (const image of result.images)
        this.note(
          `${image.source} -> ${image.target}: ${plural(image.blobs.pushed, 'blob')} pushed (${formatBytes(image.blobs.bytes)}), ${image.blobs.mounted} mounted, ${image.blobs.skipped} already there; ${plural(image.manifests.pushed, 'manifest')} pushed; tags ${image.tags.written.join(', ') || '(unchanged)'}${image.fallbackTags.length ? `; fallback tags ${image.fallbackTags.join(', ')}` : ''}`,
        )
      // Never silent: what --signature-forms legacy left out is said after the per-image lines.
      if (result.signatureForms.requested === 'legacy')
        this.note(
          `signature forms: legacy .sig/.att tags only (--signature-forms legacy): ${plural(result.signatures.legacyTags, 'signature tag')} pushed, ${plural(result.signatureForms.referrersNotPushed, 'Sigstore bundle referrer')} NOT pushed`,
        )
      this.note(
        `pushed ${formatBytes(result.totals.bytesPushed)} in ${result.seconds.toFixed(1)} s (${formatBytes(result.totals.bytesPushed / Math.max(result.seconds, 0.001))}/s)`,
      )
      if (flags['emit-talos-config'] && result.talosConfig) {
        // "-": the YAML alone on stdout (progress and notes are on stderr), ready for a pipe or a redirect.
        if (flags['emit-talos-config'] === '-') {
          if (!this.jsonEnabled()) process.stdout.write(result.talosConfig)
        } else {
          this.noteStale(
            writeFileAtomicSync(flags['emit-talos-config'], result.talosConfig),
            'the output directory',
            'left by an interrupted push',
          )
          this.note(`Talos config written to ${flags['emit-talos-config']} (review before applying):`)
          this.note(result.talosConfig.trimEnd())
        }
      }
      if (result.check) for (const line of renderMirrorCheck(result.check)) this.note(`check: ${line}`)
      const flat = {...result, ...pushFlatFields(result)}
      const out = countersign ? {...flat, countersign} : flat
      // The cluster's view under the countersign key (or --talos-key): Talos's lookup order and short-circuit.
      const talosKeyFile = flags['talos-key']
      if (!result.check || !pushed || (!talosKeyFile && !countersignKey)) return out
      const {readTalosKey, renderTalosView, talosMirrorView} = await countersignLib()
      const publicKey = talosKeyFile ? readTalosKey(talosKeyFile) : countersignKey!.publicKey
      const talos = await talosMirrorView({verdict: pushed, target, client, keepHost: flags['keep-host'], publicKey})
      for (const line of renderTalosView(talos)) this.note(`check: ${line}`)
      if (!talos.passed)
        throw new AirlockError(
          'SIGNATURE_INVALID',
          'check: a Talos publicKey rule for the key would refuse images from the mirror (see the talos: lines)',
        )
      return {...out, talos}
    } catch (error) {
      const check =
        error instanceof AirlockError ? (error.details?.['check'] as MirrorCheckResult | undefined) : undefined
      if (check) for (const line of renderMirrorCheck(check)) this.note(`check: ${line}`)
      // A push that failed after committing blobs (a blob that did not hash to its digest while uploading) names
      // each blob it left: no manifest or tag refers to them.
      const left = error instanceof AirlockError ? error.details?.['unreferencedBlobs'] : undefined
      if (Array.isArray(left))
        for (const blob of left as Array<{repository: string; digest: string; size: number}>)
          this.note(
            `left unreferenced in the mirror: ${target.registry}/${blob.repository}@${blob.digest} (${formatBytes(blob.size)})`,
          )
      throw error
    } finally {
      progress.finish()
      for (const signal of signals) process.removeListener(signal, onInterrupt)
      client.close()
    }
  }
}

function fileSize(path: string): number | undefined {
  try {
    return isManifestFile(path) ? readVolumesJson(path).totalBytes : statSync(path).size
  } catch {
    return undefined
  }
}
