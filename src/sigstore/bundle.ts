// Parsing Sigstore bundles (v0.1, v0.2, v0.3 and the new media type form) with @sigstore/bundle's own validation.
import {bundleFromJSON, type Bundle} from '@sigstore/bundle'
import {AirlockError} from '../errors.ts'

/** Parses and validates a serialized bundle (bytes, text or an already-parsed JSON value). */
export function parseBundle(input: Uint8Array | string | object, source = 'bundle'): Bundle {
  let value: unknown = input
  if (typeof input === 'string' || input instanceof Uint8Array) {
    try {
      value = JSON.parse(typeof input === 'string' ? input : Buffer.from(input).toString('utf8'))
    } catch (error) {
      throw new AirlockError('SIGNATURE_INVALID', `${source} is not valid JSON`, {cause: error})
    }
  }
  try {
    return bundleFromJSON(value)
  } catch (error) {
    const fields = (error as {fields?: string[]}).fields
    const detail = fields && fields.length > 0 ? `invalid fields: ${fields.join(', ')}` : (error as Error).message
    throw new AirlockError('SIGNATURE_INVALID', `${source} is not a valid Sigstore bundle (${detail})`, {cause: error})
  }
}
