// VolumeOutput in process (issue 13 item 5): where each entry of a volume set goes, how an entry larger than a
// volume is split into parts, what volumes.json records, and the refusals (an existing set, a body longer than its
// entry, commit with an entry still open, a forced export over a larger set). Volumes of 4-8 KiB (the output takes
// any size; the 64 KiB minimum is --volume-size's, checked in volumes.ts) make every placement exact and cheap: the
// expected offsets below follow from the tar layout (512-byte headers, bodies padded to 512, 1024-byte end marker,
// a 1024-byte label entry opening each volume).
import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'
import {readdirSync, readFileSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import {describe, it} from 'node:test'
import {blobPath} from '../src/archive/schema.ts'
import {VolumeOutput} from '../src/archive/volume-output.ts'
import {parseLabel, parseVolumesJson, type VolumesJson} from '../src/archive/volumes.ts'
import {ArchiveWriter, bufferStream} from '../src/archive/writer.ts'
import type {Digest} from '../src/oci/digest.ts'
import {failure, sha, streamingPool, tarEntries, workDir} from './support/archive-unit.ts'

// the pool is closed before the directory is removed (hooks run in the order they were registered)
const pool = streamingPool()
const work = workDir('airlock-volume-output-')
const entries = tarEntries
const manifestOf = (dir: string): {text: string; set: VolumesJson} => {
  const text = readFileSync(join(dir, 'set.volumes.json'), 'utf8')
  // parseVolumesJson refuses volumes under 64 KiB (--volume-size's minimum), so these small sets are read as JSON
  return {text, set: JSON.parse(text) as VolumesJson}
}
async function* chunks(bytes: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size)
}

