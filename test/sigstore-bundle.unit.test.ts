// Reading a Sigstore bundle and verify-blob's answer to one it cannot read, in process (issue 13 item 5):
// src/sigstore/bundle.ts and src/sigstore/blob.ts on a real bundle made by the test Sigstore instance, given as
// text, bytes and parsed JSON, and on bundles that are not JSON or not bundles.
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {parseBundle} from '../src/sigstore/bundle.ts'
import {verifyBlob} from '../src/sigstore/blob.ts'
import {createTestSigstore, type TestSigstore} from './support/sigstore/index.ts'

describe('parseBundle and verify-blob on unreadable bundles', () => {
  let ss: TestSigstore
  let json: string
  const artifact = Buffer.from('the signed blob')

  before(async () => {
    ss = await createTestSigstore({listen: false})
    json = JSON.stringify(ss.signBlob(artifact).bundle)
  })
  after(() => ss?.stop())

  it('a bundle as text, bytes or parsed JSON is the same bundle', () => {
    const fromText = parseBundle(json)
    assert.equal(fromText.mediaType, JSON.parse(json).mediaType)
    assert.deepEqual(parseBundle(Buffer.from(json)), fromText)
    assert.deepEqual(parseBundle(new Uint8Array(Buffer.from(json))), fromText)
    assert.deepEqual(parseBundle(JSON.parse(json) as object), fromText)
  })

  it('not JSON, or not a bundle: one line naming the source, "bundle" by default', () => {
    assert.throws(() => parseBundle('{'), {code: 'SIGNATURE_INVALID', message: 'bundle is not valid JSON'})
    assert.throws(() => parseBundle(Buffer.from('{'), 'x.sigstore.json'), {
      code: 'SIGNATURE_INVALID',
      message: 'x.sigstore.json is not valid JSON',
    })
    assert.throws(() => parseBundle('{}', 'b.json'), {
      code: 'SIGNATURE_INVALID',
      message: 'b.json is not a valid Sigstore bundle (invalid fields: mediaType, content, verificationMaterial)',
    })
    // a value the validator refuses without naming fields: its own message
    assert.throws(
      () => parseBundle('null'),
      (error: Error & {code?: string}) => {
        assert.equal(error.code, 'SIGNATURE_INVALID')
        assert.match(error.message, /^bundle is not a valid Sigstore bundle \((?!invalid fields).+\)$/)
        return true
      },
    )
  })

  it('verify-blob: an unreadable bundle is a failed report (not a throw) that keeps --insecure-ignore-tlog', () => {
    for (const insecure of [true, false]) {
      const r = verifyBlob({
        bundle: '{',
        artifact: {kind: 'bytes', bytes: artifact},
        trust: {trustedRoots: []},
        signer: {
          kind: 'keyless',
          identities: [{subject: 'signer@airlock.test', issuer: 'https://issuer.airlock.test'}],
        },
        insecureIgnoreTlog: insecure,
      })
      assert.equal(r.ok, false)
      assert.equal(r.failure?.reason, 'bundle is not valid JSON')
      assert.equal(r.insecureIgnoreTlog, insecure)
    }
  })
})
