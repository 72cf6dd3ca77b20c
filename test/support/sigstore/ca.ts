// A Fulcio-like certificate authority: ECDSA P-256 root + intermediate, and short-lived code-signing leaves with
// the Fulcio issuer extensions and an embedded SCT (RFC 6962 precertificate flow) from a test CT log.
import crypto from 'node:crypto'
import * as der from './der.ts'
import {generateKeyPair, keyId, sha256, sign, type KeyPair} from './keys.ts'

export const OID = {
  ecdsaWithSHA256: '1.2.840.10045.4.3.2',
  organization: '2.5.4.10',
  commonName: '2.5.4.3',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  basicConstraints: '2.5.29.19',
  subjectKeyId: '2.5.29.14',
  authorityKeyId: '2.5.29.35',
  subjectAltName: '2.5.29.17',
  codeSigning: '1.3.6.1.5.5.7.3.3',
  fulcioIssuerV1: '1.3.6.1.4.1.57264.1.1',
  fulcioIssuerV2: '1.3.6.1.4.1.57264.1.8',
  sctList: '1.3.6.1.4.1.11129.2.4.2',
  ctPoison: '1.3.6.1.4.1.11129.2.4.3',
} as const

export interface Extension {
  oid: string
  critical?: boolean
  /** Contents of extnValue (the bytes inside the OCTET STRING). */
  value: Buffer
}

export interface CertificateSpec {
  subject: Name
  issuer: Name
  /** The subject's public key. */
  publicKey: KeyPair
  /** The issuer's key, used to sign. */
  signingKey: KeyPair
  notBefore: Date
  notAfter: Date
  extensions: Extension[]
  serial?: Buffer
}

export interface Name {
  organization?: string
  commonName?: string
}

export function encodeName(name: Name): Buffer {
  const rdns: Buffer[] = []
  if (name.organization !== undefined) {
    rdns.push(der.set(der.sequence(der.oid(OID.organization), der.utf8String(name.organization))))
  }
  if (name.commonName !== undefined) {
    rdns.push(der.set(der.sequence(der.oid(OID.commonName), der.utf8String(name.commonName))))
  }
  return der.sequence(...rdns)
}

const algorithm = (): Buffer => der.sequence(der.oid(OID.ecdsaWithSHA256))

function encodeExtension(ext: Extension): Buffer {
  return der.sequence(der.oid(ext.oid), ...(ext.critical ? [der.boolean(true)] : []), der.octetString(ext.value))
}

function randomSerial(): Buffer {
  const b = crypto.randomBytes(20)
  b[0]! &= 0x7f
  if (b[0] === 0) b[0] = 1
  return b
}

/** DER TBSCertificate. */
export function encodeTBS(spec: CertificateSpec, serial: Buffer): Buffer {
  return der.sequence(
    der.explicit(0, der.integer(2)),
    der.integer(serial),
    algorithm(),
    encodeName(spec.issuer),
    der.sequence(der.time(spec.notBefore), der.time(spec.notAfter)),
    encodeName(spec.subject),
    spec.publicKey.spki,
    der.explicit(3, der.sequence(...spec.extensions.map(encodeExtension))),
  )
}

export function signTBS(tbs: Buffer, signingKey: KeyPair): Buffer {
  return der.sequence(tbs, algorithm(), der.bitString(sign(signingKey, tbs)))
}

export function issueCertificate(spec: CertificateSpec): Buffer {
  return signTBS(encodeTBS(spec, spec.serial ?? randomSerial()), spec.signingKey)
}

/** Raw EC point of a P-256 SPKI (the last 65 bytes). */
const ecPoint = (kp: KeyPair): Buffer => kp.spki.subarray(kp.spki.length - 65)
export const subjectKeyIdentifier = (kp: KeyPair): Buffer => crypto.createHash('sha1').update(ecPoint(kp)).digest()

