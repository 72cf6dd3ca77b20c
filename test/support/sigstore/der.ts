// Minimal DER (X.690) encoder: just what X.509 certificate issuance needs.
// Every function returns the full TLV encoding as a Buffer.

export function tlv(tag: number, value: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), encodeLength(value.length), value])
}

export function encodeLength(len: number): Buffer {
  if (len < 0x80) return Buffer.from([len])
  const bytes: number[] = []
  let n = len
  while (n > 0) {
    bytes.unshift(n & 0xff)
    n = Math.floor(n / 256)
  }
  return Buffer.from([0x80 | bytes.length, ...bytes])
}

export const sequence = (...items: Buffer[]): Buffer => tlv(0x30, Buffer.concat(items))
export const set = (...items: Buffer[]): Buffer => tlv(0x31, Buffer.concat(items))
export const octetString = (value: Buffer): Buffer => tlv(0x04, value)
export const utf8String = (s: string): Buffer => tlv(0x0c, Buffer.from(s, 'utf8'))
export const printableString = (s: string): Buffer => tlv(0x13, Buffer.from(s, 'ascii'))
export const ia5String = (s: string): Buffer => tlv(0x16, Buffer.from(s, 'ascii'))
export const nullValue = (): Buffer => Buffer.from([0x05, 0x00])
export const boolean = (b: boolean): Buffer => tlv(0x01, Buffer.from([b ? 0xff : 0x00]))

/** BIT STRING with zero unused bits. */
export const bitString = (bytes: Buffer): Buffer => tlv(0x03, Buffer.concat([Buffer.from([0]), bytes]))

/** BIT STRING for a named-bit list (e.g. KeyUsage), DER: trailing zero bits dropped. */
export function namedBits(bits: number[]): Buffer {
  const max = Math.max(...bits)
  const nbytes = Math.floor(max / 8) + 1
  const out = Buffer.alloc(nbytes)
  for (const b of bits) out[Math.floor(b / 8)]! |= 0x80 >> (b % 8)
  const unused = 7 - (max % 8)
  return tlv(0x03, Buffer.concat([Buffer.from([unused]), out]))
}

/** INTEGER from a non-negative bigint or unsigned big-endian bytes. */
export function integer(v: bigint | number | Buffer): Buffer {
  let bytes: Buffer
  if (Buffer.isBuffer(v)) {
    bytes = v
  } else {
    let hex = BigInt(v).toString(16)
    if (hex.length % 2) hex = '0' + hex
    bytes = Buffer.from(hex, 'hex')
  }
  let i = 0
  while (i < bytes.length - 1 && bytes[i] === 0) i++
  bytes = bytes.subarray(i)
  if (bytes.length === 0) bytes = Buffer.from([0])
  if (bytes[0]! & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes])
  return tlv(0x02, bytes)
}

export function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map(p => BigInt(p))
  const first = parts[0]! * 40n + parts[1]!
  const out: number[] = []
  for (const p of [first, ...parts.slice(2)]) {
    const chunk: number[] = []
    let n = p
    chunk.unshift(Number(n & 0x7fn))
    n >>= 7n
    while (n > 0n) {
      chunk.unshift(Number(n & 0x7fn) | 0x80)
      n >>= 7n
    }
    out.push(...chunk)
  }
  return tlv(0x06, Buffer.from(out))
}

/** UTCTime for 1950..2049, GeneralizedTime otherwise (RFC 5280 4.1.2.5). Seconds precision. */
export function time(d: Date): Buffer {
  const iso = d.toISOString() // YYYY-MM-DDTHH:MM:SS.sssZ
  const y = d.getUTCFullYear()
  const body = iso.slice(5, 7) + iso.slice(8, 10) + iso.slice(11, 13) + iso.slice(14, 16) + iso.slice(17, 19) + 'Z'
  if (y >= 1950 && y < 2050) return tlv(0x17, Buffer.from(String(y).slice(2) + body, 'ascii'))
  return tlv(0x18, Buffer.from(String(y).padStart(4, '0') + body, 'ascii'))
}

/** [n] EXPLICIT (constructed context-specific). */
export const explicit = (n: number, inner: Buffer): Buffer => tlv(0xa0 | n, inner)
/** [n] IMPLICIT primitive (e.g. GeneralName rfc822Name [1], uniformResourceIdentifier [6]). */
export const implicitPrimitive = (n: number, value: Buffer): Buffer => tlv(0x80 | n, value)
