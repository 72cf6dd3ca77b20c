// cosign's legacy `.sig` / `.att` layers to Sigstore bundles, in process (issue 13 item 5): src/sigstore/cosign-legacy.ts
// on layers signed by the test Sigstore instance (real certificates, SETs, log bodies and inclusion proofs), checked
// by @sigstore/verify through the instance (ss.verify), and every annotation field an archive's author could lie in,
// each refused with its own line.
import assert from 'node:assert/strict'
import {createHash, X509Certificate} from 'node:crypto'
import {after, before, describe, it} from 'node:test'
import {
  COSIGN_ANNOTATIONS,
  cosignAttestationToBundle,
  cosignSignatureToBundle,
  type RekorInclusionProof,
} from '../src/sigstore/cosign-legacy.ts'
import {createTestSigstore, type TestSigstore} from './support/sigstore/index.ts'

const A = COSIGN_ANNOTATIONS
const SLSA = 'https://slsa.dev/provenance/v1'
type Json = Record<string, any>
const refuses = (fn: () => unknown, message: string | RegExp) =>
  assert.throws(fn, (error: Error & {code?: string}) => {
    assert.equal(error.code, 'SIGNATURE_INVALID')
    if (typeof message === 'string') assert.equal(error.message, message)
    else assert.match(error.message, message)
    return true
  })

