// Issue 6, "the network fails" for push: the built CLI pushes an archive into a real registry through
// test/support/fault-proxy.ts (the proxy is the push TARGET). Where a retry can succeed the push completes and the
// project's registry client, reading the registry directly, confirms the tag resolves to the archive's digest and
// every blob is there; otherwise it fails with one line, and no tag points at content the registry lacks; a rerun
// then completes without sending again the blobs that already landed (upload requests counted at the proxy).
import assert from 'node:assert/strict'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {exportImages} from '../src/export/export.ts'
import {parseReference} from '../src/reference/index.ts'
import {RegistryClient} from '../src/registry/index.ts'
import {startFaultProxy, type Fault, type FaultProxy, type FaultRequest} from './support/fault-proxy.ts'
import {buildImage, makeWorkDir, pushImage, type TestImage} from './support/images.ts'
import {startRegistry, type StartedRegistry} from './support/registry.ts'
import {assertFreshBuild} from './support/built.ts'
import {runCli} from './support/cli.ts'
import {registryOpener} from './support/open-registry.ts'

// dist/ must be the current source: fail (never skip, never test old code) when it is not
assertFreshBuild()

interface Run {
  exit: number | null
  stderr: string
  /** When the CLI exited (Date.now()). */
  ended: number
}

// runCli's own wall-clock limit: a loaded machine's start-up is not what these tests time
async function run(args: string[]): Promise<Run> {
  const r = await runCli(args, {env: {AIRLOCK_DEBUG: ''}})
  return {exit: r.status, stderr: r.stderr, ended: Date.now()}
}

const errorLines = (stderr: string) => stderr.split('\n').filter(l => l.startsWith('airlock: error: '))

