// Log proofs at export (GUIDE section 2): a legacy cosign signature carries only a SET (a promise). Export asks
// the log's Rekor API for the entry's inclusion proof and signed checkpoint, checks that the entry it got back is
// the very body the SET signs, and stores the proof as `sigstore/proofs/<logIndex>.json`. Verify hands it to the
// legacy -> bundle adapter as `inclusionProof`, so @sigstore/verify checks the Merkle path and the checkpoint
// signature too. This is the only network use in src/sigstore, and it happens at export only; no Rekor reachable
// means a warning and the SET alone.
import {AirlockError} from '../errors.ts'
import {http, https} from '../util/http-modules.ts'
import {proxiedAgent} from '../registry/proxy.ts'
import {COSIGN_ANNOTATIONS, type RekorInclusionProof} from './cosign-legacy.ts'
import {PROOFS_DIR} from './section.ts'

export const DEFAULT_REKOR_URL = 'https://rekor.sigstore.dev'

/** What is stored in sigstore/proofs/<logIndex>.json. */
export interface StoredProof {
  logIndex: string
  /** hex sha256 of the log's key, as in the SET's Payload.logID. */
  logID: string
  inclusionProof: RekorInclusionProof
}

export function proofPath(logIndex: string): string {
  return `${PROOFS_DIR}/${logIndex}.json`
}

interface SetPayload {
  body: string
  logIndex: number
  logID: string
}

/** The SET payload of a legacy layer annotation, when it is there and well-formed. */
export function setPayload(annotations: Record<string, string>): SetPayload | undefined {
  const text = annotations[COSIGN_ANNOTATIONS.bundle]
  if (!text) return undefined
  try {
    const p = (JSON.parse(text) as {Payload?: Partial<SetPayload>}).Payload
    if (!p || typeof p.body !== 'string' || !Number.isSafeInteger(p.logIndex) || typeof p.logID !== 'string')
      return undefined
    return {body: p.body, logIndex: p.logIndex!, logID: p.logID}
  } catch {
    return undefined
  }
}

/**
 * Fetches the inclusion proof of the entry a SET names. Throws an AirlockError (REGISTRY_ERROR for the network,
 * SIGNATURE_INVALID when the log answers with another entry) that the caller turns into a warning.
 */
export async function fetchInclusionProof(
  rekorUrl: string,
  set: SetPayload,
  options: {timeoutMs?: number} = {},
): Promise<StoredProof> {
  const url = new URL(`/api/v1/log/entries?logIndex=${set.logIndex}`, rekorUrl)
  let response: {status: number; text: string}
  try {
    response = await getText(url, options.timeoutMs ?? 15_000)
  } catch (error) {
    if (error instanceof AirlockError) throw error
    throw new AirlockError('NETWORK_ERROR', `no route to the Rekor log at ${rekorUrl}: ${(error as Error).message}`, {
      cause: error,
    })
  }
  if (response.status !== 200) throw new AirlockError('REGISTRY_ERROR', `Rekor ${url.href}: HTTP ${response.status}`)
  const text = response.text
  let entries: Record<
    string,
    {
      body?: unknown
      logID?: unknown
      logIndex?: unknown
      verification?: {inclusionProof?: Partial<RekorInclusionProof>}
    }
  >
  try {
    entries = JSON.parse(text)
  } catch {
    throw new AirlockError('REGISTRY_ERROR', `Rekor ${url.href}: answer is not JSON`)
  }
  const entry = Object.values(entries ?? {})[0]
  if (!entry) throw new AirlockError('NOT_FOUND', `Rekor ${url.href}: no entry ${set.logIndex}`)
  if (entry.body !== set.body)
    throw new AirlockError(
      'SIGNATURE_INVALID',
      `Rekor entry ${set.logIndex} is not the entry the signature's SET names (body differs)`,
    )
  if (typeof entry.logID === 'string' && entry.logID !== set.logID)
    throw new AirlockError(
      'SIGNATURE_INVALID',
      `Rekor entry ${set.logIndex} is from log ${entry.logID}, the SET names ${set.logID}`,
    )
  const p = entry.verification?.inclusionProof
  if (!p || typeof p.checkpoint !== 'string' || !Array.isArray(p.hashes) || typeof p.rootHash !== 'string')
    throw new AirlockError('REGISTRY_ERROR', `Rekor entry ${set.logIndex} came without an inclusion proof`)
  const proof: RekorInclusionProof = {
    logIndex: String(p.logIndex ?? set.logIndex),
    rootHash: p.rootHash,
    treeSize: String(p.treeSize),
    hashes: p.hashes.map(String),
    checkpoint: p.checkpoint,
  }
  if (proof.logIndex !== String(set.logIndex))
    throw new AirlockError('SIGNATURE_INVALID', `Rekor proof is for entry ${proof.logIndex}, not ${set.logIndex}`)
  return {logIndex: String(set.logIndex), logID: set.logID, inclusionProof: proof}
}

/** One GET without keep-alive (a pooled socket would hold the CLI process open after export), bounded at 1 MiB. */
function getText(url: URL, timeoutMs: number): Promise<{status: number; text: string}> {
  const get = url.protocol === 'https:' ? https.get : url.protocol === 'http:' ? http.get : undefined
  if (!get) return Promise.reject(new AirlockError('USAGE', `--rekor-url must be http(s): ${url.href}`))
  return new Promise((resolve, reject) => {
    const request = get(
      url,
      {
        agent: proxiedAgent(url.protocol),
        headers: {accept: 'application/json', connection: 'close'},
        timeout: timeoutMs,
      },
      response => {
        const chunks: Buffer[] = []
        let size = 0
        response.on('data', (chunk: Buffer) => {
          size += chunk.length
          if (size > 1024 * 1024) {
            request.destroy()
            reject(new AirlockError('TOO_LARGE', `Rekor ${url.href}: answer over 1 MiB`))
          } else chunks.push(chunk)
        })
        response.on('end', () =>
          resolve({status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8')}),
        )
        response.on('error', reject)
      },
    )
    request.on('timeout', () => request.destroy(new Error(`timed out after ${timeoutMs} ms`)))
    request.on('error', reject)
  })
}

/** Reads a stored proof from untrusted archive bytes (the checks that matter are @sigstore/verify's). */
export function parseStoredProof(bytes: Buffer, logIndex: string): RekorInclusionProof | undefined {
  try {
    const value = JSON.parse(bytes.toString('utf8')) as Partial<StoredProof>
    const p = value.inclusionProof
    if (value.logIndex !== logIndex || !p || typeof p !== 'object' || String(p.logIndex) !== logIndex) return undefined
    return p
  } catch {
    return undefined
  }
}
