// Signing helpers: keyless (Fulcio-style leaf) or key-signed, logged in the test transparency log, emitted as
// Sigstore bundles v0.3 or as legacy cosign layer annotations.
import {json} from '@sigstore/core'
import type {CertificateAuthority, CTLog, IssuedCert} from './ca.ts'
import {LEAF_VALIDITY_MS} from './ca.ts'
import {sha256, sign, toPem, type KeyPair} from './keys.ts'
import {
  dsseBody,
  hashedrekordBody,
  intotoBody,
  type BundleTLogEntry,
  type LogEntry,
  type TransparencyLog,
} from './tlog.ts'

export const BUNDLE_V03_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json'
export const DEFAULT_IDENTITY = 'signer@airlock.test'
export const DEFAULT_ISSUER = 'https://issuer.airlock.test'

/** What a test can break on purpose. */
export type Tamper =
  /** flip a bit of the signed entry timestamp */
  | 'set'
  /** return (blob) or embed (DSSE) payload bytes other than the signed ones */
  | 'payload'
  /** flip a bit of the signature (bundle/annotation; the log entry keeps the original) */
  | 'signature'
  /** flip a bit of the first inclusion proof hash */
  | 'proof'
  /** change the root hash inside the signed checkpoint (its signature no longer verifies) */
  | 'checkpoint'
  /** change the canonicalized body carried with the entry */
  | 'body'

export interface SignOptions {
  /** Certificate SAN (email or URI). Default signer@airlock.test. */
  identity?: string
  /** OIDC issuer for extensions .1.1 and .1.8. Default https://issuer.airlock.test. */
  issuer?: string
  /** Sign with a static key instead of a certificate: `true` = the instance's static key. */
  key?: KeyPair | true
  /** Leaf issued by a CA that is not in trustedRoot(). */
  untrustedCa?: boolean
  /** Embedded SCT signed by a CT log that is not in trustedRoot(). */
  untrustedCtLog?: boolean
  /** Leaf without an SCT. */
  noSct?: boolean
  /** Leaf with only the legacy issuer extension .1.1. */
  legacyIssuerOnly?: boolean
  /** The certificate expired (10 minutes validity) 10 minutes before the entry's integrated time. */
  expiredAtLogTime?: boolean
  /** Integrated time (unix seconds) of the log entry. Default now. */
  integratedTime?: number
  /** Include the inclusion proof + checkpoint (default true; legacy annotations never carry one). */
  proof?: boolean
  /** Include the SET (default true). */
  promise?: boolean
  /** Leave the entry out of the log entirely (bundle without tlog entries). */
  noTlog?: boolean
  tamper?: Tamper
}

export interface SigningContext {
  ca: CertificateAuthority
  untrustedCa: CertificateAuthority
  untrustedCtLog: CTLog
  tlog: TransparencyLog
  staticKey: KeyPair
  /** Bundle publicKey.hint for the static key. */
  staticKeyHint: string
}

/** The signer: a leaf certificate + its ephemeral key, or a static key. */
export interface Signer {
  key: KeyPair
  cert?: IssuedCert
  chain: Buffer[]
  /** The PEM logged as publicKey/verifier: certificate (keyless) or public key. */
  logPem: string
  keyHint?: string
}

export function makeSigner(ctx: SigningContext, opts: SignOptions, integratedTime: number): Signer {
  if (opts.key) {
    const key = opts.key === true ? ctx.staticKey : opts.key
    const keyHint = opts.key === true ? ctx.staticKeyHint : sha256(key.spki).toString('base64')
    return {key, chain: [], logPem: key.publicKeyPem, keyHint}
  }
  const ca = opts.untrustedCa ? ctx.untrustedCa : ctx.ca
  const notBefore = opts.expiredAtLogTime
    ? new Date(integratedTime * 1000 - 2 * LEAF_VALIDITY_MS)
    : new Date(integratedTime * 1000)
  const cert = ca.issueLeaf({
    identity: opts.identity ?? DEFAULT_IDENTITY,
    issuer: opts.issuer ?? DEFAULT_ISSUER,
    notBefore,
    noSct: opts.noSct,
    legacyIssuerOnly: opts.legacyIssuerOnly,
    ...(opts.untrustedCtLog ? {ctlog: ctx.untrustedCtLog} : {}),
  })
  return {key: cert.key, cert, chain: ca.chain, logPem: toPem(cert.der)}
}

