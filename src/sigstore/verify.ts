// The one verification path: a parsed bundle (native, or adapted from a legacy cosign signature) plus the artifact
// it should cover goes through @sigstore/verify's Verifier; airlock adds the artifact binding, the cosign-style
// identity policy, and a named result per check. No network, no wall clock: times come from the log or a TSA.
import {createPublicKey} from 'node:crypto'
import type {Bundle} from '@sigstore/bundle'
import {X509Certificate} from '@sigstore/core'
import {toSignedEntity, Verifier, type SignedEntity, type TrustMaterial} from '@sigstore/verify'
import type {KeyObject} from 'node:crypto'
import {matchIdentity, type KeylessIdentity, type SignerIdentity} from '../policy/identity.ts'
import {checkArtifactBinding, withPrehashedSignature, type ArtifactInput} from './artifact.ts'
import {checkForError, VERIFIER_ORDER, type CheckName, type CheckResult} from './checks.ts'

const OID_ISSUER_V2 = '1.3.6.1.4.1.57264.1.8'
const OID_ISSUER_V1 = '1.3.6.1.4.1.57264.1.1'

/** Who must have signed: keyless identities (any one suffices), or the operator's public key. */
export type SignerRequirement = {kind: 'keyless'; identities: KeylessIdentity[]} | {kind: 'public-key'}

export interface VerifyOptions {
  trust: {material: TrustMaterial; publicKey?: KeyObject}
  signer: SignerRequirement
  /** Skip every transparency log check (cosign --insecure-ignore-tlog); the result says so. */
  insecureIgnoreTlog?: boolean
}

export interface LogEntryInfo {
  logIndex: string
  logId: string
  kind: string
  /** ISO time the log integrated the entry (absent for Rekor v2 entries, which rely on a TSA). */
  integratedTime?: string
}

export interface SignatureResult {
  ok: boolean
  checks: CheckResult[]
  /** The first failing check and its one-line reason; `policy` when cryptographically valid but not allowed. */
  failure?: {check: CheckName; category: 'verification' | 'policy'; reason: string}
  signer: {identity?: string; issuer?: string; keyed: boolean}
  tlog: LogEntryInfo[]
  insecureIgnoreTlog: boolean
  warnings: string[]
}

export const INSECURE_TLOG_WARNING =
  'WARNING: --insecure-ignore-tlog: transparency log checks (SET, inclusion proof, checkpoint, log body) were NOT performed'

/** Verifies one bundle against an artifact (bytes or digest) and a signer requirement. Never throws for bad input. */
/** The result for an artifact that cannot even be read as a signature (malformed bundle, annotations, envelope). */
export function unusable(error: unknown, ignoreTlog: boolean): SignatureResult {
  const reason = error instanceof Error ? error.message : String(error)
  return {
    ok: false,
    checks: [{name: 'verification', status: 'fail', reason}],
    failure: {check: 'verification', category: 'verification', reason},
    signer: {keyed: false},
    tlog: [],
    insecureIgnoreTlog: ignoreTlog,
    warnings: [],
  }
}

