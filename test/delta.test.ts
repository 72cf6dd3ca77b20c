// Issue 17 items 1-2, through the CLI on real registries (docker-registry): full export -> push -> inventory of the
// mirror -> a rebuilt image and a new image upstream -> delta export (--since, signed inventory) -> verify without
// --registry says "complete only together with the base" -> verify --registry confirms the base -> push of the
// delta (resumable; refused before any write into a mirror without the base) -> verify --registry of the mirror
// under the policy passes as for a full export. Then the attacker's archive: a tampered blob "left in the base".
import assert from 'node:assert/strict'
import {generateKeyPairSync} from 'node:crypto'
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {parseReference} from '../src/reference/index.ts'
import {RegistryClient} from '../src/registry/index.ts'
import {runCli, runCliJson} from './support/cli.ts'
import {readTar, writeTar} from './support/hostile/tar.ts'
import {tempDir} from './support/layouts.ts'
import {startRegistry, type StartedRegistry} from './support/registry.ts'
import {createTestSigstore, type TestSigstore} from './support/sigstore/index.ts'
import {layeredImage, randomLayer as layer, type OciImage} from './support/sigstore/oci.ts'
import {putImage} from './support/sigstore/registry-images.ts'

describe('delta archives: inventory, export --since, verify and push against the base', () => {
  let upstream: StartedRegistry
  let mirror: StartedRegistry
  let empty: StartedRegistry
  let ss: TestSigstore
  let dir: string
  let cleanup: () => Promise<void>
  let client: RegistryClient
  const shared = layer(200_000) // in app and, later, in the new image
  const appTop = layer(100_000)
  const tools = layer(150_000)
  let keyArgs: string[]
  let sitePub: string
  let siteKey: string

  const sign = async (name: string, image: OciImage, tag: string) => {
    const repo = client.repository(parseReference(`${upstream.host}/${name}`))
    await putImage(repo, image, tag)
    const sig = ss.signImageLegacy(`${upstream.host}/${name}`, image.manifestDescriptor.digest, {key: true})
    await putImage(repo, sig, `${image.manifestDescriptor.digest.replace(':', '-')}.sig`)
  }
  const exportArgs = () => ['export', '--no-tuf', '--no-rekor', '--insecure-registry', upstream.host]
  const refs = () => [`${upstream.host}/app:v1`, `${upstream.host}/tools:v1`]
  const mirrorFlags = (r: StartedRegistry) => ['--insecure-registry', r.host]
  /** `push [extra] ARCHIVE R/dc` with the site key. */
  const pushTo = (archive: string, r: StartedRegistry, ...extra: string[]) => [
    'push',
    ...keyArgs,
    ...mirrorFlags(r),
    ...extra,
    archive,
    `${r.host}/dc`,
  ]
  /** `verify ARCHIVE --registry R/dc` with the site key. */
  const verifyOn = (archive: string, r: StartedRegistry) => [
    'verify',
    ...keyArgs,
    archive,
    '--registry',
    `${r.host}/dc`,
    ...mirrorFlags(r),
  ]

  before(async () => {
    ;({dir, cleanup} = await tempDir('airlock-delta-'))
    ;[upstream, mirror, empty, ss] = await Promise.all([
      startRegistry(),
      startRegistry(),
      startRegistry(),
      createTestSigstore({listen: false}),
    ])
    client = new RegistryClient({insecure: upstream.insecure})
    await sign('app', layeredImage([shared, appTop], 'app1'), 'v1')
    await sign('tools', layeredImage([tools], 'tools1'), 'v1')
    writeFileSync(join(dir, 'cosign.pub'), ss.staticKeyPem)
    writeFileSync(join(dir, 'trusted_root.json'), ss.trustedRootJSON())
    keyArgs = ['--key', join(dir, 'cosign.pub'), '--trusted-root', join(dir, 'trusted_root.json')]
    const site = generateKeyPairSync('ec', {namedCurve: 'P-256'})
    siteKey = join(dir, 'site.key')
    sitePub = join(dir, 'site.pub')
    writeFileSync(siteKey, site.privateKey.export({type: 'pkcs8', format: 'pem'}))
    writeFileSync(sitePub, site.publicKey.export({type: 'spki', format: 'pem'}))
  })
  after(async () => {
    client?.close()
    await Promise.all([upstream?.stop(), mirror?.stop(), empty?.stop(), ss?.stop()])
    await cleanup?.()
  })

  it('full export, push, then a signed inventory of the mirror (about 100 bytes per blob)', async () => {
    const full = join(dir, 'full.tar')
    const e = await runCli([...exportArgs(), '-o', full, ...refs()])
    assert.equal(e.status, 0, e.stderr)
    const p = await runCli(pushTo(full, mirror))
    assert.equal(p.status, 0, p.stderr)
    const inv = await runCliJson<Record<string, unknown>>([
      'inventory',
      '--registry',
      `${mirror.host}/dc`,
      ...mirrorFlags(mirror),
      'app',
      'tools',
      'new',
      '--key',
      siteKey,
      '--no-state',
      '-o',
      join(dir, 'inventory.json'),
    ])
    assert.equal(inv.status, 0, inv.stderr + inv.stdout)
    assert.equal(inv.json.repositories, 3)
    // app: config + 2 layers + signature config + signature layer; tools: 2 + 2
    assert.equal(inv.json.blobs, 9)
    assert.equal(inv.json.signatures, 2)
    // One `["sha256:<64 hex>",size]` entry (about 85 bytes) per manifest or blob; in a file this small the fixed part
    // (repository names, signature tags, time) adds about a third. At scale: `npm run bench` prints the measure.
    const perEntry = (inv.json.sizeBytes as number) / ((inv.json.blobs as number) + (inv.json.manifests as number))
    assert.ok(perEntry <= 125, `bytes per entry: ${perEntry}`)
    assert.ok(existsSync(join(dir, 'inventory.json.sig')))
    const text = readFileSync(join(dir, 'inventory.json'), 'utf8')
    assert.ok(text.includes(shared.descriptor.digest) && text.includes(tools.descriptor.digest))
    // From the archive imported, the same blobs are found.
    const fromArchive = await runCliJson<Record<string, unknown>>(['inventory', full, '-o', join(dir, 'inv2.json')])
    assert.equal(fromArchive.status, 0, fromArchive.stderr)
    assert.equal(fromArchive.json.blobs, 9)
  })

  it('delta export carries only what the base lacks and records the base', async () => {
    // Upstream: app rebuilt (same base layer, new top layer), a new image on the shared layer.
    await sign('app', layeredImage([shared, layer(100_000)], 'app2'), 'v1')
    await sign('new', layeredImage([shared, layer(50_000)], 'new1'), 'v1')
    const delta = join(dir, 'delta.tar')
    const e = await runCliJson<Record<string, unknown>>([
      ...exportArgs(),
      '--since',
      join(dir, 'inventory.json'),
      '--inventory-key',
      sitePub,
      '-o',
      delta,
      ...refs(),
      `${upstream.host}/new:v1`,
    ])
    assert.equal(e.status, 0, e.stderr)
    const base = e.json.base as {blobs: number; bytes: number}
    assert.equal(base.blobs, 2) // the shared layer and the tools layer
    assert.equal(base.bytes, shared.descriptor.size + tools.descriptor.size)
    const airlock = JSON.parse(
      readTar(readFileSync(delta))
        .entries.find(x => x.name === 'airlock.json')!
        .body.toString(),
    )
    assert.match(airlock.base.inventory.sha256, /^sha256:[a-f0-9]{64}$/)
    assert.match(airlock.base.inventory.signer, /^sha256:[a-f0-9]{64}$/)
    assert.deepEqual(
      airlock.base.blobs.map((b: {digest: string}) => b.digest).sort(),
      [shared.descriptor.digest, tools.descriptor.digest].sort(),
    )
    const names = readTar(readFileSync(delta)).entries.map(x => x.name)
    assert.ok(!names.includes(`blobs/sha256/${shared.descriptor.digest.slice(7)}`))
    // inspect shows the base, not "missing" layers
    const inspect = await runCliJson<{base: {blobs: number}; images: Array<{problems: string[]}>}>(['inspect', delta])
    assert.equal(inspect.json.base.blobs, 2)
    assert.deepEqual(
      inspect.json.images.flatMap(i => i.problems),
      [],
    )
  })

  it('verify without --registry: carried content checked, "complete only together with the base", never verified', async () => {
    const delta = join(dir, 'delta.tar')
    const t = await runCli(['verify', ...keyArgs, delta])
    assert.equal(t.status, 1, t.stderr)
    assert.match(t.stdout, /complete only together with the base/)
    assert.match(t.stdout, new RegExp(shared.descriptor.digest))
    assert.doesNotMatch(t.stdout, /^verified/m)
    const j = await runCliJson<{ok: boolean; base: {status: string; blobs: number; expected: unknown[]}}>([
      'verify',
      ...keyArgs,
      delta,
    ])
    assert.equal(j.json.ok, false)
    assert.equal(j.json.base.status, 'unconfirmed')
    assert.equal(j.json.base.expected.length, 2)
  })

  it('verify --registry confirms the base in the mirror: complete (images still to push are named)', async () => {
    const delta = join(dir, 'delta.tar')
    const j = await runCliJson<{ok: boolean; base: {status: string}; mirror: {pending: string[]}}>(
      verifyOn(delta, mirror),
    )
    assert.equal(j.status, 0, j.stderr + j.stdout)
    assert.equal(j.json.ok, true)
    assert.equal(j.json.base.status, 'confirmed')
    assert.ok(j.json.mirror.pending.includes(`${upstream.host}/new:v1`))
  })

  it('push of the delta into a mirror without the base fails before any write, naming the blob', async () => {
    const r = await runCli(['push', ...keyArgs, ...mirrorFlags(empty), join(dir, 'delta.tar'), `${empty.host}/dc`])
    assert.equal(r.status, 1, r.stderr)
    assert.match(r.stderr, /expected in the base/)
    assert.ok(r.stderr.includes(shared.descriptor.digest) || r.stderr.includes(tools.descriptor.digest), r.stderr)
    const c = new RegistryClient({insecure: empty.insecure})
    try {
      for (const name of ['app', 'tools', 'new']) {
        const tags = await c
          .repository(parseReference(`${empty.host}/dc/${name}`))
          .tags()
          .catch(() => [])
        assert.deepEqual(tags, [], `${name} has tags ${tags}`)
      }
    } finally {
      c.close()
    }
  })

  it('push of the delta into the mirror holding the base works, again (resumable), and the mirror verifies', async () => {
    const delta = join(dir, 'delta.tar')
    // app:v1 was rebuilt: moving its tag is the operator's explicit --force
    const p = await runCli(pushTo(delta, mirror, '--force'))
    assert.equal(p.status, 0, p.stderr)
    const again = await runCliJson<{totals: {blobsPushed: number}}>(pushTo(delta, mirror))
    assert.equal(again.status, 0, again.stderr)
    assert.equal(again.json.totals.blobsPushed, 0)
    const v = await runCli(verifyOn(delta, mirror))
    assert.equal(v.status, 0, v.stderr + v.stdout)
    assert.match(v.stdout, /3\/3 image\(s\) intact on .*signatures verified from the mirror/)
    // Exactly as for a full export of the same images.
    const full = join(dir, 'full-now.tar')
    const e = await runCli([...exportArgs(), '-o', full, ...refs(), `${upstream.host}/new:v1`])
    assert.equal(e.status, 0, e.stderr)
    const vf = await runCli(verifyOn(full, mirror))
    assert.equal(vf.status, 0, vf.stderr + vf.stdout)
    assert.match(vf.stdout, /3\/3 image\(s\) intact on .*signatures verified from the mirror/)
  })

  it('attacker: a tampered blob moved "into the base" never verifies as complete', async () => {
    // The archive claims its rebuilt top layer is in the base (so the tampered bytes need not travel).
    const delta = readTar(readFileSync(join(dir, 'delta.tar')))
    const aj = delta.entries.find(x => x.name === 'airlock.json')!
    const json = JSON.parse(aj.body.toString())
    const carried = delta.entries.find(
      x =>
        x.name.startsWith('blobs/sha256/') &&
        x.body.length === 100_000 &&
        !json.base.blobs.some((b: {digest: string}) => b.digest.slice(7) === x.name.slice(13)),
    )!
    const digest = `sha256:${carried.name.slice(13)}`
    json.base.blobs.push({digest, size: 100_000, repository: 'dc/app'})
    const hostile = join(dir, 'hostile.tar')
    /** `entries` written to hostile.tar with airlock.json as `json` says now. */
    const rewrite = (entries: typeof delta.entries) =>
      writeFileSync(
        hostile,
        writeTar(
          entries.map(x =>
            x === aj ? {name: x.name, body: Buffer.from(JSON.stringify(json))} : {name: x.name, body: x.body},
          ),
        ),
      )
    rewrite(delta.entries.filter(x => x !== carried))
    const offline = await runCliJson<{ok: boolean; base: {status: string}}>(['verify', ...keyArgs, hostile])
    assert.equal(offline.status, 1)
    assert.equal(offline.json.ok, false)
    // The mirror holding the base does not have it (it was never pushed there): named, not complete.
    const online = await runCli(verifyOn(hostile, empty))
    assert.equal(online.status, 1, online.stdout)
    assert.match(online.stderr, /expected in the base/)
    const named = await runCliJson<{base: {status: string; missing: string[]}}>(verifyOn(hostile, empty))
    assert.equal(named.json.base.status, 'missing')
    assert.ok(
      named.json.base.missing.some(m => m.includes(digest)),
      named.json.base.missing.join('\n'),
    )
    // A base entry whose size disagrees with the manifest is refused even before the mirror is asked.
    json.base.blobs = json.base.blobs.map((b: {digest: string; size: number}) =>
      b.digest === shared.descriptor.digest ? {...b, size: b.size + 1} : b,
    )
    rewrite(delta.entries)
    const sized = await runCli(verifyOn(hostile, mirror))
    assert.equal(sized.status, 1)
    assert.match(sized.stdout + sized.stderr, /listed in airlock\.json base as \d+ bytes/)
  })

  it('bad inventories: one line, exit non-zero, nothing downloaded', async () => {
    const good = readFileSync(join(dir, 'inventory.json'), 'utf8')
    const unreachable = '127.0.0.1:9/never/downloaded:v1' // an export that got past the inventory would fail here
    const attempt = async (inventory: string, extra: string[] = []) => {
      const out = join(dir, 'bad.tar')
      const r = await runCli([...exportArgs(), '--since', inventory, ...extra, '-o', out, unreachable])
      assert.equal(r.status === 0, false)
      assert.equal(existsSync(out), false)
      const errors = r.stderr.split('\n').filter(l => l.startsWith('airlock: error:'))
      assert.equal(errors.length, 1, r.stderr)
      assert.doesNotMatch(r.stderr, /127\.0\.0\.1:9/, `${inventory} ${extra.join(' ')}`)
      return errors[0]!
    }
    const write = (name: string, text: string) => {
      writeFileSync(join(dir, name), text)
      return join(dir, name)
    }
    const short = good.replace(shared.descriptor.digest, shared.descriptor.digest.slice(0, 40))
    assert.match(await attempt(write('short.json', short)), /not a valid sha256 digest/)
    const upper = good.replace(
      shared.descriptor.digest,
      shared.descriptor.digest.toUpperCase().replace('SHA256', 'sha256'),
    )
    assert.match(await attempt(write('upper.json', upper)), /not a valid sha256 digest/)
    const parsed = JSON.parse(good)
    parsed.repositories[0].blobs.push(parsed.repositories[0].blobs[0])
    assert.match(await attempt(write('dup.json', JSON.stringify(parsed))), /lists sha256:[a-f0-9]{64} twice/)
    const extra = JSON.parse(good)
    extra.note = 'hello'
    assert.match(await attempt(write('extra.json', JSON.stringify(extra))), /unexpected field "note"/)
    // Signed inventory, changed after signing: the signature no longer verifies.
    assert.ok(good.includes('"dc/app"'))
    const tampered = write('tampered.json', good.replace('"dc/app"', '"dc/apq"'))
    writeFileSync(`${tampered}.sig`, readFileSync(join(dir, 'inventory.json.sig')))
    assert.match(await attempt(tampered, ['--inventory-key', sitePub]), /signature does not verify/)
    // Another key signed it.
    const other = generateKeyPairSync('ec', {namedCurve: 'P-256'})
    const otherPub = write('other.pub', other.publicKey.export({type: 'spki', format: 'pem'}).toString())
    assert.match(
      await attempt(join(dir, 'inventory.json'), ['--inventory-key', otherPub]),
      /signature does not verify with the --inventory-key key/,
    )
    // Unsigned, but a key is expected.
    assert.match(await attempt(join(dir, 'inv2.json'), ['--inventory-key', sitePub]), /is not signed/)
  })
})