const flip = (b: Buffer, at = b.length - 1): Buffer => {
  const c = Buffer.from(b)
  c[at]! ^= 0x01
  return c
}
const flipB64 = (s: string, at?: number): string => flip(Buffer.from(s, 'base64'), at).toString('base64')

/** Applies log-related tampering to a bundle tlog entry. */
function tamperEntry(e: BundleTLogEntry, tamper: Tamper | undefined, tlog: TransparencyLog): BundleTLogEntry {
  const out = structuredClone(e)
  switch (tamper) {
    case 'set':
      if (out.inclusionPromise)
        out.inclusionPromise.signedEntryTimestamp = flipB64(out.inclusionPromise.signedEntryTimestamp)
      break
    case 'proof':
      if (out.inclusionProof?.hashes[0]) out.inclusionProof.hashes[0] = flipB64(out.inclusionProof.hashes[0], 0)
      break
    case 'checkpoint':
      if (out.inclusionProof) {
        const forged = Buffer.from(out.inclusionProof.rootHash, 'base64')
        forged[0]! ^= 1
        const cp = out.inclusionProof.checkpoint.envelope.split('\n')
        cp[2] = forged.toString('base64')
        out.inclusionProof.checkpoint.envelope = cp.join('\n')
      }
      break
    case 'body': {
      const body = JSON.parse(Buffer.from(out.canonicalizedBody, 'base64').toString()) as Record<string, unknown>
      body['tampered'] = true
      out.canonicalizedBody = Buffer.from(json.canonicalize(body)).toString('base64')
      break
    }
  }
  void tlog
  return out
}

function verificationMaterial(signer: Signer, entries: BundleTLogEntry[]): Record<string, unknown> {
  return {
    ...(signer.cert
      ? {certificate: {rawBytes: signer.cert.der.toString('base64')}}
      : {publicKey: {hint: signer.keyHint}}),
    tlogEntries: entries,
  }
}

export interface SignedBlob {
  /** Sigstore bundle v0.3 (JSON object; JSON.stringify it for bytes). */
  bundle: SigstoreBundleJSON
  /** The artifact to verify against (differs from the signed bytes when tamper = 'payload'). */
  artifact: Buffer
  signer: Signer
  entry?: LogEntry
}

export interface SigstoreBundleJSON {
  mediaType: string
  verificationMaterial: Record<string, unknown>
  messageSignature?: {messageDigest: {algorithm: 'SHA2_256'; digest: string}; signature: string}
  dsseEnvelope?: DsseEnvelopeJSON
}

export interface DsseEnvelopeJSON {
  payload: string
  payloadType: string
  signatures: {sig: string; keyid: string}[]
}

const integratedTimeOf = (opts: SignOptions): number => opts.integratedTime ?? Math.floor(Date.now() / 1000)

/** Message-signature bundle v0.3 over `bytes`, logged as hashedrekord/0.0.1. */
export function signBlob(ctx: SigningContext, bytes: Buffer | string, opts: SignOptions = {}): SignedBlob {
  const data = Buffer.from(bytes)
  const t = integratedTimeOf(opts)
  const signer = makeSigner(ctx, opts, t)
  const digest = sha256(data)
  const signature = sign(signer.key, data)
  const entry = opts.noTlog ? undefined : ctx.tlog.append(hashedrekordBody(digest, signature, signer.logPem), t)
  const entries = entry
    ? [tamperEntry(ctx.tlog.bundleEntry(entry, {proof: opts.proof, promise: opts.promise}), opts.tamper, ctx.tlog)]
    : []
  const bundle: SigstoreBundleJSON = {
    mediaType: BUNDLE_V03_MEDIA_TYPE,
    verificationMaterial: verificationMaterial(signer, entries),
    messageSignature: {
      messageDigest: {algorithm: 'SHA2_256', digest: digest.toString('base64')},
      signature: (opts.tamper === 'signature' ? flip(signature) : signature).toString('base64'),
    },
  }
  return {
    bundle,
    artifact: opts.tamper === 'payload' ? Buffer.concat([data, Buffer.from('\n')]) : data,
    signer,
    ...(entry ? {entry} : {}),
  }
}

/** DSSE pre-authentication encoding (DSSE v1). */
export function pae(payloadType: string, payload: Buffer): Buffer {
  const t = Buffer.from(payloadType, 'utf8')
  return Buffer.concat([Buffer.from(`DSSEv1 ${t.length} `), t, Buffer.from(` ${payload.length} `), payload])
}

