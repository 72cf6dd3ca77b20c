// Issue 17 speed items for volume sets, held to their properties: at export each volume's sha256 is computed from
// the bytes as they are written, even when entries are filled out of order and in parallel, and a failed entry
// releases every entry waiting behind it (no export hangs on a hole); at verify each volume is read once for its own
// sha256 and its entries' (split entries across volumes included, on worker threads or in this thread), and a
// damaged volume is still named.
import assert from 'node:assert/strict'
import {createHash, randomBytes} from 'node:crypto'
import {openSync, readdirSync, readFileSync, writeSync, closeSync} from 'node:fs'
import {join} from 'node:path'
import {PassThrough, Readable} from 'node:stream'
import {after, before, describe, it} from 'node:test'
import {ArchiveReader} from '../src/archive/reader.ts'
import {ArchiveWriter} from '../src/archive/writer.ts'
import type {Descriptor} from '../src/oci/descriptor.ts'
import {sha256} from '../src/oci/digest.ts'
import {MediaType} from '../src/oci/media-types.ts'
import {tempDir} from './support/layouts.ts'

const MiB = 1024 * 1024
const fileSha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex')

function blob(size: number): {bytes: Buffer; descriptor: Descriptor} {
  const bytes = randomBytes(size)
  return {bytes, descriptor: {mediaType: MediaType.OciLayer, digest: sha256(bytes), size}}
}

/** A stream that yields `bytes` in 64 KiB chunks only once `gate` resolves (a download that has not started yet). */
function gated(bytes: Buffer, gate: Promise<void>): Readable {
  return Readable.from(
    (async function* () {
      await gate
      for (let at = 0; at < bytes.length; at += 64 * 1024) yield bytes.subarray(at, at + 64 * 1024)
    })(),
    {objectMode: false},
  )
}

interface VolumesJson {
  volumes: Array<{file: string; size: number; sha256: string}>
  split: Array<{entry: string; parts: Array<{volume: number}>}>
}

describe('volume hashes at export: from the bytes as written', () => {
  let dir: string
  let cleanup: () => Promise<void>
  before(async () => ({dir, cleanup} = await tempDir('airlock-volhash-')))
  after(() => cleanup())

  it('entries filled out of order, in parallel, across a split: every volume hash is the sha256 of its file', async () => {
    const out = join(dir, 'order', 'set.tar')
    await import('node:fs/promises').then(fs => fs.mkdir(join(dir, 'order')))
    const writer = await ArchiveWriter.create(out, {volumeSize: 4 * MiB})
    const blobs = [blob(3 * MiB), blob(1 * MiB + 7), blob(9 * MiB + 513), blob(2 * MiB), blob(100)]
    // Each blob's download starts only when released: the last reserved ones first, the first ones last.
    const releases: Array<() => void> = []
    const pushes = blobs.map(b => {
      const gate = new Promise<void>(r => releases.push(r))
      return writer.push(b.descriptor, gated(b.bytes, gate))
    })
    await new Promise(r => setTimeout(r, 50))
    for (const release of [...releases].reverse()) {
      release()
      await new Promise(r => setTimeout(r, 20))
    }
    await Promise.all(pushes)
    const summary = await writer.commit()
    assert.ok(summary.volumes && summary.volumes.count >= 4, `volumes: ${summary.volumes?.count}`)
    assert.ok(summary.volumes.split >= 1, 'the 9 MiB blob is split across volumes')
    const set = JSON.parse(readFileSync(join(dir, 'order', 'set.volumes.json'), 'utf8')) as VolumesJson
    for (const v of set.volumes) {
      const path = join(dir, 'order', v.file)
      assert.equal(readFileSync(path).length, v.size, v.file)
      assert.equal(fileSha256(path), v.sha256, `${v.file}: volumes.json's sha256 is not the file's`)
    }
    assert.deepEqual(
      readdirSync(join(dir, 'order')).filter(n => n.includes('.partial-')),
      [],
      'no temporary left after commit',
    )
  })

  it('entries written long before the one ahead of them (read back when the hash gets there): the volume hashes are still right', async () => {
    await import('node:fs/promises').then(fs => fs.mkdir(join(dir, 'spill')))
    const writer = await ArchiveWriter.create(join(dir, 'spill', 'set.tar'), {volumeSize: 4 * MiB})
    const blobs = [blob(2 * MiB), blob(3 * MiB + 11), blob(5 * MiB), blob(700 * 1024)]
    const releases: Array<() => void> = []
    const pushes = blobs.map(b => {
      const gate = new Promise<void>(r => releases.push(r))
      return writer.push(b.descriptor, gated(b.bytes, gate))
    })
    // The first entry starts last, long after the others were written.
    for (const release of releases.slice(1)) release()
    await new Promise(r => setTimeout(r, 200))
    releases[0]!()
    await Promise.all(pushes)
    await writer.commit()
    const set = JSON.parse(readFileSync(join(dir, 'spill', 'set.volumes.json'), 'utf8')) as VolumesJson
    for (const v of set.volumes) assert.equal(fileSha256(join(dir, 'spill', v.file)), v.sha256, v.file)
  })

  it('an entry that fails releases the entries waiting behind it: the export fails, it does not hang', async () => {
    await import('node:fs/promises').then(fs => fs.mkdir(join(dir, 'fail')))
    const writer = await ArchiveWriter.create(join(dir, 'fail', 'set.tar'), {volumeSize: 8 * MiB})
    const first = blob(2 * MiB)
    const second = blob(3 * MiB)
    const broken = new PassThrough()
    const firstPush = writer.push(first.descriptor, broken)
    broken.write(first.bytes.subarray(0, 64 * 1024))
    await new Promise(r => setTimeout(r, 20))
    // The second entry is reserved after the first, so its bytes wait for the first's to be hashed.
    const secondPush = writer.push(second.descriptor, Readable.from([second.bytes]))
    await new Promise(r => setTimeout(r, 50))
    broken.destroy(new Error('connection reset'))
    const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error('hung')), 10_000).unref())
    await assert.rejects(Promise.race([firstPush, timeout]), /connection reset/)
    // The second entry no longer waits for the first's hash (its ranges are read back later): it may finish, but
    // it must not hang, and the set cannot be committed with the first entry's hole.
    await Promise.race([secondPush.catch(() => undefined), timeout])
    await assert.rejects(Promise.race([writer.commit(), timeout]), /connection reset/)
    await writer.abort()
    assert.deepEqual(readdirSync(join(dir, 'fail')), [], 'abort removes every partial volume')
  })
})