export function verifyBundle(bundle: Bundle, artifact: ArtifactInput, options: VerifyOptions): SignatureResult {
  const ignoreTlog = options.insecureIgnoreTlog === true
  const warnings = ignoreTlog ? [INSECURE_TLOG_WARNING] : []
  const checks = new Map<CheckName, CheckResult>()
  const set = (name: CheckName, status: CheckResult['status'], reason?: string): void => {
    checks.set(name, reason === undefined ? {name, status} : {name, status, reason})
  }
  let failure: SignatureResult['failure']
  const fail = (check: CheckName, category: 'verification' | 'policy', reason: string): void => {
    set(check, 'fail', reason)
    failure ??= {check, category, reason}
  }

  const bindingProblem = checkArtifactBinding(bundle, artifact)
  if (bindingProblem) fail('subject-digest', 'verification', bindingProblem)
  else if (artifact.kind === 'embedded')
    set('subject-digest', 'not-applicable', 'no external artifact: the signed statement is the envelope payload')
  else set('subject-digest', 'pass')

  const info = describeBundle(bundle)
  let entity: SignedEntity
  try {
    entity = toEntity(bundle, artifact, ignoreTlog)
  } catch (error) {
    fail('verification', 'verification', oneLine(error))
    return finish()
  }
  const applicable = applicableChecks(entity, ignoreTlog, options.signer)
  if (options.signer.kind === 'public-key' && entity.key.$case === 'certificate') {
    // cosign --key with a certificate-bearing signature: the certificate's key must be the operator's key.
    const certKey = createPublicKey({key: Buffer.from(entity.key.certificate.publicKey), format: 'der', type: 'spki'})
    if (!options.trust.publicKey || !certKey.equals(options.trust.publicKey)) {
      markBefore('public-key')
      fail('public-key', 'verification', 'the signing certificate does not hold the --key public key')
      return finish()
    }
    entity = {...entity, key: {$case: 'public-key', hint: 'airlock-key'}}
  }
  if (entity.key.$case === 'certificate' && entity.timestamps.length === 0) {
    markBefore('certificate-chain')
    fail(
      'certificate-chain',
      'verification',
      ignoreTlog
        ? 'no RFC 3161 timestamp to judge the certificate by (the log time was ignored)'
        : 'no log or timestamp time to judge the certificate by',
    )
    return finish()
  }

  const tsaCount = entity.timestamps.filter(t => t.$case === 'timestamp-authority').length
  const verifier = new Verifier(
    options.trust.material,
    ignoreTlog ? {tlogThreshold: 0, timestampThreshold: tsaCount > 0 ? 1 : 0, ctlogThreshold: 1} : {},
  )
  let signer: ReturnType<Verifier['verify']>
  try {
    signer = verifier.verify(entity)
  } catch (error) {
    const check = checkForError(error)
    markBefore(check)
    fail(check, 'verification', oneLine(error))
    return finish()
  }
  markBefore('identity-policy')
  const identity: SignerIdentity = {}
  if (signer.identity?.subjectAlternativeName !== undefined) identity.subject = signer.identity.subjectAlternativeName
  if (signer.identity?.extensions?.issuer !== undefined) identity.issuer = signer.identity.extensions.issuer
  if (options.signer.kind === 'keyless') {
    if (entity.key.$case !== 'certificate')
      fail('identity-policy', 'policy', 'signed with a key, but the policy requires a keyless identity')
    else {
      const reasons = options.signer.identities.map(required => matchIdentity(required, identity))
      if (reasons.some(r => r === undefined)) set('identity-policy', 'pass')
      else fail('identity-policy', 'policy', reasons.join('; ') || 'no identity in the policy')
    }
  }
  return finish()

  function markBefore(failing: CheckName): void {
    for (const name of VERIFIER_ORDER) {
      if (name === failing) break
      if (!checks.has(name) && applicable.has(name)) set(name, 'pass')
    }
  }

  function finish(): SignatureResult {
    if (ignoreTlog)
      for (const name of ['set', 'inclusion-proof', 'checkpoint', 'tlog-body', 'tlog'] as const)
        set(name, 'skipped', '--insecure-ignore-tlog')
    const ordered: CheckResult[] = []
    for (const name of ['subject-digest', ...VERIFIER_ORDER, 'verification'] as CheckName[]) {
      const found = checks.get(name)
      if (found) ordered.push(found)
      else if (name !== 'verification') ordered.push({name, status: failure ? 'not-run' : 'not-applicable'})
    }
    // A check that does not apply to this signature stays not-applicable even after a failure.
    const applicableNow = safeApplicable()
    for (const c of ordered) if (c.status === 'not-run' && !applicableNow.has(c.name)) c.status = 'not-applicable'
    const result: SignatureResult = {
      ok: failure === undefined,
      checks: ordered,
      signer: info.signer,
      tlog: info.tlog,
      insecureIgnoreTlog: ignoreTlog,
      warnings,
    }
    if (failure) result.failure = failure
    return result
  }

  function safeApplicable(): Set<CheckName> {
    try {
      return applicableChecks(toEntity(bundle, artifact, ignoreTlog), ignoreTlog, options.signer)
    } catch {
      return new Set(VERIFIER_ORDER)
    }
  }
}

