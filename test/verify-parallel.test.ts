// verify's hashing pass on worker threads (src/archive/hash-pool.ts) and push's "skip hashing what the mirror
// already holds" input: the same verdicts as the in-thread pass, and a waived blob never waives a manifest check.
import assert from 'node:assert/strict'
import {copyFile, open} from 'node:fs/promises'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {ArchiveReader} from '../src/archive/reader.ts'
import {scanTar} from '../src/archive/tar.ts'
import {isManifestType} from '../src/oci/media-types.ts'
import {verifyArchive} from '../src/verify/verify.ts'
import {standardArchive, tempDir} from './support/layouts.ts'

async function blobEntries(file: string): Promise<Array<{name: string; dataOffset: number; size: number}>> {
  const out: Array<{name: string; dataOffset: number; size: number}> = []
  await scanTar(file, e => {
    if (/^blobs\/sha256\/[a-f0-9]{64}$/.test(e.name)) out.push(e)
    return undefined
  })
  return out
}

async function flipByte(file: string, out: string, offset: number): Promise<void> {
  await copyFile(file, out)
  const fh = await open(out, 'r+')
  const b = Buffer.alloc(1)
  await fh.read(b, 0, 1, offset)
  b[0] = b[0]! ^ 0xff
  await fh.write(b, 0, 1, offset)
  await fh.close()
}

describe('verify: parallel hashing and skipped digests', () => {
  let dir: string
  let cleanup: () => Promise<void>
  let good: string

  before(async () => {
    ;({dir, cleanup} = await tempDir())
    good = join(dir, 'good.tar')
    await standardArchive(dir, good)
  })
  after(() => cleanup())

  it('worker threads and the in-thread pass compute the same digest for every entry', async () => {
    const inThread = await ArchiveReader.open(good, {hash: true, workers: 0})
    const pooled = await ArchiveReader.open(good, {hash: true, workers: 2})
    try {
      assert.ok(inThread.entries.size > 10)
      for (const [name, record] of inThread.entries) {
        assert.ok(record.digest, name)
        assert.equal(pooled.entries.get(name)?.digest, record.digest, name)
      }
    } finally {
      await inThread.close()
      await pooled.close()
    }
  })

  it('finds a flipped byte in any blob with worker threads, naming the blob', async () => {
    for (const blob of (await blobEntries(good)).filter(b => b.size > 0)) {
      const bad = join(dir, 'flip.tar')
      await flipByte(good, bad, blob.dataOffset + Math.floor(blob.size / 2))
      const report = await verifyArchive(bad, {workers: 2})
      assert.equal(report.ok, false, blob.name)
      assert.ok(
        report.problems.some(p => p.entry === blob.name && p.code === 'DIGEST_MISMATCH'),
        blob.name,
      )
    }
  })

  it('does not hash blobs listed in skipHash, counts them, and still checks everything else', async () => {
    const reader = await ArchiveReader.open(good)
    const layers = new Set<string>()
    const manifests = new Set<string>()
    for (const root of reader.index.manifests) {
      const walk = async (d: {digest: string; mediaType: string}): Promise<void> => {
        if (!isManifestType(d.mediaType)) return void layers.add(d.digest)
        manifests.add(d.digest)
        const m = (await reader.manifest(d as never)).parsed
        if (m.kind === 'index') for (const c of m.manifests) await walk(c)
        else for (const l of m.layers) await walk(l)
      }
      await walk(root)
    }
    await reader.close()
    assert.ok(layers.size > 0 && manifests.size > 0)
    const blobs = await blobEntries(good)
    const layer = blobs.find(b => layers.has(`sha256:${b.name.slice(-64)}`) && b.size > 0)!
    const bad = join(dir, 'skipped-layer.tar')
    await flipByte(good, bad, layer.dataOffset)
    const layerDigest = `sha256:${layer.name.slice(-64)}`

    // the corrupt layer is waived (the mirror holds that digest): verification passes and says so
    const waived = await verifyArchive(bad, {
      skipHash: {digests: new Set([layerDigest]), reason: 'already in the mirror'},
    })
    assert.equal(waived.ok, true, JSON.stringify(waived.problems))
    assert.deepEqual(waived.hashSkipped, {blobs: 1, bytes: layer.size, reason: 'already in the mirror'})
    // without the waiver the same archive fails
    assert.equal((await verifyArchive(bad)).ok, false)

    // a waived manifest is still read and hashed when the graph is walked: corruption there still fails
    const manifest = blobs.find(b => manifests.has(`sha256:${b.name.slice(-64)}`))!
    const badManifest = join(dir, 'skipped-manifest.tar')
    await flipByte(good, badManifest, manifest.dataOffset + 1)
    const report = await verifyArchive(badManifest, {skipHash: {digests: manifests, reason: 'already in the mirror'}})
    assert.equal(report.ok, false)
  })
})