describe('push under network faults (fault proxy in front of the mirror registry)', () => {
  let source: StartedRegistry
  let mirror: StartedRegistry
  let proxy: FaultProxy
  let image: TestImage
  let archive: string
  let client: RegistryClient
  const work = makeWorkDir('airlock-faults-push-')
  let n = 0
  /** Each test pushes under its own prefix, so "already there" only ever comes from that test's earlier runs. */
  const prefix = () => `p${n++}`
  const big = () => image.layers[0]!.descriptor.digest
  const small = () => image.layers[1]!.descriptor.digest
  const config = () => image.config.descriptor.digest
  const isUpload = (r: FaultRequest) =>
    (r.method === 'POST' || r.method === 'PATCH' || r.method === 'PUT') && r.path.includes('/blobs/uploads/')
  /** The request that commits content (PUT ?digest=); push sends each blob of the archive as that PUT's streamed body. */
  const isBlobCommit = (digest: string) => (r: FaultRequest) =>
    r.method === 'PUT' && r.path.includes('/blobs/uploads/') && decodeURIComponent(r.path).includes(`digest=${digest}`)
  const isPatch = (r: FaultRequest) => r.method === 'PATCH' && r.path.includes('/blobs/uploads/')
  const isTagPut = (r: FaultRequest) =>
    r.method === 'PUT' && /\/manifests\/[^/]+$/.test(r.path) && !r.path.includes('/manifests/sha256:')

  const push = (p: string, extra: string[] = []) =>
    run(['push', archive, `${proxy.host}/${p}`, '--insecure-registry', proxy.host, '--skip-verify', ...extra])

  /**
   * A push that had to fail: exit 1, one error line, no stack trace, and it gave up within 30 s, timed from its first
   * request to the mirror (requests[mark]) to its exit: the retries, not node's start-up or the archive's reading.
   */
  const failsWithinBounds = (run: Run, mark: number) => {
    assert.equal(run.exit, 1, run.stderr)
    assert.equal(errorLines(run.stderr).length, 1, run.stderr)
    assert.ok(!/^\s+at /m.test(run.stderr), 'stack trace')
    const gaveUpMs = run.ended - proxy.requests[mark]!.at
    assert.ok(gaveUpMs < 30_000, `gave up only after ${gaveUpMs} ms`)
  }

  /** Read back from the registry itself (not through the proxy): the tag resolves to the archive's root and every blob is there. */
  async function confirm(p: string): Promise<void> {
    const repo = client.repository(parseReference(`${mirror.host}/${p}/faults/app:1`))
    const root = await repo.resolve('1')
    assert.equal(root.digest, image.descriptor.digest, "the tag does not point at the archive's manifest")
    for (const d of [config(), big(), small()]) {
      const res = await fetch(`${mirror.url}/v2/${p}/faults/app/blobs/${d}`, {method: 'HEAD'})
      assert.equal(res.status, 200, `blob ${d} missing in the mirror`)
    }
  }

  async function tags(p: string): Promise<string[]> {
    const res = await fetch(`${mirror.url}/v2/${p}/faults/app/tags/list`)
    if (res.status === 404) return []
    return ((await res.json()) as {tags?: string[] | null}).tags ?? []
  }

  before(async () => {
    ;[source, mirror] = await Promise.all([startRegistry({auth: 'none'}), startRegistry({auth: 'none'})])
    client = new RegistryClient({insecure: [source.host, mirror.host]})
    // 10 MiB: pushed as one streamed PUT (POST, then PUT ?digest= with the body), so "mid-upload" is 1 MiB into
    // that body; a retry re-reads the blob's region of the archive into a new upload session.
    image = await buildImage(work.dir, {layerSizes: [10 * 1024 * 1024, 64 * 1024]})
    await pushImage(client.repository(parseReference(`${source.host}/faults/app`)), image, '1')
    archive = join(work.dir, 'app.tar')
    await exportImages({
      sources: [`${source.host}/faults/app:1`],
      output: archive,
      openRegistry: registryOpener(client),
    })
    proxy = await startFaultProxy(mirror.host)
  })
  after(async () => {
    client?.close()
    await proxy?.stop()
    await Promise.all([source?.stop(), mirror?.stop()])
    work.cleanup()
  })

  it('sends every blob as POST + one streamed PUT (no PATCH round trips)', async () => {
    proxy.clearFaults()
    const p = prefix()
    const mark = proxy.requests.length
    const r = await push(p)
    assert.equal(r.exit, 0, r.stderr)
    const uploads = proxy.requests.slice(mark).filter(isUpload)
    assert.deepEqual(
      uploads.filter(u => u.method === 'PATCH'),
      [],
    )
    assert.equal(uploads.filter(u => u.method === 'POST').length, 3)
    for (const d of [config(), big(), small()]) assert.equal(uploads.filter(isBlobCommit(d)).length, 1, d)
    await confirm(p)
  })

  const recovers: {name: string; fault: () => Fault; hit: (r: FaultRequest) => boolean}[] = [
    {
      name: '503 burst on upload starts',
      fault: () => ({match: r => r.method === 'POST' && isUpload(r), times: 2, respond: {status: 503}}),
      hit: r => r.method === 'POST' && isUpload(r),
    },
    {
      name: "429 with Retry-After: 1 on the big layer's upload",
      fault: () => ({match: isBlobCommit(big()), times: 1, respond: {status: 429, headers: {'Retry-After': '1'}}}),
      hit: r => isBlobCommit(big())(r),
    },
    {
      name: "connection reset (RST) 1 MiB into the big layer's body",
      fault: () => ({match: isBlobCommit(big()), times: 1, resetAfterRequestBytes: 1024 * 1024}),
      hit: r => isBlobCommit(big())(r),
    },
    {
      name: '503 on the manifest PUT',
      fault: () => ({
        match: r => r.method === 'PUT' && r.path.includes('/manifests/'),
        times: 1,
        respond: {status: 503},
      }),
      hit: r => r.method === 'PUT' && r.path.includes('/manifests/'),
    },
    {
      name: 'a stall of 2 s, then a dropped connection, on a blob HEAD',
      fault: () => ({match: r => r.method === 'HEAD' && r.path.includes('/blobs/'), times: 1, stallMs: 2000}),
      hit: r => r.method === 'HEAD' && r.path.includes('/blobs/'),
    },
  ]
  for (const c of recovers)
    it(`completes despite: ${c.name}`, async () => {
      proxy.clearFaults()
      const p = prefix()
      const mark = proxy.requests.length
      proxy.add(c.fault())
      const r = await push(p)
      proxy.clearFaults()
      assert.equal(r.exit, 0, `push failed: ${r.stderr}`)
      assert.ok(proxy.requests.slice(mark).filter(c.hit).length >= 2, 'the fault was not hit and retried')
      await confirm(p)
    })

  it('persistent 503 on one blob: one-line error, no tag written; a rerun sends only what is missing', async () => {
    proxy.clearFaults()
    const p = prefix()
    // The big layer never gets in (its upload is refused, PATCH chunks too should it fall back to them); the config
    // and the small layer go in one PUT each.
    proxy.add({match: isBlobCommit(big()), times: 1000, respond: {status: 503}})
    proxy.add({match: isPatch, times: 1000, respond: {status: 503}})
    const mark0 = proxy.requests.length
    const first = await push(p)
    proxy.clearFaults()
    failsWithinBounds(first, mark0)
    assert.match(errorLines(first.stderr)[0]!, /503|unavailable/i)
    assert.deepEqual(await tags(p), [], 'a tag was written although content is missing')
    assert.equal(
      proxy.requests.slice(mark0).filter(isTagPut).length,
      0,
      'a tag PUT was attempted before all content was in',
    )
    const landed = [config(), small()].filter(d => proxy.requests.slice(mark0).some(isBlobCommit(d)))
    assert.ok(landed.length > 0, 'nothing landed before the failure: the rerun check proves nothing')

    const mark = proxy.requests.length
    const second = await push(p)
    assert.equal(second.exit, 0, second.stderr)
    const again = proxy.requests.slice(mark)
    for (const d of landed) assert.equal(again.filter(isBlobCommit(d)).length, 0, `${d} was uploaded again`)
    assert.ok(again.some(isBlobCommit(big())), 'the missing layer was not sent on the rerun')
    await confirm(p)
    // And a third run sends nothing at all.
    const mark3 = proxy.requests.length
    const third = await push(p)
    assert.equal(third.exit, 0, third.stderr)
    assert.equal(proxy.requests.slice(mark3).filter(isUpload).length, 0, 'a complete mirror got uploads again')
  })

  it('persistent connection resets mid-upload: fails clearly within bounds, no tag, then a rerun completes', async () => {
    proxy.clearFaults()
    const p = prefix()
    proxy.add({match: isBlobCommit(big()), times: 1000, resetAfterRequestBytes: 256 * 1024})
    const mark0 = proxy.requests.length
    const first = await push(p)
    proxy.clearFaults()
    failsWithinBounds(first, mark0)
    assert.deepEqual(await tags(p), [])
    const second = await push(p)
    assert.equal(second.exit, 0, second.stderr)
    await confirm(p)
  })
})
