import {readFileSync} from 'node:fs'
import {dirname} from 'node:path'
import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.ts'
import {registryClientOptions, registryFlags} from '../cli/registry-flags.ts'
import {checkOutputFile} from '../cli/output-path.ts'
import {removeStalePartials} from '../util/files.ts'
import {parsePlatform} from '../copy/platform.ts'
import {parseVolumeSize, removeStaleSetPartials} from '../archive/volumes.ts'
import {describeVolumes} from '../report/volumes.ts'
import {AirlockError} from '../errors.ts'
import {exportImages, type ExportResult} from '../export/export.ts'
import {parseReference} from '../reference/index.ts'
import {RegistryClient} from '../registry/index.ts'
import {formatBytes} from '../util/progress.ts'
import {loadPolicy, policyFlags, policyGiven, type PolicyFlagValues} from '../policy/index.ts'
import {signatureExportHooks, type SignatureMode} from '../export/signature-hook.ts'
import {DEFAULT_REKOR_URL} from '../sigstore/proofs.ts'
import {loadTrustedRootFiles} from '../verify/signatures.ts'
import {
  describeExportedTrust,
  fetchedTrustedRoots,
  fetchTrust,
  removeStaleTufScratch,
  withTrustHooks,
} from '../export/trust.ts'
import {removeStaleCacheFiles} from '../copy/staging.ts'
import {registryOpener} from '../store/source.ts'
import {exportTrustFlags} from '../trust/flags.ts'
import {embedded, packagedExecutable} from '../embedded.ts'
import {loadDeltaBase} from '../export/delta.ts'
import {parsePublicKey} from '../keys/index.ts'
import {
  AIRLOCK_PLATFORMS,
  describeCarried,
  locateExecutables,
  withAirlockExecutables,
  type AirlockPlatform,
} from '../export/include-airlock.ts'

export default class Export extends BaseCommand {
  static override summary = 'Copy images (and everything they reference) into one archive: an OCI layout tar.'
  static override description =
    'Sources are registry references (alpine, ghcr.io/org/app:1.0, ...@sha256:...), OCI layout directories (oci:DIR[:NAME]) or OCI archives (oci-archive:FILE[:NAME]). The archive is written to a temporary name and appears at OUT only when complete.'
  static override examples = [
    '<%= config.bin %> export -o images.tar ghcr.io/siderolabs/kubelet:v1.33.0',
    'talosctl images default | <%= config.bin %> export -f - -o talos.tar --platform linux/amd64',
    '<%= config.bin %> export -o example.tar --signatures optional oci:fixtures/example:example.com/demo/hello:1.0',
    '<%= config.bin %> export -o update.tar --since dc-inventory.json --inventory-key site.pub ghcr.io/siderolabs/kubelet:v1.33.0',
    '<%= config.bin %> export --trust-only -o trust.tar',
  ]
  static override strict = false
  static override args = {
    image: Args.string({description: 'images to export (repeatable)', required: false, ignoreStdin: true}),
  }
  static override flags = {
    file: Flags.string({
      char: 'f',
      summary: 'Read image references from FILE, one per line ("-" for stdin; # comments).',
    }),
    output: Flags.string({char: 'o', summary: 'Archive to write.', required: true}),
    platform: Flags.string({
      summary: 'Only this platform of multi-arch images (os/arch[/variant]); repeatable. Default: all.',
      multiple: true,
      multipleNonGreedy: true,
    }),
    force: Flags.boolean({
      summary: 'Replace an existing archive at the output path (only once the new one is complete).',
      default: false,
    }),
    cache: Flags.string({
      summary: 'Keep downloaded blobs in DIR and reuse them on the next run (resumes an interrupted export).',
    }),
    concurrency: Flags.integer({summary: 'Blob downloads at once.', default: 4, min: 1, max: 64}),
    'volume-size': Flags.string({
      summary:
        'Write volumes of at most SIZE (4.7G, 25G, 4Gi; K/M/G/T decimal, Ki/Mi/Gi/Ti binary): OUT without .tar becomes NAME.vol001.tar ... plus NAME.volumes.json.',
    }),
    ...registryFlags,
    signatures: Flags.string({
      summary:
        'required (default): an image without a signature fails the export; optional: carry unsigned images too; skip: carry no signatures.',
      options: ['required', 'optional', 'skip'],
      default: 'required',
    }),
    'rekor-url': Flags.string({
      summary: `Rekor API to fetch inclusion proofs from for SET-only signatures (default: the trusted root's log, else ${DEFAULT_REKOR_URL}).`,
    }),
    rekor: Flags.boolean({
      summary: 'Fetch inclusion proofs from Rekor (--no-rekor: offline export, SETs only).',
      default: true,
      allowNo: true,
    }),
    'include-airlock': Flags.boolean({
      summary:
        'Carry airlock itself in the archive: the single-file executables airlock/airlock-<version>-linux-<arch> (and their Sigstore bundles), checked before any download.',
      default: false,
    }),
    'airlock-platform': Flags.string({
      summary: 'With --include-airlock: which executables to carry (repeatable). Default: amd64 and arm64.',
      options: [...AIRLOCK_PLATFORMS],
      multiple: true,
      multipleNonGreedy: true,
      dependsOn: ['include-airlock'],
    }),
    'airlock-dir': Flags.string({
      summary:
        "With --include-airlock: the directory holding the executables and their SHA256SUMS (default: the running executable's).",
      dependsOn: ['include-airlock'],
    }),
    since: Flags.string({
      summary:
        'Delta export: leave out the image layers this inventory (written by airlock inventory on the disconnected side) lists; airlock.json records the base.',
    }),
    'inventory-key': Flags.string({
      summary: 'With --since: the inventory must be signed by this PUBLIC KEY (FILE.sig beside it); else refused.',
      dependsOn: ['since'],
    }),
    'trust-only': Flags.boolean({
      summary: 'Carry only the TUF repository (a trust refresh, a few hundred KB): no images.',
      default: false,
      exclusive: ['since', 'include-airlock', 'file'],
    }),
    ...exportTrustFlags,
    ...policyFlags,
  }

