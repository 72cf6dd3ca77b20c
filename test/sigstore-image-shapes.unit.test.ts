// verifyImageSignatures on signatures of the wrong shape, in process (issue 13 item 5): what cosign refuses as an
// image signature (a message-signature bundle, a DSSE envelope that is not in-toto, a simplesigning payload of
// another type), a subject that is not a sha256 digest, and how the failures of several candidates are summed up.
// Every signature is made by the test Sigstore instance (real certificates, log entries and SETs).
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import type {SignatureArtifact} from '../src/sigstore/index.ts'
import {DIGEST, REF, useImageVerifier} from './support/sigstore/image-verify.ts'

const SUBJECT = {mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: DIGEST, size: 100} as never

describe('verifyImageSignatures: shapes cosign does not accept as an image signature', () => {
  const fx = useImageVerifier()
  const {verify} = fx
  const simpleSigning = (type: string, digest = DIGEST) =>
    JSON.stringify({
      critical: {identity: {'docker-reference': REF}, image: {'docker-manifest-digest': digest}, type},
      optional: null,
    })
  const legacy = (payload: string): SignatureArtifact => {
    const s = fx.ss.signCosignLegacy(payload)
    return {kind: 'cosign-signature', payload: s.payload, annotations: s.annotations}
  }

  it('a subject that is not sha256:<lower-case hex> fails before any signature is read', () => {
    const good = legacy(simpleSigning('cosign container image signature'))
    assert.equal(verify([good]).ok, true)
    for (const subject of [
      `sha512:${'ab'.repeat(32)}`,
      `sha256:${'AB'.repeat(32)}`,
      `xsha256:${'ab'.repeat(32)}`,
      `${DIGEST}0`,
      `sha256:${'ab'.repeat(31)}`,
    ]) {
      const r = verify([good], {subjectDigest: subject})
      assert.deepEqual(
        {ok: r.ok, decision: r.decision, reason: r.reason, errorCode: r.errorCode, results: r.results},
        {
          ok: false,
          decision: 'failed',
          reason: `subject digest ${subject} is not sha256:<hex>`,
          errorCode: 'SIGNATURE_INVALID',
          results: [],
        },
      )
    }
  })

  it('a message-signature bundle signs bytes, not an image: refused even though its signature is good', () => {
    const signed = fx.ss.signImageBundle(SUBJECT, REF, {messageSignature: true}).signed
    const r = verify([{kind: 'bundle', bundle: Buffer.from(JSON.stringify(signed.bundle)), source: 'referrer'}])
    const notImage =
      'a message signature signs bytes, not an image: it is not an image signature (cosign verify accepts only DSSE in-toto bundles for images)'
    assert.equal(r.ok, false)
    assert.equal(r.reason, `no signature verifies: subject-digest: ${notImage}`)
    assert.equal(r.errorCode, 'SIGNATURE_INVALID')
    const result = r.results[0]!
    assert.equal(result.role, 'signature')
    assert.equal(result.predicateType, undefined)
    assert.ok(!('predicateType' in result))
    assert.deepEqual(result.failure, {check: 'subject-digest', category: 'verification', reason: notImage})
    assert.deepEqual(
      result.checks.filter(c => c.name === 'subject-digest'),
      [{name: 'subject-digest', status: 'fail', reason: notImage}],
    )
  })

  it('a DSSE bundle whose payload is not in-toto is not an image signature or attestation', () => {
    const type = 'application/vnd.example.note+json'
    const signed = fx.ss.signDsse(JSON.stringify({note: 'not a statement'}), type)
    const r = verify([{kind: 'bundle', bundle: Buffer.from(JSON.stringify(signed.bundle))}])
    const reason = `DSSE payload type ${type} is not application/vnd.in-toto+json: not an image signature or attestation (as cosign)`
    assert.equal(r.reason, `no signature verifies: subject-digest: ${reason}`)
    assert.equal(r.results[0]!.role, 'signature')
    assert.ok(!('source' in r.results[0]!), 'no source given, none reported')
    assert.equal(r.results[0]!.kind, 'bundle')
  })

  it('a simplesigning payload of another type, or not JSON, fails the subject-digest check', () => {
    const r = verify([legacy(simpleSigning('some other type'))])
    assert.equal(r.ok, false)
    assert.equal(
      r.reason,
      'no signature verifies: subject-digest: payload critical.type is "some other type", not "cosign container image signature"',
    )
    const garbage = verify([legacy('not json')])
    assert.equal(garbage.ok, false)
    assert.equal(garbage.results[0]!.failure!.check, 'subject-digest')
    assert.equal(garbage.errorCode, 'SIGNATURE_INVALID')
  })

  it('artifacts without a source are named by their kind when they cannot be read', () => {
    const r = verify([
      {kind: 'bundle', bundle: Buffer.from('{}')},
      {kind: 'cosign-signature', payload: Buffer.from('{}'), annotations: {}},
      {kind: 'cosign-attestation', envelope: Buffer.from('{'), annotations: {}},
    ])
    assert.equal(r.ok, false)
    assert.match(r.results[0]!.failure!.reason, /^bundle is not a valid Sigstore bundle/)
    assert.equal(r.results[1]!.failure!.reason, 'missing dev.cosignproject.cosign/signature annotation')
    assert.equal(r.results[2]!.role, 'attestation')
    assert.equal(r.results[2]!.failure!.reason, 'attestation layer is not a JSON DSSE envelope')
    assert.ok(r.results.every(x => !('source' in x)))
  })

  it('the failures of several signatures: distinct reasons, at most three, policy-only only when all are', () => {
    const stranger = (identity: string) => {
      const s = fx.ss.signImageLegacy(REF, DIGEST, {identity}).signature
      return {kind: 'cosign-signature', payload: s.payload, annotations: s.annotations} as SignatureArtifact
    }
    // two signatures by the same stranger: one reason, shown once
    const same = verify([stranger('a@airlock.test'), stranger('a@airlock.test')])
    assert.equal(same.errorCode, 'POLICY_DENIED')
    assert.equal(same.reason.split('; ').length, 1)
    assert.match(same.reason, /^valid signatures, but none satisfies flags: /)
    const four = verify(['a', 'b', 'c', 'd'].map(n => stranger(`${n}@airlock.test`)))
    assert.equal(four.reason.split('; ').length, 3)
    assert.ok(!four.reason.includes('d@airlock.test'))
    // one broken and one by a stranger: not policy-only
    const mixed = verify([stranger('a@airlock.test'), legacy(simpleSigning('other'))])
    assert.equal(mixed.errorCode, 'SIGNATURE_INVALID')
    assert.match(mixed.reason, /^no signature verifies: /)
    assert.equal(mixed.reason.split('; ').length, 2)
  })

  it('passing checks are recorded: container identity and attestation type', () => {
    const s = fx.ss.signImageLegacy(REF, DIGEST).signature
    const sig: SignatureArtifact = {kind: 'cosign-signature', payload: s.payload, annotations: s.annotations}
    const r = verify([sig], {containerIdentity: `${REF}:1.0`})
    assert.equal(r.ok, true, r.reason)
    assert.deepEqual(
      r.results[0]!.checks.filter(c => c.name === 'container-identity'),
      [{name: 'container-identity', status: 'pass'}],
    )
    const predicateType = 'https://slsa.dev/provenance/v1'
    const a = fx.ss.attestImageLegacy(REF, DIGEST, {predicateType}).attestation
    const att: SignatureArtifact = {kind: 'cosign-attestation', envelope: a.envelopeBytes, annotations: a.annotations}
    const attested = verify([sig, att], {attestationType: predicateType, containerIdentity: `${REF}:1.0`})
    assert.equal(attested.ok, true, attested.reason)
    assert.equal(
      attested.reason,
      `signed by signer@airlock.test (issuer https://issuer.airlock.test), attested (${predicateType})`,
    )
    const attResult = attested.results[1]!
    assert.equal(attResult.role, 'attestation')
    assert.equal(attResult.predicateType, predicateType)
    assert.deepEqual(
      attResult.checks.filter(c => c.name === 'attestation-type' || c.name === 'container-identity'),
      [
        {name: 'attestation-type', status: 'pass'},
        {name: 'container-identity', status: 'pass'},
      ],
    )
    // without --attestation-type the attestation is carried but not named in the reason, and has no type check
    const plain = verify([sig, att])
    assert.equal(plain.reason, 'signed by signer@airlock.test (issuer https://issuer.airlock.test)')
    assert.ok(!plain.results[1]!.checks.some(c => c.name === 'attestation-type'))
  })

  it('a skip rule reads nothing and says so in the requirement', () => {
    const r = verify([legacy('not json')], {policyRule: {image: '**', origin: 'policy.yaml', action: 'skip'}})
    assert.deepEqual(
      {ok: r.ok, decision: r.decision, reason: r.reason, results: r.results, requirement: r.rule.requirement},
      {
        ok: true,
        decision: 'skipped',
        reason: 'verification skipped by policy.yaml',
        results: [],
        requirement: 'skip verification',
      },
    )
  })
})
