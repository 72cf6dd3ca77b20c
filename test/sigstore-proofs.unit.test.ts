// Log proofs fetched at export, in process (issue 13 item 5): src/sigstore/proofs.ts against the test Sigstore
// instance's Rekor API (test/support/sigstore/rekor-server.ts: Rekor's v1 REST shapes, real Merkle proofs and
// signed checkpoints). Rekor cannot run here; the lying answers are that server's real answer, altered one field at a
// time by a proxy in this file, so the checks that refuse an entry the SET does not name are each seen to fire.
import assert from 'node:assert/strict'
import http from 'node:http'
import type {AddressInfo} from 'node:net'
import {after, before, describe, it} from 'node:test'
import {COSIGN_ANNOTATIONS} from '../src/sigstore/cosign-legacy.ts'
import {
  DEFAULT_REKOR_URL,
  fetchInclusionProof,
  parseStoredProof,
  proofPath,
  setPayload,
} from '../src/sigstore/proofs.ts'
import {createTestSigstore, type TestSigstore} from './support/sigstore/index.ts'

const DIGEST = `sha256:${'ab'.repeat(32)}`

describe('log proofs', () => {
  let ss: TestSigstore
  let annotations: Record<string, string>
  let proxy: http.Server
  let proxyUrl: string
  /** How the proxy alters Rekor's answer for the next request. */
  let alter: (status: number, body: string) => {status: number; body: string} = (status, body) => ({status, body})

  before(async () => {
    ss = await createTestSigstore({listen: true, seedEntries: 5})
    annotations = ss.signImageLegacy('registry.example/app', DIGEST).signature.annotations
    proxy = http.createServer((req, res) => {
      http
        .get(new URL(req.url!, ss.url), upstream => {
          const chunks: Buffer[] = []
          upstream.on('data', c => chunks.push(c))
          upstream.on('end', () => {
            const out = alter(upstream.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'))
            res.writeHead(out.status, {'content-type': 'application/json', connection: 'close'})
            res.end(out.body)
          })
        })
        .on('error', e => {
          res.writeHead(502)
          res.end(String(e))
        })
    })
    await new Promise<void>(resolve => proxy.listen(0, '127.0.0.1', resolve))
    proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`
  })
  after(async () => {
    await new Promise(resolve => proxy.close(resolve))
    await ss.stop()
  })

  /** Rewrites the one entry of a Rekor answer. */
  const entry =
    (change: (e: Record<string, any>) => void) =>
    (status: number, body: string): {status: number; body: string} => {
      const parsed = JSON.parse(body) as Record<string, Record<string, any>>
      change(Object.values(parsed)[0]!)
      return {status, body: JSON.stringify(parsed)}
    }

  it('paths and the default log', () => {
    assert.equal(proofPath('123'), 'sigstore/proofs/123.json')
    assert.equal(DEFAULT_REKOR_URL, 'https://rekor.sigstore.dev')
  })

  it("reads the SET payload of cosign's bundle annotation, nothing from a malformed one", () => {
    const set = setPayload(annotations)!
    const raw = JSON.parse(annotations[COSIGN_ANNOTATIONS.bundle]!).Payload
    assert.deepEqual(set, {body: raw.body, logIndex: raw.logIndex, logID: raw.logID})
    assert.ok(set.logIndex >= 5, 'seed entries come first')
    const withPayload = (p: unknown) => ({[COSIGN_ANNOTATIONS.bundle]: JSON.stringify({Payload: p})})
    assert.equal(setPayload({}), undefined)
    assert.equal(setPayload({[COSIGN_ANNOTATIONS.bundle]: ''}), undefined)
    assert.equal(setPayload({[COSIGN_ANNOTATIONS.bundle]: '{'}), undefined)
    assert.equal(setPayload({[COSIGN_ANNOTATIONS.bundle]: '{}'}), undefined)
    assert.equal(setPayload(withPayload(null)), undefined)
    assert.equal(setPayload(withPayload({...raw, body: 5})), undefined)
    assert.equal(setPayload(withPayload({...raw, logIndex: '7'})), undefined)
    assert.equal(setPayload(withPayload({...raw, logIndex: 1.5})), undefined)
    assert.equal(setPayload(withPayload({...raw, logID: undefined})), undefined)
    assert.deepEqual(setPayload(withPayload({...raw, logIndex: 0})), {body: raw.body, logIndex: 0, logID: raw.logID})
  })

  it("fetches the entry's inclusion proof and checkpoint, as the log serves them", async () => {
    const set = setPayload(annotations)!
    const stored = await fetchInclusionProof(ss.url, set)
    const served = Object.values(
      (await (await fetch(`${ss.url}/api/v1/log/entries?logIndex=${set.logIndex}`)).json()) as Record<string, any>,
    )[0].verification.inclusionProof
    assert.deepEqual(stored, {
      logIndex: String(set.logIndex),
      logID: set.logID,
      inclusionProof: {
        logIndex: String(set.logIndex),
        rootHash: served.rootHash,
        treeSize: String(served.treeSize),
        hashes: served.hashes,
        checkpoint: stored.inclusionProof.checkpoint,
      },
    })
    // the log signs a fresh checkpoint per answer (its timestamp and signature differ); the tree it names is the same
    const tree = (checkpoint: string) => checkpoint.split('\n').slice(0, 3)
    assert.deepEqual(tree(stored.inclusionProof.checkpoint), tree(served.checkpoint))
    assert.deepEqual(tree(served.checkpoint).slice(1), [
      String(served.treeSize),
      Buffer.from(served.rootHash, 'hex').toString('base64'),
    ])
    assert.ok(stored.inclusionProof.hashes.length > 0)
    assert.ok(ss.requests.includes(`GET /api/v1/log/entries?logIndex=${set.logIndex}`), ss.requests.join('\n'))
    // what export stores reads back; another index, or another entry's file, does not
    const bytes = Buffer.from(JSON.stringify(stored))
    assert.deepEqual(parseStoredProof(bytes, String(set.logIndex)), stored.inclusionProof)
    assert.equal(parseStoredProof(bytes, String(set.logIndex + 1)), undefined)
  })

  it('a proof without its own logIndex is taken as the asked one; a proof for another index is refused', async () => {
    const set = setPayload(annotations)!
    alter = entry(e => delete e.verification.inclusionProof.logIndex)
    assert.equal((await fetchInclusionProof(proxyUrl, set)).inclusionProof.logIndex, String(set.logIndex))
    alter = entry(e => (e.verification.inclusionProof.logIndex = set.logIndex - 1))
    await assert.rejects(fetchInclusionProof(proxyUrl, set), {
      code: 'SIGNATURE_INVALID',
      message: `Rekor proof is for entry ${set.logIndex - 1}, not ${set.logIndex}`,
    })
  })

  it('refuses an entry the SET does not name: another body, another log', async () => {
    const set = setPayload(annotations)!
    alter = entry(e => (e.body = Buffer.from('{"other":true}').toString('base64')))
    await assert.rejects(fetchInclusionProof(proxyUrl, set), {
      code: 'SIGNATURE_INVALID',
      message: `Rekor entry ${set.logIndex} is not the entry the signature's SET names (body differs)`,
    })
    alter = entry(e => (e.logID = 'ff'.repeat(32)))
    await assert.rejects(fetchInclusionProof(proxyUrl, set), {
      code: 'SIGNATURE_INVALID',
      message: `Rekor entry ${set.logIndex} is from log ${'ff'.repeat(32)}, the SET names ${set.logID}`,
    })
    // a log that does not say its id is judged by body and proof
    alter = entry(e => delete e.logID)
    assert.equal((await fetchInclusionProof(proxyUrl, set)).logID, set.logID)
  })

  it('refuses answers without a usable proof', async () => {
    const set = setPayload(annotations)!
    const noProof = {code: 'REGISTRY_ERROR', message: `Rekor entry ${set.logIndex} came without an inclusion proof`}
    for (const change of [
      (e: Record<string, any>) => delete e.verification,
      (e: Record<string, any>) => delete e.verification.inclusionProof,
      (e: Record<string, any>) => (e.verification.inclusionProof.checkpoint = 5),
      (e: Record<string, any>) => (e.verification.inclusionProof.hashes = 'ab'),
      (e: Record<string, any>) => delete e.verification.inclusionProof.rootHash,
    ]) {
      alter = entry(change)
      await assert.rejects(fetchInclusionProof(proxyUrl, set), noProof)
    }
  })

  it('HTTP errors, non-JSON and empty answers say which', async () => {
    const set = setPayload(annotations)!
    const url = `${proxyUrl}/api/v1/log/entries?logIndex=${set.logIndex}`
    alter = () => ({status: 503, body: '{}'})
    await assert.rejects(fetchInclusionProof(proxyUrl, set), {
      code: 'REGISTRY_ERROR',
      message: `Rekor ${url}: HTTP 503`,
    })
    alter = () => ({status: 200, body: '<html>'})
    await assert.rejects(fetchInclusionProof(proxyUrl, set), {
      code: 'REGISTRY_ERROR',
      message: `Rekor ${url}: answer is not JSON`,
    })
    for (const body of ['{}', 'null']) {
      alter = () => ({status: 200, body})
      await assert.rejects(fetchInclusionProof(proxyUrl, set), {
        code: 'NOT_FOUND',
        message: `Rekor ${url}: no entry ${set.logIndex}`,
      })
    }
    alter = () => ({status: 200, body: JSON.stringify({x: 'y'.repeat(1024 * 1024)})})
    await assert.rejects(fetchInclusionProof(proxyUrl, set), {
      code: 'TOO_LARGE',
      message: `Rekor ${url}: answer over 1 MiB`,
    })
    // the honest log: an index it does not hold is a 404
    await assert.rejects(fetchInclusionProof(ss.url, {...set, logIndex: 999_999}), {
      code: 'REGISTRY_ERROR',
      message: `Rekor ${ss.url}/api/v1/log/entries?logIndex=999999: HTTP 404`,
    })
  })

  it('no route, a stalled log and a non-http URL', async () => {
    const set = setPayload(annotations)!
    const closed = http.createServer()
    await new Promise<void>(resolve => closed.listen(0, '127.0.0.1', resolve))
    const port = (closed.address() as AddressInfo).port
    await new Promise(resolve => closed.close(resolve))
    await assert.rejects(fetchInclusionProof(`http://127.0.0.1:${port}`, set), {
      code: 'NETWORK_ERROR',
      message: new RegExp(`^no route to the Rekor log at http://127.0.0.1:${port}: .*ECONNREFUSED`),
    })
    const stall = http.createServer(() => {
      /* never answers */
    })
    await new Promise<void>(resolve => stall.listen(0, '127.0.0.1', resolve))
    const stallUrl = `http://127.0.0.1:${(stall.address() as AddressInfo).port}`
    try {
      await assert.rejects(fetchInclusionProof(stallUrl, set, {timeoutMs: 200}), {
        code: 'NETWORK_ERROR',
        message: `no route to the Rekor log at ${stallUrl}: timed out after 200 ms`,
      })
    } finally {
      stall.closeAllConnections()
      await new Promise(resolve => stall.close(resolve))
    }
    await assert.rejects(fetchInclusionProof('ftp://rekor.example', set), {
      code: 'USAGE',
      message: `--rekor-url must be http(s): ftp://rekor.example/api/v1/log/entries?logIndex=${set.logIndex}`,
    })
  })

  it('a stored proof is read only when its indexes agree and it parses', () => {
    const p = {logIndex: '7', rootHash: 'aa', treeSize: '9', hashes: ['bb'], checkpoint: 'c'}
    const file = (v: unknown) => Buffer.from(JSON.stringify(v))
    assert.deepEqual(parseStoredProof(file({logIndex: '7', logID: 'x', inclusionProof: p}), '7'), p)
    assert.deepEqual(parseStoredProof(file({logIndex: '7', inclusionProof: {...p, logIndex: 7}}), '7'), {
      ...p,
      logIndex: 7,
    })
    assert.equal(parseStoredProof(file({logIndex: 7, inclusionProof: p}), '7'), undefined)
    assert.equal(parseStoredProof(file({logIndex: '7', inclusionProof: {...p, logIndex: '8'}}), '7'), undefined)
    assert.equal(parseStoredProof(file({logIndex: '7'}), '7'), undefined)
    assert.equal(parseStoredProof(file({logIndex: '7', inclusionProof: 'p'}), '7'), undefined)
    assert.equal(parseStoredProof(file({logIndex: '7', inclusionProof: null}), '7'), undefined)
    assert.equal(parseStoredProof(Buffer.from('{'), '7'), undefined)
    assert.equal(parseStoredProof(Buffer.from('null'), '7'), undefined)
  })
})
