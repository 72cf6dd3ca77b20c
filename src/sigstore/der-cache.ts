// Performance: @sigstore/core re-encodes a parsed certificate to DER (ASN1Obj.toDER, through small growing
// buffers) on every X509Certificate.equals() and verify(); chain building calls them for every certificate pair,
// so verifying many signatures against one trusted root spends most of its time re-encoding the same objects
// (bench/RESULTS.md: 45% of the time; 176 -> ~490 signatures/s with this cache and shared trust material).
// Parsed ASN1Obj trees are never mutated after parsing, so the encoding of one object never changes: it is
// cached per object (WeakMap, so nothing outlives its certificate). The first encoding of an object is the
// library's own algorithm (tag, the library's encodeLength, then the children's encodings or the value) written
// into one buffer of the final size: the library grows a zeroed 1 KiB block per node and copies it on each append,
// which was still ~10% of a second push (each signature's leaf certificate is new). The lasting fix belongs
// upstream in @sigstore/core; this module is the one place airlock touches the library's internals.
import {ASN1Obj} from '@sigstore/core'
import {encodeLength} from '@sigstore/core/dist/asn1/length.js'

const INSTALLED = Symbol.for('airlock.asn1-der-cache')

interface Asn1Node {
  tag: {toDER(): number}
  value: Uint8Array
  subs: Asn1Node[]
  toDER(): Buffer
}

/** ASN1Obj.toDER's encoding (same bytes: test/der-cache.unit.test.ts compares them), in one allocation. */
export function encodeDer(node: Asn1Node): Buffer<ArrayBuffer> {
  const parts = node.subs.length > 0 ? node.subs.map(sub => sub.toDER()) : [node.value]
  let size = 0
  for (const part of parts) size += part.length
  const length = encodeLength(size)
  const out = Buffer.allocUnsafe(1 + length.length + size)
  out[0] = node.tag.toDER()
  length.copy(out, 1)
  let at = 1 + length.length
  for (const part of parts) {
    out.set(part, at)
    at += part.length
  }
  return out
}

type ToDer = (this: object) => Buffer
type Asn1Proto = Record<PropertyKey, unknown> & {toDER: ToDer}
const asn1Proto = () => ASN1Obj.prototype as unknown as Asn1Proto

/** The library's own ASN1Obj.toDER, also once the cache is installed (it is kept under the INSTALLED mark). */
export function libraryToDer(): ToDer {
  const proto = asn1Proto()
  return (proto[INSTALLED] as ToDer | undefined) ?? proto.toDER
}

export function installDerCache(): void {
  const proto = asn1Proto()
  if (proto[INSTALLED]) return
  const library = proto.toDER
  const cache = new WeakMap<object, Buffer>()
  proto.toDER = function toDER(this: object): Buffer {
    let der = cache.get(this)
    if (der === undefined) {
      der = encodeDer(this as unknown as Asn1Node)
      cache.set(this, der)
    }
    return der
  }
  proto[INSTALLED] = library
}
