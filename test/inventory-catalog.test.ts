// Issue 17 item 1: `airlock inventory --registry MIRROR` with no repository names inventories the whole mirror (under
// its PREFIX) from the registry's catalog (`GET /v2/_catalog`, paged by `n=` and Link headers), on a real
// docker-registry. Registries that refuse the catalog are replayed by a small HTTP front with the status and body
// each one answers (sources cited per mode); the catalog of a hostile registry is bounded.
import assert from 'node:assert/strict'
import {existsSync, readFileSync} from 'node:fs'
import http from 'node:http'
import type {AddressInfo} from 'node:net'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {parseReference} from '../src/reference/index.ts'
import {RegistryClient} from '../src/registry/index.ts'
import {runCli, runCliJson} from './support/cli.ts'
import {tempDir} from './support/layouts.ts'
import {startRegistry, type StartedRegistry} from './support/registry.ts'
import {layeredImage as image, randomLayer as layer, type OciImage} from './support/sigstore/oci.ts'
import {putImage} from './support/sigstore/registry-images.ts'

interface InventoryFile {
  repositories: Array<{name: string; manifests: Array<[string, number]>; blobs: Array<[string, number]>}>
}

/** `airlock inventory` of every repository of MIRROR/dc, with no names (the catalog path). */
const inventoryOfMirror = (host: string, out: string) =>
  runCli(['inventory', '--registry', `${host}/dc`, '--insecure-registry', host, '--no-state', '-o', out])

describe('inventory --registry with no repository names: the catalog of a real registry', () => {
  let registry: StartedRegistry
  let client: RegistryClient
  let dir: string
  let cleanup: () => Promise<void>
  const pushed = new Map<string, OciImage>()

  before(async () => {
    ;({dir, cleanup} = await tempDir('airlock-catalog-'))
    registry = await startRegistry()
    client = new RegistryClient({insecure: registry.insecure})
    const shared = layer(3000)
    const images: Array<[string, OciImage]> = [
      ['dc/app', image([shared, layer(2000)], 'app')],
      ['dc/tools', image([layer(1500)], 'tools')],
      ['dc/team/web', image([shared, layer(1000)], 'web')],
      ['other/x', image([layer(500)], 'x')],
    ]
    for (const [name, img] of images) {
      await putImage(client.repository(parseReference(`${registry.host}/${name}`)), img, 'v1')
      pushed.set(name, img)
    }
  })
  after(async () => {
    client?.close()
    await registry?.stop()
    await cleanup?.()
  })

  const assertHolds = (inventory: InventoryFile, name: string) => {
    const repo = inventory.repositories.find(r => r.name === name)
    assert.ok(repo, `${name} is in the inventory: ${inventory.repositories.map(r => r.name).join(', ')}`)
    const img = pushed.get(name)!
    assert.deepEqual(repo.manifests, [[img.manifestDescriptor.digest, img.manifestDescriptor.size]])
    const expected = [img.config, ...img.layers]
      .map(b => [b.descriptor.digest, b.descriptor.size] as [string, number])
      .sort(([a], [b]) => (a < b ? -1 : 1))
    assert.deepEqual(repo.blobs, expected)
  }

  /** `inventory --registry MIRROR` with no repository names, over plain HTTP, no TUF state. */
  const inventoryArgs = (mirror: string, out: string) => [
    'inventory',
    '--registry',
    mirror,
    '--insecure-registry',
    registry.host,
    '--no-state',
    '-o',
    out,
  ]

  it('no names: every repository of the registry, with its manifests and blobs', async () => {
    const out = join(dir, 'all.json')
    const r = await runCliJson<Record<string, unknown>>(inventoryArgs(registry.host, out))
    assert.equal(r.status, 0, r.stderr)
    assert.equal(r.json.repositories, 4)
    const inventory = JSON.parse(readFileSync(out, 'utf8')) as InventoryFile
    assert.deepEqual(
      inventory.repositories.map(x => x.name),
      ['dc/app', 'dc/team/web', 'dc/tools', 'other/x'],
    )
    for (const name of pushed.keys()) assertHolds(inventory, name)
  })

  it('REGISTRY/PREFIX and no names: only the repositories under the prefix', async () => {
    const out = join(dir, 'dc.json')
    const r = await runCli(inventoryArgs(`${registry.host}/dc`, out))
    assert.equal(r.status, 0, r.stderr)
    assert.match(r.stdout, /3 repositories/)
    const inventory = JSON.parse(readFileSync(out, 'utf8')) as InventoryFile
    assert.deepEqual(
      inventory.repositories.map(x => x.name),
      ['dc/app', 'dc/team/web', 'dc/tools'],
    )
    for (const name of ['dc/app', 'dc/team/web', 'dc/tools']) assertHolds(inventory, name)
  })

  it("follows the registry's Link headers page by page (n=1 gives one name per page)", async () => {
    const names = await client.catalog(registry.host, {pageSize: 1})
    assert.deepEqual(names, ['dc/app', 'dc/team/web', 'dc/tools', 'other/x'])
    // A bound on pages stops a registry that would page on: four one-name pages do not fit in three.
    await assert.rejects(client.catalog(registry.host, {pageSize: 1, maxPages: 3}), /more than 3 pages/)
    await assert.rejects(client.catalog(registry.host, {pageSize: 2, maxNames: 3}), /more than 3 repositories/)
  })
})

