// The archive as a push source, in process (issue 13 item 5): ArchiveReader's store interface (fetch, rereadable,
// exists, readEntry, manifest) and the segment reads of src/archive/entries.ts, which push reaches only through the
// built CLI (mutation testing cannot use it). One plain archive and one volume set (with a layer split across
// volumes) are written once by the real exporter from an OCI layout; every expected byte comes from that layout.
import assert from 'node:assert/strict'
import {
  appendFileSync,
  closeSync,
  copyFileSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from 'node:fs'
import {mkdtemp, open} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import type {Readable} from 'node:stream'
import {after, before, describe, it} from 'node:test'
import {readSegments, segmentStream, type Segment} from '../src/archive/entries.ts'
import {identityOf, type OpenFile} from '../src/archive/file-identity.ts'
import {ArchiveReader, type EntryRecord} from '../src/archive/reader.ts'
import {blobPath} from '../src/archive/schema.ts'
import {volumeFile} from '../src/archive/volumes.ts'
import {exportImages} from '../src/export/export.ts'
import type {Descriptor} from '../src/oci/descriptor.ts'
import type {Digest} from '../src/oci/digest.ts'
import {failure} from './support/archive-unit.ts'
import {Archive} from './support/hostile/base.ts'
import {LayoutBuilder} from './support/layouts.ts'

const IMAGE = 'example.com/test/app:1.0'
const VOLUME = 100_000

let work: string
let layoutDir: string
let plain: string
let setDir: string
let big: Descriptor
let small: Descriptor
let manifest: Descriptor
let n = 0

const bytesOf = (d: Descriptor): Buffer => readFileSync(join(layoutDir, blobPath(d.digest)))
async function drain(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}
function copyOf(path: string): string {
  const to = join(work, `copy${n++}.tar`)
  copyFileSync(path, to)
  return to
}
function copySet(): string {
  const to = join(work, `set${n++}`)
  mkdirSync(to)
  for (const f of readdirSync(setDir)) copyFileSync(join(setDir, f), join(to, f))
  return join(to, 'set.volumes.json')
}
/** Overwrites one byte of a file in place (same size: the reader's open handles still see the file). */
function flipByte(path: string, at: number): void {
  const fd = openSync(path, 'r+')
  const b = Buffer.alloc(1)
  readSync(fd, b, 0, 1, at)
  b[0] = b[0]! ^ 0xff
  writeSync(fd, b, 0, 1, at)
  closeSync(fd)
}

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'airlock-read-unit-'))
  layoutDir = join(work, 'layout')
  const b = await LayoutBuilder.create(layoutDir)
  big = await b.randomLayer(3 * VOLUME + 12_345)
  small = await b.randomLayer(5_000)
  manifest = await b.image([big, small])
  await b.tag(manifest, IMAGE)
  plain = join(work, 'plain.tar')
  await exportImages({sources: [`oci:${layoutDir}:${IMAGE}`], output: plain})
  setDir = join(work, 'set')
  mkdirSync(setDir)
  await exportImages({sources: [`oci:${layoutDir}:${IMAGE}`], output: join(setDir, 'set.tar'), volumeSize: VOLUME})
})
after(() => rmSync(work, {recursive: true, force: true}))

