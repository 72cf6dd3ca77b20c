// The shape of verifyBundle's result in process (issue 13 item 5, survivors of the 2026-12-03 morning mutation round
// of src/sigstore/verify.ts): what the report says about the signer and the log entries, the checks around a
// certificate-bearing signature judged with --key, a key signature under a keyless policy, and the result of a
// signature that cannot be read. Real crypto throughout: bundles are made by the test Sigstore instance
// (test/support/sigstore).
import assert from 'node:assert/strict'
import {createPublicKey} from 'node:crypto'
import {after, before, describe, it} from 'node:test'
import {X509Certificate} from '@sigstore/core'
import {parseBundle} from '../src/sigstore/bundle.ts'
import {buildTrustMaterial, parseTrustedRoot} from '../src/sigstore/trust.ts'
import {
  INSECURE_TLOG_WARNING,
  signerFromCertificate,
  unusable,
  verifyBundle,
  type SignerRequirement,
} from '../src/sigstore/verify.ts'
import {createTestSigstore, type SignOptions, type TestSigstore} from './support/sigstore/index.ts'

const KEYLESS: SignerRequirement = {
  kind: 'keyless',
  identities: [{subject: 'signer@airlock.test', issuer: 'https://issuer.airlock.test'}],
}
const ARTIFACT = Buffer.from('release notes v1.9.0\n')
const table = (r: {checks: Array<{name: string; status: string}>}) =>
  r.checks.map(c => `${c.name}:${c.status}`).join(' ')

/** A failed result: the failure it names, and every check's status in order (`name:status ...`). */
function assertFailed(
  r: {failure?: unknown; checks: Array<{name: string; status: string}>},
  failure: {check: string; category: string; reason: string},
  checks: string,
): void {
  assert.deepEqual(r.failure, failure)
  assert.equal(table(r), checks)
}

describe('verifyBundle: the result it reports', () => {
  let ss: TestSigstore
  let root: ReturnType<typeof parseTrustedRoot>
  const bundleOf = (opts: SignOptions = {}) => parseBundle(JSON.stringify(ss.signBlob(ARTIFACT, opts).bundle))
  const run = (
    bundle: ReturnType<typeof parseBundle>,
    extra: {signer?: SignerRequirement; keyPem?: string; ignoreTlog?: boolean} = {},
  ) =>
    verifyBundle(
      bundle,
      {kind: 'bytes', bytes: ARTIFACT},
      {
        trust: buildTrustMaterial({
          trustedRoots: [root],
          ...(extra.keyPem === undefined ? {} : {publicKeyPem: extra.keyPem}),
        }),
        signer: extra.signer ?? KEYLESS,
        insecureIgnoreTlog: extra.ignoreTlog,
      },
    )
  before(async () => {
    ss = await createTestSigstore({listen: false})
    root = parseTrustedRoot(ss.trustedRootJSON())
  })
  after(() => ss.stop())

  it('a passing result has no failure field and no reason on a check that has none', () => {
    const result = run(bundleOf())
    assert.equal(result.ok, true)
    assert.equal('failure' in result, false)
    assert.deepStrictEqual(
      result.checks.find(c => c.name === 'signature'),
      {name: 'signature', status: 'pass'},
    )
  })

  it('--insecure-ignore-tlog: every log check is skipped and says why', () => {
    const result = run(bundleOf(), {ignoreTlog: true, signer: {kind: 'public-key'}, keyPem: ss.staticKeyPem})
    assert.deepEqual(result.warnings, [INSECURE_TLOG_WARNING])
    const skipped = result.checks.filter(c => c.status === 'skipped')
    assert.deepEqual(
      skipped.map(c => c.name),
      ['set', 'inclusion-proof', 'checkpoint', 'tlog-body', 'tlog'],
    )
    for (const c of skipped) assert.equal(c.reason, '--insecure-ignore-tlog', c.name)
  })

  it('--key and a certificate-bearing signature: the certificate must hold that key', () => {
    const bundle = bundleOf()
    const material = bundle.verificationMaterial.content
    assert.equal(material.$case, 'certificate')
    const certDer = material.$case === 'certificate' ? material.certificate.rawBytes : Buffer.alloc(0)
    const certKeyPem = createPublicKey({
      key: Buffer.from(X509Certificate.parse(Buffer.from(certDer)).publicKey),
      format: 'der',
      type: 'spki',
    })
      .export({format: 'pem', type: 'spki'})
      .toString()
    // the certificate's own key given as --key: the signature verifies as a key signature
    const same = run(bundle, {signer: {kind: 'public-key'}, keyPem: certKeyPem})
    assert.equal(same.ok, true, JSON.stringify(same.failure))
    assert.equal(same.checks.find(c => c.name === 'public-key')?.status, 'pass')
    // another key: public-key fails, the checks after it were not run
    const other = run(bundle, {signer: {kind: 'public-key'}, keyPem: ss.staticKeyPem})
    assertFailed(
      other,
      {
        check: 'public-key',
        category: 'verification',
        reason: 'the signing certificate does not hold the --key public key',
      },
      'subject-digest:pass rfc3161-timestamp:not-applicable certificate-chain:not-applicable public-key:fail sct:not-applicable set:not-run inclusion-proof:not-run checkpoint:not-run tlog-body:not-run tlog:not-run signature:not-run identity-policy:not-applicable',
    )
  })

  it('a key signature under a keyless policy is a policy failure, even with the key trusted', () => {
    const result = run(bundleOf({key: true}), {signer: KEYLESS, keyPem: ss.staticKeyPem})
    assert.deepEqual(result.failure, {
      check: 'identity-policy',
      category: 'policy',
      reason: 'signed with a key, but the policy requires a keyless identity',
    })
    assert.equal(result.signer.keyed, true)
  })

  it('a certificate without an SCT: sct stays not-applicable when an earlier check fails', () => {
    const result = run(bundleOf({untrustedCa: true, noSct: true}))
    assert.equal(result.failure?.check, 'certificate-chain')
    assert.equal(result.checks.find(c => c.name === 'sct')?.status, 'not-applicable')
  })

  it('log entry times: "0" (a Rekor v2 entry) and a non-number are not reported as a time', () => {
    for (const time of ['0', 'not-a-number']) {
      const bundle = bundleOf()
      const entry = bundle.verificationMaterial.tlogEntries[0]!
      entry.integratedTime = time
      const result = run(bundle)
      assert.equal(result.ok, false, time)
      assert.equal(result.tlog.length, 1)
      assert.equal('integratedTime' in result.tlog[0]!, false, time)
    }
  })

  it('a certificate that does not parse: a failed verification, and the signer is not reported as a key signer', () => {
    const bundle = bundleOf()
    const material = bundle.verificationMaterial.content
    if (material.$case === 'certificate') material.certificate.rawBytes = Buffer.from('not a certificate')
    const result = run(bundle)
    assert.equal(result.ok, false)
    assert.deepStrictEqual(result.signer, {keyed: false})
    // the library cannot even build the signed entity: one failed verification check, every named check not run
    assertFailed(
      result,
      {check: 'verification', category: 'verification', reason: 'request past end of buffer'},
      'subject-digest:pass rfc3161-timestamp:not-run certificate-chain:not-run public-key:not-run sct:not-run set:not-run inclusion-proof:not-run checkpoint:not-run tlog-body:not-run tlog:not-run signature:not-run identity-policy:not-run verification:fail',
    )
  })

  it('signerFromCertificate: a certificate without SAN or issuer extension gives neither', () => {
    const caDer = root.certificateAuthorities[0]?.certChain?.certificates[0]?.rawBytes
    assert.ok(caDer)
    assert.deepStrictEqual(signerFromCertificate(X509Certificate.parse(Buffer.from(caDer))), {})
  })
})