/** How a registry that will not list its repositories answers `GET /v2/_catalog`, and where that was seen. */
interface Refusal {
  name: string
  source: string
  answer(req: http.IncomingMessage, res: http.ServerResponse, base: string): void
}

const json = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, {'Content-Type': 'application/json', ...headers})
  res.end(JSON.stringify(body))
}

const REFUSALS: Refusal[] = [
  {
    name: 'GHCR',
    source:
      'GitHub staff: "we don\'t support the _catalog endpoint" and "404 page not found" (microsoft/vscode-docker#1525); still so in oras-project/oras-go#621',
    answer: (_req, res) => {
      res.writeHead(404, {'Content-Type': 'text/plain; charset=utf-8'})
      res.end('404 page not found\n')
    },
  },
  {
    name: 'Docker Hub',
    source:
      'docker/hub-feedback#2094: 401 with a Bearer challenge for scope registry:catalog:*, the token service grants a token, the retry is 401 error="insufficient_scope" (also regclient/regclient#539, rancher/rancher#47115)',
    answer: (req, res, base) => {
      const challenge = `Bearer realm="${base}/token",service="registry.docker.io",scope="registry:catalog:*"`
      const body = {
        errors: [
          {
            code: 'UNAUTHORIZED',
            message: 'authentication required',
            detail: [{Type: 'registry', Class: '', Name: 'catalog', Action: '*'}],
          },
        ],
      }
      json(res, 401, body, {
        'WWW-Authenticate': req.headers.authorization ? `${challenge},error="insufficient_scope"` : challenge,
      })
    },
  },
  {
    name: 'Harbor (non-admin)',
    source:
      'goharbor/harbor#13671, #21291, #22194: only system administrators may list the catalog; others get 401 {"errors":[{"code":"UNAUTHORIZED","message":"unauthorized to list catalog: ..."}]}',
    answer: (_req, res) =>
      json(res, 401, {
        errors: [{code: 'UNAUTHORIZED', message: 'unauthorized to list catalog: unauthorized to list catalog'}],
      }),
  },
  {
    name: 'forbidden',
    source: 'distribution spec error codes: DENIED, 403, "requested access to the resource is denied"',
    answer: (_req, res) =>
      json(res, 403, {errors: [{code: 'DENIED', message: 'requested access to the resource is denied'}]}),
  },
  {
    name: 'UNSUPPORTED',
    source:
      'distribution spec error codes (docker/distribution docs/spec/api.md): UNSUPPORTED, "the operation is unsupported", 405',
    answer: (_req, res) => json(res, 405, {errors: [{code: 'UNSUPPORTED', message: 'The operation is unsupported.'}]}),
  },
]

/** A registry front that answers the catalog (and, for Docker Hub's flow, a token) the way `answer` says. */
async function front(
  answer: (req: http.IncomingMessage, res: http.ServerResponse, base: string) => void,
): Promise<{host: string; requests: string[]; stop(): Promise<void>}> {
  const requests: string[] = []
  let base = ''
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`)
    if (req.url?.startsWith('/token')) return json(res, 200, {token: 'catalog-less', expires_in: 300})
    if (req.url?.startsWith('/v2/_catalog')) return answer(req, res, base)
    json(res, 404, {errors: [{code: 'NAME_UNKNOWN', message: 'repository name not known to registry'}]})
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`
  base = `http://${host}`
  return {host, requests, stop: () => new Promise(resolve => server.close(() => resolve()))}
}