describe('ArchiveReader as a push source (plain archive)', () => {
  it('fetch streams a blob verified against its descriptor; exists compares digest and size', async () => {
    const reader = await ArchiveReader.open(plain)
    try {
      for (const d of [big, small, manifest]) {
        assert.deepEqual(await drain(await reader.fetch(d)), bytesOf(d))
        assert.equal(await reader.exists(d), true)
        assert.equal(await reader.exists({...d, size: d.size + 1}), false)
      }
      const absent = {...small, digest: `sha256:${'0'.repeat(64)}` as Digest}
      assert.equal(await reader.exists(absent), false)
      assert.equal(reader.fileOf(reader.blob(big.digest)!), plain)
    } finally {
      await reader.close()
    }
  })

  it('a blob not in the archive is NOT_FOUND, a descriptor of another size SIZE_MISMATCH, naming both sizes', async () => {
    const reader = await ArchiveReader.open(plain)
    try {
      const absent = {...small, digest: `sha256:${'0'.repeat(64)}` as Digest}
      const e1 = await failure(reader.fetch(absent))
      assert.equal(e1.code, 'NOT_FOUND')
      assert.equal(e1.message, `${plain}: blob ${absent.digest} not found`)
      const e2 = await failure(reader.rereadable({...small, size: small.size - 1}))
      assert.equal(e2.code, 'SIZE_MISMATCH')
      assert.equal(e2.message, `${plain}: blob ${small.digest} is ${small.size} bytes, expected ${small.size - 1}`)
      const e3 = await failure(reader.fetch({...small, size: small.size + 1}))
      assert.equal(e3.code, 'SIZE_MISMATCH')
    } finally {
      await reader.close()
    }
  })

  it('rereadable: any range of the blob, and a range outside it refused', async () => {
    const reader = await ArchiveReader.open(plain)
    try {
      const want = bytesOf(small)
      const blob = await reader.rereadable(small)
      assert.equal(blob.size, small.size)
      for (const [offset, length] of [
        [0, small.size],
        [0, 1],
        [1, 100],
        [small.size - 1, 1],
        [1234, small.size - 1234],
      ] as const)
        assert.deepEqual(
          await drain(blob.open(offset, length)),
          want.subarray(offset, offset + length),
          `${offset}+${length}`,
        )
      for (const [offset, length] of [
        [-1, 10],
        [0, 0],
        [0, -1],
        [1, small.size],
        [small.size, 1],
      ] as const)
        assert.throws(
          () => blob.open(offset, length),
          (e: Error & {code?: string}) =>
            e.code === 'INTERNAL' && e.message === `range ${offset}+${length} outside blob ${small.digest}`,
        )
    } finally {
      await reader.close()
    }
  })

  it('readEntry: whole entries up to the limit, missing and over-limit entries refused', async () => {
    const reader = await ArchiveReader.open(plain)
    try {
      const name = blobPath(small.digest)
      assert.deepEqual(await reader.readEntry(name, small.size), bytesOf(small))
      const over = await failure(reader.readEntry(name, small.size - 1))
      assert.equal(over.code, 'TOO_LARGE')
      assert.equal(over.message, `${name} is ${small.size} bytes, over the ${small.size - 1} byte limit`)
      const missing = await failure(reader.readEntry('blobs/sha256/nothing', 10))
      assert.equal(missing.code, 'ARCHIVE_INCOMPLETE')
      assert.equal(missing.message, 'blobs/sha256/nothing is not in the archive')
      const lying = await failure(reader.readEntry(name, small.size, big.digest))
      assert.equal(lying.code, 'DIGEST_MISMATCH')
      assert.match(lying.message, new RegExp(`expected ${big.digest}$`))
    } finally {
      await reader.close()
    }
  })

  it('manifest: parsed from its blob, once (the same object on the second call)', async () => {
    const reader = await ArchiveReader.open(plain)
    try {
      const raw = await reader.manifest(manifest)
      assert.deepEqual(raw.bytes, bytesOf(manifest))
      assert.equal(await reader.manifest(manifest), raw)
    } finally {
      await reader.close()
    }
  })

  it('hashed: false when opened without hashing, true after hashPending or when opened with hashing', async () => {
    const reader = await ArchiveReader.open(plain)
    try {
      assert.equal(reader.hashed, false)
      assert.equal(reader.blob(big.digest)!.digest, undefined)
      await reader.hashPending({workers: 0})
      assert.equal(reader.hashed, true)
      assert.equal(reader.blob(big.digest)!.digest, big.digest)
    } finally {
      await reader.close()
    }
    const hashed = await ArchiveReader.open(plain, {hash: true, workers: 0})
    try {
      assert.equal(hashed.hashed, true)
      assert.equal(hashed.blob(small.digest)!.digest, small.digest)
    } finally {
      await hashed.close()
    }
  })

  it('an entry whose bytes changed after the open: fetch and readEntry refuse it, rereadable hands out the raw bytes', async () => {
    const path = copyOf(plain)
    const reader = await ArchiveReader.open(path)
    try {
      const record = reader.blob(small.digest)!
      flipByte(path, record.dataOffset + 10)
      const e = await failure(drain(await reader.fetch(small)))
      assert.match(e.message, new RegExp(`^${path}: blob ${small.digest}`))
      const e2 = await failure(reader.readEntry(blobPath(small.digest), small.size))
      assert.equal(e2.code, 'DIGEST_MISMATCH')
      const raw = await drain((await reader.rereadable(small)).open(0, small.size))
      assert.equal(raw.length, small.size)
      assert.notDeepEqual(raw, bytesOf(small))
      assert.deepEqual(raw.subarray(11), bytesOf(small).subarray(11))
    } finally {
      await reader.close()
    }
  })

  it('a file cut short after the open: reads name the truncation', async () => {
    const path = copyOf(plain)
    const reader = await ArchiveReader.open(path)
    try {
      const record = reader.blob(big.digest)!
      truncateSync(path, record.dataOffset + 1000)
      const e = await failure(drain(await reader.fetch(big)))
      assert.equal(e.code, 'ARCHIVE_INVALID')
      assert.equal(
        e.message,
        `${path}: truncated at offset ${record.dataOffset + 1000} (the file changed since it was opened)`,
      )
      const e2 = await failure(reader.readEntry(blobPath(big.digest), big.size))
      assert.equal(e2.code, 'ARCHIVE_INVALID')
      assert.equal(e2.message, `${blobPath(big.digest)} is truncated`)
    } finally {
      await reader.close()
    }
  })

  it('readEntry of a layout file (no digest to check it against) returns its bytes', async () => {
    const reader = await ArchiveReader.open(plain)
    try {
      const want = Archive.parse(readFileSync(plain)).get('airlock.json')
      assert.deepEqual(await reader.readEntry('airlock.json', want.length), want)
    } finally {
      await reader.close()
    }
  })

  it('checkUnchanged: passes on the file as opened, refuses it once rewritten', async () => {
    const path = copyOf(plain)
    const reader = await ArchiveReader.open(path)
    try {
      await reader.checkUnchanged()
      appendFileSync(path, Buffer.alloc(512))
      await assert.rejects(reader.checkUnchanged(), (e: Error) => e.message.includes(path))
    } finally {
      await reader.close()
    }
  })

  it('a closed reader refuses reads; closing twice is harmless', async () => {
    const reader = await ArchiveReader.open(plain)
    await reader.close()
    await reader.close()
    const e = await failure(reader.fetch(small))
    assert.equal(e.code, 'INTERNAL')
    assert.equal(e.message, `${plain}: the archive is closed`)
  })
})

