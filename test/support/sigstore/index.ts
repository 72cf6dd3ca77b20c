/**
 * A test Sigstore instance: real wire formats, real crypto, no network beyond loopback.
 *
 *   const ss = await createTestSigstore()          // starts the Rekor API on http://127.0.0.1:<port>
 *   try { ... } finally { await ss.stop() }
 *
 * Trust material
 *   ss.trustedRoot(): TrustedRootJSON       trusted_root.json (mediaType ...trustedroot+json;version=0.1): the CA
 *                                           chain [intermediate, root], the Rekor key (baseUrl = ss.url), the CT key
 *   ss.trustedRootJSON(): string            the same, serialized (write it to a file for --trusted-root)
 *   ss.publicKeys()                         {[hint]: {rawBytes, keyDetails, validFor}} for the static key: the
 *                                           `keys` argument of toTrustMaterial() for key-signed bundles
 *   ss.staticKey / ss.staticKeyPem          the static ECDSA P-256 key (cosign.pub equivalent: staticKeyPem)
 *   ss.trustMaterial()                      toTrustMaterial(TrustedRoot.fromJSON(trustedRoot()), publicKeys())
 *   ss.verify(bundle, artifact?, policy?)   @sigstore/verify Verifier over the above; returns the Signer, throws
 *                                           VerificationError/PolicyError (policy: {subjectAlternativeName, extensions})
 *
 * Signing (SignOptions: identity, issuer, key (true = static key), untrustedCa, untrustedCtLog, noSct,
 *          legacyIssuerOnly, expiredAtLogTime, integratedTime, proof, promise, noTlog,
 *          tamper: 'set'|'payload'|'signature'|'proof'|'checkpoint'|'body')
 *   ss.signBlob(bytes, opts)                -> {bundle (v0.3 messageSignature, hashedrekord/0.0.1 entry with SET,
 *                                              inclusion proof and checkpoint), artifact, signer, entry}
 *   ss.signDsse(payload, payloadType, opts) -> {bundle (v0.3 dsseEnvelope, dsse/0.0.1 or tlogKind 'intoto' 0.0.2),
 *                                              envelope, envelopeBytes, signer, entry}
 *   ss.signCosignLegacy(payload, opts)      -> {payload, annotations, signer, entry}: the `.sig` layer annotations
 *                                              dev.cosignproject.cosign/signature, dev.sigstore.cosign/certificate,
 *                                              dev.sigstore.cosign/chain, dev.sigstore.cosign/bundle (SET only)
 *   ss.signCosignLegacyAttestation(statement, opts) -> {envelopeBytes, annotations (signature "", predicateType)}
 *   cosignSimpleSigningPayload(dockerRef, manifestDigest) / intotoStatement(name, digest, predicateType?)
 *   ss.issueLeaf({identity, issuer, ...})   a bare Fulcio-style leaf (10 min, SAN, .1.1, .1.8, embedded SCT)
 *
 * Images (pure OCI content: {manifest, manifestDescriptor, config, layers: [{bytes, descriptor}], tag})
 *   ss.signImageLegacy(dockerRef, digest, opts)          `.sig` image, tag sha256-<hex>.sig
 *   ss.attestImageLegacy(name, digest, opts)             `.att` image (SLSA provenance by default), tag .att
 *   ss.signImageBundle(subjectDescriptor, dockerRef, opts)  v0.3 bundle referrer as `cosign sign` v3 writes it: DSSE
 *                                                        in-toto statement (subject = image digest, predicateType
 *                                                        https://sigstore.dev/cosign/sign/v1); opts.messageSignature
 *                                                        = message-signature bundle over the simplesigning payload
 *   ss.attestImageBundle(subjectDescriptor, name, opts)  v0.3 DSSE bundle referrer (in-toto statement)
 *   legacySignatureImage, legacyAttestationImage, bundleReferrer, referrersIndex, sampleImage, sampleIndex (oci.ts)
 *
 * The log
 *   ss.url                                  Rekor base URL; GET /api/v1/log, /api/v1/log/publicKey,
 *                                           /api/v1/log/proof?firstSize&lastSize, /api/v1/log/entries?logIndex=N,
 *                                           /api/v1/log/entries/{uuid|entryID}; POST /api/v1/log/entries
 *                                           (hashedrekord, dsse), /api/v1/log/entries/retrieve, /api/v1/index/retrieve
 *   ss.requests                             every request the server saw ("GET /api/v1/log/entries/...")
 *   ss.tlog                                 TransparencyLog: entries, tree, checkpoint(), inclusionProof(), ...
 *   ss.stop()                               closes the server
 *
 * Notes
 *   - Legacy `.att` entries are logged as intoto/0.0.2 by default (opts.tlogKind 'dsse' for dsse/0.0.1); bundles
 *     use dsse/0.0.1. Legacy annotations carry a SET only, never a proof, like real cosign signatures; the proof
 *     comes from the HTTP API (GET /api/v1/log/entries/<sha256(0x00||body) hex>).
 *   - POST /api/v1/log/entries checks DSSE signatures but not hashedrekord ones (node:crypto cannot verify ECDSA
 *     over a pre-hashed digest).
 *   - createTestSigstore({listen: false}) makes an offline instance (Rekor baseUrl https://rekor.airlock.test);
 *     make-fixtures.ts uses it to regenerate fixtures/example-signatures/.
 */