export const ext = {
  keyUsage: (bits: number[]): Extension => ({oid: OID.keyUsage, critical: true, value: der.namedBits(bits)}),
  codeSigning: (): Extension => ({oid: OID.extKeyUsage, value: der.sequence(der.oid(OID.codeSigning))}),
  basicConstraints: (ca: boolean, pathLen?: number): Extension => ({
    oid: OID.basicConstraints,
    critical: true,
    value: der.sequence(...(ca ? [der.boolean(true)] : []), ...(pathLen !== undefined ? [der.integer(pathLen)] : [])),
  }),
  subjectKeyId: (kp: KeyPair): Extension => ({
    oid: OID.subjectKeyId,
    value: der.octetString(subjectKeyIdentifier(kp)),
  }),
  authorityKeyId: (kp: KeyPair): Extension => ({
    oid: OID.authorityKeyId,
    value: der.sequence(der.implicitPrimitive(0, subjectKeyIdentifier(kp))),
  }),
  /** SAN with an email (rfc822Name) or URI identity; critical because Fulcio leaves have an empty subject. */
  subjectAltName: (identity: string): Extension => ({
    oid: OID.subjectAltName,
    critical: true,
    value: der.sequence(
      identity.includes('://') || !identity.includes('@')
        ? der.implicitPrimitive(6, Buffer.from(identity, 'ascii'))
        : der.implicitPrimitive(1, Buffer.from(identity, 'ascii')),
    ),
  }),
  /** 1.3.6.1.4.1.57264.1.1: the issuer as raw bytes (legacy, deprecated). */
  issuerV1: (issuer: string): Extension => ({oid: OID.fulcioIssuerV1, value: Buffer.from(issuer, 'utf8')}),
  /** 1.3.6.1.4.1.57264.1.8: the issuer as a DER UTF8String. */
  issuerV2: (issuer: string): Extension => ({oid: OID.fulcioIssuerV2, value: der.utf8String(issuer)}),
  ctPoison: (): Extension => ({oid: OID.ctPoison, critical: true, value: der.nullValue()}),
  sctList: (scts: Buffer[]): Extension => {
    const items = Buffer.concat(scts.map(s => Buffer.concat([u16(s.length), s])))
    return {oid: OID.sctList, value: der.octetString(Buffer.concat([u16(items.length), items]))}
  },
}

const u16 = (n: number): Buffer => {
  const b = Buffer.alloc(2)
  b.writeUInt16BE(n)
  return b
}

/** A test Certificate Transparency log: issues RFC 6962 v1 SCTs over precertificates. */
export class CTLog {
  readonly key: KeyPair
  readonly logId: Buffer
  readonly validFrom: Date
  constructor(key: KeyPair = generateKeyPair(), validFrom = new Date(Date.now() - 86_400_000)) {
    this.key = key
    this.logId = keyId(key)
    this.validFrom = validFrom
  }

  /**
   * Signs a precertificate entry. `tbs` is the precertificate TBSCertificate with the poison extension removed,
   * `issuerSpki` the DER SPKI of the issuing CA (its sha256 is the issuer_key_hash).
   */
  signPrecert(tbs: Buffer, issuerSpki: Buffer, timestamp: Date): Buffer {
    const ts = Buffer.alloc(8)
    ts.writeBigUInt64BE(BigInt(timestamp.getTime()))
    const len24 = Buffer.alloc(3)
    len24.writeUIntBE(tbs.length, 0, 3)
    const signed = Buffer.concat([
      Buffer.from([0x00, 0x00]), // version v1, signature_type certificate_timestamp
      ts,
      u16(1), // entry_type precert_entry
      sha256(issuerSpki),
      len24,
      tbs,
      u16(0), // extensions
    ])
    const sig = sign(this.key, signed)
    return Buffer.concat([
      Buffer.from([0x00]), // version
      this.logId,
      ts,
      u16(0), // extensions
      Buffer.from([4, 3]), // sha256, ecdsa
      u16(sig.length),
      sig,
    ])
  }
}

export interface IssuedCert {
  der: Buffer
  key: KeyPair
  notBefore: Date
  notAfter: Date
}

export interface LeafOptions {
  /** SAN: an email address (rfc822Name) or a URI (e.g. a GitHub workflow identity). */
  identity: string
  /** OIDC issuer, written to both 1.3.6.1.4.1.57264.1.1 and .1.8. */
  issuer: string
  /** Leaf key (default: a fresh ephemeral key, as cosign keyless signing does). */
  key?: KeyPair
  /** Certificate notBefore (default now, rounded down to the second). Validity is always 10 minutes. */
  notBefore?: Date
  /** Omit the embedded SCT. */
  noSct?: boolean
  /** Omit the .1.8 extension (only .1.1, as old Fulcio leaves). */
  legacyIssuerOnly?: boolean
  /** Extra extensions appended before the SCT (e.g. other Fulcio OIDs). */
  extraExtensions?: Extension[]
  /** CT log that signs the SCT (default: the CA's own, trusted CT log). */
  ctlog?: CTLog
}