describe('VolumeOutput', () => {
  it('places entries whole while they fit, starts a volume for one that fits an empty one, splits a larger one', async () => {
    const dir = work.subdir()
    const out = await VolumeOutput.create(join(dir, 'set.tar'), 8192, {force: false, hashes: pool()})
    assert.equal(out.bytesWritten, 1024)
    const a = randomBytes(3000)
    const b = randomBytes(3000)
    const c = randomBytes(20000)
    await out.addBuffer('a', a)
    assert.equal(out.bytesWritten, 1024 + 512 + 3072)
    await out.addBuffer('b', b)
    const region = await out.reserve('c', c.length)
    // chunks that cross the part boundaries (2048, 7680, 13312, 18944)
    await out.fill(region, chunks(c, 1000))
    await out.writeHeader(region)
    const summaryBefore = (() => {
      try {
        out.summary()
      } catch (error) {
        return error as Error & {code?: string}
      }
    })()
    assert.equal(summaryBefore?.code, 'INTERNAL')
    assert.equal(summaryBefore?.message, 'volume set not committed')
    const {bytes} = await out.commit(false)
    const {text, set} = manifestOf(dir)
    assert.equal(text, `${JSON.stringify(set, null, 2)}\n`)
    assert.deepEqual(
      set.volumes.map(v => [v.volume, v.file, v.size]),
      [
        [1, 'set.vol001.tar', 1024 + 3584 + 1024],
        [2, 'set.vol002.tar', 8192],
        [3, 'set.vol003.tar', 8192],
        [4, 'set.vol004.tar', 8192],
        [5, 'set.vol005.tar', 8192],
        [6, 'set.vol006.tar', 1024 + 512 + 1536 + 1024],
      ],
    )
    assert.equal(set.name, 'set')
    assert.equal(set.volumeSize, 8192)
    assert.equal(set.count, 6)
    assert.equal(set.totalBytes, 5632 + 4 * 8192 + 4096)
    assert.equal(bytes, set.totalBytes)
    const parts = [
      [1, 2, 0, 2048],
      [2, 3, 2048, 5632],
      [3, 4, 7680, 5632],
      [4, 5, 13312, 5632],
      [5, 6, 18944, 1056],
    ] as const
    assert.deepEqual(set.split, [
      {
        entry: 'c',
        size: 20000,
        parts: parts.map(([part, volume, at, size]) => ({
          part,
          volume,
          name: `parts/c.00${part}`,
          size,
          sha256: sha(c.subarray(at, at + size)),
        })),
      },
    ])
    const summary = out.summary()
    assert.equal(summary.manifest, join(dir, 'set.volumes.json'))
    assert.equal(summary.manifestSha256, sha(Buffer.from(text)))
    assert.equal(summary.setId, set.setId)
    assert.equal(summary.count, 6)
    assert.equal(summary.volumeSize, 8192)
    assert.equal(summary.totalBytes, set.totalBytes)
    assert.equal(summary.split, 1)
    const volumes = await Promise.all(set.volumes.map(v => entries(join(dir, v.file))))
    for (const [i, v] of set.volumes.entries()) {
      const file = readFileSync(join(dir, v.file))
      assert.equal(file.length, v.size)
      assert.equal(sha(file), v.sha256)
      assert.deepEqual(summary.volumes[i], {file: join(dir, v.file), size: v.size, sha256: v.sha256})
      const label = volumes[i]![0]!
      assert.equal(label.name, 'airlock-volume.json')
      assert.deepEqual(parseLabel(label.body, v.file), {airlockVolume: 1, setId: set.setId, volume: i + 1})
    }
    assert.deepEqual(
      volumes.map(v => v.slice(1).map(e => e.name)),
      [['a'], ['b', 'parts/c.001'], ['parts/c.002'], ['parts/c.003'], ['parts/c.004'], ['parts/c.005']],
    )
    assert.deepEqual(volumes[0]![1]!.body, a)
    assert.deepEqual(volumes[1]![1]!.body, b)
    assert.deepEqual(
      Buffer.concat(volumes.flatMap(v => v.filter(e => e.name.startsWith('parts/')).map(e => e.body))),
      c,
    )
    assert.deepEqual(readdirSync(dir).sort(), [...set.volumes.map(v => v.file), 'set.volumes.json'].sort())
  })

  it('an entry that exactly fills a volume stays in it; a directory that does not fit starts the next one', async () => {
    const dir = work.subdir()
    const out = await VolumeOutput.create(join(dir, 'set.tar'), 4096, {force: false, hashes: pool()})
    await out.addBuffer('x', randomBytes(1536))
    await out.addDirectory('d')
    await out.addDirectory('e/')
    await out.commit(false)
    const {set} = manifestOf(dir)
    assert.deepEqual(
      set.volumes.map(v => v.size),
      [4096, 1024 + 512 + 512 + 1024],
    )
    assert.deepEqual(set.split, [])
    const second = await entries(join(dir, 'set.vol002.tar'))
    assert.deepEqual(
      second.map(e => [e.name, e.type]),
      [
        ['airlock-volume.json', 'File'],
        ['d/', 'Directory'],
        ['e/', 'Directory'],
      ],
    )
    assert.deepEqual(
      (await entries(join(dir, 'set.vol001.tar'))).map(e => e.name),
      ['airlock-volume.json', 'x'],
    )
  })

  it('refuses an existing set (volumes.json or volume 1) unless forced; forced over a larger set removes its extra volumes', async () => {
    const dir = work.subdir()
    const path = join(dir, 'set.tar')
    const big = await VolumeOutput.create(path, 4096, {force: false, hashes: pool()})
    for (let i = 0; i < 4; i++) await big.addBuffer(`f${i}`, randomBytes(1536))
    await big.commit(false)
    assert.equal(manifestOf(dir).set.count, 4)
    const refused = await failure(VolumeOutput.create(path, 4096, {force: false, hashes: pool()}))
    assert.equal(refused.code, 'IO_ERROR')
    assert.equal(refused.message, `${join(dir, 'set.volumes.json')} already exists`)
    assert.equal(refused.hint, 'choose another output path or pass --force to overwrite the set')
    rmSync(join(dir, 'set.volumes.json'))
    const refused1 = await failure(VolumeOutput.create(path, 4096, {force: false, hashes: pool()}))
    assert.equal(refused1.message, `${join(dir, 'set.vol001.tar')} already exists`)
    const small = await VolumeOutput.create(path, 4096, {force: true, hashes: pool()})
    await small.addBuffer('g', randomBytes(1536))
    await small.addBuffer('h', randomBytes(100))
    await small.commit(true)
    const {set} = manifestOf(dir)
    assert.equal(set.count, 2)
    assert.deepEqual(readdirSync(dir).sort(), ['set.vol001.tar', 'set.vol002.tar', 'set.volumes.json'])
    assert.deepEqual(
      (await entries(join(dir, 'set.vol002.tar'))).map(e => e.name),
      ['airlock-volume.json', 'h'],
    )
  })

  it('a split entry longer than reserved is refused, and the set can then only be aborted', async () => {
    const dir = work.subdir()
    const out = await VolumeOutput.create(join(dir, 'set.tar'), 4096, {force: false, hashes: pool()})
    const region = await out.reserve('big', 5000)
    const refused = await failure(out.fill(region, chunks(randomBytes(5001), 700)))
    assert.equal(refused.code, 'SIZE_MISMATCH')
    assert.equal(refused.message, 'big: more than the expected 5000 bytes')
    const open = await failure(out.commit(false))
    assert.equal(open.code, 'INTERNAL')
    assert.equal(open.message, 'commit with entries still being written')
    assert.ok(readdirSync(dir).length >= 3)
    assert.ok(readdirSync(dir).every(f => f.includes('.partial-')))
    await out.abort()
    await out.abort()
    assert.deepEqual(readdirSync(dir), [])
  })

  it('an exactly sized split entry given as one chunk is cut at every part boundary', async () => {
    const dir = work.subdir()
    const out = await VolumeOutput.create(join(dir, 'set.tar'), 4096, {force: false, hashes: pool()})
    const body = randomBytes(5000)
    const region = await out.reserve('big', 5000)
    await out.fill(region, chunks(body, 5000))
    await out.writeHeader(region)
    await out.commit(false)
    const {set} = manifestOf(dir)
    assert.deepEqual(
      set.split[0]!.parts.map(p => [p.volume, p.size]),
      [
        [1, 1536],
        [2, 1536],
        [3, 1536],
        [4, 392],
      ],
    )
    const parts = await Promise.all(set.volumes.map(v => entries(join(dir, v.file))))
    assert.deepEqual(Buffer.concat(parts.map(v => v[1]!.body)), body)
  })
})