import {TrustedRoot} from '@sigstore/protobuf-specs'
import {bundleFromJSON} from '@sigstore/bundle'
import {
  toSignedEntity,
  toTrustMaterial,
  Verifier,
  type Signer as VerifiedSigner,
  type TrustMaterial,
} from '@sigstore/verify'
import {CertificateAuthority, CTLog, type IssuedCert, type LeafOptions} from './ca.ts'
import {generateKeyPair, keyId, type KeyPair} from './keys.ts'
import {bundleReferrer, legacyAttestationImage, legacySignatureImage, type OciDescriptor, type OciImage} from './oci.ts'
import {startRekorServer, type RekorServer} from './rekor-server.ts'
import * as sign from './sign.ts'
import {TransparencyLog} from './tlog.ts'
import {buildTrustedRoot, type TrustedRootJSON} from './trusted-root.ts'

export * from './oci.ts'
export {
  ANNOTATION,
  BUNDLE_V03_MEDIA_TYPE,
  COSIGN_SIGN_PREDICATE_TYPE,
  DEFAULT_IDENTITY,
  DEFAULT_ISSUER,
  SLSA_PROVENANCE_V02,
  SLSA_PROVENANCE_V1,
  cosignSimpleSigningPayload,
  intotoStatement,
  pae,
} from './sign.ts'
export type {
  DsseOptions,
  LegacyAttestation,
  LegacySignature,
  SignOptions,
  SignedBlob,
  SignedDsse,
  SigstoreBundleJSON,
  Tamper,
} from './sign.ts'
export type {TrustedRootJSON} from './trusted-root.ts'
export {CertificateAuthority, CTLog} from './ca.ts'
export {TransparencyLog} from './tlog.ts'
export {MerkleTree, verifyInclusion} from './merkle.ts'
export {toPem, generateKeyPair, type KeyPair} from './keys.ts'

export interface TestSigstoreOptions {
  /** Start the Rekor HTTP server on loopback (default true). Without it, url is https://rekor.airlock.test. */
  listen?: boolean
  /** Organization name of the CA (default airlock.test). */
  name?: string
  /** Unrelated entries logged first, so proofs are never trivial (default 3). */
  seedEntries?: number
}

export interface VerifyPolicy {
  subjectAlternativeName?: string
  extensions?: {issuer?: string}
}

export interface TestSigstore {
  url: string
  requests: string[]
  ca: CertificateAuthority
  untrustedCa: CertificateAuthority
  ctlog: CTLog
  untrustedCtLog: CTLog
  tlog: TransparencyLog
  staticKey: KeyPair
  staticKeyPem: string
  staticKeyHint: string
  trustedRoot(): TrustedRootJSON
  trustedRootJSON(): string
  publicKeys(): Record<string, {rawBytes: string; keyDetails: string; validFor: {start: string}}>
  trustMaterial(): TrustMaterial
  verify(bundle: object | string | Buffer, artifact?: Buffer | string, policy?: VerifyPolicy): VerifiedSigner
  issueLeaf(opts: LeafOptions): IssuedCert
  signBlob(bytes: Buffer | string, opts?: sign.SignOptions): sign.SignedBlob
  signDsse(payload: Buffer | string, payloadType: string, opts?: sign.DsseOptions): sign.SignedDsse
  signCosignLegacy(payload: Buffer | string, opts?: sign.SignOptions): sign.LegacySignature
  signCosignLegacyAttestation(
    statement: Buffer | string,
    opts?: sign.DsseOptions & {predicateType?: string},
  ): sign.LegacyAttestation
  signImageLegacy(
    dockerRef: string,
    manifestDigest: string,
    opts?: sign.SignOptions,
  ): OciImage & {signature: sign.LegacySignature}
  attestImageLegacy(
    name: string,
    manifestDigest: string,
    opts?: sign.DsseOptions & {predicateType?: string},
  ): OciImage & {attestation: sign.LegacyAttestation}
  signImageBundle(
    subject: OciDescriptor,
    dockerRef: string,
    opts?: sign.DsseOptions & {messageSignature?: boolean},
  ): OciImage & {signed: sign.SignedBlob | sign.SignedDsse}
  attestImageBundle(
    subject: OciDescriptor,
    name: string,
    opts?: sign.DsseOptions & {predicateType?: string},
  ): OciImage & {signed: sign.SignedDsse}
  stop(): Promise<void>
}