describe('cosign legacy layers as Sigstore bundles', () => {
  let ss: TestSigstore
  let sig: {payload: Buffer; annotations: Record<string, string>}
  let keyed: {payload: Buffer; annotations: Record<string, string>}
  let att: {envelopeBytes: Buffer; annotations: Record<string, string>}
  let set: {
    SignedEntryTimestamp: string
    Payload: {body: string; integratedTime: number; logIndex: number; logID: string}
  }
  let proof: RekorInclusionProof
  const payload = Buffer.from(
    JSON.stringify({
      critical: {
        identity: {'docker-reference': 'registry.example/app'},
        image: {'docker-manifest-digest': `sha256:${'a'.repeat(64)}`},
        type: 'cosign container image signature',
      },
      optional: null,
    }),
  )
  /** The signature's annotations with the SET annotation's Payload changed. */
  const withPayload = (change: Json) => ({
    ...sig.annotations,
    [A.bundle]: JSON.stringify({...set, Payload: {...set.Payload, ...change}}),
  })
  const toBundle = (annotations: Record<string, string>, p?: RekorInclusionProof) =>
    cosignSignatureToBundle(sig.payload, annotations, p ? {inclusionProof: p} : {})

  before(async () => {
    ss = await createTestSigstore({listen: false})
    sig = ss.signCosignLegacy(payload)
    keyed = ss.signCosignLegacy(payload, {key: true})
    att = ss.signCosignLegacyAttestation(
      JSON.stringify({
        _type: 'https://in-toto.io/Statement/v1',
        subject: [{name: 'registry.example/app', digest: {sha256: 'a'.repeat(64)}}],
        predicateType: SLSA,
        predicate: {},
      }),
      {predicateType: SLSA},
    )
    set = JSON.parse(sig.annotations[A.bundle]!)
    proof = ss.tlog.inclusionProof(ss.tlog.find({logIndex: set.Payload.logIndex})!)
  })
  after(() => ss?.stop())

  it('a keyless .sig layer becomes a v0.1 bundle that verifies, its fields read from the annotations', () => {
    const b = toBundle(sig.annotations) as Json
    assert.equal(b.mediaType, 'application/vnd.dev.sigstore.bundle+json;version=0.1')
    const der = new X509Certificate(sig.annotations[A.certificate]!).raw.toString('base64')
    assert.deepEqual(b.verificationMaterial.x509CertificateChain, {certificates: [{rawBytes: der}]})
    assert.equal(b.verificationMaterial.timestampVerificationData, undefined)
    assert.deepEqual(b.messageSignature, {
      messageDigest: {algorithm: 'SHA2_256', digest: createHash('sha256').update(sig.payload).digest('base64')},
      signature: sig.annotations[A.signature],
    })
    const body = JSON.parse(Buffer.from(set.Payload.body, 'base64').toString()) as {kind: string; apiVersion: string}
    assert.deepEqual(b.verificationMaterial.tlogEntries, [
      {
        logIndex: String(set.Payload.logIndex),
        logId: {keyId: Buffer.from(set.Payload.logID, 'hex').toString('base64')},
        kindVersion: {kind: body.kind, version: body.apiVersion},
        integratedTime: String(set.Payload.integratedTime),
        inclusionPromise: {signedEntryTimestamp: set.SignedEntryTimestamp},
        canonicalizedBody: set.Payload.body,
      },
    ])
    const signer = ss.verify(b, sig.payload)
    assert.ok(signer)
  })

  it('with the stored inclusion proof the entry carries it, and still verifies', () => {
    const b = toBundle(sig.annotations, proof) as Json
    assert.deepEqual(b.verificationMaterial.tlogEntries[0].inclusionProof, {
      logIndex: String(proof.logIndex),
      rootHash: Buffer.from(proof.rootHash, 'hex').toString('base64'),
      treeSize: String(proof.treeSize),
      hashes: proof.hashes.map(h => Buffer.from(h, 'hex').toString('base64')),
      checkpoint: {envelope: proof.checkpoint},
    })
    assert.ok(proof.hashes.length > 1, 'a proof with more than one hash')
    ss.verify(b, sig.payload)
    // upper-case hex is hex
    const upper = {...proof, rootHash: proof.rootHash.toUpperCase()}
    assert.equal(
      (toBundle(sig.annotations, upper) as Json).verificationMaterial.tlogEntries[0].inclusionProof.rootHash,
      Buffer.from(proof.rootHash, 'hex').toString('base64'),
    )
  })

  it('a key-signed layer names no certificate; without a log entry the bundle is v0.3', () => {
    const b = cosignSignatureToBundle(keyed.payload, keyed.annotations) as Json
    assert.deepEqual(b.verificationMaterial.publicKey, {hint: ''})
    assert.equal(b.verificationMaterial.x509CertificateChain, undefined)
    const {[A.bundle]: _set, ...unlogged} = sig.annotations
    const lone = toBundle(unlogged) as Json
    assert.equal(lone.mediaType, 'application/vnd.dev.sigstore.bundle.v0.3+json')
    assert.deepEqual(lone.verificationMaterial.tlogEntries, [])
    assert.deepEqual(lone.verificationMaterial.certificate, {
      rawBytes: new X509Certificate(sig.annotations[A.certificate]!).raw.toString('base64'),
    })
    const {[A.bundle]: _set2, ...keyUnlogged} = keyed.annotations
    const keyLone = cosignSignatureToBundle(keyed.payload, keyUnlogged) as Json
    assert.deepEqual(keyLone.verificationMaterial, {publicKey: {hint: ''}, tlogEntries: []})
    refuses(
      () => toBundle(unlogged, proof),
      'an inclusion proof was given but the signature has no Rekor bundle annotation',
    )
  })

  it('an RFC 3161 timestamp annotation is carried as the bundle timestamp; a bad one is refused', () => {
    const token = Buffer.from('a DER timestamp token').toString('base64')
    const b = toBundle({
      ...sig.annotations,
      [A.rfc3161timestamp]: JSON.stringify({SignedRFC3161Timestamp: token}),
    }) as Json
    assert.deepEqual(b.verificationMaterial.timestampVerificationData, {rfc3161Timestamps: [{signedTimestamp: token}]})
    const ts = (value: string) => () => toBundle({...sig.annotations, [A.rfc3161timestamp]: value})
    refuses(ts('{'), `${A.rfc3161timestamp} annotation is not JSON`)
    refuses(ts('{}'), `${A.rfc3161timestamp} annotation has no SignedRFC3161Timestamp`)
    refuses(ts('{"SignedRFC3161Timestamp":1}'), `${A.rfc3161timestamp} annotation has no SignedRFC3161Timestamp`)
    refuses(ts('{"SignedRFC3161Timestamp":"a*b="}'), 'RFC 3161 timestamp is not valid base64')
  })

  it('a signature annotation missing or not base64 is refused', () => {
    const {[A.signature]: _s, ...unsigned} = sig.annotations
    refuses(() => toBundle(unsigned), `missing ${A.signature} annotation`)
    refuses(() => toBundle({...sig.annotations, [A.signature]: ''}), `missing ${A.signature} annotation`)
    for (const bad of ['abc', 'ab$=', ' YWJj', 'YWJj ', 'YW=j'])
      refuses(() => toBundle({...sig.annotations, [A.signature]: bad}), `${A.signature} is not valid base64`)
    // padding is base64
    assert.ok(toBundle({...sig.annotations, [A.signature]: 'YQ=='}))
  })

  it('a certificate annotation without a PEM certificate is refused; line breaks inside the PEM are not part of it', () => {
    refuses(
      () => toBundle({...sig.annotations, [A.certificate]: 'no certificate here'}),
      `${A.certificate} annotation holds no PEM certificate`,
    )
    refuses(
      () => toBundle({...sig.annotations, [A.certificate]: '-----BEGIN CERTIFICATE----------END CERTIFICATE-----'}),
      `${A.certificate} annotation holds no PEM certificate`,
    )
    refuses(
      () =>
        toBundle({...sig.annotations, [A.certificate]: '-----BEGIN CERTIFICATE-----\nab$c\n-----END CERTIFICATE-----'}),
      'certificate is not valid base64',
    )
    const pem = sig.annotations[A.certificate]!
    const spaced = pem.replace(/\n/g, '\n\t \n')
    const b = toBundle({...sig.annotations, [A.certificate]: spaced}) as Json
    assert.equal(
      b.verificationMaterial.x509CertificateChain.certificates[0].rawBytes,
      new X509Certificate(pem).raw.toString('base64'),
    )
  })

  it('every lie of the Rekor bundle annotation is refused for its own reason', () => {
    const needs = `${A.bundle} annotation needs SignedEntryTimestamp and Payload{body, integratedTime, logIndex, logID}`
    const bad = `${A.bundle} annotation has a bad integratedTime or logIndex`
    refuses(() => toBundle({...sig.annotations, [A.bundle]: '{'}), `${A.bundle} annotation is not JSON`)
    const {SignedEntryTimestamp: _e, ...noSet} = set
    refuses(() => toBundle({...sig.annotations, [A.bundle]: JSON.stringify(noSet)}), needs)
    refuses(() => toBundle({...sig.annotations, [A.bundle]: JSON.stringify({...set, SignedEntryTimestamp: 5})}), needs)
    refuses(
      () =>
        toBundle({...sig.annotations, [A.bundle]: JSON.stringify({SignedEntryTimestamp: set.SignedEntryTimestamp})}),
      needs,
    )
    refuses(() => toBundle(withPayload({body: 1})), needs)
    refuses(() => toBundle(withPayload({logID: 1})), needs)
    refuses(() => toBundle(withPayload({integratedTime: 1.5})), bad)
    refuses(() => toBundle(withPayload({integratedTime: String(set.Payload.integratedTime)})), bad)
    refuses(() => toBundle(withPayload({logIndex: -1})), bad)
    refuses(() => toBundle(withPayload({logIndex: String(set.Payload.logIndex)})), bad)
    // index 0 is the log's first entry (the SET no longer matches, which verification refuses later)
    assert.equal((toBundle(withPayload({logIndex: 0})) as Json).verificationMaterial.tlogEntries[0].logIndex, '0')
    for (const logID of [
      set.Payload.logID.toUpperCase(),
      set.Payload.logID.slice(1),
      `${set.Payload.logID}0`,
      `x${set.Payload.logID.slice(1)}`,
      `${set.Payload.logID.slice(1)}x`,
    ])
      refuses(() => toBundle(withPayload({logID})), `${A.bundle} annotation logID is not a sha256 hex`)
    refuses(() => toBundle(withPayload({body: 'a*=='})), 'Rekor entry body is not valid base64')
    const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64')
    refuses(() => toBundle(withPayload({body: b64('{')})), 'Rekor entry body is not JSON')
    refuses(() => toBundle(withPayload({body: b64({apiVersion: '0.0.1'})})), 'Rekor entry body has no kind/apiVersion')
    refuses(() => toBundle(withPayload({body: b64({kind: 'hashedrekord'})})), 'Rekor entry body has no kind/apiVersion')
    refuses(
      () => toBundle({...sig.annotations, [A.bundle]: JSON.stringify({...set, SignedEntryTimestamp: 'ab'})}),
      'SignedEntryTimestamp is not valid base64',
    )
  })

  it('every lie of a stored inclusion proof is refused for its own reason', () => {
    refuses(() => toBundle(sig.annotations, {...proof, checkpoint: ''}), 'inclusion proof has no checkpoint')
    refuses(
      () => toBundle(sig.annotations, {...proof, checkpoint: 7 as unknown as string}),
      'inclusion proof has no checkpoint',
    )
    refuses(
      () => toBundle(sig.annotations, {...proof, hashes: 'ab' as unknown as string[]}),
      'inclusion proof has no hashes',
    )
    refuses(
      () => toBundle(sig.annotations, {...proof, rootHash: proof.rootHash.slice(2)}),
      'inclusion proof rootHash is not a sha256 hex',
    )
    refuses(
      () => toBundle(sig.annotations, {...proof, rootHash: `${proof.rootHash}00`}),
      'inclusion proof rootHash is not a sha256 hex',
    )
    refuses(
      () => toBundle(sig.annotations, {...proof, rootHash: `zz${proof.rootHash.slice(2)}`}),
      'inclusion proof rootHash is not a sha256 hex',
    )
    refuses(
      () => toBundle(sig.annotations, {...proof, rootHash: 5 as unknown as string}),
      'inclusion proof rootHash is not a sha256 hex',
    )
    const hashes = [...proof.hashes]
    hashes[1] = 'f'.repeat(63)
    refuses(() => toBundle(sig.annotations, {...proof, hashes}), 'inclusion proof hashes[1] is not a sha256 hex')
  })

  it('a .att layer becomes a DSSE bundle that verifies; every lie of the envelope is refused', () => {
    const b = cosignAttestationToBundle(att.envelopeBytes, att.annotations) as Json
    const env = JSON.parse(att.envelopeBytes.toString()) as {
      payloadType: string
      payload: string
      signatures: {sig: string; keyid?: string}[]
    }
    assert.deepEqual(b.dsseEnvelope, {
      payloadType: env.payloadType,
      payload: env.payload,
      signatures: env.signatures.map(s => ({sig: s.sig, keyid: s.keyid ?? ''})),
    })
    ss.verify(b)
    const withEnv = (change: Json) => () =>
      cosignAttestationToBundle(Buffer.from(JSON.stringify({...env, ...change})), att.annotations)
    // a keyid is carried as written
    assert.equal(
      (withEnv({signatures: [{...env.signatures[0], keyid: 'k1'}]})() as Json).dsseEnvelope.signatures[0].keyid,
      'k1',
    )
    assert.equal(
      (withEnv({signatures: [{sig: env.signatures[0]!.sig, keyid: 3}]})() as Json).dsseEnvelope.signatures[0].keyid,
      '',
    )
    const shape = 'attestation layer is not a DSSE envelope (payloadType, payload, signatures required)'
    refuses(
      () => cosignAttestationToBundle(Buffer.from('{'), att.annotations),
      'attestation layer is not a JSON DSSE envelope',
    )
    refuses(withEnv({payloadType: undefined}), shape)
    refuses(withEnv({payloadType: 1}), shape)
    refuses(withEnv({payload: undefined}), shape)
    refuses(withEnv({payload: {}}), shape)
    refuses(withEnv({signatures: {sig: env.signatures[0]!.sig}}), shape)
    refuses(withEnv({signatures: []}), shape)
    refuses(withEnv({signatures: [null]}), 'DSSE signature without "sig"')
    refuses(withEnv({signatures: [{keyid: ''}]}), 'DSSE signature without "sig"')
    refuses(withEnv({signatures: [{sig: '!!!!'}]}), 'DSSE signature is not valid base64')
    refuses(withEnv({payload: 'abc'}), 'DSSE payload is not valid base64')
  })
})
