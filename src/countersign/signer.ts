// Signing with the operator's key, packaged by sigstore-js: the DSSE pre-authentication encoding from
// @sigstore/core and the bundle from @sigstore/bundle's toDSSEBundle, exactly the steps of @sigstore/sign's
// DSSEBundleBuilder with a key signer and no witnesses (that package is not loaded: its import costs seconds, for
// Fulcio/Rekor clients airlock never uses). The result is a Sigstore bundle v0.3 with a public key hint and no
// tlog entry, what a Talos publicKey rule verifies offline. DSSE envelopes for `.att` layers come from the same
// bundle. Checking our own earlier signatures (idempotency) uses node:crypto through src/keys.
import {bundleToJSON, envelopeToJSON, toDSSEBundle} from '@sigstore/bundle'
import {dsse} from '@sigstore/core'
import type {SigningKey} from '../keys/index.ts'
import {signBytes, verifyBytes} from '../keys/index.ts'
import {INTOTO_PAYLOAD_TYPE} from '../sigstore/payload.ts'

/** A v0.3 bundle (JSON bytes) holding a DSSE envelope of an in-toto statement, signed with `key`. */
export async function signStatementBundle(
  key: SigningKey,
  statement: Buffer,
): Promise<{bundle: Buffer; envelope: Buffer}> {
  const signature = signBytes(key, dsse.preAuthEncoding(INTOTO_PAYLOAD_TYPE, statement))
  // certificateChain false: the v0.3 media type; no certificate: verification material is the public key hint.
  const bundle = toDSSEBundle({
    artifact: statement,
    artifactType: INTOTO_PAYLOAD_TYPE,
    signature,
    keyHint: key.hint,
    certificateChain: false,
  })
  return {
    bundle: Buffer.from(JSON.stringify(bundleToJSON(bundle))),
    envelope: Buffer.from(JSON.stringify(envelopeToJSON(bundle.content.dsseEnvelope))),
  }
}

/** The raw signature of a legacy `.sig` layer: over the payload bytes, base64 in the layer annotation. */
export function signPayload(key: SigningKey, payload: Buffer): string {
  return signBytes(key, payload).toString('base64')
}

interface EnvelopeJson {
  payloadType?: unknown
  payload?: unknown
  signatures?: Array<{sig?: unknown; keyid?: unknown}>
}

/** The statement of a DSSE envelope (JSON) if one of its signatures verifies under `key`, else undefined. */
export function openEnvelope(key: SigningKey, envelope: unknown): Buffer | undefined {
  const e = envelope as EnvelopeJson | null
  if (
    !e ||
    typeof e !== 'object' ||
    e.payloadType !== INTOTO_PAYLOAD_TYPE ||
    typeof e.payload !== 'string' ||
    !Array.isArray(e.signatures)
  )
    return undefined
  const payload = Buffer.from(e.payload, 'base64')
  const pae = dsse.preAuthEncoding(INTOTO_PAYLOAD_TYPE, payload)
  for (const s of e.signatures)
    if (typeof s?.sig === 'string' && verifyBytes(key.publicKey, pae, Buffer.from(s.sig, 'base64'))) return payload
  return undefined
}

/** Whether a statement names `digest` as a subject and has `predicateType`. */
export function statementCovers(statement: Buffer, digestHex: string, predicateType: string): boolean {
  try {
    const s = JSON.parse(statement.toString('utf8')) as {
      predicateType?: unknown
      subject?: Array<{digest?: {sha256?: unknown}}>
    }
    return (
      s.predicateType === predicateType &&
      Array.isArray(s.subject) &&
      s.subject.some(x => x?.digest?.sha256 === digestHex)
    )
  } catch {
    return false
  }
}