export async function createTestSigstore(options: TestSigstoreOptions = {}): Promise<TestSigstore> {
  const ctlog = new CTLog()
  const ca = new CertificateAuthority({name: options.name ?? 'airlock.test', ctlog})
  const untrustedCtLog = new CTLog()
  const untrustedCa = new CertificateAuthority({name: 'untrusted.test', ctlog: untrustedCtLog})
  const tlog = new TransparencyLog()
  const staticKey = generateKeyPair()
  const staticKeyHint = keyId(staticKey).toString('base64')
  let server: RekorServer | undefined
  let url = 'https://rekor.airlock.test'
  if (options.listen ?? true) {
    server = await startRekorServer(tlog)
    url = server.url
    tlog.hostname = new URL(url).hostname
  }
  const ctx: sign.SigningContext = {ca, untrustedCa, untrustedCtLog, tlog, staticKey, staticKeyHint}
  for (let i = 0; i < (options.seedEntries ?? 3); i++)
    sign.signBlob(ctx, `seed entry ${i}`, {identity: 'seed@airlock.test'})

  const trustedRoot = (): TrustedRootJSON =>
    buildTrustedRoot({
      tlog,
      tlogUrl: url,
      ca,
      caUrl: 'https://fulcio.airlock.test',
      ctlog,
      ctlogUrl: 'https://ctfe.airlock.test',
    })
  const publicKeys = () => ({
    [staticKeyHint]: {
      rawBytes: staticKey.spki.toString('base64'),
      keyDetails: 'PKIX_ECDSA_P256_SHA_256',
      validFor: {start: new Date(0).toISOString()},
    },
  })
  const trustMaterial = (): TrustMaterial => {
    const keys = Object.fromEntries(
      Object.entries(publicKeys()).map(([hint, k]) => [
        hint,
        {
          rawBytes: Buffer.from(k.rawBytes, 'base64'),
          keyDetails: 11 /* PKIX_ECDSA_P256_SHA_256 */,
          validFor: {start: new Date(0)},
        },
      ]),
    )
    return toTrustMaterial(TrustedRoot.fromJSON(trustedRoot()), keys as never)
  }

  return {
    url,
    requests: server?.requests ?? [],
    ca,
    untrustedCa,
    ctlog,
    untrustedCtLog,
    tlog,
    staticKey,
    staticKeyPem: staticKey.publicKeyPem,
    staticKeyHint,
    trustedRoot,
    trustedRootJSON: () => JSON.stringify(trustedRoot(), null, 2) + '\n',
    publicKeys,
    trustMaterial,
    verify(bundle, artifact, policy) {
      const obj = typeof bundle === 'string' || Buffer.isBuffer(bundle) ? JSON.parse(bundle.toString()) : bundle
      const entity = toSignedEntity(bundleFromJSON(obj), artifact === undefined ? undefined : Buffer.from(artifact))
      return new Verifier(trustMaterial()).verify(entity, policy)
    },
    issueLeaf: opts => ca.issueLeaf(opts),
    signBlob: (bytes, opts) => sign.signBlob(ctx, bytes, opts),
    signDsse: (payload, payloadType, opts) => sign.signDsse(ctx, payload, payloadType, opts),
    signCosignLegacy: (payload, opts) => sign.signCosignLegacy(ctx, payload, opts),
    signCosignLegacyAttestation: (statement, opts) => sign.signCosignLegacyAttestation(ctx, statement, opts),
    signImageLegacy(dockerRef, manifestDigest, opts) {
      const signature = sign.signCosignLegacy(ctx, sign.cosignSimpleSigningPayload(dockerRef, manifestDigest), opts)
      return {...legacySignatureImage(manifestDigest, [signature]), signature}
    },
    attestImageLegacy(name, manifestDigest, opts) {
      const statement = sign.intotoStatement(name, manifestDigest, opts?.predicateType)
      const attestation = sign.signCosignLegacyAttestation(ctx, statement, opts)
      return {...legacyAttestationImage(manifestDigest, [attestation]), attestation}
    },
    signImageBundle(subject, dockerRef, opts) {
      const signed = opts?.messageSignature
        ? sign.signBlob(ctx, sign.cosignSimpleSigningPayload(dockerRef, subject.digest), opts)
        : sign.signDsse(
            ctx,
            sign.intotoStatement(dockerRef, subject.digest, sign.COSIGN_SIGN_PREDICATE_TYPE, {}),
            'application/vnd.in-toto+json',
            opts,
          )
      return {...bundleReferrer(subject, signed.bundle), signed}
    },
    attestImageBundle(subject, name, opts) {
      const statement = sign.intotoStatement(name, subject.digest, opts?.predicateType)
      const signed = sign.signDsse(ctx, statement, 'application/vnd.in-toto+json', opts)
      return {...bundleReferrer(subject, signed.bundle), signed}
    },
    stop: async () => {
      await server?.close()
    },
  }
}