describe('volume hashes at verify: one read per volume', () => {
  let dir: string
  let cleanup: () => Promise<void>
  let blobs: ReturnType<typeof blob>[]
  const setDir = () => join(dir, 'set')
  before(async () => {
    ;({dir, cleanup} = await tempDir('airlock-volverify-'))
    await import('node:fs/promises').then(fs => fs.mkdir(setDir()))
    const writer = await ArchiveWriter.create(join(setDir(), 'v.tar'), {volumeSize: 2 * MiB})
    blobs = [blob(300 * 1024), blob(7 * MiB + 3), blob(1 * MiB), blob(0)]
    for (const b of blobs) await writer.push(b.descriptor, Readable.from([b.bytes]))
    await writer.commit()
  })
  after(() => cleanup())

  for (const workers of [0, 2])
    it(`every entry's digest, split ones across volumes included (${workers ? 'worker threads' : 'this thread'})`, async () => {
      const reader = await ArchiveReader.open(join(setDir(), 'v.volumes.json'), {hash: true, workers})
      try {
        assert.ok(reader.hashed)
        for (const b of blobs) assert.equal(reader.blob(b.descriptor.digest)?.digest, b.descriptor.digest)
        const split = reader.blob(blobs[1]!.descriptor.digest)!
        assert.ok(split.parts && split.parts.length >= 3, 'the 7 MiB blob spans volumes')
        for (const record of reader.entries.values()) assert.ok(record.digest, `${record.name} not hashed`)
      } finally {
        await reader.close()
      }
    })

  it('a byte flipped inside a split entry: the volume holding it is named', async () => {
    const set = JSON.parse(readFileSync(join(setDir(), 'v.volumes.json'), 'utf8')) as VolumesJson
    const damaged = join(dir, 'damaged')
    await import('node:fs/promises').then(fs => fs.cp(setDir(), damaged, {recursive: true}))
    const middle = set.split[0]!.parts[1]!.volume
    const file = join(damaged, set.volumes[middle - 1]!.file)
    const fd = openSync(file, 'r+')
    writeSync(fd, Buffer.from([0x5a]), 0, 1, 700 * 1024)
    closeSync(fd)
    for (const workers of [0, 2])
      await assert.rejects(ArchiveReader.open(join(damaged, 'v.volumes.json'), {hash: true, workers}), (e: Error) => {
        assert.match(e.message, new RegExp(`${set.volumes[middle - 1]!.file}: volume ${middle} hashes to sha256`))
        return true
      })
  })
})

describe('ordered hash: written ranges never wait, the worker reads them back in file order', () => {
  it('the entry behind goes on at once, the digest is still the sha256 of the bytes in order', async () => {
    const {OrderedHash} = await import('../src/archive/ordered-hash.ts')
    const {HashPool} = await import('../src/archive/hash-pool.ts')
    const {dir, cleanup} = await tempDir('airlock-ordered-')
    const pool = HashPool.startStreaming(1)
    try {
      const file = randomBytes(5 * MiB + 123)
      const path = join(dir, 'file')
      await import('node:fs/promises').then(fs => fs.writeFile(path, file))
      const hash = new OrderedHash(pool.stream(), path)
      // The first MiB (the cursor's entry) is slow; the rest is written at once and is not held for it.
      for (let m = 1; m <= 5; m++) hash.written(m * MiB, Math.min(MiB, file.length - m * MiB))
      assert.equal(hash.position, 0, 'nothing sent while the first MiB is missing')
      await new Promise(r => setTimeout(r, 50))
      hash.known(0, file.subarray(0, 512))
      hash.written(512, MiB - 512)
      assert.equal(hash.position, file.length, 'everything sent once the hole is filled')
      assert.equal(await hash.digest(file.length), createHash('sha256').update(file).digest('hex'))
    } finally {
      await pool.close()
      await cleanup()
    }
  })
})
