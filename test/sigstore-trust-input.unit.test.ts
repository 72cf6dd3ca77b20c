// Trusted roots and --key material in process (issue 13 item 5, survivors of the 2026-12-03 morning mutation round
// of src/sigstore/trust.ts): a trusted root given as bytes, a mediaType that only stringifies to the right one, a
// root with logs and timestamp authorities but no CA, a log key without a validity, and trust material cached per
// --key. Real data: the public-good trusted_root.json (/work/shared/corpora/sigstore+root-signing/targets,
// sigstore/root-signing at 60cf2ce).
import assert from 'node:assert/strict'
import {generateKeyPairSync} from 'node:crypto'
import {readFileSync} from 'node:fs'
import {describe, it} from 'node:test'
import {buildTrustMaterial, parseTrustedRoot, validateTrustedRoot} from '../src/sigstore/trust.ts'

const PUBLIC_GOOD = '/work/shared/corpora/sigstore+root-signing/targets/trusted_root.json'
const bytes = readFileSync(PUBLIC_GOOD)
const doc = () => JSON.parse(bytes.toString('utf8')) as Record<string, any>

describe('trusted roots and --key material', () => {
  it('a trusted root given as bytes parses as the same root as its text', () => {
    const fromText = parseTrustedRoot(bytes.toString('utf8'))
    assert.deepEqual(parseTrustedRoot(new Uint8Array(bytes)), fromText)
    assert.deepEqual(parseTrustedRoot(bytes), fromText)
  })

  it('a mediaType that is not a string is refused, even one that stringifies to a sigstore one', () => {
    const value = doc()
    value.mediaType = [value.mediaType]
    assert.throws(() => parseTrustedRoot(JSON.stringify(value), 'the root'), {
      code: 'TRUST_INVALID',
      message: /^the root has no sigstore trusted root mediaType \(got \["application/,
    })
  })

  it('one transparency log and one timestamp authority without a CA is a usable root', () => {
    const root = parseTrustedRoot(bytes)
    assert.ok(root.tlogs.length >= 1 && root.timestampAuthorities.length >= 1)
    const narrowed = {
      ...root,
      tlogs: root.tlogs.slice(0, 1),
      certificateAuthorities: [],
      timestampAuthorities: root.timestampAuthorities.slice(0, 1),
    }
    assert.deepEqual(validateTrustedRoot(narrowed), [])
  })

  it('a log public key without validFor is a problem named, not an exception', () => {
    const root = parseTrustedRoot(bytes)
    const [first] = root.tlogs
    assert.ok(first?.publicKey)
    const {validFor: _dropped, ...key} = first.publicKey
    const problems = validateTrustedRoot({...root, tlogs: [{...first, publicKey: key}]})
    assert.deepEqual(problems, [`tlog ${first.baseUrl} public key validFor has no start`])
  })

  it('trust material is cached per --key: another key gets its own material', () => {
    const roots = [parseTrustedRoot(bytes)]
    const pem = () =>
      generateKeyPairSync('ec', {namedCurve: 'prime256v1'}).publicKey.export({format: 'pem', type: 'spki'}).toString()
    const [a, b] = [pem(), pem()]
    const withA = buildTrustMaterial({trustedRoots: roots, publicKeyPem: a})
    const withB = buildTrustMaterial({trustedRoots: roots, publicKeyPem: b})
    assert.notEqual(withB, withA)
    assert.equal(withB.publicKey?.export({format: 'pem', type: 'spki'}).toString(), b)
    assert.equal(withA.publicKey?.export({format: 'pem', type: 'spki'}).toString(), a)
    assert.equal(buildTrustMaterial({trustedRoots: roots, publicKeyPem: a}), withA)
    assert.equal(buildTrustMaterial({trustedRoots: roots}).publicKey, undefined)
  })
})
