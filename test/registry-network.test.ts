// The network as users meet it (issue 12 items 4, 5, 7), through the CLI against real registries: errors that say
// what to do, proxies from the environment (a local CONNECT proxy; a registry excluded by NO_PROXY), and an idle
// timeout that abandons a stalled connection and retries it.
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {existsSync, writeFileSync} from 'node:fs'
import http from 'node:http'
import type {AddressInfo} from 'node:net'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {parseReference} from '../src/reference/index.ts'
import {RegistryClient} from '../src/registry/index.ts'
import {fetchInclusionProof} from '../src/sigstore/proofs.ts'
import {startConnectProxy, type ConnectProxy} from './support/connect-proxy.ts'
import {startFaultProxy, type FaultProxy} from './support/fault-proxy.ts'
import {buildImage, makeWorkDir, pushImage} from './support/images.ts'
import {freePort, startRegistry, TEST_PASSWORD, TEST_USER, type StartedRegistry} from './support/registry.ts'
import {startStaticServer, type StaticServer} from './support/static-server.ts'
import {TestTufRepo} from './support/tuf-repo.ts'
import {type CliRun, runCli} from './support/cli.ts'

const ROOT = join(import.meta.dirname, '..')
const PROXY_VARS = [
  'HTTPS_PROXY',
  'https_proxy',
  'HTTP_PROXY',
  'http_proxy',
  'NO_PROXY',
  'no_proxy',
  'ALL_PROXY',
  'all_proxy',
]

function cli(args: string[], env: Record<string, string> = {}, input = ''): Promise<CliRun> {
  const unset = Object.fromEntries(PROXY_VARS.map(name => [name, undefined]))
  return runCli(args, {env: {...unset, AIRLOCK_CERTS_D: '', ...env}, input})
}