export interface SignedDsse {
  bundle: SigstoreBundleJSON
  /** The envelope as carried (tampered when asked), and its JSON bytes (the .att layer blob). */
  envelope: DsseEnvelopeJSON
  envelopeBytes: Buffer
  signer: Signer
  entry?: LogEntry
}

export interface DsseOptions extends SignOptions {
  /** Log entry kind: dsse/0.0.1 (default, cosign v3 / sigstore-js today) or intoto/0.0.2 (older clients). */
  tlogKind?: 'dsse' | 'intoto'
}

/** DSSE bundle v0.3 over `payload` of `payloadType`. */
export function signDsse(
  ctx: SigningContext,
  payload: Buffer | string,
  payloadType: string,
  opts: DsseOptions = {},
): SignedDsse {
  const data = Buffer.from(payload)
  const t = integratedTimeOf(opts)
  const signer = makeSigner(ctx, opts, t)
  const sig = sign(signer.key, pae(payloadType, data))
  const signed: DsseEnvelopeJSON = {
    payload: data.toString('base64'),
    payloadType,
    signatures: [{sig: sig.toString('base64'), keyid: ''}],
  }
  const submitted = JSON.stringify(signed)
  const body = opts.tlogKind === 'intoto' ? intotoBody(submitted, signer.logPem) : dsseBody(submitted, [signer.logPem])
  const entry = opts.noTlog ? undefined : ctx.tlog.append(body, t)
  const entries = entry
    ? [tamperEntry(ctx.tlog.bundleEntry(entry, {proof: opts.proof, promise: opts.promise}), opts.tamper, ctx.tlog)]
    : []
  const envelope = structuredClone(signed)
  if (opts.tamper === 'payload') envelope.payload = Buffer.concat([data, Buffer.from(' ')]).toString('base64')
  if (opts.tamper === 'signature') envelope.signatures[0]!.sig = flipB64(envelope.signatures[0]!.sig)
  const bundle: SigstoreBundleJSON = {
    mediaType: BUNDLE_V03_MEDIA_TYPE,
    verificationMaterial: verificationMaterial(signer, entries),
    dsseEnvelope: envelope,
  }
  return {bundle, envelope, envelopeBytes: Buffer.from(JSON.stringify(envelope)), signer, ...(entry ? {entry} : {})}
}

// ---- legacy cosign ----------------------------------------------------------------------------------------------

export const ANNOTATION = {
  signature: 'dev.cosignproject.cosign/signature',
  certificate: 'dev.sigstore.cosign/certificate',
  chain: 'dev.sigstore.cosign/chain',
  bundle: 'dev.sigstore.cosign/bundle',
  rfc3161timestamp: 'dev.sigstore.cosign/rfc3161timestamp',
} as const

/** cosign's RekorBundle JSON (`dev.sigstore.cosign/bundle`), field order as Go marshals it. */
export function cosignRekorBundle(tlog: TransparencyLog, entry: LogEntry, tamper?: Tamper): string {
  const set = tamper === 'set' ? flip(entry.set) : entry.set
  let body = entry.body
  if (tamper === 'body') body = Buffer.from(json.canonicalize({...JSON.parse(body.toString()), tampered: true}))
  return JSON.stringify({
    SignedEntryTimestamp: set.toString('base64'),
    Payload: {
      body: body.toString('base64'),
      integratedTime: entry.integratedTime,
      logIndex: entry.logIndex,
      logID: tlog.logId.toString('hex'),
    },
  })
}

export interface LegacySignature {
  /** The layer blob: the payload (tampered when asked). */
  payload: Buffer
  /** Layer descriptor annotations exactly as cosign writes them. */
  annotations: Record<string, string>
  signer: Signer
  entry?: LogEntry
}

function legacyAnnotations(
  ctx: SigningContext,
  signer: Signer,
  signatureB64: string,
  entry: LogEntry | undefined,
  tamper?: Tamper,
): Record<string, string> {
  return {
    [ANNOTATION.signature]: signatureB64,
    ...(signer.cert
      ? {
          [ANNOTATION.certificate]: toPem(signer.cert.der),
          [ANNOTATION.chain]: signer.chain.map(c => toPem(c)).join(''),
        }
      : {}),
    ...(entry ? {[ANNOTATION.bundle]: cosignRekorBundle(ctx.tlog, entry, tamper)} : {}),
  }
}

