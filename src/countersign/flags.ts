// Command-line pieces shared by `push --countersign-key` and `airlock countersign`: the key and its password, the
// receipt's verification record, and the cluster configuration written after countersigning.
import {readFileSync} from 'node:fs'
import {writeFileAtomicSync} from '../util/files.ts'
import {AirlockError} from '../errors.ts'
import type {KeyObject} from 'node:crypto'
import {keyPassword, loadPublicKey, loadSigningKey, type SigningKey} from '../keys/index.ts'
import type {Policy} from '../policy/index.ts'
import type {MirrorTarget} from '../reference/mirror-path.ts'
import {parseReference} from '../reference/index.ts'
import {countersignTalosYaml, legacyRegistriesPatch, policyControllerYaml} from '../talos/countersign.ts'
import type {TrustResolution} from '../verify/trust.ts'
import {TOOL_VERSION} from '../version.ts'
import type {CountersignReport} from './countersign.ts'
import {fileSha256, policyDigest, trustRecord} from './from-verify.ts'
import {renderCountersign, runCountersign, type RunCountersignOptions} from './run.ts'
import type {VerificationRecord} from './types.ts'

/**
 * Loads the signing key before anything else happens, so a wrong password or an unusable key stops the command
 * with nothing pushed or signed. stdin can feed one secret only.
 */
export async function loadCountersignKey(
  file: string,
  flags: {'key-password-stdin'?: boolean; 'password-stdin'?: boolean},
): Promise<SigningKey> {
  if (flags['key-password-stdin'] && flags['password-stdin'])
    throw new AirlockError('USAGE', '--key-password-stdin and --password-stdin both read stdin', {
      hint: 'give the key password in COSIGN_PASSWORD instead',
    })
  return loadSigningKey(file, keyPassword({stdin: flags['key-password-stdin'] ?? false}))
}

export async function verificationRecord(input: {
  archive: string
  policy: Policy
  policyFile?: string | undefined
  trust?: TrustResolution | undefined
}): Promise<VerificationRecord> {
  const policy = policyDigest(input.policy, input.policyFile)
  return {
    trust: trustRecord(input.trust),
    policySha256: policy.sha256,
    policySource: policy.source,
    archiveSha256: await fileSha256(input.archive),
    archive: input.archive,
    airlockVersion: TOOL_VERSION,
    verifiedAt: new Date().toISOString(),
  }
}

export interface ClusterConfigOutput {
  talos?: string
  policyController?: string
}

/** Writes the Talos documents (+ the legacy patch beside them) and the policy-controller policy; returns the files. */
export function writeClusterConfig(
  report: CountersignReport,
  options: {
    target: MirrorTarget
    keepHost?: boolean
    plainHttp?: boolean
    caFile?: string | undefined
    username?: string | undefined
    talosFile?: string | undefined
    policyControllerFile?: string | undefined
  },
): string[] {
  const repositories = report.signed.map(s => parseReference(s.reference).name)
  const input = {
    target: options.target,
    ...(options.keepHost ? {keepHost: true} : {}),
    ...(options.plainHttp ? {plainHttp: true} : {}),
    repositories,
    sourceRegistries: report.signed.map(s => parseReference(s.reference).registry),
    publicKeyPem: report.publicKeyPem,
    ...(options.caFile ? {caPem: readFileSync(options.caFile, 'utf8')} : {}),
    ...(options.username ? {username: options.username} : {}),
    notSigned: report.notSigned,
  }
  const written: string[] = []
  if (options.talosFile) {
    const yaml = countersignTalosYaml(input)
    if (options.talosFile === '-') process.stdout.write(yaml)
    else {
      writeFileAtomicSync(options.talosFile, yaml)
      const legacy = options.talosFile.replace(/(\.ya?ml)?$/, '.legacy.yaml')
      writeFileAtomicSync(legacy, legacyRegistriesPatch(input))
      written.push(options.talosFile, legacy)
    }
  }
  if (options.policyControllerFile) {
    writeFileAtomicSync(options.policyControllerFile, policyControllerYaml(input))
    written.push(options.policyControllerFile)
  }
  return written
}

export function readTalosKey(file: string): KeyObject {
  return loadPublicKey(file)
}

/** The flags that shape the cluster documents written after countersigning. */
export interface ClusterConfigFlags {
  'keep-host'?: boolean
  'insecure-registry'?: string[]
  'ca-file'?: string
  username?: string
  'emit-talos-config'?: string
  'emit-policy-controller'?: string
}

/** The cluster documents from the command's flags (push --countersign-key and airlock countersign alike). */
export function writeClusterConfigFromFlags(
  report: CountersignReport,
  target: MirrorTarget,
  flags: ClusterConfigFlags,
): string[] {
  return writeClusterConfig(report, {
    target,
    keepHost: flags['keep-host'] ?? false,
    plainHttp: (flags['insecure-registry'] ?? []).includes(target.registry),
    caFile: flags['ca-file'],
    username: flags.username,
    talosFile: flags['emit-talos-config'],
    policyControllerFile: flags['emit-policy-controller'],
  })
}

/**
 * The countersigning step both commands run after a verification that passed: the receipt's record, a check that the
 * archive on disk is still the file that was judged (its sha256 goes in the receipt), the signatures, then the
 * cluster documents. `note` gets each line the command shows.
 */
export async function countersignVerified(input: {
  archive: string
  policy: Policy
  policyFile?: string | undefined
  verified: {trust?: TrustResolution | undefined; archive: {checkUnchanged(): Promise<void>}}
  run: Omit<RunCountersignOptions, 'record'>
  flags: ClusterConfigFlags
  note: (line: string) => void
}): Promise<CountersignReport> {
  const record = await verificationRecord({
    archive: input.archive,
    policy: input.policy,
    policyFile: input.policyFile,
    trust: input.verified.trust,
  })
  await input.verified.archive.checkUnchanged()
  const report = await runCountersign({...input.run, record})
  for (const line of renderCountersign(report)) input.note(line)
  for (const file of writeClusterConfigFromFlags(report, input.run.target, input.flags))
    input.note(`written ${file} (review before applying)`)
  return report
}
