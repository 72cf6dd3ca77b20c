// Issue 17 item 3, through the CLI: `export --trust-only` carries the TUF repository and nothing else (a few
// hundred KB at most); `verify` of it needs no policy, advances the rollback state and reports the new trust; a
// replay of the older refresh is refused in one line; a trust-only archive that lists images, or carries no TUF
// data, is not a trust refresh.
import assert from 'node:assert/strict'
import {readFileSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {parseReference} from '../src/reference/index.ts'
import {RegistryClient} from '../src/registry/index.ts'
import {ROOT, runCli, runCliJson} from './support/cli.ts'
import {startRegistry} from './support/registry.ts'
import {createTestSigstore, sampleImage} from './support/sigstore/index.ts'
import {putImage} from './support/sigstore/registry-images.ts'
import {readTar, writeTar} from './support/hostile/tar.ts'
import {tempDir} from './support/layouts.ts'
import {startStaticServer, type StaticServer} from './support/static-server.ts'
import {TestTufRepo} from './support/tuf-repo.ts'

describe('export --trust-only: a trust refresh on its own', () => {
  let repo: TestTufRepo
  let server: StaticServer
  let dir: string
  let cleanup: () => Promise<void>
  let rootFile: string
  const exportTrust = (out: string) =>
    runCli(['export', '--trust-only', '--tuf-mirror', server.url, '--tuf-root', rootFile, '-o', out])

  before(async () => {
    ;({dir, cleanup} = await tempDir('airlock-trust-only-'))
    repo = new TestTufRepo({rootVersions: 2})
    server = await startStaticServer(repo.dir)
    rootFile = join(dir, 'root.json')
    writeFileSync(rootFile, repo.pinnedRoot())
  })
  after(async () => {
    await server?.stop()
    repo?.remove()
    await cleanup?.()
  })

  it('carries only the TUF repository; verify advances the state; a replay of the older one is refused', async () => {
    const older = join(dir, 'trust-1.tar')
    const newer = join(dir, 'trust-2.tar')
    const e1 = await exportTrust(older)
    assert.equal(e1.status, 0, e1.stderr)
    assert.match(e1.stderr, /trust-only archive: the TUF repository, no images/)
    const names = readTar(readFileSync(older)).entries.map(e => e.name)
    assert.ok(
      names.every(
        n =>
          ['oci-layout', 'index.json', 'airlock.json', 'blobs/', 'blobs/sha256/'].includes(n) ||
          n.startsWith('sigstore/'),
      ),
      names.join(' '),
    )
    assert.ok(names.some(n => n.startsWith('sigstore/tuf/')))
    assert.ok(statSync(older).size < 500_000, `${statSync(older).size} bytes`)
    repo.publish() // timestamp, snapshot, targets v+1
    const e2 = await exportTrust(newer)
    assert.equal(e2.status, 0, e2.stderr)

    const state = join(dir, 'state')
    // No policy needed: there is nothing to sign-check, only trust to refresh.
    const v = await runCli(['verify', newer, '--tuf-root', rootFile, '--state', state])
    assert.equal(v.status, 0, v.stderr + v.stdout)
    assert.match(v.stdout, /^ok +trust/m)
    assert.match(v.stdout, /timestamp v2/)
    assert.match(v.stdout, /^trust refresh verified: the TUF repository of 1 mirror/m)
    assert.match(v.stdout, /TUF state recorded in /)
    const j = await runCliJson<{ok: boolean; trustOnly: boolean; images: unknown[]}>([
      'verify',
      newer,
      '--tuf-root',
      rootFile,
      '--no-state',
    ])
    assert.equal(j.json.ok, true)
    assert.equal(j.json.trustOnly, true)
    assert.deepEqual(j.json.images, [])

    const replay = await runCli(['verify', older, '--tuf-root', rootFile, '--state', state])
    assert.equal(replay.status, 1, replay.stdout)
    const errors = replay.stderr.split('\n').filter(l => l.startsWith('airlock: error:'))
    assert.equal(errors.length, 1, replay.stderr)
    assert.match(errors[0]!, /older than .* accepted on an earlier import/)
    // The inventory of the disconnected side reports the versions accepted.
    const inv = await runCliJson<{tuf: number}>([
      'inventory',
      older,
      '--state',
      state,
      '-o',
      join(dir, 'inventory.json'),
    ])
    assert.equal(inv.status, 0, inv.stderr + inv.stdout)
    assert.equal(inv.json.tuf, 1)
    const tuf = JSON.parse(readFileSync(join(dir, 'inventory.json'), 'utf8')).tuf[0]
    assert.equal(tuf.timestamp, 2)
  })

  it('a "trust-only" archive with images listed, or without TUF data, is not a trust refresh', async () => {
    const good = join(dir, 'trust-3.tar')
    assert.equal((await exportTrust(good)).status, 0)
    const {entries} = readTar(readFileSync(good))
    const noTuf = join(dir, 'no-tuf.tar')
    const aj = entries.find(e => e.name === 'airlock.json')!
    const json = JSON.parse(aj.body.toString())
    json.files = Object.fromEntries(Object.entries(json.files).filter(([p]) => !p.startsWith('sigstore/tuf/')))
    writeFileSync(
      noTuf,
      writeTar(
        entries
          .filter(e => !e.name.startsWith('sigstore/tuf/'))
          .map(e => ({name: e.name, body: e === aj ? Buffer.from(JSON.stringify(json)) : e.body})),
      ),
    )
    const r = await runCli(['verify', noTuf, '--no-state'])
    assert.equal(r.status, 1, r.stdout + r.stderr)
    assert.match(r.stderr, /no trusted root|no TUF repository was verified/)
    assert.doesNotMatch(r.stdout, /trust refresh verified/)
    // Images slipped into index.json of a trust-only archive.
    const idx = entries.find(e => e.name === 'index.json')!
    const index = JSON.parse(idx.body.toString())
    index.manifests.push({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: `sha256:${'a'.repeat(64)}`,
      size: 10,
      annotations: {'org.opencontainers.image.ref.name': 'example.com/x:1'},
    })
    const withImages = join(dir, 'with-images.tar')
    writeFileSync(
      withImages,
      writeTar(entries.map(e => ({name: e.name, body: e === idx ? Buffer.from(JSON.stringify(index)) : e.body}))),
    )
    const w = await runCli(['verify', withImages, '--tuf-root', rootFile, '--no-state'])
    assert.equal(w.status, 1, w.stdout)
    assert.doesNotMatch(w.stdout, /trust refresh verified/)
  })

  it("verify --registry of an existing mirror with the new trust (--trust-from) after the archive's own expired", async () => {
    const [upstream, mirror, ss] = await Promise.all([
      startRegistry(),
      startRegistry(),
      createTestSigstore({listen: false}),
    ])
    const signedRepo = new TestTufRepo({rootVersions: 1, trustedRoot: Buffer.from(ss.trustedRootJSON())})
    const signedServer = await startStaticServer(signedRepo.dir)
    const client = new RegistryClient({insecure: upstream.insecure})
    try {
      const root = join(dir, 'signed-root.json')
      writeFileSync(root, signedRepo.pinnedRoot())
      writeFileSync(join(dir, 'cosign.pub'), ss.staticKeyPem)
      const name = `${upstream.host}/app`
      const image = sampleImage('trust-from')
      await putImage(client.repository(parseReference(`${name}:v1`)), image, 'v1')
      const sig = ss.signImageLegacy(name, image.manifestDescriptor.digest, {key: true})
      await putImage(
        client.repository(parseReference(`${name}:v1`)),
        sig,
        `${image.manifestDescriptor.digest.replace(':', '-')}.sig`,
      )
      const tuf = ['--tuf-mirror', signedServer.url, '--tuf-root', root]
      const old = join(dir, 'images-old.tar')
      const e = await runCli([
        'export',
        ...tuf,
        '--no-rekor',
        '--insecure-registry',
        upstream.host,
        '-o',
        old,
        `${name}:v1`,
      ])
      assert.equal(e.status, 0, e.stderr)
      const verifyArgs = ['--key', join(dir, 'cosign.pub'), '--tuf-root', root, '--no-state']
      const p = await runCli(['push', ...verifyArgs, '--insecure-registry', mirror.host, old, `${mirror.host}/dc`])
      assert.equal(p.status, 0, p.stderr)
      // A month later: a new timestamp (valid 40 days) travels alone.
      signedRepo.publish({timestampExpires: new Date(Date.now() + 40 * 86_400_000)})
      const refresh = join(dir, 'refresh.tar')
      const t = await runCli(['export', '--trust-only', ...tuf, '-o', refresh])
      assert.equal(t.status, 0, t.stderr)
      const later = {
        env: {
          NODE_OPTIONS: `--import ${join(ROOT, 'test/support/clock.ts')}`,
          AIRLOCK_CLOCK_OFFSET_MS: String(3 * 86_400_000),
        },
      }
      const mirrorArgs = ['--registry', `${mirror.host}/dc`, '--insecure-registry', mirror.host, '--tuf-grace', '0']
      const expired = await runCli(['verify', old, ...verifyArgs, ...mirrorArgs], later)
      assert.equal(expired.status, 1, expired.stdout)
      assert.match(expired.stdout + expired.stderr, /expired/)
      const renewed = await runCli(['verify', old, ...verifyArgs, ...mirrorArgs, '--trust-from', refresh], later)
      assert.equal(renewed.status, 0, renewed.stdout + renewed.stderr)
      assert.match(renewed.stdout, /timestamp v2/)
      assert.match(renewed.stdout, /1\/1 image\(s\) intact on /)
      // --trust-from takes a trust refresh only.
      const wrong = await runCli(['verify', old, ...verifyArgs, '--trust-from', old])
      assert.equal(wrong.status, 2, wrong.stderr)
      assert.match(wrong.stderr, /not a trust refresh/)
    } finally {
      client.close()
      await Promise.all([upstream.stop(), mirror.stop(), ss.stop(), signedServer.stop()])
      signedRepo.remove()
    }
  })

  it('--trust-only takes no images', async () => {
    const r = await runCli(['export', '--trust-only', '-o', join(dir, 'x.tar'), 'example.com/a:1'])
    assert.equal(r.status, 2)
    assert.match(r.stderr, /--trust-only carries no images/)
  })
})
