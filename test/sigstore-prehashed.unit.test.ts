// Signatures checked over a digest the caller computed (`verify-blob sha256:<hex>`), in process (issue 13 item 5):
// src/sigstore/prehashed.ts against Node's own crypto as the oracle. Real ECDSA (P-256, P-384, P-521) and RSA
// PKCS#1 v1.5 signatures made by node:crypto over a message must verify from the message's digest alone; a changed
// digest, another key, and every malformed DER encoding of a real signature must not.
import assert from 'node:assert/strict'
import {createHash, generateKeyPairSync, sign, verify, type KeyObject} from 'node:crypto'
import {describe, it} from 'node:test'
import {verifyPrehashed} from '../src/sigstore/prehashed.ts'

const message = Buffer.from('airlock prehashed signature test message')
const digestOf = (hash: string, m = message) => createHash(hash).update(m).digest()
const ec = (namedCurve: string) => generateKeyPairSync('ec', {namedCurve})
const curves = {'P-256': ec('prime256v1'), 'P-384': ec('secp384r1'), 'P-521': ec('secp521r1')}
const rsa = generateKeyPairSync('rsa', {modulusLength: 2048})
const N256 = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n

/** Minimal DER length. */
const len = (n: number) =>
  n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff])
/** Minimal DER INTEGER of a non-negative value. */
function int(v: bigint): Buffer {
  let hex = v.toString(16)
  if (hex.length % 2) hex = `0${hex}`
  let bytes = Buffer.from(hex, 'hex')
  if (bytes[0]! & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes])
  return Buffer.concat([Buffer.from([0x02]), len(bytes.length), bytes])
}
const seq = (...parts: Buffer[]) => {
  const body = Buffer.concat(parts)
  return Buffer.concat([Buffer.from([0x30]), len(body.length), body])
}
/** r and s of a real signature (IEEE P1363 form: r || s). */
function rs(key: KeyObject, hash: string): {r: bigint; s: bigint} {
  const raw = sign(hash, message, {key, dsaEncoding: 'ieee-p1363'})
  const half = raw.length / 2
  return {r: BigInt(`0x${raw.subarray(0, half).toString('hex')}`), s: BigInt(`0x${raw.subarray(half).toString('hex')}`)}
}