describe('inventory --registry with no names on registries that refuse the catalog (replayed)', () => {
  let dir: string
  let cleanup: () => Promise<void>
  before(async () => {
    ;({dir, cleanup} = await tempDir('airlock-catalog-refused-'))
  })
  after(async () => cleanup?.())

  for (const refusal of REFUSALS)
    it(`${refusal.name}: one line naming the registry, a hint to name the repositories, no file (${refusal.source})`, async () => {
      const f = await front(refusal.answer)
      try {
        const out = join(dir, `${refusal.name.replace(/\W+/g, '-')}.json`)
        const r = await inventoryOfMirror(f.host, out)
        assert.equal(r.status, 1, r.stderr)
        assert.ok(!existsSync(out), 'no inventory written')
        const lines = r.stderr.trim().split('\n')
        assert.match(lines[0]!, new RegExp(`${f.host.replace(/\./g, '\\.')} does not list its repositories`))
        assert.match(r.stderr, /name the repositories to inventory as arguments/)
        assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace')
        assert.ok(
          f.requests.some(x => x.startsWith('GET /v2/_catalog')),
          f.requests.join('\n'),
        )
      } finally {
        await f.stop()
      }
    })
})

describe('inventory --registry with no names on Docker Hub, logged in (replayed)', () => {
  it('a token without the catalog scope (insufficient_scope after login): the same one line and hint', async () => {
    const hub = REFUSALS.find(r => r.name === 'Docker Hub')!
    const f = await front(hub.answer)
    const {dir, cleanup} = await tempDir('airlock-catalog-hub-')
    try {
      const out = join(dir, 'hub.json')
      const args = ['inventory', '--registry', `${f.host}/dc`, '--insecure-registry', f.host, '--no-state', '-o', out]
      const r = await runCli([...args, '--username', 'site', '--password-stdin'], {input: 'secret\n'})
      assert.equal(r.status, 1, r.stderr)
      assert.ok(!existsSync(out), 'no inventory written')
      assert.match(r.stderr, /does not list its repositories .*insufficient_scope/)
      assert.match(r.stderr, /name the repositories to inventory as arguments/)
      assert.ok(
        f.requests.some(x => x.startsWith('GET /token')),
        'the token flow ran',
      )
    } finally {
      await f.stop()
      await cleanup()
    }
  })
})

describe('the catalog of a hostile registry is bounded', () => {
  let dir: string
  let cleanup: () => Promise<void>
  before(async () => {
    ;({dir, cleanup} = await tempDir('airlock-catalog-hostile-'))
  })
  after(async () => cleanup?.())

  const cases: Array<{name: string; expect: RegExp; answer: Refusal['answer']}> = [
    {
      name: 'a Link to another host',
      expect: /next page on another origin \(http:\/\/127\.0\.0\.2:1\)/,
      answer: (_req, res) =>
        json(
          res,
          200,
          {repositories: ['dc/a']},
          {Link: '<http://127.0.0.2:1/v2/_catalog?last=dc/a&n=1000>; rel="next"'},
        ),
    },
    {
      name: 'a Link back to the same page',
      expect: /the next page links back to/,
      answer: (req, res) => json(res, 200, {repositories: ['dc/a']}, {Link: `<${req.url}>; rel="next"`}),
    },
    {
      name: 'Links without end',
      expect: /more than 1000 pages/,
      answer: (req, res) => {
        const page = Number(new URL(req.url!, 'http://x').searchParams.get('page') ?? 0)
        json(res, 200, {repositories: []}, {Link: `</v2/_catalog?n=1000&page=${page + 1}>; rel="next"`})
      },
    },
    {
      name: 'more names than any mirror holds',
      expect: /more than 100000 repositories/,
      answer: (_req, res) => json(res, 200, {repositories: Array.from({length: 100_001}, (_, i) => `dc/r${i}`)}),
    },
    {
      name: 'a name that is no repository path',
      expect: /"dc\/\.\.\/\.\.\/x" is not a repository name/,
      answer: (_req, res) => json(res, 200, {repositories: ['dc/../../x']}),
    },
  ]
  for (const c of cases)
    it(`${c.name}: refused in one line, no file`, async () => {
      const f = await front(c.answer)
      try {
        const out = join(dir, `${c.name.replace(/\W+/g, '-')}.json`)
        const r = await inventoryOfMirror(f.host, out)
        assert.equal(r.status, 1, r.stderr)
        assert.ok(!existsSync(out), 'no inventory written')
        assert.match(r.stderr.trim().split('\n')[0]!, c.expect)
        assert.ok(!f.requests.some(x => !x.startsWith('GET /v2/_catalog')), f.requests.slice(0, 5).join('\n'))
      } finally {
        await f.stop()
      }
    })
})
