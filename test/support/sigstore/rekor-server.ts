// The Rekor v1 REST API over a TransparencyLog, on loopback (node:http). JSON shapes follow Rekor's OpenAPI spec.
import crypto from 'node:crypto'
import http from 'node:http'
import type {AddressInfo} from 'node:net'
import {json} from '@sigstore/core'
import {sha256} from './keys.ts'
import {pae} from './sign.ts'
import {dsseBody, type LogEntry, type TransparencyLog} from './tlog.ts'

export interface RekorServer {
  url: string
  /** "METHOD path" of every request served, for asserting that something did (or did not) go online. */
  requests: string[]
  close(): Promise<void>
}

class HttpError extends Error {
  readonly status: number
  constructor(status: number, message: string) {
    super(message)
    this.status = status
  }
}

const entryMap = (log: TransparencyLog, e: LogEntry): Record<string, unknown> => ({[e.entryId]: log.rekorEntry(e)})

function artifactHashes(e: LogEntry): string[] {
  const body = JSON.parse(e.body.toString()) as {spec?: Record<string, any>}
  const out: string[] = []
  const h1 = body.spec?.['data']?.hash?.value
  if (typeof h1 === 'string') out.push(`sha256:${h1}`)
  const h2 = body.spec?.['payloadHash']?.value ?? body.spec?.['content']?.payloadHash?.value
  if (typeof h2 === 'string') out.push(`sha256:${h2}`)
  return out
}

/** Turns a proposed entry (as POSTed by clients) into the canonical body Rekor stores, checking what it can. */
function canonicalBody(proposed: any): object {
  if (proposed?.kind === 'hashedrekord' && proposed.apiVersion === '0.0.1') {
    const spec = proposed.spec
    if (!spec?.data?.hash?.value || !spec?.signature?.content || !spec?.signature?.publicKey?.content) {
      throw new HttpError(400, 'invalid hashedrekord entry')
    }
    // node:crypto cannot verify an ECDSA signature over a pre-hashed digest, so the signature is not checked here.
    return {
      apiVersion: '0.0.1',
      kind: 'hashedrekord',
      spec: {
        data: {hash: {algorithm: spec.data.hash.algorithm ?? 'sha256', value: spec.data.hash.value}},
        signature: {content: spec.signature.content, publicKey: {content: spec.signature.publicKey.content}},
      },
    }
  }
  if (proposed?.kind === 'dsse' && proposed.apiVersion === '0.0.1') {
    const envelopeJson = proposed.spec?.proposedContent?.envelope
    const verifiers: string[] = proposed.spec?.proposedContent?.verifiers ?? []
    if (typeof envelopeJson !== 'string' || verifiers.length === 0) throw new HttpError(400, 'invalid dsse entry')
    const env = JSON.parse(envelopeJson) as {payload: string; payloadType: string; signatures: {sig: string}[]}
    const pems = verifiers.map(v => Buffer.from(v, 'base64').toString())
    const data = pae(env.payloadType, Buffer.from(env.payload, 'base64'))
    for (const s of env.signatures) {
      const ok = pems.some(pem => {
        try {
          const key = pem.includes('CERTIFICATE')
            ? new crypto.X509Certificate(pem).publicKey
            : crypto.createPublicKey(pem)
          return crypto.verify('sha256', data, key, Buffer.from(s.sig, 'base64'))
        } catch {
          return false
        }
      })
      if (!ok) throw new HttpError(400, 'dsse signature does not verify with any verifier')
    }
    return dsseBody(envelopeJson, pems)
  }
  throw new HttpError(400, `unsupported entry kind ${proposed?.kind}/${proposed?.apiVersion}`)
}

async function readJson(req: http.IncomingMessage): Promise<any> {
  const chunks: Buffer[] = []
  for await (const c of req) chunks.push(c as Buffer)
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'))
  } catch {
    throw new HttpError(400, 'invalid JSON')
  }
}