// A self-signed certificate whose issuer extension .1.8 holds one byte that is not DER (0xFF) instead of a UTF8String
// (so the parsed extension has no element), made once with `openssl req -x509 -newkey ec -pkeyopt
// ec_paramgen_curve:prime256v1 -nodes -subj "/O=airlock test" -addext "1.3.6.1.4.1.57264.1.8=DER:FF"
// -addext "subjectAltName=email:signer@airlock.test"` (OpenSSL 3).
const NULL_ISSUER_CERT = `
-----BEGIN CERTIFICATE-----
MIIBtjCCAVygAwIBAgIUfZNH63DauifTAfHl9QeL36WMGeYwCgYIKoZIzj0EAwIw
FzEVMBMGA1UECgwMYWlybG9jayB0ZXN0MB4XDTI2MTIwMzA2NDkyOFoXDTM2MTEz
MDA2NDkyOFowFzEVMBMGA1UECgwMYWlybG9jayB0ZXN0MFkwEwYHKoZIzj0CAQYI
KoZIzj0DAQcDQgAEZleV6FlUD3c1kW3arxDiUpEN2LOGri9hsRAe8v0wpe/12j9u
qKR/npbOyQ6gXItC9lEBUpDAIgV4iBHcGVA0l6OBhTCBgjAdBgNVHQ4EFgQUr0Yg
WC69QJ3Vi83zHl26DWAbJqQwHwYDVR0jBBgwFoAUr0YgWC69QJ3Vi83zHl26DWAb
JqQwDwYDVR0TAQH/BAUwAwEB/zAPBgorBgEEAYO/MAEIBAH/MB4GA1UdEQQXMBWB
E3NpZ25lckBhaXJsb2NrLnRlc3QwCgYIKoZIzj0EAwIDSAAwRQIgO7mxNKau2pQD
Owa0BxvDGBY5lAcl8gujR/iYeYNEkV0CIQDQKfHDjRHxTaNNGzWUusuqV40loqLm
tvbymIJ5mTQaCA==
-----END CERTIFICATE-----
`

describe('signerFromCertificate: an issuer extension with nothing in it', () => {
  it('gives the SAN and no issuer, without throwing', () => {
    assert.deepStrictEqual(signerFromCertificate(X509Certificate.parse(NULL_ISSUER_CERT)), {
      identity: 'signer@airlock.test',
    })
  })
})

describe('unusable: the result of a signature that cannot be read', () => {
  it('names the reason once as a failed verification check, with nothing else reported', () => {
    assert.deepStrictEqual(unusable(new Error('bundle is not JSON'), true), {
      ok: false,
      checks: [{name: 'verification', status: 'fail', reason: 'bundle is not JSON'}],
      failure: {check: 'verification', category: 'verification', reason: 'bundle is not JSON'},
      signer: {keyed: false},
      tlog: [],
      insecureIgnoreTlog: true,
      warnings: [],
    })
  })
})