export const LEAF_VALIDITY_MS = 10 * 60 * 1000

/** Root + intermediate CA issuing Fulcio-style leaves. */
export class CertificateAuthority {
  readonly root: IssuedCert
  readonly intermediate: IssuedCert
  readonly ctlog: CTLog
  readonly name: string

  constructor(opts: {name?: string; ctlog?: CTLog; notBefore?: Date} = {}) {
    this.name = opts.name ?? 'airlock.test'
    this.ctlog = opts.ctlog ?? new CTLog()
    const notBefore = opts.notBefore ?? new Date(Math.floor(Date.now() / 1000) * 1000 - 86_400_000)
    const notAfter = new Date(notBefore.getTime() + 10 * 365 * 86_400_000)
    const rootKey = generateKeyPair()
    const rootName = {organization: this.name, commonName: `${this.name} test root`}
    this.root = {
      key: rootKey,
      notBefore,
      notAfter,
      der: issueCertificate({
        subject: rootName,
        issuer: rootName,
        publicKey: rootKey,
        signingKey: rootKey,
        notBefore,
        notAfter,
        extensions: [ext.keyUsage([5, 6]), ext.basicConstraints(true, 1), ext.subjectKeyId(rootKey)],
      }),
    }
    const intKey = generateKeyPair()
    this.intermediate = {
      key: intKey,
      notBefore,
      notAfter,
      der: issueCertificate({
        subject: {organization: this.name, commonName: `${this.name} test intermediate`},
        issuer: rootName,
        publicKey: intKey,
        signingKey: rootKey,
        notBefore,
        notAfter,
        extensions: [
          ext.keyUsage([5, 6]),
          ext.codeSigning(),
          ext.basicConstraints(true, 0),
          ext.subjectKeyId(intKey),
          ext.authorityKeyId(rootKey),
        ],
      }),
    }
  }

  get intermediateName(): Name {
    return {organization: this.name, commonName: `${this.name} test intermediate`}
  }

  /** [intermediate, root] DER, leaf-to-root order as in trusted_root.json and cosign's chain annotation. */
  get chain(): Buffer[] {
    return [this.intermediate.der, this.root.der]
  }

  issueLeaf(opts: LeafOptions): IssuedCert {
    const key = opts.key ?? generateKeyPair()
    const notBefore = new Date(Math.floor((opts.notBefore ?? new Date()).getTime() / 1000) * 1000)
    const notAfter = new Date(notBefore.getTime() + LEAF_VALIDITY_MS)
    const base: Extension[] = [
      ext.keyUsage([0]),
      ext.codeSigning(),
      ext.subjectKeyId(key),
      ext.authorityKeyId(this.intermediate.key),
      ext.subjectAltName(opts.identity),
      ext.issuerV1(opts.issuer),
      ...(opts.legacyIssuerOnly ? [] : [ext.issuerV2(opts.issuer)]),
      ...(opts.extraExtensions ?? []),
    ]
    const serial = randomSerial()
    const spec: CertificateSpec = {
      subject: {},
      issuer: this.intermediateName,
      publicKey: key,
      signingKey: this.intermediate.key,
      notBefore,
      notAfter,
      extensions: base,
      serial,
    }
    if (opts.noSct) return {der: issueCertificate(spec), key, notBefore, notAfter}
    // RFC 6962 3.1: the CA issues a precertificate carrying the critical poison extension where the SCT list
    // will go, submits it to the CT log, which signs the precert's TBSCertificate with the poison removed.
    const precertTbs = encodeTBS({...spec, extensions: [...base, ext.ctPoison()]}, serial)
    const withoutPoison = encodeTBS(spec, serial) // = precertTbs minus the poison extension
    void precertTbs
    const sct = (opts.ctlog ?? this.ctlog).signPrecert(withoutPoison, this.intermediate.key.spki, notBefore)
    const der_ = issueCertificate({...spec, extensions: [...base, ext.sctList([sct])]})
    return {der: der_, key, notBefore, notAfter}
  }
}