export function handle(log: TransparencyLog) {
  return async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost')
    const p = url.pathname.replace(/\/+$/, '')
    const send = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
      const text = typeof body === 'string' ? body : JSON.stringify(body)
      res.writeHead(status, {
        'content-type': typeof body === 'string' ? 'application/x-pem-file' : 'application/json',
        ...headers,
      })
      res.end(text)
    }
    try {
      if (req.method === 'GET' && p === '/api/v1/log') {
        return send(200, {
          rootHash: log.tree.root().toString('hex'),
          signedTreeHead: log.checkpoint(),
          treeID: log.treeId,
          treeSize: log.size,
        })
      }
      if (req.method === 'GET' && p === '/api/v1/log/publicKey') return send(200, log.key.publicKeyPem)
      if (req.method === 'GET' && p === '/api/v1/log/proof') {
        const first = Number(url.searchParams.get('firstSize') ?? '1')
        const last = Number(url.searchParams.get('lastSize'))
        if (!Number.isInteger(first) || !Number.isInteger(last) || first < 1 || last < first || last > log.size) {
          throw new HttpError(400, 'invalid firstSize/lastSize')
        }
        return send(200, {
          hashes: log.tree.consistencyProof(first, last).map(h => h.toString('hex')),
          rootHash: log.tree.root(last).toString('hex'),
        })
      }
      if (req.method === 'GET' && p === '/api/v1/log/entries') {
        const idx = url.searchParams.get('logIndex')
        const e = idx !== null && /^\d+$/.test(idx) ? log.find({logIndex: Number(idx)}) : undefined
        if (!e) throw new HttpError(404, 'entry not found')
        return send(200, entryMap(log, e))
      }
      const m = /^\/api\/v1\/log\/entries\/([0-9a-fA-F]{64}|[0-9a-fA-F]{80})$/.exec(p)
      if (req.method === 'GET' && m) {
        const e = log.find({uuid: m[1]!})
        if (!e) throw new HttpError(404, 'entry not found')
        return send(200, entryMap(log, e))
      }
      if (req.method === 'POST' && p === '/api/v1/log/entries') {
        const canonical = Buffer.from(json.canonicalize(canonicalBody(await readJson(req))))
        const uuid = sha256(Buffer.from([0]), canonical).toString('hex')
        const existing = log.find({uuid})
        if (existing)
          throw new HttpError(
            409,
            `an equivalent entry already exists in the transparency log with UUID ${existing.entryId}`,
          )
        const e = log.append(canonical)
        return send(201, entryMap(log, e), {location: `/api/v1/log/entries/${e.entryId}`, etag: e.entryId})
      }
      if (req.method === 'POST' && p === '/api/v1/log/entries/retrieve') {
        const q = await readJson(req)
        const found: LogEntry[] = []
        for (const id of q.entryUUIDs ?? []) {
          const e = log.find({uuid: String(id)})
          if (e) found.push(e)
        }
        for (const i of q.logIndexes ?? []) {
          const e = log.find({logIndex: Number(i)})
          if (e) found.push(e)
        }
        for (const proposed of q.entries ?? []) {
          const canonical = Buffer.from(json.canonicalize(canonicalBody(proposed)))
          const e = log.find({uuid: sha256(Buffer.from([0]), canonical).toString('hex')})
          if (e) found.push(e)
        }
        return send(
          200,
          found.map(e => entryMap(log, e)),
        )
      }
      if (req.method === 'POST' && p === '/api/v1/index/retrieve') {
        const q = await readJson(req)
        const hash =
          typeof q.hash === 'string' ? (q.hash.includes(':') ? q.hash : `sha256:${q.hash}`).toLowerCase() : undefined
        if (!hash) throw new HttpError(400, 'only search by hash is supported')
        return send(
          200,
          log.entries.filter(e => artifactHashes(e).includes(hash)).map(e => e.entryId),
        )
      }
      throw new HttpError(404, `no route for ${req.method} ${p}`)
    } catch (err) {
      const status = err instanceof HttpError ? err.status : 500
      send(status, {code: status, message: err instanceof Error ? err.message : String(err)})
    }
  }
}

export async function startRekorServer(log: TransparencyLog, host = '127.0.0.1'): Promise<RekorServer> {
  const requests: string[] = []
  const h = handle(log)
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`)
    void h(req, res)
  })
  server.keepAliveTimeout = 1000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, host, () => resolve())
  })
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://${host}:${port}`,
    requests,
    close: () =>
      new Promise<void>(resolve => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