function toEntity(bundle: Bundle, artifact: ArtifactInput, ignoreTlog: boolean): SignedEntity {
  let entity = toSignedEntity(bundle, artifact.kind === 'bytes' ? artifact.bytes : Buffer.alloc(0))
  if (artifact.kind === 'digest' && bundle.content.$case === 'messageSignature')
    entity = withPrehashedSignature(entity, bundle.content.messageSignature, artifact.digest)
  if (ignoreTlog)
    entity = {...entity, tlogEntries: [], timestamps: entity.timestamps.filter(t => t.$case === 'timestamp-authority')}
  return entity
}

function applicableChecks(entity: SignedEntity, ignoreTlog: boolean, signer: SignerRequirement): Set<CheckName> {
  const names = new Set<CheckName>(['signature'])
  if (entity.timestamps.some(t => t.$case === 'timestamp-authority')) names.add('rfc3161-timestamp')
  if (entity.key.$case === 'certificate' && signer.kind === 'keyless') {
    names.add('certificate-chain')
    if (entity.key.certificate.extSCT) names.add('sct')
  } else names.add('public-key')
  if (signer.kind === 'keyless') names.add('identity-policy')
  if (!ignoreTlog) {
    names.add('tlog')
    if (entity.tlogEntries.length > 0) names.add('tlog-body')
    if (entity.tlogEntries.some(e => e.inclusionPromise)) names.add('set')
    if (entity.tlogEntries.some(e => e.inclusionProof)) names.add('inclusion-proof')
    if (entity.tlogEntries.some(e => e.inclusionProof?.checkpoint)) names.add('checkpoint')
  }
  return names
}

/** Signer and log facts read from the bundle for the report (informational; verification decides trust). */
function describeBundle(bundle: Bundle): {signer: SignatureResult['signer']; tlog: LogEntryInfo[]} {
  const material = bundle.verificationMaterial
  let signer: SignatureResult['signer'] = {keyed: material.content.$case === 'publicKey'}
  try {
    const raw =
      material.content.$case === 'certificate'
        ? material.content.certificate.rawBytes
        : material.content.$case === 'x509CertificateChain'
          ? material.content.x509CertificateChain.certificates[0]?.rawBytes
          : undefined
    if (raw) signer = {...signerFromCertificate(X509Certificate.parse(Buffer.from(raw))), keyed: false}
  } catch {
    // an unparsable certificate fails verification; the report just lacks the identity
  }
  const tlog = material.tlogEntries.map(e => {
    const entry: LogEntryInfo = {
      logIndex: e.logIndex,
      logId: Buffer.from(e.logId?.keyId ?? Buffer.alloc(0)).toString('hex'),
      kind: `${e.kindVersion?.kind}/${e.kindVersion?.version}`,
    }
    const seconds = Number(e.integratedTime)
    if (e.integratedTime && e.integratedTime !== '0' && Number.isFinite(seconds))
      entry.integratedTime = new Date(seconds * 1000).toISOString()
    return entry
  })
  return {signer, tlog}
}

/** SAN and OIDC issuer (extension .1.8, falling back to .1.1) of a Fulcio certificate. */
export function signerFromCertificate(cert: X509Certificate): {identity?: string; issuer?: string} {
  const out: {identity?: string; issuer?: string} = {}
  const san = cert.subjectAltName
  if (san) out.identity = san
  const v2 = cert.extension(OID_ISSUER_V2)
  const issuer = v2
    ? v2.valueObj.subs?.[0]?.value.toString('ascii')
    : cert.extension(OID_ISSUER_V1)?.value.toString('ascii')
  if (issuer) out.issuer = issuer
  return out
}

function oneLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  return (message.split('\n')[0] ?? message).trim() || 'verification failed'
}