/** Legacy `.sig` layer: signature over `payload` (usually cosignSimpleSigningPayload), hashedrekord entry, SET only. */
export function signCosignLegacy(
  ctx: SigningContext,
  payload: Buffer | string,
  opts: SignOptions = {},
): LegacySignature {
  const data = Buffer.from(payload)
  const t = integratedTimeOf(opts)
  const signer = makeSigner(ctx, opts, t)
  const signature = sign(signer.key, data)
  const entry = opts.noTlog ? undefined : ctx.tlog.append(hashedrekordBody(sha256(data), signature, signer.logPem), t)
  const sigB64 = (opts.tamper === 'signature' ? flip(signature) : signature).toString('base64')
  return {
    payload: opts.tamper === 'payload' ? tamperSimpleSigning(data) : data,
    annotations: legacyAnnotations(ctx, signer, sigB64, entry, opts.tamper),
    signer,
    ...(entry ? {entry} : {}),
  }
}

function tamperSimpleSigning(data: Buffer): Buffer {
  // Change one hex digit of the manifest digest (or, for other payloads, append a newline).
  const s = data.toString('utf8')
  const m = /"docker-manifest-digest":"sha256:([0-9a-f])/.exec(s)
  if (!m) return Buffer.concat([data, Buffer.from('\n')])
  const i = m.index + m[0].length - 1
  return Buffer.from(s.slice(0, i) + (s[i] === '0' ? '1' : '0') + s.slice(i + 1), 'utf8')
}

export interface LegacyAttestation {
  /** The layer blob: the DSSE envelope JSON. */
  envelopeBytes: Buffer
  annotations: Record<string, string>
  signer: Signer
  entry?: LogEntry
}

/** Legacy `.att` layer: DSSE envelope blob; annotations with an empty signature and `predicateType`, SET only. */
export function signCosignLegacyAttestation(
  ctx: SigningContext,
  statement: Buffer | string,
  opts: DsseOptions & {predicateType?: string} = {},
): LegacyAttestation {
  const d = signDsse(ctx, statement, 'application/vnd.in-toto+json', {
    tlogKind: 'intoto',
    ...opts,
    proof: false,
    tamper: undefined,
  })
  const envelope = structuredClone(d.envelope)
  if (opts.tamper === 'payload') {
    envelope.payload = Buffer.concat([Buffer.from(statement), Buffer.from(' ')]).toString('base64')
  }
  if (opts.tamper === 'signature') envelope.signatures[0]!.sig = flipB64(envelope.signatures[0]!.sig)
  let predicateType = opts.predicateType
  if (!predicateType) {
    try {
      predicateType = (JSON.parse(Buffer.from(statement).toString()) as {predicateType?: string}).predicateType
    } catch {
      /* not JSON */
    }
  }
  return {
    envelopeBytes: Buffer.from(JSON.stringify(envelope)),
    annotations: {
      ...legacyAnnotations(ctx, d.signer, '', d.entry, opts.tamper),
      ...(predicateType ? {predicateType} : {}),
    },
    signer: d.signer,
    ...(d.entry ? {entry: d.entry} : {}),
  }
}

/** The exact bytes cosign signs for an image: simplesigning JSON, no trailing newline. */
export function cosignSimpleSigningPayload(
  dockerReference: string,
  manifestDigest: string,
  optional: Record<string, unknown> | null = null,
): Buffer {
  return Buffer.from(
    JSON.stringify({
      critical: {
        identity: {'docker-reference': dockerReference},
        image: {'docker-manifest-digest': manifestDigest},
        type: 'cosign container image signature',
      },
      optional,
    }),
    'utf8',
  )
}

/** Predicate type cosign v3 uses when it signs an image in the bundle format (in-toto statement in DSSE). */
export const COSIGN_SIGN_PREDICATE_TYPE = 'https://sigstore.dev/cosign/sign/v1'
export const SLSA_PROVENANCE_V02 = 'https://slsa.dev/provenance/v0.2'
export const SLSA_PROVENANCE_V1 = 'https://slsa.dev/provenance/v1'

/** An in-toto v0.1 statement about `name@digest` (field order as cosign writes it). */
export function intotoStatement(
  name: string,
  digest: string,
  predicateType = SLSA_PROVENANCE_V02,
  predicate: unknown = {builder: {id: 'https://builder.airlock.test'}, buildType: 'https://airlock.test/build@v1'},
): Buffer {
  const [alg, hex] = digest.split(':')
  return Buffer.from(
    JSON.stringify({
      _type: 'https://in-toto.io/Statement/v0.1',
      predicateType,
      subject: [{name, digest: {[alg!]: hex}}],
      predicate,
    }),
  )
}
