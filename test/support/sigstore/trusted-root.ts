// trusted_root.json (protobuf-specs dev.sigstore.trustroot.v1.TrustedRoot, JSON form) for a test instance.
import type {CertificateAuthority, CTLog} from './ca.ts'
import type {TransparencyLog} from './tlog.ts'

export const TRUSTED_ROOT_MEDIA_TYPE = 'application/vnd.dev.sigstore.trustedroot+json;version=0.1'

export interface TrustedRootJSON {
  mediaType: string
  tlogs: TransparencyLogInstanceJSON[]
  certificateAuthorities: CertificateAuthorityJSON[]
  ctlogs: TransparencyLogInstanceJSON[]
  timestampAuthorities: CertificateAuthorityJSON[]
}

export interface ValidForJSON {
  start: string
  end?: string
}

export interface TransparencyLogInstanceJSON {
  baseUrl: string
  hashAlgorithm: 'SHA2_256'
  publicKey: {rawBytes: string; keyDetails: 'PKIX_ECDSA_P256_SHA_256'; validFor: ValidForJSON}
  logId: {keyId: string}
}

export interface CertificateAuthorityJSON {
  subject: {organization: string; commonName: string}
  uri: string
  certChain: {certificates: {rawBytes: string}[]}
  validFor: ValidForJSON
}

const validFor = (start: Date, end?: Date): ValidForJSON => ({
  start: start.toISOString(),
  ...(end ? {end: end.toISOString()} : {}),
})

export function tlogInstance(log: TransparencyLog, baseUrl: string, end?: Date): TransparencyLogInstanceJSON {
  return {
    baseUrl,
    hashAlgorithm: 'SHA2_256',
    publicKey: {
      rawBytes: log.key.spki.toString('base64'),
      keyDetails: 'PKIX_ECDSA_P256_SHA_256',
      validFor: validFor(log.validFrom, end),
    },
    logId: {keyId: log.logId.toString('base64')},
  }
}

export function ctlogInstance(ct: CTLog, baseUrl: string): TransparencyLogInstanceJSON {
  return {
    baseUrl,
    hashAlgorithm: 'SHA2_256',
    publicKey: {
      rawBytes: ct.key.spki.toString('base64'),
      keyDetails: 'PKIX_ECDSA_P256_SHA_256',
      validFor: validFor(ct.validFrom),
    },
    logId: {keyId: ct.logId.toString('base64')},
  }
}

export function caInstance(ca: CertificateAuthority, uri: string): CertificateAuthorityJSON {
  return {
    subject: {organization: ca.name, commonName: `${ca.name} test root`},
    uri,
    certChain: {certificates: ca.chain.map(c => ({rawBytes: c.toString('base64')}))},
    validFor: validFor(ca.root.notBefore),
  }
}

export function buildTrustedRoot(parts: {
  tlog: TransparencyLog
  tlogUrl: string
  ca: CertificateAuthority
  caUrl: string
  ctlog: CTLog
  ctlogUrl: string
}): TrustedRootJSON {
  return {
    mediaType: TRUSTED_ROOT_MEDIA_TYPE,
    tlogs: [tlogInstance(parts.tlog, parts.tlogUrl)],
    certificateAuthorities: [caInstance(parts.ca, parts.caUrl)],
    ctlogs: [ctlogInstance(parts.ctlog, parts.ctlogUrl)],
    timestampAuthorities: [],
  }
}
