// verifyBlob's named checks in process (issue 13 item 5): each way a signature can be wrong, made with real crypto by
// the test Sigstore instance (test/support/sigstore), must fail the check a user reads in verify's table, with the
// checks before it passed and the ones after it not run. The statuses are those of @sigstore/verify's fixed order.
import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import {after, before, describe, it} from 'node:test'
import {INSECURE_TLOG_WARNING, parseTrustedRoot, verifyBlob, type SignerRequirement} from '../src/sigstore/index.ts'
import {createTestSigstore, type SignOptions, type TestSigstore} from './support/sigstore/index.ts'

const KEYLESS: SignerRequirement = {
  kind: 'keyless',
  identities: [{subject: 'signer@airlock.test', issuer: 'https://issuer.airlock.test'}],
}
const table = (r: {checks: Array<{name: string; status: string}>}) =>
  r.checks.map(c => `${c.name}:${c.status}`).join(' ')
const AFTER_SCT_NOT_RUN =
  'set:not-run inclusion-proof:not-run checkpoint:not-run tlog-body:not-run tlog:not-run signature:not-run identity-policy:not-run'

describe('verifyBlob: which check fails for each defect', () => {
  let ss: TestSigstore
  let verify: (
    opts: SignOptions,
    extra?: {signer?: SignerRequirement; key?: boolean; ignoreTlog?: boolean},
  ) => ReturnType<typeof verifyBlob>
  before(async () => {
    ss = await createTestSigstore({listen: false})
    const root = parseTrustedRoot(ss.trustedRootJSON())
    verify = (opts, extra = {}) => {
      const signed = ss.signBlob(Buffer.from('release notes v1.9.0\n'), opts)
      return verifyBlob({
        bundle: JSON.stringify(signed.bundle),
        artifact: {kind: 'bytes', bytes: signed.artifact},
        trust: {trustedRoots: [root], ...(extra.key ? {publicKeyPem: ss.staticKeyPem} : {})},
        signer: extra.signer ?? KEYLESS,
        insecureIgnoreTlog: extra.ignoreTlog,
      })
    }
  })
  after(() => ss.stop())

  it('a good keyless signature passes every applicable check and reports signer and log entry', () => {
    const report = verify({})
    assert.equal(report.ok, true)
    assert.equal(report.failure, undefined)
    assert.equal(
      table(report),
      'subject-digest:pass rfc3161-timestamp:not-applicable certificate-chain:pass public-key:not-applicable sct:pass set:pass inclusion-proof:pass checkpoint:pass tlog-body:pass tlog:pass signature:pass identity-policy:pass',
    )
    assert.deepEqual(report.signer, {
      identity: 'signer@airlock.test',
      issuer: 'https://issuer.airlock.test',
      keyed: false,
    })
    assert.equal(report.tlog.length, 1)
    assert.equal(report.tlog[0]?.kind, 'hashedrekord/0.0.1')
    assert.match(report.tlog[0]?.logId ?? '', /^[0-9a-f]{64}$/)
    assert.match(report.tlog[0]?.logIndex ?? '', /^\d+$/)
    assert.ok(Math.abs(Date.parse(report.tlog[0]?.integratedTime ?? '') - Date.now()) < 600_000)
    assert.deepEqual(report.warnings, [])
    assert.equal(report.insecureIgnoreTlog, false)
    assert.equal(report.bundleMediaType, 'application/vnd.dev.sigstore.bundle.v0.3+json')
  })

  const cases: Array<[string, SignOptions, string, RegExp, string]> = [
    [
      'an altered signed entry timestamp',
      {tamper: 'set'},
      'set',
      /inclusion promise could not be verified/,
      'subject-digest:pass rfc3161-timestamp:not-applicable certificate-chain:pass public-key:not-applicable sct:pass set:fail inclusion-proof:not-run checkpoint:not-run tlog-body:not-run tlog:not-run signature:not-run identity-policy:not-run',
    ],
    [
      'an altered inclusion proof',
      {tamper: 'proof'},
      'inclusion-proof',
      /root hash does not match/,
      'subject-digest:pass rfc3161-timestamp:not-applicable certificate-chain:pass public-key:not-applicable sct:pass set:pass inclusion-proof:fail checkpoint:not-run tlog-body:not-run tlog:not-run signature:not-run identity-policy:not-run',
    ],
    [
      'a checkpoint whose signature does not verify',
      {tamper: 'checkpoint'},
      'checkpoint',
      /checkpoint signature/,
      'subject-digest:pass rfc3161-timestamp:not-applicable certificate-chain:pass public-key:not-applicable sct:pass set:pass inclusion-proof:pass checkpoint:fail tlog-body:not-run tlog:not-run signature:not-run identity-policy:not-run',
    ],
    [
      'a signature other than the logged one',
      {tamper: 'signature'},
      'tlog-body',
      /signature mismatch/,
      'subject-digest:pass rfc3161-timestamp:not-applicable certificate-chain:pass public-key:not-applicable sct:pass set:pass inclusion-proof:pass checkpoint:pass tlog-body:fail tlog:not-run signature:not-run identity-policy:not-run',
    ],
    [
      'an artifact other than the signed one',
      {tamper: 'payload'},
      'subject-digest',
      /^bundle message digest sha256:[0-9a-f]{64} is not the artifact's sha256:[0-9a-f]{64}$/,
      'subject-digest:fail rfc3161-timestamp:not-applicable certificate-chain:pass public-key:not-applicable sct:pass set:pass inclusion-proof:pass checkpoint:pass tlog-body:pass tlog:pass signature:fail identity-policy:not-run',
    ],
    [
      'a certificate from a CA not in the trusted root',
      {untrustedCa: true},
      'certificate-chain',
      /certificate chain/,
      `subject-digest:pass rfc3161-timestamp:not-applicable certificate-chain:fail public-key:not-applicable sct:not-run ${AFTER_SCT_NOT_RUN}`,
    ],
    [
      'a certificate expired when the log took the entry',
      {expiredAtLogTime: true},
      'certificate-chain',
      /certificate chain/,
      `subject-digest:pass rfc3161-timestamp:not-applicable certificate-chain:fail public-key:not-applicable sct:not-run ${AFTER_SCT_NOT_RUN}`,
    ],
    [
      'an SCT from an untrusted CT log',
      {untrustedCtLog: true},
      'sct',
      /SCT verification failed/,
      `subject-digest:pass rfc3161-timestamp:not-applicable certificate-chain:pass public-key:not-applicable sct:fail ${AFTER_SCT_NOT_RUN}`,
    ],
    [
      'a certificate without an SCT',
      {noSct: true},
      'sct',
      /expected 1 SCTs, got 0/,
      `subject-digest:pass rfc3161-timestamp:not-applicable certificate-chain:pass public-key:not-applicable sct:fail ${AFTER_SCT_NOT_RUN}`,
    ],
    [
      'a bundle with no log entry (nothing dates the certificate)',
      {noTlog: true},
      'certificate-chain',
      /^no log or timestamp time to judge the certificate by$/,
      'subject-digest:pass rfc3161-timestamp:not-applicable certificate-chain:fail public-key:not-applicable sct:not-run set:not-applicable inclusion-proof:not-applicable checkpoint:not-applicable tlog-body:not-applicable tlog:not-run signature:not-run identity-policy:not-run',
    ],
    [
      'a log entry without its signed entry timestamp (no trusted time)',
      {promise: false},
      'rfc3161-timestamp',
      /expected 1 timestamps, got 0/,
      'subject-digest:pass rfc3161-timestamp:fail certificate-chain:not-run public-key:not-applicable sct:not-run set:not-applicable inclusion-proof:not-run checkpoint:not-run tlog-body:not-run tlog:not-run signature:not-run identity-policy:not-run',
    ],
  ]
  for (const [what, opts, check, reason, expected] of cases)
    it(`${what} fails ${check}`, () => {
      const report = verify(opts)
      assert.equal(report.ok, false)
      assert.equal(report.failure?.check, check)
      assert.equal(report.failure?.category, 'verification')
      assert.match(report.failure?.reason ?? '', reason)
      assert.doesNotMatch(report.failure?.reason ?? '', /\n/)
      assert.equal(table(report), expected)
    })

  it('another signer fails the identity policy (a policy failure, not a broken signature)', () => {
    const report = verify({identity: 'mallory@evil.test'})
    assert.equal(report.ok, false)
    assert.deepEqual(report.failure, {
      check: 'identity-policy',
      category: 'policy',
      reason: 'certificate identity "mallory@evil.test" is not "signer@airlock.test"',
    })
    assert.match(table(report), / signature:pass identity-policy:fail$/)
    assert.equal(report.signer.identity, 'mallory@evil.test')
  })

  it('any one of several identities suffices; when none does, each reason is listed', () => {
    const two: SignerRequirement = {
      kind: 'keyless',
      identities: [{subject: 'other@airlock.test', issuer: 'https://issuer.airlock.test'}, KEYLESS.identities[0]!],
    }
    assert.equal(verify({}, {signer: two}).ok, true)
    const report = verify({identity: 'mallory@evil.test'}, {signer: two})
    assert.equal(
      report.failure?.reason,
      'certificate identity "mallory@evil.test" is not "other@airlock.test"; certificate identity "mallory@evil.test" is not "signer@airlock.test"',
    )
    assert.equal(verify({}, {signer: {kind: 'keyless', identities: []}}).failure?.reason, 'no identity in the policy')
  })

  it('the issuer comes from the legacy extension when the certificate has only that one', () => {
    const report = verify({legacyIssuerOnly: true})
    assert.equal(report.ok, true)
    assert.equal(report.signer.issuer, 'https://issuer.airlock.test')
  })

  it('--key: a key-signed bundle verifies against the operator key; a keyless policy refuses it', () => {
    const keyed = verify({key: true}, {signer: {kind: 'public-key'}, key: true})
    assert.equal(keyed.ok, true)
    assert.equal(
      table(keyed),
      'subject-digest:pass rfc3161-timestamp:not-applicable certificate-chain:not-applicable public-key:pass sct:not-applicable set:pass inclusion-proof:pass checkpoint:pass tlog-body:pass tlog:pass signature:pass identity-policy:not-applicable',
    )
    assert.deepEqual(keyed.signer, {keyed: true})
    const keyless = verify({key: true})
    assert.equal(keyless.ok, false)
    assert.equal(keyless.failure?.check, 'public-key')
    assert.match(keyless.failure?.reason ?? '', /signed with a public key .* but no --key was given/)
  })

  it('--key: a certificate-signed bundle must hold the operator key', () => {
    const report = verify({}, {signer: {kind: 'public-key'}, key: true})
    assert.equal(report.ok, false)
    assert.deepEqual(report.failure, {
      check: 'public-key',
      category: 'verification',
      reason: 'the signing certificate does not hold the --key public key',
    })
    assert.match(table(report), /certificate-chain:not-applicable public-key:fail .* identity-policy:not-applicable$/)
  })

  it('--key without the key material is a usage error, not a failed signature', () => {
    assert.throws(
      () =>
        verifyBlob({
          bundle: '{}',
          artifact: {kind: 'embedded'},
          trust: {trustedRoots: [parseTrustedRoot(ss.trustedRootJSON())]},
          signer: {kind: 'public-key'},
        }),
      {code: 'USAGE', message: /needs trust.publicKeyPem/},
    )
  })

  it('--insecure-ignore-tlog skips the log checks loudly; a certificate then has no time to be judged by', () => {
    const keyless = verify({}, {ignoreTlog: true})
    assert.equal(keyless.ok, false)
    assert.equal(keyless.failure?.check, 'certificate-chain')
    assert.equal(
      keyless.failure?.reason,
      'no RFC 3161 timestamp to judge the certificate by (the log time was ignored)',
    )
    assert.match(
      table(keyless),
      /set:skipped inclusion-proof:skipped checkpoint:skipped tlog-body:skipped tlog:skipped/,
    )
    assert.deepEqual(keyless.warnings, [INSECURE_TLOG_WARNING])
    assert.equal(keyless.insecureIgnoreTlog, true)
    const keyed = verify({key: true}, {signer: {kind: 'public-key'}, key: true, ignoreTlog: true})
    assert.equal(keyed.ok, true)
    assert.equal(
      table(keyed),
      'subject-digest:pass rfc3161-timestamp:not-applicable certificate-chain:not-applicable public-key:pass sct:not-applicable set:skipped inclusion-proof:skipped checkpoint:skipped tlog-body:skipped tlog:skipped signature:pass identity-policy:not-applicable',
    )
  })

  it('a sha256 digest stands for the artifact; another digest fails subject-digest', () => {
    const signed = ss.signBlob(Buffer.from('payload'))
    const run = (digest: Buffer) =>
      verifyBlob({
        bundle: signed.bundle,
        artifact: {kind: 'digest', algorithm: 'sha256', digest},
        trust: {trustedRoots: [parseTrustedRoot(ss.trustedRootJSON())]},
        signer: KEYLESS,
      })
    assert.equal(run(createHash('sha256').update('payload').digest()).ok, true)
    const wrong = run(createHash('sha256').update('Payload').digest())
    assert.equal(wrong.failure?.check, 'subject-digest')
  })

  it('a DSSE envelope verifies on its own payload: subject-digest does not apply', () => {
    const signed = ss.signDsse(Buffer.from('{"_type":"x"}'), 'application/json')
    const report = verifyBlob({
      bundle: signed.bundle,
      artifact: {kind: 'embedded'},
      trust: {trustedRoots: [parseTrustedRoot(ss.trustedRootJSON())]},
      signer: KEYLESS,
    })
    assert.equal(report.ok, true)
    assert.deepEqual(report.checks[0], {
      name: 'subject-digest',
      status: 'not-applicable',
      reason: 'no external artifact: the signed statement is the envelope payload',
    })
    assert.equal(report.tlog[0]?.kind, 'dsse/0.0.1')
  })

  it('a file that is not a bundle fails one "verification" check, never throws', () => {
    const report = verifyBlob({
      bundle: '{"mediaType": "application/json"}',
      artifact: {kind: 'embedded'},
      trust: {trustedRoots: [parseTrustedRoot(ss.trustedRootJSON())]},
      signer: KEYLESS,
    })
    assert.equal(report.ok, false)
    assert.equal(table(report), 'verification:fail')
    assert.match(report.failure?.reason ?? '', /not a valid Sigstore bundle/)
    assert.deepEqual(report.signer, {keyed: false})
    assert.deepEqual(report.tlog, [])
  })
})