  async run(): Promise<ExportResult> {
    const {argv, flags} = await this.parse(Export)
    const sources = (argv as string[]).slice()
    if (flags.file) {
      let text: string
      try {
        text = readFileSync(flags.file === '-' ? 0 : flags.file, 'utf8')
      } catch (error) {
        throw new AirlockError('USAGE', `cannot read image list ${flags.file}: ${(error as Error).message}`)
      }
      for (const line of text.split('\n')) {
        const entry = line.replace(/#.*/, '').trim()
        if (entry) sources.push(entry)
      }
    }
    if (flags.output === '-')
      throw new AirlockError(
        'USAGE',
        'the archive must be a file (-o -): it is written to a temporary name and renamed when complete',
      )
    const trustOnly = flags['trust-only']
    if (trustOnly && sources.length > 0)
      throw new AirlockError('USAGE', '--trust-only carries no images: drop the image arguments')
    if (trustOnly && flags['no-tuf'])
      throw new AirlockError('USAGE', '--trust-only carries the TUF repository: it cannot be combined with --no-tuf')
    if (sources.length === 0 && !trustOnly)
      throw new AirlockError('USAGE', 'no images to export', {hint: 'name images as arguments or with -f FILE'})
    // The inventory (and its signature) is checked before anything is downloaded.
    const base = flags.since
      ? loadDeltaBase(
          flags.since,
          flags['inventory-key']
            ? parsePublicKey(readKeyFile(flags['inventory-key']), `--inventory-key ${flags['inventory-key']}`)
            : undefined,
        )
      : undefined
    const volumeSize = flags['volume-size'] !== undefined ? parseVolumeSize(flags['volume-size']) : undefined
    // A volume set is written beside OUT (NAME.vol*.tar, NAME.volumes.json): OUT itself is not written then.
    checkOutputFile(flags.output, '-o', {force: flags.force || volumeSize !== undefined})
    // Also the partial volumes of NAME.vol*.tar an interrupted export of a set left (whichever kind this run writes).
    for (const stale of [...removeStalePartials(flags.output), ...removeStaleSetPartials(flags.output)])
      this.note(`removed ${stale}: a partial archive left by an interrupted export (no process holds it)`)
    if (flags.cache)
      this.noteStale(removeStaleCacheFiles(flags.cache), `cache ${flags.cache}`, 'left by an interrupted export')
    this.noteStale(removeStaleTufScratch(), 'the temporary directory', 'TUF scratch left by an interrupted export')
    for (const platform of flags.platform ?? []) parsePlatform(platform) // a usage error before any network access
    // airlock's own executables are checked before anything is fetched: a missing one fails here, not after the download
    const airlockDir = flags['airlock-dir'] ?? (embedded() ? dirname(packagedExecutable()!) : undefined)
    if (flags['include-airlock'] && !airlockDir)
      throw new AirlockError(
        'USAGE',
        '--include-airlock: this airlock is not the single-file executable, so there is none to carry',
        {hint: 'run the executable built by "npm run package", or pass --airlock-dir DIR'},
      )
    const carried = flags['include-airlock']
      ? await locateExecutables(airlockDir!, (flags['airlock-platform'] ?? AIRLOCK_PLATFORMS) as AirlockPlatform[])
      : []
    const registryOptions = registryClientOptions(flags, {
      concurrency: flags.concurrency,
      stdinTaken: flags.file === '-' ? '-f -' : undefined,
      defaultCredentialsRegistry: registryOfFirst(sources),
    })
    let client: RegistryClient | undefined
    const progress = this.progress()
    const given = policyGiven(flags)
    const policy = given ? loadPolicy(flags as PolicyFlagValues) : undefined
    // TUF first: an unreachable mirror fails before any image is downloaded; its roots also check the policy here.
    const trust = await fetchTrust(flags)
    const trustedRoots = [...loadTrustedRootFiles(flags['trusted-root'] ?? []), ...fetchedTrustedRoots(trust)]
    if (policy && flags.signatures === 'skip')
      throw new AirlockError('USAGE', '--signatures skip cannot be combined with a policy (nothing would be checked)')
    if (policy?.rules.some(r => r.action === 'keyless') && trustedRoots.length === 0)
      throw new AirlockError('USAGE', 'checking a keyless policy at export needs a trusted root', {
        hint: 'pass --trusted-root trusted_root.json',
      })
    const signatures = signatureExportHooks({
      mode: flags.signatures as SignatureMode,
      fetchProofs: flags.rekor,
      ...(flags['rekor-url'] ? {rekorUrl: flags['rekor-url']} : {}),
      ...(policy ? {policy} : {}),
      trustedRoots,
      onWarning: message => progress.line(`warning: ${message}`),
      onJudgement: (image, judgement) =>
        progress.line(`signatures ${judgement.ok ? 'ok' : 'FAILED'}: ${image}: ${judgement.reason}`),
    })
    for (const line of describeCarried(carried)) progress.line(line)
    let known = 0
    try {
      const result = await exportImages({
        sources,
        output: flags.output,
        force: flags.force,
        ...(base ? {base} : {}),
        ...(trustOnly ? {trustOnly} : {}),
        ...(flags.platform ? {platforms: flags.platform} : {}),
        concurrency: flags.concurrency,
        ...(volumeSize !== undefined ? {volumeSize} : {}),
        ...(flags.cache ? {cacheDir: flags.cache} : {}),
        hooks: withAirlockExecutables(
          withTrustHooks(signatures.hooks, trust, section => {
            for (const line of describeExportedTrust(section)) progress.line(line)
          }),
          carried,
        ),
        ...(policy
          ? {
              policy: {
                source: policy.source,
                rules: policy.rules,
                insecureIgnoreTlog: policy.insecureIgnoreTlog,
                ...(policy.attestationType ? {attestationType: policy.attestationType} : {}),
              },
            }
          : {}),
        openRegistry: registryOpener(() => (client ??= new RegistryClient(registryOptions))),
        onEvent: event => {
          if (event.type === 'blob') {
            // The total is what the graphs resolved so far name; it grows as more are walked (signatures too).
            const {type, descriptor} = event.event
            if (type === 'planned') known += descriptor.size
            else if (type === 'skipped') known -= descriptor.size
            progress.setTotal(known, true)
          } else if (event.type === 'bytes') progress.add(event.n)
          else if (event.type === 'image-start')
            progress.setLabel(`[${event.index + 1}/${event.total}] ${event.source}`)
          else if (event.type === 'image-done') {
            const platforms = event.image.platforms?.map(p => p.platform).join(', ') ?? 'single platform'
            progress.line(`exported ${event.image.reference}  ${event.image.digest.slice(0, 19)}  [${platforms}]`)
          }
        },
      })
      progress.finish()
      if (result.volumes) for (const line of describeVolumes(result.volumes)) this.note(line)
      else
        this.note(
          `wrote ${result.archive}: ${result.images.length} image(s), ${result.blobs} blobs, ${formatBytes(result.bytes)} in ${result.seconds.toFixed(1)} s (${formatBytes(result.bytes / Math.max(result.seconds, 0.001))}/s)`,
        )
      if (result.base)
        this.note(
          `delta: ${result.base.blobs} layer(s), ${formatBytes(result.base.bytes)}, left out: the base (inventory ${result.base.inventory}) holds them`,
        )
      if (trustOnly) {
        this.note('trust-only archive: the TUF repository, no images')
        return result
      }
      const found = signatures.state.section.subjects.reduce((n, s) => n + s.entries.length, 0)
      const proofs = Object.keys(signatures.state.section.proofs ?? {}).length
      if (flags.signatures !== 'skip')
        this.note(
          `signatures: ${found} artifact(s) carried, ${proofs} inclusion proof(s) stored${policy ? ', policy checked before writing' : ''}`,
        )
      return {...result, signatures: {artifacts: found, proofs, warnings: signatures.state.warnings}} as ExportResult
    } finally {
      progress.finish()
      client?.close()
    }
  }
}

function readKeyFile(file: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch (error) {
    throw new AirlockError('USAGE', `cannot read --inventory-key ${file}: ${(error as Error).message}`)
  }
}

/** The registry of the first registry reference among the sources (explicit credentials go there by default). */
function registryOfFirst(sources: string[]): string | undefined {
  for (const source of sources) {
    if (/^oci(-archive)?:/.test(source)) continue
    try {
      return parseReference(source).registry
    } catch {
      return undefined
    }
  }
  return undefined
}