describe('ArchiveWriter over a volume set, hashing on workers', () => {
  it('a large blob split across volumes is hashed from the written parts; wrong bytes are refused', async () => {
    const dir = work.subdir()
    const path = join(dir, 'set.tar')
    // the writer closes its hash pool at commit and abort: each writer starts its own
    const w = await ArchiveWriter.create(path, {volumeSize: 65536, offloadHashBytes: 1000})
    const bytes = randomBytes(150_000)
    const digest = `sha256:${sha(bytes)}` as Digest
    await w.push({mediaType: 'application/octet-stream', digest, size: bytes.length}, bufferStream(bytes))
    const wrong = randomBytes(150_000)
    const expected = `sha256:${sha(randomBytes(8))}` as Digest
    const refused = await failure(
      w.push({mediaType: 'application/octet-stream', digest: expected, size: wrong.length}, bufferStream(wrong)),
    )
    assert.equal(refused.code, 'DIGEST_MISMATCH')
    assert.equal(refused.message, `blob ${expected}: content hashes to sha256:${sha(wrong)}, expected ${expected}`)
    await w.abort()
    assert.deepEqual(readdirSync(dir), [])
    const w2 = await ArchiveWriter.create(path, {volumeSize: 65536, offloadHashBytes: 1000})
    await w2.push({mediaType: 'application/octet-stream', digest, size: bytes.length}, bufferStream(bytes))
    await w2.commit()
    const set = parseVolumesJson(readFileSync(join(dir, 'set.volumes.json')), 'set.volumes.json')
    assert.equal(set.split.length, 1)
    assert.equal(set.split[0]!.entry, blobPath(digest))
    const all = (await Promise.all(set.volumes.map(v => entries(join(dir, v.file))))).flat()
    assert.deepEqual(Buffer.concat(all.filter(e => e.name.startsWith('parts/')).map(e => e.body)), bytes)
  })
})
