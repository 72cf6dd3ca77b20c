// push against real Distribution 2.8 registries (Debian docker-registry): a plain-HTTP source for export and a
// Basic-auth + TLS mirror. Images only: signature discovery at export has not landed yet (see docs/REGISTRIES.md).
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {rmSync} from 'node:fs'
import {join} from 'node:path'
import {Readable} from 'node:stream'
import {after, before, describe, it} from 'node:test'
import {AirlockError} from '../src/errors.ts'
import {ArchiveWriter} from '../src/archive/writer.ts'
import {exportImages} from '../src/export/export.ts'
import {sha256} from '../src/oci/digest.ts'
import {parseManifest} from '../src/oci/manifest.ts'
import {MediaType} from '../src/oci/media-types.ts'
import {parseReference} from '../src/reference/index.ts'
import {RegistryClient} from '../src/registry/index.ts'
import {parseMirrorTarget, pushArchive} from '../src/push/index.ts'
import {RegistryMirror} from '../src/registry/mirror.ts'
import {emptyCounters, updateFallbackTag} from '../src/push/tags.ts'
import {fallbackTag} from '../src/push/referrers.ts'
import {makeWorkDir, pushMultiPlatformImage} from './support/images.ts'
import {startRegistry, type StartedRegistry} from './support/registry.ts'
import {checkMirrorOf} from './support/mirror-check.ts'
import {denyAllPolicy, skipAllPolicy} from './support/policies.ts'

