// Issue 16 item 4: `airlock diff OLD.tar NEW.tar`. A real registry (Debian's docker-registry) holds three images;
// the CLI exports them, one image is rebuilt (same tag, one platform gets a new top layer), the CLI exports again,
// and diff must name exactly that image, that platform and that layer, and count the blobs the second transfer
// shared. Hostile inputs: a damaged archive is one line and a non-zero exit.
import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import {readdirSync, readFileSync, truncateSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {parseReference} from '../src/reference/index.ts'
import {RegistryClient} from '../src/registry/index.ts'
import {buildImage, buildIndex, pushImage, pushIndex, randomLayerFile, type TestImage} from './support/images.ts'
import {runCli, runCliJson} from './support/cli.ts'
import {tempDir} from './support/layouts.ts'
import {startRegistry, type StartedRegistry} from './support/registry.ts'
import {MediaType} from '../src/oci/media-types.ts'
import {escapeMarkdown} from '../src/report/markdown.ts'
import {mirrorIdFor} from '../src/trust/index.ts'
import {
  createTestSigstore,
  referrersIndex,
  sampleImage,
  sampleIndex,
  type TestSigstore,
} from './support/sigstore/index.ts'
import {putImage} from './support/sigstore/registry-images.ts'
import {startStaticServer, type StaticServer} from './support/static-server.ts'
import {TestTufRepo} from './support/tuf-repo.ts'

/** Signers of the test Sigstore instance (the identities its Fulcio-style certificates name). */
const ORG = {identity: 'ci@org.example', issuer: 'https://accounts.google.com'}
const SIDEROLABS = {identity: 'release@siderolabs.com', issuer: 'https://accounts.google.com'}

interface DiffJson {
  verified: boolean
  notice: string
  imagesAdded: Array<{reference: string}>
  imagesRemoved: Array<{reference: string}>
  imagesChanged: Array<{
    reference: string
    oldDigest: string
    newDigest: string
    platforms: Array<{
      platform: string
      change: string
      configChanged: boolean
      layersAdded: Array<{digest: string; size: number}>
      layersRemoved: Array<{digest: string; size: number}>
      layersAddedBytes: number
    }>
  }>
  imagesUnchanged: string[]
  signersChanged: unknown[]
  attestationsAdded: unknown[]
  tuf: unknown[]
  trustedRootChanged: boolean
  blobs: {shared: number; sharedBytes: number; added: number; addedBytes: number; removed: number; removedBytes: number}
}

describe('airlock diff', () => {
  let dir: string
  let cleanup: () => Promise<void>
  let registry: StartedRegistry
  let oldTar: string
  let newTar: string
  let rebuiltLayer: {digest: string; size: number}
  let droppedLayer: {digest: string; size: number}
  before(async () => {
    ;({dir, cleanup} = await tempDir('airlock-diff-'))
    registry = await startRegistry()
    const client = new RegistryClient({insecure: registry.insecure})
    const repo = (name: string) => client.repository(parseReference(`${registry.host}/${name}`))
    try {
      // app:1 is a two-platform index sharing a base layer; tools:1 and base:1 are single manifests.
      const base = await randomLayerFile(dir, 4096, MediaType.OciLayer)
      const amd64 = await buildImage(dir, {sharedLayers: [base], layerSizes: [2048]})
      const arm64 = await buildImage(dir, {
        sharedLayers: [base],
        layerSizes: [3072],
        platform: {os: 'linux', architecture: 'arm64'},
      })
      await pushIndex(repo('team/app:1'), buildIndex([amd64, arm64]), '1')
      await pushImage(repo('team/tools:1'), await buildImage(dir, {layerSizes: [1500]}), '1')
      await pushImage(repo('team/base:1'), await buildImage(dir, {layerSizes: [1200]}), '1')
      const sources = ['team/app:1', 'team/tools:1', 'team/base:1'].map(n => `${registry.host}/${n}`)
      const exportTo = async (out: string) => {
        const r = await runCli([
          'export',
          '--no-tuf',
          '--signatures',
          'skip',
          '--insecure-registry',
          registry.host,
          '-o',
          out,
          ...sources,
        ])
        assert.equal(r.status, 0, r.stderr)
      }
      oldTar = join(dir, 'old.tar')
      await exportTo(oldTar)
      // The rebuild: arm64 gets a new top layer (same base), amd64 is byte-identical, the index is new.
      const rebuilt: TestImage = await buildImage(dir, {
        sharedLayers: [base],
        layerSizes: [5000],
        platform: {os: 'linux', architecture: 'arm64'},
      })
      rebuiltLayer = {digest: rebuilt.layers[1]!.descriptor.digest, size: 5000}
      droppedLayer = {digest: arm64.layers[1]!.descriptor.digest, size: 3072}
      await pushIndex(repo('team/app:1'), buildIndex([amd64, rebuilt]), '1')
      newTar = join(dir, 'new.tar')
      await exportTo(newTar)
    } finally {
      client.close()
    }
  })
  after(async () => {
    await registry?.stop()
    await cleanup?.()
  })

  it('names exactly the rebuilt image, its changed platform and layers, and the blobs shared', async () => {
    const run = await runCliJson<DiffJson>(['diff', oldTar, newTar])
    assert.equal(run.status, 0, run.stderr)
    const diff = run.json
    assert.equal(diff.verified, false)
    assert.match(diff.notice, /verifies nothing/)
    assert.deepEqual(diff.imagesAdded, [])
    assert.deepEqual(diff.imagesRemoved, [])
    assert.deepEqual(
      diff.imagesChanged.map(i => i.reference),
      [`${registry.host}/team/app:1`],
    )
    assert.deepEqual(diff.imagesUnchanged.sort(), [`${registry.host}/team/base:1`, `${registry.host}/team/tools:1`])
    const [app] = diff.imagesChanged
    const byPlatform = Object.fromEntries(app!.platforms.map(p => [p.platform, p]))
    assert.equal(byPlatform['linux/amd64']?.change, 'unchanged')
    assert.deepEqual(byPlatform['linux/amd64']?.layersAdded, [])
    const arm = byPlatform['linux/arm64']!
    assert.equal(arm.change, 'changed')
    assert.equal(arm.configChanged, true)
    assert.deepEqual(
      arm.layersAdded.map(l => ({digest: l.digest, size: l.size})),
      [rebuiltLayer],
    )
    assert.deepEqual(
      arm.layersRemoved.map(l => ({digest: l.digest, size: l.size})),
      [droppedLayer],
    )
    assert.equal(arm.layersAddedBytes, 5000)
    // New blobs: the rebuilt layer, its config, its manifest and the new index; everything else was shared.
    assert.equal(diff.blobs.added, 4)
    assert.equal(diff.blobs.removed, 4)
    assert.ok(diff.blobs.shared > 0 && diff.blobs.sharedBytes > 4096, JSON.stringify(diff.blobs))
    assert.deepEqual(diff.signersChanged, [])
    assert.deepEqual(diff.tuf, [])
  })

  it('text output says NOT VERIFIED first, then the change; --report writes Markdown and HTML', async () => {
    const md = join(dir, 'change.md')
    const r = await runCli(['diff', oldTar, newTar, '--report', md])
    assert.equal(r.status, 0, r.stderr)
    const lines = r.stdout.split('\n')
    assert.match(lines[0]!, /^NOT VERIFIED: /)
    assert.match(r.stdout, new RegExp(`^changed  ${registry.host.replace(/\./g, '\\.')}/team/app:1 `, 'm'))
    assert.match(
      r.stdout,
      /^ +linux\/arm64: changed .*layers \+sha256:[0-9a-f]{12} 5\.0 KB -sha256:[0-9a-f]{12} 3\.1 KB/m,
    )
    assert.doesNotMatch(r.stdout, /linux\/amd64: changed/)
    assert.doesNotMatch(r.stdout, /^changed .*team\/(tools|base)/m)
    assert.match(r.stdout, /^unchanged: 2 image\(s\)$/m)
    const text = readFileSync(md, 'utf8')
    assert.match(text, /^> ⚠️ \*\*NOT VERIFIED: 1 image change\\\(s\\\)\*\*$/m)
    assert.ok(text.includes(rebuiltLayer.digest))
    const html = join(dir, 'change.html')
    const h = await runCli(['diff', oldTar, newTar, '--report', html])
    assert.equal(h.status, 0, h.stderr)
    const page = readFileSync(html, 'utf8')
    assert.match(page, /NOT VERIFIED: 1 image change\(s\)/)
    assert.doesNotMatch(page, /<script|<link|src=/i)
  })

  it('a damaged archive: one line, non-zero exit, no report', async () => {
    const damaged = join(dir, 'damaged.tar')
    writeFileSync(damaged, readFileSync(newTar))
    truncateSync(damaged, Math.floor(readFileSync(newTar).length / 2))
    const report = join(dir, 'damaged.md')
    const r = await runCli(['diff', oldTar, damaged, '--report', report])
    assert.equal(r.status, 1)
    const errors = r.stderr.trim().split('\n')
    assert.equal(errors.filter(l => l.startsWith('airlock: error: ')).length, 1, r.stderr)
    assert.match(r.stderr, /damaged\.tar/)
    assert.equal(r.stdout, '')
    assert.ok(!readdirSync(dir).some(n => n.startsWith('damaged.md') || n.startsWith('.damaged.md')))
  })

  it('an archive whose manifest does not hash to its name is refused in one line', async () => {
    // Flip one byte inside the index blob (a manifest diff reads): the reader checks it against its name.
    const bytes = readFileSync(newTar)
    const at = bytes.indexOf('"platform":{"os":"linux","architecture":"arm64"')
    assert.ok(at > 0)
    bytes[at + 20] = 'X'.charCodeAt(0)
    const forged = join(dir, 'forged.tar')
    writeFileSync(forged, bytes)
    const r = await runCli(['diff', oldTar, forged])
    assert.equal(r.status, 1, r.stdout)
    assert.equal(
      r.stderr
        .trim()
        .split('\n')
        .filter(l => l.startsWith('airlock: error: ')).length,
      1,
      r.stderr,
    )
    assert.match(r.stderr, /hashes to|DIGEST|does not match|expected/i)
  })
})

describe('airlock diff: signers, attestations and trust material', () => {
  let dir: string
  let cleanup: () => Promise<void>
  let registry: StartedRegistry
  let ss: TestSigstore
  let tuf: TestTufRepo
  let server: StaticServer
  let oldTar: string
  let newTar: string
  let name: string
  before(async () => {
    ;({dir, cleanup} = await tempDir('airlock-diff-signers-'))
    ;[registry, ss] = await Promise.all([startRegistry(), createTestSigstore()])
    const trustedRoot = Buffer.from(ss.trustedRootJSON())
    tuf = new TestTufRepo({rootVersions: 2, trustedRoot})
    server = await startStaticServer(tuf.dir)
    const rootFile = join(dir, 'root.json')
    writeFileSync(rootFile, tuf.pinnedRoot())
    const client = new RegistryClient({insecure: registry.insecure})
    name = `${registry.host}/team/signed`
    const repo = client.repository(parseReference(`${name}:v1`))
    const exportTo = async (out: string) => {
      const r = await runCli([
        'export',
        '--no-rekor',
        '--tuf-mirror',
        server.url,
        '--tuf-root',
        `${mirrorIdFor(server.url)}=${rootFile}`,
        '--insecure-registry',
        registry.host,
        '-o',
        out,
        `${name}:v1`,
      ])
      assert.equal(r.status, 0, r.stderr)
    }
    try {
      // First transfer: the index signed by ORG (one bundle referrer).
      const amd = sampleImage('signed-amd64')
      await putImage(repo, amd)
      const index = sampleIndex([{image: amd, platform: {architecture: 'amd64', os: 'linux'}}])
      await repo.pushManifest(index.bytes, index.descriptor.mediaType, 'v1')
      const first = ss.signImageBundle(index.descriptor, name, ORG)
      await putImage(repo, first)
      const fallbackTag = index.descriptor.digest.replace(':', '-')
      let fallback = referrersIndex([first])
      await repo.pushManifest(fallback.bytes, fallback.descriptor.mediaType, fallbackTag)
      oldTar = join(dir, 'old.tar')
      await exportTo(oldTar)
      // Second transfer: a second signer and an attestation appear; the TUF repository moved on (root rotated, new
      // timestamp/snapshot/targets) and its trusted_root.json target changed bytes.
      const second = ss.signImageBundle(index.descriptor, name, SIDEROLABS)
      const attestation = ss.attestImageBundle(index.descriptor, name, ORG)
      await putImage(repo, second)
      await putImage(repo, attestation)
      fallback = referrersIndex([first, second, attestation])
      await repo.pushManifest(fallback.bytes, fallback.descriptor.mediaType, fallbackTag)
      tuf.rotateRoot()
      tuf.targetFiles.set('trusted_root.json', Buffer.from(JSON.stringify(JSON.parse(trustedRoot.toString()), null, 1)))
      tuf.publish()
      newTar = join(dir, 'new.tar')
      await exportTo(newTar)
    } finally {
      client.close()
    }
  })
  after(async () => {
    await Promise.all([registry?.stop(), server?.stop(), ss?.stop()])
    tuf?.remove()
    await cleanup?.()
  })

  it('names the signer that appeared, the attestation added, the TUF versions and the trusted_root change', async () => {
    const run = await runCliJson<DiffJson>(['diff', oldTar, newTar])
    assert.equal(run.status, 0, run.stderr)
    const diff = run.json as DiffJson & {
      signersChanged: Array<{reference: string; appeared: unknown[]; gone: unknown[]; old: unknown[]}>
      attestationsAdded: Array<{reference: string; kind: string}>
      tuf: Array<{
        mirror: string
        old: Record<string, unknown>
        new: Record<string, unknown>
        trustedRootChanged: boolean
      }>
    }
    assert.deepEqual(diff.imagesChanged, [])
    assert.deepEqual(diff.imagesUnchanged, [`${name}:v1`])
    assert.deepEqual(diff.signersChanged, [
      {
        reference: `${name}:v1`,
        old: [{...ORG, keyed: false}],
        new: [
          {...ORG, keyed: false},
          {...SIDEROLABS, keyed: false},
        ],
        appeared: [{...SIDEROLABS, keyed: false}],
        gone: [],
      },
    ])
    assert.equal(diff.attestationsAdded.length, 1)
    assert.equal(diff.attestationsAdded[0]?.reference, `${name}:v1`)
    assert.equal(diff.tuf.length, 1)
    const [mirror] = diff.tuf
    assert.equal(mirror?.mirror, mirrorIdFor(server.url))
    assert.deepEqual({root: mirror?.old.rootVersion, timestamp: mirror?.old.timestampVersion}, {root: 2, timestamp: 1})
    assert.deepEqual({root: mirror?.new.rootVersion, timestamp: mirror?.new.timestampVersion}, {root: 3, timestamp: 2})
    assert.equal(mirror?.trustedRootChanged, true)
    assert.equal(diff.trustedRootChanged, true)
    const text = await runCli(['diff', oldTar, newTar])
    assert.match(
      text.stdout,
      /^signer appeared .*team\/signed:v1: release@siderolabs\.com \(issuer https:\/\/accounts\.google\.com\)$/m,
    )
    assert.match(
      text.stdout,
      /^TUF .*: root v2, timestamp v1, .* -> root v3, timestamp v2, .*; trusted_root\.json changed$/m,
    )
  })

  it('verify --report of the new archive names its TUF chain (mirror, pinned and reached root, trusted_root sha256)', async () => {
    const file = join(dir, 'verify.md')
    const r = await runCli([
      'verify',
      newTar,
      '--no-state',
      '--tuf-root',
      `${mirrorIdFor(server.url)}=${join(dir, 'root.json')}`,
      '--certificate-identity',
      SIDEROLABS.identity,
      '--certificate-oidc-issuer',
      SIDEROLABS.issuer,
      '--report',
      file,
    ])
    assert.equal(r.status, 0, r.stderr)
    const md = readFileSync(file, 'utf8')
    const trustedRoot = createHash('sha256')
      .update(JSON.stringify(JSON.parse(ss.trustedRootJSON()), null, 1))
      .digest('hex')
    assert.ok(
      md.includes(`\n### ${escapeMarkdown(`TUF mirror ${mirrorIdFor(server.url)}`)}\n`),
      'TUF mirror section missing',
    )
    assert.match(md, /^- \*\*Pinned root:\*\* v1 \\\(fingerprint [0-9a-f]+\\\)$/m)
    assert.match(md, /^- \*\*Root reached:\*\* v3$/m)
    assert.ok(md.includes(`\`${trustedRoot}\``), 'trusted_root.json sha256 missing')
    assert.match(md, /^- \*\*Grace used:\*\* no$/m)
    assert.match(md, /release@siderolabs\.com/)
  })
})
