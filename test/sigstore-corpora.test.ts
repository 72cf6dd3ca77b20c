// Production bundles from sigstore-js and cosign, verified offline with the trust roots their projects use.
import assert from 'node:assert/strict'
import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, it} from 'node:test'
import {loadTrustedRoot, verifyBlob, verifyImageSignatures} from '../src/sigstore/index.ts'

const CORPORA = '/work/shared/corpora'
const PROD = loadTrustedRoot(join(CORPORA, 'sigstore+root-signing/targets/trusted_root.json'))
const SEED = loadTrustedRoot(
  join(CORPORA, 'sigstore+sigstore-js/packages/tuf/seeds.json.decoded/targets/trusted_root.json'),
)
const PGI = loadTrustedRoot(join(CORPORA, 'sigstore+cosign/pkg/cosign/testdata/trusted_root_pgi.json'))
const JS_BUNDLES = join(CORPORA, 'sigstore+sigstore-js/tests/bundles')
const BRIAN = {subject: 'brian@dehamer.com', issuer: 'https://github.com/login/oauth'}

describe('sigstore-js production bundles (July 2023)', () => {
  const files = readdirSync(JS_BUNDLES)
    .filter(f => f.endsWith('.sigstore'))
    .sort()
  it('are all present', () => assert.equal(files.length, 9))
  for (const file of files) {
    it(`${file} verifies with the production root`, () => {
      const report = verifyBlob({
        bundle: readFileSync(join(JS_BUNDLES, file)),
        artifact: {kind: 'embedded'},
        trust: {trustedRoots: [PROD]},
        signer: {kind: 'keyless', identities: [BRIAN]},
      })
      assert.equal(report.ok, true, `${file}: ${report.failure?.check}: ${report.failure?.reason}`)
      assert.equal(report.signer.identity, 'brian@dehamer.com')
      assert.equal(report.checks.find(c => c.name === 'set' || c.name === 'inclusion-proof')?.status, 'pass')
    })
  }
  it('fails for another signer', () => {
    const report = verifyBlob({
      bundle: readFileSync(join(JS_BUNDLES, 'bundleV03-dsse.sigstore')),
      artifact: {kind: 'embedded'},
      trust: {trustedRoots: [PROD]},
      signer: {kind: 'keyless', identities: [{subject: 'foo@bar.com', issuer: BRIAN.issuer}]},
    })
    assert.equal(report.ok, false)
    assert.equal(report.failure?.category, 'policy')
  })
  it('verifies with several merged trust roots (public good plus another instance)', () => {
    const staging = loadTrustedRoot(
      join(CORPORA, 'sigstore+sigstore-conformance/test/assets/bundle-verify/rekor2-happy-path/trusted_root.json'),
    )
    const report = verifyBlob({
      bundle: readFileSync(join(JS_BUNDLES, 'bundleV02-intoto.sigstore')),
      artifact: {kind: 'embedded'},
      trust: {trustedRoots: [staging, SEED]},
      signer: {kind: 'keyless', identities: [BRIAN]},
    })
    assert.equal(report.ok, true, report.failure?.reason)
  })
  it('fails with only an unrelated trust root', () => {
    const staging = loadTrustedRoot(
      join(CORPORA, 'sigstore+sigstore-conformance/test/assets/bundle-verify/rekor2-happy-path/trusted_root.json'),
    )
    const report = verifyBlob({
      bundle: readFileSync(join(JS_BUNDLES, 'bundleV02-intoto.sigstore')),
      artifact: {kind: 'embedded'},
      trust: {trustedRoots: [staging]},
      signer: {kind: 'keyless', identities: [BRIAN]},
    })
    assert.equal(report.ok, false)
  })
})

describe('cosign oci-attestation.sigstore.json (v0.3 DSSE bundle referrer)', () => {
  const bundle = readFileSync(join(CORPORA, 'sigstore+cosign/pkg/cosign/testdata/oci-attestation.sigstore.json'))
  const subjectDigest = 'sha256:732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4'
  const rule = (subjectRegExp: string) => ({
    image: '**',
    origin: 'test',
    action: 'keyless' as const,
    identities: [{subjectRegExp, issuerRegExp: '.*'}],
  })
  it('verifies against the image it was attached to, as an attestation', () => {
    const report = verifyImageSignatures({
      subjectDigest,
      artifacts: [{kind: 'bundle', bundle}],
      policyRule: rule('.*'),
      trust: {trustedRoots: [PGI]},
      attestationType: 'custom',
    })
    const result = report.results[0]!
    assert.equal(result.ok, true, result.failure?.reason)
    assert.equal(result.role, 'attestation')
    assert.equal(result.predicateType, 'https://cosign.sigstore.dev/attestation/v1')
    assert.equal(result.signer.identity, 'cody@soyland.com')
    // an attestation alone is not an image signature
    assert.equal(report.ok, false)
    assert.equal(report.errorCode, 'SIGNATURE_MISSING')
  })
  it('fails with a wrong subject regexp', () => {
    const report = verifyImageSignatures({
      subjectDigest,
      artifacts: [{kind: 'bundle', bundle}],
      policyRule: rule('wrong'),
      trust: {trustedRoots: [PGI]},
    })
    assert.equal(report.results[0]?.failure?.category, 'policy')
  })
  it('fails when attached to a different image', () => {
    const report = verifyImageSignatures({
      subjectDigest: `sha256:${'1'.repeat(64)}`,
      artifacts: [{kind: 'bundle', bundle}],
      policyRule: rule('.*'),
      trust: {trustedRoots: [PGI]},
    })
    assert.equal(report.results[0]?.failure?.check, 'subject-digest')
  })
  it('fails the attestation-type requirement for another predicate type', () => {
    const report = verifyImageSignatures({
      subjectDigest,
      artifacts: [{kind: 'bundle', bundle}],
      policyRule: rule('.*'),
      trust: {trustedRoots: [PGI]},
      attestationType: 'slsaprovenance',
    })
    assert.equal(report.results[0]?.checks.find(c => c.name === 'attestation-type')?.status, 'fail')
  })
})