describe('push to a real registry', () => {
  let source: StartedRegistry
  let mirror: StartedRegistry
  let work: {dir: string; cleanup(): void}
  let archive: string
  let sourceClient: RegistryClient
  let mirrorClient: () => RegistryClient
  const policy = skipAllPolicy()

  before(async () => {
    ;[source, mirror] = await Promise.all([startRegistry(), startRegistry({auth: 'basic-tls'})])
    work = makeWorkDir()
    sourceClient = new RegistryClient({insecure: source.insecure})
    mirrorClient = () =>
      new RegistryClient({caFile: mirror.caFile!, username: mirror.username!, password: mirror.password!})
    const app = sourceClient.repository(parseReference(`${source.host}/team/app`))
    await pushMultiPlatformImage(app, work.dir, {tag: 'v1', sharedLayerSize: 3_000_000, layerSizes: [2_000_000]})
    const tool = sourceClient.repository(parseReference(`${source.host}/team/tool`))
    await pushMultiPlatformImage(tool, work.dir, {tag: '1.0', flavor: 'docker'})
    archive = join(work.dir, 'bundle.tar')
    await exportImages({
      sources: [`${source.host}/team/app:v1`, `${source.host}/team/tool:1.0`],
      output: archive,
      openRegistry: async reference => {
        const ref = parseReference(reference)
        const store = sourceClient.repository(ref)
        return {store, name: ref.toString(), reference: ref.reference, ...(ref.tag ? {tag: ref.tag} : {})}
      },
    })
  })

  after(async () => {
    sourceClient?.close()
    await Promise.all([source?.stop(), mirror?.stop()])
    work?.cleanup()
  })

  it('pushes an exported archive over TLS + auth, a second push sends nothing, and the mirror checks out', async () => {
    const target = parseMirrorTarget(`${mirror.host}/mirror`)
    const client = mirrorClient()
    const first = await pushArchive({archive, target, client, policy, talos: {}})
    assert.equal(first.verification.status, 'passed')
    assert.equal(first.images.length, 2)
    assert.equal(first.images[0]!.target.startsWith(`${mirror.host}/mirror/team/app:v1@sha256:`), true)
    assert.ok(first.totals.blobsPushed >= 8, `blobs pushed: ${first.totals.blobsPushed}`)
    assert.deepEqual(first.images[0]!.tags.written, ['v1'])
    assert.match(first.talosConfig!, new RegExp(`name: ${source.host.replace(/\./g, '\\.')}`))
    assert.match(first.talosConfig!, new RegExp(`url: https://${mirror.host.replace(/\./g, '\\.')}/v2/mirror`))
    console.log(
      `push: ${(first.totals.bytesPushed / 1e6).toFixed(1)} MB in ${first.seconds.toFixed(2)} s = ${first.megabytesPerSecond.toFixed(1)} MB/s`,
    )

    const second = await pushArchive({archive, target, client: mirrorClient(), policy})
    assert.equal(second.totals.blobsPushed, 0, 'no blob uploaded the second time')
    assert.equal(second.totals.blobsMounted, 0)
    assert.equal(second.totals.manifestsPushed, 0)
    assert.equal(second.totals.tagsWritten, 0)

    const check = await checkMirrorOf(archive, {target, client: mirrorClient(), deep: true})
    assert.equal(check.passed, true, check.problems.join('; '))
    assert.equal(check.images[0]!.manifests, 3)
    client.close()
  })

  it('lets skopeo inspect and copy the pushed images', () => {
    const creds = `${mirror.username}:${mirror.password}`
    const certDir = join(work.dir, 'certs')
    execFileSync('mkdir', ['-p', certDir])
    execFileSync('cp', [mirror.caFile!, join(certDir, 'ca.crt')])
    const inspect = JSON.parse(
      execFileSync(
        'skopeo',
        ['inspect', '--raw', '--cert-dir', certDir, '--creds', creds, `docker://${mirror.host}/mirror/team/app:v1`],
        {encoding: 'utf8'},
      ),
    )
    assert.equal(inspect.mediaType, MediaType.OciIndex)
    const out = join(work.dir, 'copied')
    execFileSync(
      'skopeo',
      [
        'copy',
        '--src-cert-dir',
        certDir,
        '--src-creds',
        creds,
        `docker://${mirror.host}/mirror/team/tool:1.0`,
        `oci:${out}:tool`,
      ],
      {stdio: 'pipe'},
    )
    rmSync(out, {recursive: true, force: true})
  })

  it('pushes nothing when verification fails', async () => {
    const empty = await startRegistry()
    try {
      const client = new RegistryClient({insecure: empty.insecure})
      await assert.rejects(
        pushArchive({archive, target: parseMirrorTarget(empty.host), client, policy: denyAllPolicy()}),
        {code: 'POLICY_DENIED', message: /nothing was pushed/},
      )
      // A corrupted archive fails the integrity preflight the same way.
      const bad = join(work.dir, 'bad.tar')
      const writer = await ArchiveWriter.create(bad)
      const layer = Buffer.from('layer')
      const config = Buffer.from('{}')
      const manifest = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MediaType.OciManifest,
          config: {mediaType: MediaType.OciConfig, digest: sha256(config), size: 2},
          layers: [{mediaType: MediaType.OciLayer, digest: sha256(layer), size: 5}],
        }),
      )
      for (const [bytes, mediaType] of [
        [layer, MediaType.OciLayer],
        [config, MediaType.OciConfig],
        [manifest, MediaType.OciManifest],
      ] as const)
        await writer.push({mediaType, digest: sha256(bytes), size: bytes.length}, Readable.from([bytes]))
      writer.addImage({
        reference: 'ghcr.io/x/y:1',
        source: 'ghcr.io/x/y:1',
        digest: sha256(manifest),
        mediaType: MediaType.OciManifest,
        size: manifest.length,
        tag: '1',
      })
      await writer.commit()
      // Flip the layer's bytes in place ("layer" -> "lazer"): same size, wrong digest.
      const buf = (await import('node:fs')).readFileSync(bad)
      const at = buf.indexOf(Buffer.from('layer'))
      buf[at + 2] = 'z'.charCodeAt(0)
      ;(await import('node:fs')).writeFileSync(bad, buf)
      // The layer is hashed while it uploads (everything else was judged first, issue 11): it is never committed,
      // no manifest and no tag is written, and a blob committed before it (the config) is named as left behind.
      let left: Array<{repository: string; digest: string}> = []
      await assert.rejects(
        pushArchive({archive: bad, target: parseMirrorTarget(empty.host), client, policy}),
        (error: unknown) => {
          assert.ok(error instanceof AirlockError)
          assert.equal(error.code, 'DIGEST_MISMATCH')
          assert.match(error.message, /no manifest or tag was pushed/)
          left = error.details?.['unreferencedBlobs'] as typeof left
          return true
        },
      )
      const head = async (path: string) => (await fetch(`${empty.url}/v2/x/y/${path}`, {method: 'HEAD'})).status
      assert.equal(await head(`manifests/${sha256(manifest)}`), 404, 'no manifest')
      assert.equal(await head('manifests/1'), 404, 'no tag')
      assert.equal(await head(`blobs/${sha256(layer)}`), 404, 'the corrupt layer was not committed')
      for (const blob of [config])
        if ((await head(`blobs/${sha256(blob)}`)) === 200)
          assert.ok(
            left.some(b => b.repository === 'x/y' && b.digest === sha256(blob)),
            JSON.stringify(left),
          )
      assert.ok(
        left.every(b => b.digest === sha256(config)),
        JSON.stringify(left),
      )
      client.close()
    } finally {
      await empty.stop()
    }
  })

  it('merges the fallback tag on Distribution (no referrers API) and keeps a referrer another tool wrote', async () => {
    const client = mirrorClient()
    const target = parseMirrorTarget(`${mirror.host}/fallback`)
    const registry = new RegistryMirror(client, target)
    const repo = registry.repository('fallback/app')
    const root = await client.repository(parseReference(`${mirror.host}/mirror/team/app`)).resolve('v1')
    assert.equal(
      await registry.supportsReferrers('mirror/team/app', root),
      false,
      'Distribution 2.8 has no referrers API',
    )
    const subject = {mediaType: MediaType.OciManifest, digest: sha256('subject'), size: 7}
    const makeReferrer = (n: string) => {
      const blob = Buffer.from(`bundle ${n}`)
      const bytes = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MediaType.OciManifest,
          artifactType: MediaType.SigstoreBundle03,
          config: {mediaType: MediaType.OciEmpty, digest: sha256('{}'), size: 2},
          layers: [{mediaType: MediaType.SigstoreBundle03, digest: sha256(blob), size: blob.length}],
          subject,
        }),
      )
      return {blob, raw: parseManifest(bytes)}
    }
    const counters = emptyCounters()
    for (const n of ['theirs', 'mine']) {
      const {blob, raw} = makeReferrer(n)
      await repo.push(
        {mediaType: MediaType.OciEmpty, digest: sha256('{}'), size: 2},
        Readable.from([Buffer.from('{}')]),
      )
      await repo.push(
        {mediaType: MediaType.SigstoreBundle03, digest: sha256(blob), size: blob.length},
        Readable.from([blob]),
      )
      await repo.push(
        {mediaType: raw.mediaType, digest: raw.digest, size: raw.bytes.length},
        Readable.from([raw.bytes]),
      )
      await updateFallbackTag(
        {dst: repo, repository: 'fallback/app', counters, onEvent: () => undefined},
        subject.digest,
        [raw],
      )
    }
    const listed = await repo.referrers(subject)
    assert.deepEqual(
      listed.map(d => d.digest),
      [makeReferrer('theirs').raw.digest, makeReferrer('mine').raw.digest],
    )
    assert.deepEqual(counters.fallbackTags, [fallbackTag(subject.digest), fallbackTag(subject.digest)])
    client.close()
  })
})
