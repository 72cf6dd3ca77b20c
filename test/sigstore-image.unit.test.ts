// verifyImageSignatures in process (issue 13 item 5): the verdict for one image, as verify prints it, for each rule
// action and each way the signatures found can fall short. Signatures are real (test Sigstore instance, real crypto)
// in cosign's legacy layer form, as an attestation, and as a Sigstore bundle referrer.
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import type {PolicyRule} from '../src/policy/index.ts'
import {INSECURE_TLOG_WARNING, type SignatureArtifact} from '../src/sigstore/index.ts'
import {DIGEST, REF, useImageVerifier} from './support/sigstore/image-verify.ts'
import type {SignOptions} from './support/sigstore/index.ts'

const OTHER = `sha256:${'cd'.repeat(32)}`
const REQUIREMENT = 'identity signer@airlock.test, issuer https://issuer.airlock.test'
const SIGNED_BY = 'signed by signer@airlock.test (issuer https://issuer.airlock.test)'

describe('verifyImageSignatures: the verdict for one image', () => {
  const fx = useImageVerifier()
  const {verify} = fx
  const sig = (opts: SignOptions = {}, digest = DIGEST, ref = REF): SignatureArtifact => {
    const s = fx.ss.signImageLegacy(ref, digest, opts).signature
    return {kind: 'cosign-signature', payload: s.payload, annotations: s.annotations, source: 'app.sig'}
  }
  const att = (predicateType: string): SignatureArtifact => {
    const a = fx.ss.attestImageLegacy(REF, DIGEST, {predicateType}).attestation
    return {kind: 'cosign-attestation', envelope: a.envelopeBytes, annotations: a.annotations, source: 'app.att'}
  }
  const summary = (r: ReturnType<typeof verify>) => ({
    ok: r.ok,
    decision: r.decision,
    reason: r.reason,
    errorCode: r.errorCode,
  })

  it('a signature by the required signer verifies the image, and the rule is shown as the user wrote it', () => {
    const report = verify([sig()])
    assert.deepEqual(summary(report), {ok: true, decision: 'verified', reason: SIGNED_BY, errorCode: undefined})
    assert.deepEqual(report.rule, {image: '**', action: 'keyless', origin: 'flags', requirement: REQUIREMENT})
    assert.equal(report.subjectDigest, DIGEST)
    assert.deepEqual(
      report.results.map(r => [r.kind, r.role, r.source, r.ok]),
      [['cosign-signature', 'signature', 'app.sig', true]],
    )
    assert.deepEqual(report.warnings, [])
    assert.equal(report.insecureIgnoreTlog, false)
  })

  it('no signature at all is SIGNATURE_MISSING', () =>
    assert.deepEqual(summary(verify([])), {
      ok: false,
      decision: 'failed',
      reason: 'no signature found for this image',
      errorCode: 'SIGNATURE_MISSING',
    }))

  it('a signature for another manifest is SIGNATURE_INVALID, naming both digests', () =>
    assert.deepEqual(summary(verify([sig({}, OTHER)])), {
      ok: false,
      decision: 'failed',
      reason: `no signature verifies: subject-digest: payload names ${OTHER}, not this image ${DIGEST}`,
      errorCode: 'SIGNATURE_INVALID',
    }))

  it('a broken signature is SIGNATURE_INVALID with the failing check', () =>
    assert.deepEqual(summary(verify([sig({tamper: 'signature'})])), {
      ok: false,
      decision: 'failed',
      reason: 'no signature verifies: tlog-body: signature mismatch',
      errorCode: 'SIGNATURE_INVALID',
    }))

  it('a valid signature by someone else is POLICY_DENIED, naming the rule', () =>
    assert.deepEqual(summary(verify([sig({identity: 'mallory@evil.test'})])), {
      ok: false,
      decision: 'failed',
      reason:
        'valid signatures, but none satisfies flags: identity-policy: certificate identity "mallory@evil.test" is not "signer@airlock.test"',
      errorCode: 'POLICY_DENIED',
    }))

  it('one good signature among bad ones verifies the image; each is reported', () => {
    const report = verify([sig({identity: 'mallory@evil.test'}), sig()])
    assert.deepEqual(summary(report), {ok: true, decision: 'verified', reason: SIGNED_BY, errorCode: undefined})
    assert.deepEqual(
      report.results.map(r => [r.ok, r.failure?.check]),
      [
        [false, 'identity-policy'],
        [true, undefined],
      ],
    )
  })

  it('a skip rule passes the image without looking; a deny rule refuses it even when signed', () => {
    assert.deepEqual(summary(verify([], {policyRule: {image: '**', origin: 'p.yaml rules[0]', action: 'skip'}})), {
      ok: true,
      decision: 'skipped',
      reason: 'verification skipped by p.yaml rules[0]',
      errorCode: undefined,
    })
    const denied = verify([sig()], {policyRule: {image: 'x/*', origin: 'p.yaml rules[1]', action: 'deny'}})
    assert.deepEqual(summary(denied), {
      ok: false,
      decision: 'denied',
      reason: 'denied by p.yaml rules[1]',
      errorCode: 'POLICY_DENIED',
    })
    assert.deepEqual(denied.rule, {image: 'x/*', action: 'deny', origin: 'p.yaml rules[1]', requirement: 'deny'})
    assert.deepEqual(denied.results, [])
  })

  it('a key rule verifies a key-signed image; --insecure-ignore-tlog says so in the warnings', () => {
    const rule: PolicyRule = {image: '**', origin: 'flags', action: 'public-key', publicKeyPem: fx.ss.staticKeyPem}
    const report = verify([sig({key: true})], {policyRule: rule})
    assert.deepEqual(summary(report), {
      ok: true,
      decision: 'verified',
      reason: 'signed by the policy key',
      errorCode: undefined,
    })
    assert.equal(report.rule.requirement, 'public key')
    const loose = verify([sig({key: true})], {policyRule: rule, insecureIgnoreTlog: true})
    assert.equal(loose.ok, true)
    assert.deepEqual(loose.warnings, [INSECURE_TLOG_WARNING])
    assert.equal(loose.insecureIgnoreTlog, true)
  })

  describe('--attestation-type', () => {
    it('a valid attestation of the type verifies the image and is named in the reason', () => {
      const report = verify([sig(), att('https://slsa.dev/provenance/v1')], {attestationType: 'slsaprovenance'})
      assert.deepEqual(summary(report), {
        ok: true,
        decision: 'verified',
        reason: `${SIGNED_BY}, attested (https://slsa.dev/provenance/v1)`,
        errorCode: undefined,
      })
      assert.deepEqual(
        report.results.map(r => [r.kind, r.role, r.predicateType]),
        [
          ['cosign-signature', 'signature', undefined],
          ['cosign-attestation', 'attestation', 'https://slsa.dev/provenance/v1'],
        ],
      )
    })
    it('no attestation is SIGNATURE_MISSING; one of another type is POLICY_DENIED', () => {
      assert.deepEqual(summary(verify([sig()], {attestationType: 'slsaprovenance'})), {
        ok: false,
        decision: 'failed',
        reason: 'no attestation found for this image (required: slsaprovenance)',
        errorCode: 'SIGNATURE_MISSING',
      })
      assert.deepEqual(
        summary(verify([sig(), att('https://spdx.dev/Document')], {attestationType: 'slsaprovenance'})),
        {
          ok: false,
          decision: 'failed',
          reason:
            'valid attestations, but none satisfies flags: attestation-type: predicate type https://spdx.dev/Document is not slsaprovenance',
          errorCode: 'POLICY_DENIED',
        },
      )
    })
  })

  it('--require-container-identity: the payload must name this repository', () => {
    assert.equal(verify([sig()], {containerIdentity: `${REF}:v1`}).ok, true)
    assert.deepEqual(
      summary(verify([sig({}, DIGEST, 'registry.example/other/app')], {containerIdentity: `${REF}:v1`})),
      {
        ok: false,
        decision: 'failed',
        reason:
          'valid signatures, but none satisfies flags: container-identity: signed for registry.example/other/app, not for registry.example/team/app (--require-container-identity)',
        errorCode: 'POLICY_DENIED',
      },
    )
  })

  it('a Sigstore bundle referrer verifies; one that is not a bundle fails with its source named', () => {
    const signed = fx.ss.signImageBundle(
      {mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: DIGEST, size: 100} as never,
      REF,
    ).signed
    const good = verify([{kind: 'bundle', bundle: Buffer.from(JSON.stringify(signed.bundle)), source: 'referrer'}])
    assert.deepEqual(summary(good), {ok: true, decision: 'verified', reason: SIGNED_BY, errorCode: undefined})
    assert.equal(good.results[0]?.predicateType, 'https://sigstore.dev/cosign/sign/v1')
    const bad = verify([{kind: 'bundle', bundle: Buffer.from('{}'), source: 'b.json'}])
    assert.deepEqual(summary(bad), {
      ok: false,
      decision: 'failed',
      reason:
        'no signature verifies: verification: b.json is not a valid Sigstore bundle (invalid fields: mediaType, content, verificationMaterial)',
      errorCode: 'SIGNATURE_INVALID',
    })
  })
})