describe('layout files the open pass needs', () => {
  /** The plain archive with one layout file changed (a body) or removed (null), written to a new file. */
  function variant(name: string, body: Buffer | null): string {
    const archive = Archive.parse(readFileSync(plain))
    if (body) archive.set(name, body)
    else archive.remove(name)
    const path = join(work, `variant${n++}.tar`)
    writeFileSync(path, archive.toTar())
    return path
  }
  type Refusal = Error & {code?: string; hint?: string}

  it('oci-layout missing: not an OCI archive', async () => {
    const path = variant('oci-layout', null)
    const e = (await failure(ArchiveReader.open(path))) as Refusal
    assert.equal(e.code, 'ARCHIVE_INVALID')
    assert.equal(e.message, `${path}: oci-layout is missing`)
    assert.equal(e.hint, 'this is not an OCI archive')
  })

  it('airlock.json missing: not written by airlock export', async () => {
    const path = variant('airlock.json', null)
    const e = (await failure(ArchiveReader.open(path))) as Refusal
    assert.equal(e.code, 'ARCHIVE_INVALID')
    assert.equal(e.message, `${path}: airlock.json is missing`)
    assert.equal(e.hint, 'this is not an archive written by airlock export')
  })

  it('index.json missing: not an OCI archive (the refusal names the archive once)', async () => {
    const path = variant('index.json', null)
    const e = (await failure(ArchiveReader.open(path))) as Refusal
    assert.equal(e.code, 'ARCHIVE_INVALID')
    assert.equal(e.message, `${path}: index.json is missing`)
    assert.equal(e.hint, 'this is not an OCI archive')
  })

  it('oci-layout not JSON, or of another version', async () => {
    const notJson = variant('oci-layout', Buffer.from('{imageLayoutVersion'))
    const e1 = (await failure(ArchiveReader.open(notJson))) as Refusal
    assert.equal(e1.code, 'ARCHIVE_INVALID')
    assert.equal(e1.message, `${notJson}: oci-layout is not valid JSON`)
    const other = variant('oci-layout', Buffer.from('{"imageLayoutVersion":"9.9.9"}'))
    const e2 = (await failure(ArchiveReader.open(other))) as Refusal
    assert.equal(e2.code, 'UNSUPPORTED')
    assert.equal(e2.message, `${other}: unsupported OCI layout version "9.9.9"`)
    const none = variant('oci-layout', Buffer.from('{}'))
    assert.equal((await failure(ArchiveReader.open(none))).message, `${none}: unsupported OCI layout version undefined`)
  })

  it('index.json or airlock.json that does not parse: refused with the archive path and the parser reason', async () => {
    for (const name of ['index.json', 'airlock.json']) {
      const path = variant(name, Buffer.from('[1,'))
      const e = (await failure(ArchiveReader.open(path))) as Refusal
      const cause = e.cause as Refusal
      assert.ok(cause instanceof Error)
      assert.equal(e.code, cause.code)
      assert.equal(e.message, `${path}: ${cause.message}`)
      // the archive, then the file's name (no other label between them), then the parser's reason
      assert.match(e.message, new RegExp(`^[^ ]+: +${name.replace('.', '\\.')} is not valid JSON`))
    }
  })
})

