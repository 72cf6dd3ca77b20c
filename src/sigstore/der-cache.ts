// Performance: @sigstore/core re-encodes a parsed certificate to DER (ASN1Obj.toDER, through small growing
// buffers) on every X509Certificate.equals() and verify(); chain building calls them for every certificate pair,
// so verifying many signatures against one trusted root spends most of its time re-encoding the same objects
// (bench/RESULTS.md: 45% of the time; 176 -> ~490 signatures/s with this cache and shared trust material).
// Parsed ASN1Obj trees are never mutated after parsing, so the encoding of one object never changes: it is
// cached per object (WeakMap, so nothing outlives its certificate). The lasting fix belongs upstream in
// @sigstore/core; this module is the one place airlock touches the library's internals, and does nothing else.
import {ASN1Obj} from '@sigstore/core'

const INSTALLED = Symbol.for('airlock.asn1-der-cache')

export function installDerCache(): void {
  const proto = ASN1Obj.prototype as unknown as Record<PropertyKey, unknown> & {toDER(this: object): Buffer}
  if (proto[INSTALLED]) return
  const original = proto.toDER
  const cache = new WeakMap<object, Buffer>()
  proto.toDER = function toDER(this: object): Buffer {
    let der = cache.get(this)
    if (der === undefined) {
      der = original.call(this)
      cache.set(this, der)
    }
    return der
  }
  proto[INSTALLED] = true
}
