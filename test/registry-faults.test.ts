// What a registry (or the network) does wrong, and the client's answer: lying digests and altered bodies are
// refused, oversize manifests are refused before they are buffered, broken downloads resume with Range, 503 and
// 429 are retried (Retry-After honoured), and redirects do not carry credentials to another host.
import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import type {Readable} from 'node:stream'
import {after, before, describe, it} from 'node:test'
import {parseReference} from '../src/reference/index.ts'
import {isRetryableError, RegistryClient, type RegistryOptions, type Repository} from '../src/registry/index.ts'
import {startFaultProxy, type FaultProxy} from './support/fault-proxy.ts'
import {buildImage, makeWorkDir, pushImage, type TestImage} from './support/images.ts'
import {startRegistry, type StartedRegistry} from './support/registry.ts'

async function hashStream(stream: Readable): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of stream as AsyncIterable<Buffer>) hash.update(chunk)
  return `sha256:${hash.digest('hex')}`
}

const flip = (body: Buffer): Buffer => {
  const copy = Buffer.from(body)
  copy[copy.length >> 1]! ^= 0x01
  return copy
}

describe('registry faults', () => {
  let registry: StartedRegistry
  let proxy: FaultProxy
  let image: TestImage
  const work = makeWorkDir('airlock-faults-')
  const clients: RegistryClient[] = []
  const repo = (options: RegistryOptions = {}): Repository => {
    const client = new RegistryClient({insecure: [proxy.host], retryBaseMs: 5, ...options})
    clients.push(client)
    return client.repository(parseReference(`${proxy.host}/faults/app`))
  }
  const isManifest = (method: string) => (r: {method: string; path: string}) =>
    r.method === method && r.path.includes('/manifests/')
  const isBlob = (digest: string) => (r: {method: string; path: string}) =>
    r.method === 'GET' && r.path.endsWith(`/blobs/${digest}`)

  before(async () => {
    registry = await startRegistry({auth: 'none'})
    proxy = await startFaultProxy(registry.host)
    image = await buildImage(work.dir, {layerSizes: [1024 * 1024]})
    const direct = new RegistryClient({insecure: registry.insecure})
    await pushImage(direct.repository(parseReference(`${registry.host}/faults/app`)), image, 'v1')
    direct.close()
  })
  after(async () => {
    for (const client of clients) client.close()
    await proxy?.stop()
    await registry?.stop()
    work.cleanup()
  })

  it('refuses a manifest whose Docker-Content-Digest does not match its bytes', async () => {
    proxy.add({match: isManifest('GET'), setHeaders: {'Docker-Content-Digest': `sha256:${'0'.repeat(64)}`}})
    await assert.rejects(repo().fetchManifest('v1'), (error: Error & {code?: string}) => {
      assert.equal(error.code, 'DIGEST_MISMATCH')
      assert.match(error.message, /Docker-Content-Digest sha256:0{64}/)
      return true
    })
  })

  it('refuses a manifest body that does not hash to the digest asked for', async () => {
    // the header is dropped too, so only the body check can catch it
    proxy.add({
      match: isManifest('GET'),
      rewriteBody: b => Buffer.from(b.toString().replace('"schemaVersion": 2', '"schemaVersion":2')),
      setHeaders: {'Docker-Content-Digest': ''},
    })
    await assert.rejects(repo().fetchManifest(image.descriptor.digest), {code: 'DIGEST_MISMATCH'})
  })

  it('refuses a HEAD answer naming another digest than the one asked for', async () => {
    proxy.add({match: isManifest('HEAD'), setHeaders: {'Docker-Content-Digest': `sha256:${'1'.repeat(64)}`}})
    await assert.rejects(repo().resolve(image.descriptor.digest), {code: 'DIGEST_MISMATCH'})
  })

  it('fails a blob stream whose bytes were altered', async () => {
    const layer = image.layers[0]!.descriptor
    proxy.add({match: isBlob(layer.digest), rewriteBody: flip})
    await assert.rejects(hashStream(await repo().fetch(layer)), {code: 'DIGEST_MISMATCH'})
  })

  it('refuses manifests over 4 MiB, announced or not', async () => {
    const big = Buffer.alloc(4 * 1024 * 1024 + 1, 0x20)
    proxy.add({match: isManifest('GET'), rewriteBody: () => big})
    await assert.rejects(repo().fetchManifest('v1'), {code: 'TOO_LARGE'})
    // no Content-Length: the limit holds while reading
    proxy.add({
      match: isManifest('GET'),
      respond: {
        status: 200,
        headers: {
          'Content-Type': 'application/vnd.oci.image.manifest.v1+json',
          'Transfer-Encoding': 'chunked',
          'Content-Length': '',
        },
        body: big.toString(),
      },
    })
    await assert.rejects(repo().fetchManifest('v1'), {code: 'TOO_LARGE'})
  })

  it('resumes an interrupted blob download with Range, continuing the same hash', async () => {
    const layer = image.layers[0]!.descriptor
    const seen = proxy.requests.length
    proxy.add({match: isBlob(layer.digest), cutAfterBytes: 300_000})
    assert.equal(await hashStream(await repo().fetch(layer)), layer.digest)
    const gets = proxy.requests.slice(seen).filter(isBlob(layer.digest))
    assert.equal(gets.length, 2)
    assert.equal(gets[0]!.headers.range, undefined)
    const resumedAt = Number(/^bytes=(\d+)-$/.exec(String(gets[1]!.headers.range))?.[1])
    assert.ok(resumedAt > 0 && resumedAt <= 300_000, `resumed at ${resumedAt}`)
  })

  it('gives up on a broken download after its retries, with NETWORK_ERROR', async () => {
    const layer = image.layers[0]!.descriptor
    proxy.add({match: isBlob(layer.digest), cutAfterBytes: 1000, times: 3})
    await assert.rejects(hashStream(await repo({retries: 2}).fetch(layer)), (error: Error & {code?: string}) => {
      assert.equal(error.code, 'NETWORK_ERROR')
      assert.match(error.message, /after \d+ of 1048576 bytes/)
      return true
    })
  })

  it('retries 503 answers with backoff', async () => {
    const seen = proxy.requests.length
    proxy.add({
      match: isManifest('GET'),
      respond: {status: 503, body: '{"errors":[{"code":"UNAVAILABLE","message":"try later"}]}'},
      times: 2,
    })
    assert.equal((await repo().fetchManifest('v1')).digest, image.descriptor.digest)
    assert.equal(proxy.requests.slice(seen).filter(isManifest('GET')).length, 3)
  })

  it('waits as long as Retry-After says on 429', async () => {
    proxy.add({match: isManifest('GET'), respond: {status: 429, headers: {'Retry-After': '1'}}})
    const started = Date.now()
    await repo().fetchManifest('v1')
    assert.ok(Date.now() - started >= 950, `waited ${Date.now() - started} ms`)
  })

  it('reports a registry that stays down as a retryable REGISTRY_ERROR with its error codes', async () => {
    proxy.add({
      match: isManifest('GET'),
      respond: {status: 503, body: '{"errors":[{"code":"UNAVAILABLE","message":"maintenance"}]}'},
      times: 3,
    })
    await assert.rejects(repo({retries: 2}).fetchManifest('v1'), (error: Error & {code?: string}) => {
      assert.equal(error.code, 'REGISTRY_ERROR')
      assert.match(error.message, /HTTP 503 \(UNAVAILABLE: maintenance\)/)
      assert.equal(isRetryableError(error), true)
      return true
    })
  })

  it('follows a blob redirect to another host without sending it our credentials', async () => {
    const storage = await startFaultProxy(registry.host, {hostname: 'localhost'})
    try {
      const layer = image.layers[0]!.descriptor
      // the front proxy asks for Basic auth once, so the client carries credentials from then on
      proxy.add({
        match: r => !r.headers.authorization,
        respond: {status: 401, headers: {'WWW-Authenticate': 'Basic realm="test"'}},
      })
      proxy.add({
        match: isBlob(layer.digest),
        respond: {status: 307, headers: {Location: `http://${storage.host}/v2/faults/app/blobs/${layer.digest}`}},
      })
      const repository = repo({username: 'u', password: 'p', insecure: [proxy.host, storage.host]})
      assert.equal(await hashStream(await repository.fetch(layer)), layer.digest)
      assert.ok(proxy.requests.filter(isBlob(layer.digest)).at(-1)!.headers.authorization?.startsWith('Basic '))
      assert.equal(storage.requests.length, 1)
      assert.equal(storage.requests[0]!.headers.authorization, undefined)
    } finally {
      await storage.stop()
    }
  })

  it('refuses plain HTTP to a host not listed as insecure', async () => {
    const client = new RegistryClient({retries: 0})
    clients.push(client)
    await assert.rejects(client.repository(parseReference(`${proxy.host}/faults/app`)).resolve('v1'), {
      code: 'NETWORK_ERROR',
    })
  })
})
