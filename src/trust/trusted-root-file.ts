// `--trusted-root FILE`: a Sigstore trusted_root.json managed by hand. No TUF; the report says so.
import {createHash} from 'node:crypto'
import {readFileSync} from 'node:fs'
import {AirlockError, toAirlockError} from '../errors.ts'

export interface TrustedRootFileReport {
  source: 'file'
  path: string
  sha256: string
  tuf: false
  note: string
}

const MEDIA_TYPE = /^application\/vnd\.dev\.sigstore\.trustedroot(\.v\d+(\.\d+)*)?\+json(;\s*version=[\d.]+)?$/

/**
 * Checks the JSON shape of a trusted_root.json (Sigstore protobuf-specs TrustedRoot, JSON form): media type, and
 * arrays of transparency logs, certificate authorities, CT logs and timestamp authorities with the fields that
 * verification relies on. Returns the parsed object. `label` names the file in messages.
 */
export function validateTrustedRoot(bytes: Buffer, label: string): Record<string, unknown> {
  const bad = (what: string): never => {
    throw new AirlockError('TRUST_INVALID', `${label} is not a Sigstore trusted root: ${what}`)
  }
  let data: unknown
  try {
    data = JSON.parse(bytes.toString('utf8'))
  } catch {
    return bad('not valid JSON')
  }
  if (!data || typeof data !== 'object' || Array.isArray(data)) return bad('not a JSON object')
  const root = data as Record<string, unknown>
  if (typeof root.mediaType !== 'string' || !MEDIA_TYPE.test(root.mediaType)) bad(`mediaType ${JSON.stringify(root.mediaType)}`)
  const list = (name: string): Record<string, unknown>[] => {
    const v = root[name]
    if (v === undefined) return []
    if (!Array.isArray(v) || v.some((x) => !x || typeof x !== 'object')) return bad(`${name} is not an array of objects`)
    return v as Record<string, unknown>[]
  }
  const tlogs = list('tlogs')
  const cas = list('certificateAuthorities')
  const ctlogs = list('ctlogs')
  const tsas = list('timestampAuthorities')
  if (tlogs.length + cas.length + tsas.length === 0) bad('no tlogs, certificateAuthorities or timestampAuthorities')
  for (const [name, logs] of [['tlogs', tlogs], ['ctlogs', ctlogs]] as const) {
    for (const [i, log] of logs.entries()) {
      const key = log.publicKey as Record<string, unknown> | undefined
      const id = log.logId as Record<string, unknown> | undefined
      if (!key || typeof key.rawBytes !== 'string') bad(`${name}[${i}].publicKey.rawBytes missing`)
      if (!id || typeof id.keyId !== 'string') bad(`${name}[${i}].logId.keyId missing`)
    }
  }
  for (const [name, authorities] of [['certificateAuthorities', cas], ['timestampAuthorities', tsas]] as const) {
    for (const [i, ca] of authorities.entries()) {
      const chain = ca.certChain as Record<string, unknown> | undefined
      const certs = chain?.certificates
      if (!Array.isArray(certs) || certs.length === 0 || certs.some((c) => !c || typeof (c as Record<string, unknown>).rawBytes !== 'string'))
        bad(`${name}[${i}].certChain.certificates missing`)
    }
  }
  return root
}

/** Reads and validates a hand-managed trusted_root.json (`--trusted-root FILE`). */
export function loadTrustedRootFile(path: string): {trustedRoot: Buffer; report: TrustedRootFileReport} {
  let bytes: Buffer
  try {
    bytes = readFileSync(path)
  } catch (error) {
    throw toAirlockError(error, 'IO_ERROR')
  }
  validateTrustedRoot(bytes, path)
  return {
    trustedRoot: bytes,
    report: {
      source: 'file',
      path,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      tuf: false,
      note: `trusted root supplied by hand (--trusted-root ${path}); not verified through TUF`,
    },
  }
}
