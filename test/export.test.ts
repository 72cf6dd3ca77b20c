import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {readFile, writeFile, readdir} from 'node:fs/promises'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {ArchiveReader} from '../src/archive/reader.ts'
import {GraphCopier} from '../src/copy/copy.ts'
import {exportImages} from '../src/export/export.ts'
import {parseReference} from '../src/reference/index.ts'
import {RegistryClient} from '../src/registry/index.ts'
import {parseSource} from '../src/store/source.ts'
import {verifyArchive} from '../src/verify/verify.ts'
import {standardLayout, tempDir} from './support/layouts.ts'
import {startRegistry, type StartedRegistry} from './support/registry.ts'
import {registryOpener} from './support/open-registry.ts'

describe('export', () => {
  let dir: string
  let cleanup: () => Promise<void>
  let layout: Awaited<ReturnType<typeof standardLayout>>
  const src = (name: string) => `oci:${dir}/layout:example.com/test/${name}:1.0`

  before(async () => {
    ;({dir, cleanup} = await tempDir())
    layout = await standardLayout(join(dir, 'layout'))
  })
  after(() => cleanup())

  it('round trips: export from an oci: layout, then verify', async () => {
    const out = join(dir, 'round.tar')
    const result = await exportImages({sources: [src('single'), src('multi')], output: out})
    assert.equal(result.images.length, 2)
    assert.deepEqual(
      result.images.find(i => i.reference === 'example.com/test/multi:1.0')?.platforms?.map(p => p.platform),
      ['linux/amd64', 'linux/arm64', 'linux/arm/v7'],
    )
    const report = await verifyArchive(out)
    assert.equal(report.ok, true, JSON.stringify(report.problems))
    assert.equal(report.images.length, 2)
  })

  it('stores shared blobs once (dedup across images and platforms)', async () => {
    const out = join(dir, 'dedup.tar')
    // The multi index twice (same ref), plus the single image: the shared layer is in all four manifests.
    await exportImages({sources: [src('single'), src('multi'), src('multi')], output: out})
    const reader = await ArchiveReader.open(out, {hash: true})
    const names = [...reader.entries.keys()].filter(n => n.startsWith('blobs/'))
    // single: manifest+config+2 layers = 4; multi: index + 3 x (manifest+config+own layer) = 10; shared layer once
    assert.equal(names.length, 4 + 10)
    assert.equal(reader.index.manifests.length, 2)
    await reader.close()
  })

  it('filters platforms, keeps the index bytes, and records what was carried', async () => {
    const out = join(dir, 'filtered.tar')
    const result = await exportImages({sources: [src('multi')], output: out, platforms: ['linux/arm64']})
    const image = result.images[0]!
    assert.equal(image.digest, layout.multi.digest)
    assert.equal(image.filtered, true)
    assert.deepEqual(
      image.platforms?.map(p => p.platform),
      ['linux/arm64'],
    )
    const report = await verifyArchive(out)
    assert.equal(report.ok, true, JSON.stringify(report))
    assert.deepEqual(report.images[0]!.omittedPlatforms, ['linux/amd64', 'linux/arm/v7'])
    await assert.rejects(
      exportImages({sources: [src('multi')], output: join(dir, 'none.tar'), platforms: ['windows/amd64']}),
      {code: 'NOT_FOUND'},
    )
  })

  it('never destroys an existing file at the output path, and leaves no temporary files after a failure', async () => {
    const out = join(dir, 'existing.tar')
    await writeFile(out, 'precious')
    await assert.rejects(exportImages({sources: [src('single')], output: out}), /already exists/)
    // --force, but the export fails (a source that does not exist): the old file must survive.
    await assert.rejects(exportImages({sources: [src('single'), `oci:${dir}/layout:nope`], output: out, force: true}), {
      code: 'NOT_FOUND',
    })
    assert.equal(await readFile(out, 'utf8'), 'precious')
    assert.deepEqual(
      (await readdir(dir)).filter(n => n.includes('.partial-') || n.includes('.staging-')),
      [],
    )
    await exportImages({sources: [src('single')], output: out, force: true})
    assert.equal((await verifyArchive(out)).ok, true)
  })

  it('writes an archive skopeo reads by the full reference', async () => {
    const out = join(dir, 'skopeo.tar')
    await exportImages({sources: [src('single'), src('multi')], output: out})
    const single = JSON.parse(
      execFileSync('skopeo', ['inspect', `oci-archive:${out}:example.com/test/single:1.0`], {encoding: 'utf8'}),
    ) as {Digest: string}
    assert.equal(single.Digest, layout.single.digest)
    const raw = JSON.parse(
      execFileSync('skopeo', ['inspect', '--raw', `oci-archive:${out}:example.com/test/multi:1.0`], {encoding: 'utf8'}),
    ) as {manifests: unknown[]}
    assert.equal(raw.manifests.length, 3)
  })

  it('reads oci-archive: sources (an archive re-exported verifies)', async () => {
    const first = join(dir, 'first.tar')
    await exportImages({sources: [src('multi')], output: first})
    const second = join(dir, 'second.tar')
    await exportImages({sources: [`oci-archive:${first}:example.com/test/multi:1.0`], output: second})
    assert.equal((await verifyArchive(second)).ok, true)
  })

  it('parses skopeo-style source names', () => {
    assert.deepEqual(parseSource('oci:/a/b:example.com/x:1'), {
      transport: 'oci',
      input: 'oci:/a/b:example.com/x:1',
      path: '/a/b',
      ref: 'example.com/x:1',
    })
    assert.deepEqual(parseSource('oci-archive:f.tar'), {
      transport: 'oci-archive',
      input: 'oci-archive:f.tar',
      path: 'f.tar',
    })
    assert.equal(parseSource('docker://alpine').transport, 'registry')
  })
})

describe('export from a registry', () => {
  let registry: StartedRegistry
  let dir: string
  let cleanup: () => Promise<void>
  let client: RegistryClient

  before(async () => {
    registry = await startRegistry({auth: 'none'})
    ;({dir, cleanup} = await tempDir())
    client = new RegistryClient({insecure: registry.insecure})
    const layout = await standardLayout(join(dir, 'layout'))
    // Seed the registry with the one graph copy (layout -> registry), the same code push uses.
    for (const [name, root] of [
      ['single', layout.single],
      ['multi', layout.multi],
    ] as const) {
      const repo = client.repository(parseReference(`${registry.host}/test/${name}:1.0`))
      await new GraphCopier(repo).copy(layout.builder.store, root)
      await repo.tag(root, '1.0')
    }
  })
  after(async () => {
    client.close()
    await registry.stop()
    await cleanup()
  })

  const openRegistry = (reference: string) => registryOpener(client)(reference)

  it('exports registry images with parallel staged downloads, and resumes from --cache', async () => {
    const out = join(dir, 'reg.tar')
    const sources = [`${registry.host}/test/single:1.0`, `${registry.host}/test/multi:1.0`]
    const cache = join(dir, 'cache')
    const first = await exportImages({sources, output: out, openRegistry, cacheDir: cache, concurrency: 6})
    assert.equal(first.reusedFromCache, 0)
    assert.equal(first.images[0]!.reference, `${registry.host}/test/single:1.0`)
    assert.equal((await verifyArchive(out)).ok, true)
    const again = await exportImages({sources, output: join(dir, 'reg2.tar'), openRegistry, cacheDir: cache})
    assert.ok(again.reusedFromCache >= 10, `reused ${again.reusedFromCache}`)
    assert.equal((await verifyArchive(join(dir, 'reg2.tar'))).ok, true)
  })
})