describe('network errors, proxies and timeouts', () => {
  let plain: StartedRegistry
  let tls: StartedRegistry
  let proxy: ConnectProxy
  let work: {dir: string; cleanup(): void}
  let tuf: TestTufRepo
  let tufServer: StaticServer
  let rootFile: string
  const skip = ['--no-tuf', '--signatures', 'skip', '--force']
  const out = (name: string) => join(work.dir, `${name}.tar`)

  before(async () => {
    ;[plain, tls, proxy] = await Promise.all([startRegistry(), startRegistry({auth: 'basic-tls'}), startConnectProxy()])
    work = makeWorkDir('airlock-network-')
    const image = await buildImage(work.dir, {layerSizes: [4096]})
    const pc = new RegistryClient({insecure: plain.insecure})
    await pushImage(pc.repository(parseReference(`${plain.host}/net/app`)), image, '1')
    pc.close()
    const tc = new RegistryClient({caFile: tls.caFile!, username: TEST_USER, password: TEST_PASSWORD})
    await pushImage(tc.repository(parseReference(`${tls.host}/net/app`)), image, '1')
    tc.close()
    tuf = new TestTufRepo()
    tufServer = await startStaticServer(tuf.dir)
    rootFile = join(work.dir, 'root.json')
    writeFileSync(rootFile, tuf.pinnedRoot())
    if (!existsSync(join(ROOT, 'dist/cli/registry-flags.js')))
      execFileSync('npm', ['run', 'build'], {cwd: ROOT, stdio: 'ignore'})
  })

  after(async () => {
    await Promise.all([plain?.stop(), tls?.stop(), proxy?.stop(), tufServer?.stop()])
    tuf?.remove()
    work?.cleanup()
  })

  it('HTTPS_PROXY tunnels the HTTPS registry with CONNECT; NO_PROXY keeps the other registry direct; http_proxy carries the TUF mirror', async () => {
    proxy.seen.length = 0
    const tufHost = new URL(tufServer.url).host
    const r = await cli(
      [
        'export',
        `${tls.host}/net/app:1`,
        `${plain.host}/net/app:1`,
        '-o',
        out('proxied'),
        '--signatures',
        'skip',
        '--force',
        '--tuf-mirror',
        tufServer.url,
        '--tuf-root',
        rootFile,
        '--ca-file',
        tls.caFile!,
        '--username',
        TEST_USER,
        '--password-stdin',
        '--insecure-registry',
        plain.host,
      ],
      {HTTPS_PROXY: proxy.url, http_proxy: proxy.url, no_proxy: plain.host},
      `${TEST_PASSWORD}\n`,
    )
    assert.equal(r.status, 0, r.stderr)
    assert.ok(proxy.seen.includes(`CONNECT ${tls.host}`), proxy.seen.join('\n'))
    // undici tunnels plain HTTP through CONNECT as well; either way the TUF mirror was reached through the proxy.
    assert.ok(
      proxy.seen.some(l => l.startsWith(`GET http://${tufHost}/`) || l === `CONNECT ${tufHost}`),
      `TUF through the proxy: ${proxy.seen.join('\n')}`,
    )
    assert.ok(!proxy.seen.some(l => l.includes(plain.host)), `NO_PROXY registry went direct: ${proxy.seen.join('\n')}`)
  })

  it('a proxy that is down is named in the error (nothing silently bypasses it)', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`
    const r = await cli(
      ['export', `${plain.host}/net/app:1`, '-o', out('deadproxy'), ...skip, '--insecure-registry', plain.host],
      {HTTP_PROXY: dead},
    )
    assert.equal(r.status, 1)
    assert.match(r.stderr, /NETWORK_ERROR|nothing is listening|proxy/i)
  })

  it('Rekor requests go through the proxy too', async () => {
    proxy.seen.length = 0
    const saved = process.env.HTTP_PROXY
    process.env.HTTP_PROXY = proxy.url
    try {
      await fetchInclusionProof(plain.url, {body: '', logIndex: 7, logID: 'x'}, {timeoutMs: 5000}).catch(
        () => undefined,
      )
    } finally {
      if (saved === undefined) delete process.env.HTTP_PROXY
      else process.env.HTTP_PROXY = saved
    }
    assert.ok(
      proxy.seen.some(l => l.startsWith(`GET ${plain.url}/api/v1/log/entries?logIndex=7`)),
      proxy.seen.join('\n'),
    )
  })

  it('nothing listening: one line naming the host, with a hint', async () => {
    const host = `127.0.0.1:${await freePort()}`
    const r = await cli(['export', `${host}/net/app:1`, '-o', out('refused'), ...skip, '--insecure-registry', host])
    assert.equal(r.status, 1)
    assert.match(r.stderr, new RegExp(`nothing is listening at ${host}`))
    assert.match(r.stderr, /hint: .*registry is running/)
  })

  it('a plain-HTTP registry addressed as HTTPS: use --insecure-registry HOST', async () => {
    const r = await cli(['export', `${plain.host}/net/app:1`, '-o', out('eproto'), ...skip])
    assert.equal(r.status, 1)
    assert.match(r.stderr, /did not answer with TLS/)
    assert.match(r.stderr, new RegExp(`--insecure-registry ${plain.host}`))
  })

  it('an HTTPS registry listed as insecure: drop it from --insecure-registry', async () => {
    const r = await cli([
      'export',
      `${tls.host}/net/app:1`,
      '-o',
      out('https-as-http'),
      ...skip,
      '--insecure-registry',
      tls.host,
    ])
    assert.equal(r.status, 1)
    assert.match(r.stderr, /serves HTTPS: drop it from --insecure-registry|drop it from --insecure-registry/)
  })

  it('a missing tag says which one and what to check', async () => {
    const r = await cli([
      'export',
      `${plain.host}/net/app:nope`,
      '-o',
      out('notag'),
      ...skip,
      '--insecure-registry',
      plain.host,
    ])
    assert.equal(r.status, 1)
    assert.match(r.stderr, /net\/app:nope: HTTP 404/)
    assert.match(r.stderr, /hint: .*tag/)
  })

  it('a name that does not resolve: DNS or proxy', async () => {
    const r = await cli(['export', '-o', out('dns'), ...skip, 'no-such-registry.invalid/net/app:1'])
    assert.equal(r.status, 1)
    assert.match(r.stderr, /does not resolve/)
    assert.match(r.stderr, /HTTPS_PROXY/)
  })

  it('--insecure-registry http://host:port is normalized; https:// is refused', async () => {
    const ok = await cli([
      'export',
      `${plain.host}/net/app:1`,
      '-o',
      out('url'),
      ...skip,
      '--insecure-registry',
      `http://${plain.host}/`,
    ])
    assert.equal(ok.status, 0, ok.stderr)
    const bad = await cli([
      'export',
      `${plain.host}/net/app:1`,
      '-o',
      out('https-url'),
      ...skip,
      '--insecure-registry',
      `https://${plain.host}`,
    ])
    assert.equal(bad.status, 2)
    assert.match(bad.stderr, /only http:\/\/ or a bare host:port/)
  })

  describe('idle timeout', () => {
    let stall: FaultProxy
    before(async () => {
      stall = await startFaultProxy(plain.host)
    })
    after(() => stall?.stop())

    it('a connection that stops sending is abandoned after --timeout and retried like a reset', async () => {
      stall.add({match: r => r.method === 'GET' && /\/manifests\//.test(r.path), stallMs: 60_000})
      const r = await cli([
        'export',
        `${stall.host}/net/app:1`,
        '-o',
        out('stall'),
        ...skip,
        '--insecure-registry',
        stall.host,
        '--timeout',
        '1',
      ])
      assert.equal(r.status, 0, r.stderr)
      const gets = stall.requests.filter(q => q.method === 'GET' && /\/manifests\//.test(q.path))
      assert.ok(gets.length >= 2, 'the stalled request was sent again')
      // timed on the wire, from the stalled request to its retry (the CLI's start-up on a loaded machine is not)
      const waited = gets[1]!.at - gets[0]!.at
      assert.ok(waited < 30_000, `did not wait for the stall: the retry came ${waited} ms after it`)
    })

    it('--timeout that is not a duration is a usage error', async () => {
      const r = await cli(['export', `${plain.host}/net/app:1`, '-o', out('badtimeout'), ...skip, '--timeout', 'soon'])
      assert.equal(r.status, 2)
      assert.match(r.stderr, /--timeout "soon"/)
    })
  })
})

describe('a 401 from a redirect target', () => {
  it('is not taken as the registry challenge: later requests to the registry stay anonymous', async () => {
    const registry = await startRegistry()
    const work = makeWorkDir('airlock-redirect-401-')
    const storage = http.createServer((_req, res) => {
      res.writeHead(401, {
        'WWW-Authenticate': 'Bearer realm="http://127.0.0.1:9/token",service="storage"',
        'Content-Length': '0',
      })
      res.end()
    })
    await new Promise<void>(resolve => storage.listen(0, '127.0.0.1', resolve))
    const storageHost = `127.0.0.1:${(storage.address() as AddressInfo).port}`
    const front = await startFaultProxy(registry.host)
    const client = new RegistryClient({insecure: [front.host, storageHost], retries: 0})
    try {
      const image = await buildImage(work.dir, {layerSizes: [512]})
      const repo = client.repository(parseReference(`${front.host}/r/app`))
      await pushImage(repo, image, '1')
      front.add({
        match: r => r.method === 'GET' && /\/blobs\//.test(r.path),
        respond: {status: 307, headers: {Location: `http://${storageHost}/bucket/blob`}},
      })
      const layer = image.layers[0]!.descriptor
      await assert.rejects(
        async () => {
          for await (const _ of await repo.fetch(layer)) void _
        },
        {code: 'UNAUTHORIZED'},
      )
      assert.deepEqual(await repo.tags(), ['1'], 'the registry itself still answers without a token')
    } finally {
      client.close()
      await front.stop()
      await new Promise<void>(resolve => storage.close(() => resolve()))
      await registry.stop()
      work.cleanup()
    }
  })
})
