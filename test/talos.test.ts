// The real Talos installer signature (ghcr.io/siderolabs/installer:v1.4.0) as a legacy cosign signature,
// verified offline with the production trusted root, as the Talos docs' cosign command does.
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, it} from 'node:test'
import type {KeylessIdentity} from '../src/policy/index.ts'
import {loadTrustedRoot, verifyImageSignatures, type SignatureArtifact} from '../src/sigstore/index.ts'

const CORPORA = '/work/shared/corpora'
const TALOS = join(CORPORA, 'talos-verifying-images')
const root = loadTrustedRoot(join(CORPORA, 'sigstore+root-signing/targets/trusted_root.json'))
const annotations = JSON.parse(readFileSync(join(TALOS, 'reconstructed_layer_annotations.json'), 'utf8')) as Record<
  string,
  string
>
delete annotations['_note']
const payload = readFileSync(join(TALOS, 'payload_guess.json'))
const digest = (JSON.parse(payload.toString('utf8')) as {critical: {image: {'docker-manifest-digest': string}}})
  .critical.image['docker-manifest-digest']
const SIDEROLABS: KeylessIdentity = {subjectRegExp: '@siderolabs\\.com$', issuer: 'https://accounts.google.com'}

function verify(
  identity: KeylessIdentity,
  signature: Buffer = payload,
  subjectDigest = digest,
  extra: Partial<Record<string, string>> = {},
) {
  const artifact: SignatureArtifact = {
    kind: 'cosign-signature',
    payload: signature,
    annotations: {...annotations, ...extra} as Record<string, string>,
    source: 'installer:v1.4.0.sig',
  }
  return verifyImageSignatures({
    subjectDigest,
    artifacts: [artifact],
    policyRule: {image: '**', origin: 'flags', action: 'keyless', identities: [identity]},
    trust: {trustedRoots: [root]},
  })
}

const status = (report: ReturnType<typeof verify>, name: string) =>
  report.results[0]?.checks.find(c => c.name === name)?.status

describe('Talos installer v1.4.0 legacy cosign signature', () => {
  it('verifies under @siderolabs\\.com$ + accounts.google.com: signature, chain at log time, SCT, SET, log body', () => {
    const report = verify(SIDEROLABS)
    assert.equal(report.ok, true, report.reason)
    assert.equal(report.decision, 'verified')
    for (const check of [
      'subject-digest',
      'signature',
      'certificate-chain',
      'sct',
      'set',
      'tlog-body',
      'identity-policy',
    ])
      assert.equal(status(report, check), 'pass', check)
    assert.equal(status(report, 'inclusion-proof'), 'not-applicable')
    const result = report.results[0]!
    assert.equal(result.signer.identity, 'andrey.smirnov@siderolabs.com')
    assert.equal(result.signer.issuer, 'https://accounts.google.com')
    assert.equal(result.tlog[0]?.logIndex, '18304044')
    assert.equal(result.tlog[0]?.integratedTime, '2023-04-18T18:37:02.000Z')
  })

  it('verifies with the exact identity', () => {
    assert.equal(verify({subject: 'andrey.smirnov@siderolabs.com', issuer: 'https://accounts.google.com'}).ok, true)
  })

  it('fails with another identity (policy, not crypto)', () => {
    const report = verify({subjectRegExp: '@example\\.com$', issuer: 'https://accounts.google.com'})
    assert.equal(report.ok, false)
    assert.equal(report.errorCode, 'POLICY_DENIED')
    assert.equal(status(report, 'signature'), 'pass')
    assert.equal(status(report, 'identity-policy'), 'fail')
  })

  it('fails with another issuer', () => {
    const report = verify({subjectRegExp: '@siderolabs\\.com$', issuer: 'https://github.com/login/oauth'})
    assert.equal(report.ok, false)
    assert.equal(report.errorCode, 'POLICY_DENIED')
  })

  it('fails with an exact identity that only matches as a substring', () => {
    assert.equal(verify({subject: 'siderolabs.com', issuer: 'https://accounts.google.com'}).ok, false)
  })

  it('fails with the trailing-newline payload', () => {
    const report = verify(SIDEROLABS, readFileSync(join(TALOS, 'payload_guess_with_trailing_newline.NEGATIVE.json')))
    assert.equal(report.ok, false)
    assert.equal(report.errorCode, 'SIGNATURE_INVALID')
  })

  it('fails when the signature is presented for another image (copied signature)', () => {
    const report = verify(SIDEROLABS, payload, `sha256:${'0'.repeat(64)}`)
    assert.equal(report.ok, false)
    assert.equal(status(report, 'subject-digest'), 'fail')
  })

  it('fails with a tampered SET', () => {
    const bundle = JSON.parse(annotations['dev.sigstore.cosign/bundle']!) as {SignedEntryTimestamp: string}
    const set = Buffer.from(bundle.SignedEntryTimestamp, 'base64')
    set.writeUInt8(set.readUInt8(set.length - 3) ^ 1, set.length - 3)
    const report = verify(SIDEROLABS, payload, digest, {
      'dev.sigstore.cosign/bundle': JSON.stringify({...bundle, SignedEntryTimestamp: set.toString('base64')}),
    })
    assert.equal(report.ok, false)
    assert.equal(status(report, 'set'), 'fail')
  })

  it('skips the log loudly with --insecure-ignore-tlog (and then has no time to judge a Fulcio certificate by)', () => {
    const artifact: SignatureArtifact = {kind: 'cosign-signature', payload, annotations}
    const report = verifyImageSignatures({
      subjectDigest: digest,
      artifacts: [artifact],
      policyRule: {image: '**', origin: 'flags', action: 'keyless', identities: [SIDEROLABS]},
      trust: {trustedRoots: [root]},
      insecureIgnoreTlog: true,
    })
    assert.equal(report.insecureIgnoreTlog, true)
    assert.match(report.warnings[0] ?? '', /insecure-ignore-tlog/)
    assert.equal(status(report, 'set'), 'skipped')
    assert.equal(report.ok, false)
  })

  it('reports no signature as SIGNATURE_MISSING, and honours skip and deny rules', () => {
    const base = {subjectDigest: digest, trust: {trustedRoots: [root]}}
    assert.equal(
      verifyImageSignatures({
        ...base,
        artifacts: [],
        policyRule: {image: '**', origin: 'flags', action: 'keyless', identities: [SIDEROLABS]},
      }).errorCode,
      'SIGNATURE_MISSING',
    )
    assert.equal(
      verifyImageSignatures({...base, artifacts: [], policyRule: {image: '**', origin: 'test', action: 'skip'}}).ok,
      true,
    )
    const denied = verifyImageSignatures({
      ...base,
      artifacts: [{kind: 'cosign-signature', payload, annotations}],
      policyRule: {image: '**', origin: 'test', action: 'deny'},
    })
    assert.equal(denied.ok, false)
    assert.equal(denied.errorCode, 'POLICY_DENIED')
  })
})