describe('verifyPrehashed: a signature checked from the digest alone', () => {
  for (const [name, pair] of Object.entries(curves))
    for (const hash of ['sha256', 'sha384', 'sha512'])
      it(`ECDSA ${name} over ${hash}: the real signature verifies, a changed digest or another key does not`, () => {
        const sig = sign(hash, message, pair.privateKey)
        assert.equal(verify(hash, message, pair.publicKey, sig), true)
        assert.equal(verifyPrehashed(pair.publicKey, digestOf(hash), sig, hash), true)
        const other = Buffer.from(digestOf(hash))
        other[0]! ^= 1
        assert.equal(verifyPrehashed(pair.publicKey, other, sig, hash), false)
        // ECDSA uses the leftmost bits of a digest longer than the curve's order (FIPS 186-5 6.4.2): past them,
        // a change there is not seen
        const tail = Buffer.from(digestOf(hash))
        tail[tail.length - 1]! ^= 1
        const longer = tail.length * 8 > Number.parseInt(name.slice(2), 10)
        assert.equal(verifyPrehashed(pair.publicKey, tail, sig, hash), longer)
        const stranger = name === 'P-256' ? curves['P-384'] : curves['P-256']
        assert.equal(verifyPrehashed(stranger.publicKey, digestOf(hash), sig, hash), false)
        // another signature by the same key over another message
        const elsewhere = sign(hash, Buffer.from('another message'), pair.privateKey)
        assert.equal(verifyPrehashed(pair.publicKey, digestOf(hash), elsewhere, hash), false)
      })

  it('a digest of the wrong length for its algorithm, or an unknown algorithm, is false', () => {
    const {publicKey, privateKey} = curves['P-256']
    const sig = sign('sha256', message, privateKey)
    assert.equal(verifyPrehashed(publicKey, digestOf('sha256'), sig), true, 'sha256 is the default')
    assert.equal(verifyPrehashed(publicKey, digestOf('sha256'), sig, 'sha384'), false)
    assert.equal(verifyPrehashed(publicKey, digestOf('sha256').subarray(1), sig), false)
    assert.equal(verifyPrehashed(publicKey, digestOf('sha256'), sig, 'md5'), false)
    const rsaSig = sign('sha256', message, rsa.privateKey)
    assert.equal(verifyPrehashed(rsa.publicKey, digestOf('sha256'), rsaSig, 'sha1'), false)
  })

  for (const hash of ['sha256', 'sha384', 'sha512'])
    it(`RSA PKCS#1 v1.5 over ${hash}: the real signature verifies, only under its own algorithm and digest`, () => {
      const sig = sign(hash, message, rsa.privateKey)
      assert.equal(verifyPrehashed(rsa.publicKey, digestOf(hash), sig, hash), true)
      const other = Buffer.from(digestOf(hash))
      other[0]! ^= 0x80
      assert.equal(verifyPrehashed(rsa.publicKey, other, sig, hash), false)
      // a garbage signature makes publicDecrypt throw: false, not an exception
      assert.equal(verifyPrehashed(rsa.publicKey, digestOf(hash), Buffer.alloc(256, 1), hash), false)
    })

  it('RSA: a sha256 signature is not accepted as a sha512 one of the same length digest, nor a PSS signature', () => {
    const sig = sign('sha512', message, rsa.privateKey)
    // same digest bytes, other DigestInfo prefix
    assert.equal(verifyPrehashed(rsa.publicKey, digestOf('sha512'), sig, 'sha512'), true)
    const pss = sign('sha256', message, {key: rsa.privateKey, padding: 6 /* RSA_PKCS1_PSS_PADDING */})
    assert.equal(verifyPrehashed(rsa.publicKey, digestOf('sha256'), pss, 'sha256'), false)
  })

  it('Ed25519 signs the message itself: a digest alone cannot be checked', () => {
    const ed = generateKeyPairSync('ed25519')
    const sig = sign(null, digestOf('sha256'), ed.privateKey)
    assert.equal(verifyPrehashed(ed.publicKey, digestOf('sha256'), sig), false)
  })

  it('every malformed DER encoding of a real P-256 signature is refused', () => {
    const {publicKey, privateKey} = curves['P-256']
    const digest = digestOf('sha256')
    const {r, s} = rs(privateKey, 'sha256')
    const check = (sig: Buffer) => verifyPrehashed(publicKey, digest, sig)
    assert.equal(check(seq(int(r), int(s))), true, 'the re-encoded signature verifies')
    // s and n - s are both valid ECDSA signatures (malleability); the check accepts what the curve accepts
    assert.equal(
      check(seq(int(r), int(N256 - s))),
      verify('sha256', message, {key: publicKey, dsaEncoding: 'der'}, seq(int(r), int(N256 - s))),
    )
    const good = seq(int(r), int(s))
    const bad: Record<string, Buffer> = {
      empty: Buffer.alloc(0),
      'not a SEQUENCE': Buffer.concat([Buffer.from([0x31]), good.subarray(1)]),
      'SEQUENCE length one short': Buffer.concat([Buffer.from([0x30, good[1]! - 1]), good.subarray(2)]),
      'SEQUENCE length one long': Buffer.concat([Buffer.from([0x30, good[1]! + 1]), good.subarray(2)]),
      'a byte after the SEQUENCE': Buffer.concat([good, Buffer.from([0])]),
      'a byte after s inside the SEQUENCE': seq(int(r), int(s), Buffer.from([0])),
      'r not an INTEGER': seq(Buffer.concat([Buffer.from([0x04]), int(r).subarray(1)]), int(s)),
      's not an INTEGER': seq(int(r), Buffer.concat([Buffer.from([0x04]), int(s).subarray(1)])),
      's missing': seq(int(r)),
      'r of length 0': seq(Buffer.from([0x02, 0x00]), int(r), int(s)),
      's longer than what is left': seq(int(r), Buffer.concat([Buffer.from([0x02, 0x7f]), int(s).subarray(2)])),
      'no length byte': Buffer.from([0x30]),
      'length of length 0': Buffer.concat([Buffer.from([0x30, 0x80]), good.subarray(2)]),
      'length of length 3': Buffer.concat([Buffer.from([0x30, 0x83, 0, 0, good[1]!]), good.subarray(2)]),
      'long-form length cut short': Buffer.from([0x30, 0x82, 0x00]),
      'r = 0': seq(int(0n), int(s)),
      's = 0': seq(int(r), int(0n)),
      'r = n': seq(int(N256), int(s)),
      's = n': seq(int(r), int(N256)),
      's + n (the same s modulo n)': seq(int(r), int(s + N256)),
      'r + n (the same r modulo n)': seq(int(r + N256), int(s)),
    }
    for (const [name, sig] of Object.entries(bad)) assert.equal(check(sig), false, name)
    // long-form lengths are read as lengths (one and two bytes)
    const body = Buffer.concat([int(r), int(s)])
    assert.equal(check(Buffer.concat([Buffer.from([0x30, 0x81, body.length]), body])), true)
    assert.equal(check(Buffer.concat([Buffer.from([0x30, 0x82, 0, body.length]), body])), true)
  })
})