describe('entries split across volumes', () => {
  let reader: ArchiveReader
  let record: EntryRecord
  before(async () => {
    reader = await ArchiveReader.open(join(setDir, 'set.volumes.json'))
    record = reader.blob(big.digest)!
  })
  after(() => reader.close())

  it('the big layer is split into parts on consecutive volumes', () => {
    assert.ok(record.parts && record.parts.length >= 3, `parts ${JSON.stringify(record.parts)}`)
    assert.equal(
      record.parts.reduce((sum, p) => sum + p.size, 0),
      big.size,
    )
    assert.equal(record.volume, record.parts[0]!.file)
    assert.equal(record.dataOffset, record.parts[0]!.offset)
    assert.equal(reader.fileOf(record), volumeFile(join(setDir, 'set'), record.parts[0]!.file + 1))
  })

  it('fetch and readEntry join the parts into the blob', async () => {
    assert.deepEqual(await drain(await reader.fetch(big)), bytesOf(big))
    assert.deepEqual(await reader.readEntry(blobPath(big.digest), big.size), bytesOf(big))
  })

  it('rereadable: ranges inside one part, across part boundaries, starting or ending exactly on one', async () => {
    const want = bytesOf(big)
    const blob = await reader.rereadable(big)
    const bounds: number[] = []
    let at = 0
    for (const p of record.parts!.slice(0, -1)) bounds.push((at += p.size))
    const ranges: Array<[number, number]> = [[0, big.size]]
    for (const b of bounds)
      ranges.push([b - 10, 20], [b, 10], [b - 10, 10], [b, big.size - b], [0, b], [b - 1, 1], [b + 1, 5])
    ranges.push([bounds.at(-1)! + 100, big.size - bounds.at(-1)! - 100])
    for (const [offset, length] of ranges)
      assert.deepEqual(
        await drain(blob.open(offset, length)),
        want.subarray(offset, offset + length),
        `${offset}+${length}`,
      )
  })

  it('segmentStream yields exactly the range, in chunks no larger than 1 MiB, and nothing for a zero length', async () => {
    const files = await openFiles(record)
    try {
      const segs = record.parts!
      const want = bytesOf(big)
      const chunks: Buffer[] = []
      for await (const c of segmentStream(files, segs, 5, big.size - 5)) chunks.push(c as Buffer)
      assert.deepEqual(Buffer.concat(chunks), want.subarray(5))
      assert.ok(chunks.every(c => c.length > 0 && c.length <= 1024 * 1024))
      assert.deepEqual(await drain(segmentStream(files, segs, 100, 0)), Buffer.alloc(0))
    } finally {
      await Promise.all(files.map(f => f?.fh.close()))
    }
  })

  it('readSegments joins parts, and refuses a part that runs past the end of its file', async () => {
    const files = await openFiles(record)
    try {
      const segs = record.parts!
      assert.deepEqual(await readSegments(files, segs, big.size), bytesOf(big))
      const last = segs.at(-1)!
      const {size} = await files[last.file]!.fh.stat()
      const lying: Segment[] = [...segs.slice(0, -1), {...last, offset: size - 10}]
      const e = await failure(readSegments(files, lying, big.size))
      assert.equal((e as {code?: string}).code, 'ARCHIVE_INVALID')
      assert.equal(e.message, `${files[last.file]!.path}: truncated at offset ${size - 10}`)
    } finally {
      await Promise.all(files.map(f => f?.fh.close()))
    }
  })

  it('a volume cut short after the open: the split blob read names the volume and offset', async () => {
    const manifestPath = copySet()
    const copy = await ArchiveReader.open(manifestPath)
    try {
      const rec = copy.blob(big.digest)!
      const second = rec.parts![1]!
      const volume = volumeFile(join(manifestPath, '..', 'set'), second.file + 1)
      truncateSync(volume, second.offset + 7)
      const e = await failure(drain(await copy.fetch(big)))
      assert.equal(
        e.message,
        `${volume}: truncated at offset ${second.offset + 7} (the file changed since it was opened)`,
      )
    } finally {
      await copy.close()
    }
  })

  it('segmentStream is a byte stream; on a file cut mid-chunk it hands out only the bytes that exist, then fails', async () => {
    const manifestPath = copySet()
    const copy = await ArchiveReader.open(manifestPath)
    const files: OpenFile[] = []
    try {
      const rec = copy.blob(big.digest)!
      const first = rec.parts![0]!
      const path = volumeFile(join(manifestPath, '..', 'set'), first.file + 1)
      const fh = await open(path, 'r')
      files[first.file] = {path, fh, identity: identityOf(await fh.stat())}
      const stream = segmentStream(files, [first], 0, first.size)
      assert.equal(stream.readableObjectMode, false)
      truncateSync(path, first.offset + 333)
      const got: Buffer[] = []
      const e = await failure(
        (async () => {
          for await (const c of segmentStream(files, [first], 0, first.size)) got.push(c as Buffer)
        })(),
      )
      assert.match(e.message, /truncated at offset/)
      assert.deepEqual(Buffer.concat(got), bytesOf(big).subarray(0, 333))
      stream.destroy()
    } finally {
      await Promise.all(files.map(f => f?.fh.close()))
      await copy.close()
    }
  })

  it('a volume set opened without hashing is not hashed until hashPending', async () => {
    const set = await ArchiveReader.open(join(setDir, 'set.volumes.json'))
    try {
      assert.equal(set.hashed, false)
      assert.equal(set.blob(big.digest)!.digest, undefined)
      await set.hashPending({workers: 0})
      assert.equal(set.hashed, true)
      assert.equal(set.blob(big.digest)!.digest, big.digest)
    } finally {
      await set.close()
    }
  })

  it('a volume set opened with hashing is hashed', async () => {
    const hashed = await ArchiveReader.open(join(setDir, 'set.volumes.json'), {hash: true, workers: 0})
    try {
      assert.equal(hashed.hashed, true)
      assert.equal(hashed.blob(big.digest)!.digest, big.digest)
    } finally {
      await hashed.close()
    }
  })
})

/** The volume files a record's parts name, opened by index (the set's file numbers). */
async function openFiles(record: EntryRecord): Promise<OpenFile[]> {
  const files: OpenFile[] = []
  for (const p of record.parts!) {
    if (files[p.file]) continue
    const path = volumeFile(join(setDir, 'set'), p.file + 1)
    const fh = await open(path, 'r')
    files[p.file] = {path, fh, identity: identityOf(await fh.stat())}
  }
  return files
}
