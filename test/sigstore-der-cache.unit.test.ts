// src/sigstore/der-cache.ts replaces @sigstore/core's ASN1Obj.toDER (for speed: one allocation per node, cached per
// object). It must give the library's bytes exactly: those bytes are what certificate signatures, SCTs and
// certificate equality are checked over. Compared here node by node with the library's own encoder on real
// certificates (Fulcio roots and intermediates from sigstore/root-signing, a Fulcio leaf with an SCT from the Talos
// corpus), on the SCT-stripped TBS that sigstore-js builds, and on objects built by hand (long lengths).
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {describe, it} from 'node:test'
import {ASN1Obj, X509Certificate} from '@sigstore/core'
import {encodeDer, installDerCache, libraryToDer} from '../src/sigstore/der-cache.ts'

const CORPORA = '/work/shared/corpora'
const PEMS = [
  `${CORPORA}/sigstore+root-signing/targets/fulcio.crt.pem`,
  `${CORPORA}/sigstore+root-signing/targets/fulcio_v1.crt.pem`,
  `${CORPORA}/sigstore+root-signing/targets/fulcio_intermediate_v1.crt.pem`,
  `${CORPORA}/talos-verifying-images/cert.pem`,
]
const SCT_OID = '1.3.6.1.4.1.11129.2.4.2'

// the library's encoder, kept by der-cache.ts when it installs itself (the mutation runner loads every test file in
// one process, where another file may have installed the cache before this one is imported)
const libraryToDER = libraryToDer()
const library = (obj: ASN1Obj): Buffer => libraryToDER.call(obj)

function* nodes(obj: ASN1Obj): Generator<ASN1Obj> {
  yield obj
  for (const sub of obj.subs) yield* nodes(sub)
}

function pemDer(path: string): Buffer<ArrayBuffer> {
  const pem = readFileSync(path, 'utf8')
  const body = pem.split('-----BEGIN CERTIFICATE-----')[1]!.split('-----END CERTIFICATE-----')[0]!
  return Buffer.from(body.replace(/\s+/g, ''), 'base64')
}

describe('der-cache: the same DER as @sigstore/core', () => {
  it('encodes every node of real certificates to the library bytes (and the original file bytes)', () => {
    let compared = 0
    for (const path of PEMS) {
      const der = pemDer(path)
      const root = ASN1Obj.parseBuffer(der)
      for (const node of nodes(root)) {
        assert.deepEqual(encodeDer(node), library(node), `${path}: a node encodes differently`)
        compared++
      }
      assert.deepEqual(encodeDer(root), der, path)
    }
    assert.ok(compared > 200, `only ${compared} nodes compared`)
  })

  it('encodes the SCT-stripped TBS that sigstore-js signs over as the library does', () => {
    const cert = X509Certificate.parse(pemDer(`${CORPORA}/talos-verifying-images/cert.pem`))
    const clone = cert.clone()
    const at = clone.extensions.findIndex(ext => ext.subs[0]!.toOID() === SCT_OID)
    assert.ok(at >= 0, 'the corpus leaf carries an SCT extension')
    clone.extensions.splice(at, 1)
    const tbs = clone.tbsCertificate
    const before = library(tbs)
    assert.ok(before.length < library(cert.tbsCertificate).length)
    assert.deepEqual(encodeDer(tbs), before)
  })

  it('encodes lengths of every form (short, one byte, two and three bytes) as the library does', () => {
    const tag = ASN1Obj.parseBuffer(Buffer.from([0x04, 0x00])).tag // OCTET STRING
    for (const size of [0, 1, 127, 128, 255, 256, 65535, 65536, 70000]) {
      const obj = new ASN1Obj(tag, Buffer.alloc(size, 7), [])
      const ours = encodeDer(obj)
      assert.deepEqual(ours, library(obj), `value of ${size} bytes`)
      assert.deepEqual(ASN1Obj.parseBuffer(ours).value, Buffer.alloc(size, 7))
    }
  })

  it('once installed, toDER gives the same bytes, once per object, and certificates still verify', () => {
    const der = pemDer(`${CORPORA}/sigstore+root-signing/targets/fulcio_v1.crt.pem`)
    const expected = library(ASN1Obj.parseBuffer(der))
    installDerCache()
    installDerCache() // idempotent
    assert.notEqual(ASN1Obj.prototype.toDER, libraryToDER)
    assert.equal(libraryToDer(), libraryToDER, 'the library encoder stays reachable once the cache is installed')
    const root = ASN1Obj.parseBuffer(der)
    const first = root.toDER()
    assert.deepEqual(first, expected)
    assert.equal(root.toDER(), first, 'cached per object')
    const cert = X509Certificate.parse(der)
    assert.ok(cert.verify(), 'the self-signed Fulcio root verifies over the re-encoded TBS')
    assert.ok(cert.equals(X509Certificate.parse(Buffer.from(der))))
    const leaf = X509Certificate.parse(pemDer(`${CORPORA}/talos-verifying-images/cert.pem`))
    assert.ok(!leaf.equals(cert))
  })
})
