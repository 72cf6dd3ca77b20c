// ArchiveWriter in process (issue 13 item 5): the exporter's write path, which the other in-process tests reach
// only through exports in `before` hooks whose failure paths they never take. Every archive written here is read
// back with scanTar (and volumes.json with its own parser) and compared byte for byte with what was pushed; every
// refusal is asserted by code and exact message. Blobs are small random buffers: each test runs in milliseconds.
import assert from 'node:assert/strict'
import {createHash, randomBytes} from 'node:crypto'
import {existsSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {basename, dirname, join} from 'node:path'
import {PassThrough, Readable} from 'node:stream'
import {describe, it} from 'node:test'
import {HashPool} from '../src/archive/hash-pool.ts'
import {blobPath, FORMAT_VERSION, type ArchiveImage} from '../src/archive/schema.ts'
import {parseVolumesJson} from '../src/archive/volumes.ts'
import {ArchiveWriter, bufferStream, OFFLOAD_HASH_BYTES} from '../src/archive/writer.ts'
import type {Descriptor} from '../src/oci/descriptor.ts'
import {VerifyingStream} from '../src/oci/digest.ts'
import {TOOL_VERSION} from '../src/version.ts'
import {digestOf, failure, type TarRead, tarEntries, thrown, workDir} from './support/archive-unit.ts'

const work = workDir('airlock-writer-')
const fresh = (name: string): string => work.next(`-${name}`)

const blob = (size: number): {bytes: Buffer; descriptor: Descriptor} => {
  const bytes = randomBytes(size)
  return {bytes, descriptor: {mediaType: 'application/octet-stream', digest: digestOf(bytes), size}}
}
const entries = tarEntries
const named = (list: TarRead[], name: string): TarRead => {
  const e = list.find(x => x.name === name)
  assert.ok(e, `no entry ${name} in ${list.map(x => x.name).join(', ')}`)
  return e
}

/** Files in `dir` whose name contains `.partial-` (the writer's temporaries). */
const partials = (dir: string): string[] => readdirSync(dir).filter(f => f.includes('.partial-'))

function image(d: Descriptor, reference = 'example.com/app:1'): ArchiveImage {
  return {
    reference,
    source: reference,
    digest: d.digest,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    size: d.size,
  }
}

describe('ArchiveWriter, one file', () => {
  it('writes the layout first, the blobs, then index.json and airlock.json, and reports the summary', async () => {
    const path = fresh('a.tar')
    const counted: number[] = []
    const w = await ArchiveWriter.create(path, {onBytes: k => counted.push(k)})
    const a = blob(700)
    const m = blob(300)
    assert.equal(await w.exists(a.descriptor), false)
    assert.equal(w.has(a.descriptor.digest), false)
    await w.push(a.descriptor, bufferStream(a.bytes))
    await w.push(m.descriptor, bufferStream(m.bytes))
    assert.equal(await w.exists(a.descriptor), true)
    assert.equal(w.has(m.descriptor.digest), true)
    w.addImage(image(m.descriptor))
    w.setSection('signatures', {x: 1})
    assert.deepEqual(w.getSection('signatures'), {x: 1})
    assert.equal(w.getSection('trust'), undefined)
    assert.ok(w.bytesWritten > 1000 + 1536)
    const summary = await w.commit()
    assert.deepEqual(summary, {path, bytes: readFileSync(path).length, blobs: 2, images: 1})
    assert.deepEqual(
      counted.reduce((x, y) => x + y, 0),
      1000,
    )
    const list = await entries(path)
    assert.deepEqual(
      list.map(e => [e.name, e.type]),
      [
        ['oci-layout', 'File'],
        ['blobs/', 'Directory'],
        ['blobs/sha256/', 'Directory'],
        [blobPath(a.descriptor.digest), 'File'],
        [blobPath(m.descriptor.digest), 'File'],
        ['index.json', 'File'],
        ['airlock.json', 'File'],
      ],
    )
    assert.equal(named(list, 'oci-layout').body.toString(), '{"imageLayoutVersion":"1.0.0"}')
    assert.deepEqual(named(list, blobPath(a.descriptor.digest)).body, a.bytes)
    assert.deepEqual(named(list, blobPath(m.descriptor.digest)).body, m.bytes)
    assert.equal(
      named(list, 'index.json').body.toString(),
      `${JSON.stringify(
        {
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.index.v1+json',
          manifests: [
            {
              mediaType: 'application/vnd.oci.image.manifest.v1+json',
              digest: m.descriptor.digest,
              size: 300,
              annotations: {
                'org.opencontainers.image.ref.name': 'example.com/app:1',
                'io.airlock.source': 'example.com/app:1',
              },
            },
          ],
        },
        null,
        2,
      )}\n`,
    )
    const text = named(list, 'airlock.json').body.toString()
    assert.ok(text.endsWith('}\n'))
    const json = JSON.parse(text)
    assert.equal(text, `${JSON.stringify(json, null, 2)}\n`)
    assert.equal(json.formatVersion, FORMAT_VERSION)
    assert.deepEqual(json.tool, {name: 'airlock', version: TOOL_VERSION})
    assert.ok(Math.abs(Date.parse(json.exportedAt) - Date.now()) < 60_000)
    assert.deepEqual(json.images, [image(m.descriptor)])
    assert.deepEqual(json.files, {})
    assert.deepEqual(json.signatures, {x: 1})
    assert.deepEqual(
      partials(dirname(path)).filter(f => f.includes(basename(path))),
      [],
    )
  })

  it('refuses an existing output unless forced, and a forced one replaces it only at commit', async () => {
    const path = fresh('exists.tar')
    writeFileSync(path, 'keep me')
    const refused = await failure(ArchiveWriter.create(path))
    assert.equal(refused.code, 'IO_ERROR')
    assert.equal(refused.message, `${path} already exists`)
    assert.equal(refused.hint, 'choose another output path or pass --force to overwrite it')
    const w = await ArchiveWriter.create(path, {force: true})
    assert.equal(readFileSync(path, 'utf8'), 'keep me')
    await w.commit()
    assert.deepEqual(
      (await entries(path)).map(e => e.name),
      ['oci-layout', 'blobs/', 'blobs/sha256/', 'index.json', 'airlock.json'],
    )
  })

  it('an existing output is refused again at commit (it appeared meanwhile), force unset or false', async () => {
    const unset = fresh('late-unset.tar')
    const w0 = await ArchiveWriter.create(unset)
    writeFileSync(unset, 'appeared')
    assert.equal((await failure(w0.commit())).message, `${unset} already exists`)
    assert.equal(readFileSync(unset, 'utf8'), 'appeared')
    await w0.abort()
    const path = fresh('late.tar')
    const w = await ArchiveWriter.create(path, {force: false})
    writeFileSync(path, 'appeared')
    const refused = await failure(w.commit())
    assert.equal(refused.code, 'IO_ERROR')
    assert.equal(refused.message, `${path} already exists`)
    assert.equal(readFileSync(path, 'utf8'), 'appeared')
    await w.abort()
  })

  it('a blob pushed twice, or while it is being written, is written once and the second stream discarded', async () => {
    const path = fresh('dup.tar')
    const w = await ArchiveWriter.create(path)
    const a = blob(2000)
    const slow = new PassThrough()
    const first = w.push(a.descriptor, slow)
    const again = bufferStream(a.bytes)
    const second = w.push(a.descriptor, again)
    assert.equal(again.destroyed, true)
    assert.equal(w.has(a.descriptor.digest), false)
    slow.end(a.bytes)
    await Promise.all([first, second])
    assert.equal(w.has(a.descriptor.digest), true)
    const third = bufferStream(a.bytes)
    await w.push(a.descriptor, third)
    assert.equal(third.destroyed, true)
    w.addImage(image(a.descriptor))
    assert.deepEqual((await w.commit()).blobs, 1)
    const list = await entries(path)
    assert.equal(list.filter(e => e.name === blobPath(a.descriptor.digest)).length, 1)
  })

  it('commit waits for a push still streaming, and its blob is in the archive', async () => {
    const path = fresh('wait.tar')
    const w = await ArchiveWriter.create(path)
    const a = blob(5000)
    const slow = new PassThrough()
    const pushed = w.push(a.descriptor, slow)
    w.addImage(image(a.descriptor))
    setTimeout(() => slow.end(a.bytes), 20)
    const summary = await w.commit()
    await pushed
    assert.equal(summary.blobs, 1)
    assert.deepEqual(named(await entries(path), blobPath(a.descriptor.digest)).body, a.bytes)
  })

  it('a pushed VerifyingStream for the same descriptor is used as it is, and still checked', async () => {
    const path = fresh('verifying.tar')
    const w = await ArchiveWriter.create(path)
    const a = blob(100)
    const body = Readable.from([a.bytes]).pipe(new VerifyingStream(a.descriptor, 'upstream label'))
    await w.push(a.descriptor, body)
    const b = blob(100)
    const wrong = Readable.from([randomBytes(100)]).pipe(new VerifyingStream(b.descriptor, 'upstream label'))
    const refused = await failure(w.push(b.descriptor, wrong))
    assert.equal(refused.code, 'DIGEST_MISMATCH')
    assert.match(refused.message, /^upstream label: content hashes to sha256:[0-9a-f]{64}, expected /)
    await w.abort()
  })

  it('a blob whose bytes do not match is refused by name, and the writer then refuses everything', async () => {
    const dir = work.subdir('bad-')
    const path = join(dir, 'bad.tar')
    const w = await ArchiveWriter.create(path)
    const a = blob(100)
    const refused = await failure(w.push(a.descriptor, bufferStream(randomBytes(100))))
    assert.equal(refused.code, 'DIGEST_MISMATCH')
    assert.match(
      refused.message,
      new RegExp(
        `^blob ${a.descriptor.digest}: content hashes to sha256:[0-9a-f]{64}, expected ${a.descriptor.digest}$`,
      ),
    )
    assert.equal(w.has(a.descriptor.digest), false)
    const b = blob(10)
    assert.equal(await failure(w.push(b.descriptor, bufferStream(b.bytes))), refused)
    assert.equal(await failure(w.addFile('sigstore/x', Buffer.from('x'))), refused)
    assert.equal(await failure(w.commit()), refused)
    assert.deepEqual(partials(dir).length, 1)
    await w.abort()
    await w.abort()
    assert.deepEqual(readdirSync(dir), [])
  })

  it('a short blob and a source stream error are refused with their own reasons', async () => {
    const a = blob(100)
    const w1 = await ArchiveWriter.create(fresh('short.tar'))
    const short = await failure(w1.push(a.descriptor, bufferStream(a.bytes.subarray(0, 60))))
    assert.equal(short.code, 'SIZE_MISMATCH')
    assert.equal(short.message, `blob ${a.descriptor.digest}: got 60 bytes, expected 100`)
    await w1.abort()
    const w2 = await ArchiveWriter.create(fresh('broken.tar'))
    const source = new PassThrough()
    const pushed = w2.push(a.descriptor, source)
    source.write(a.bytes.subarray(0, 10))
    setImmediate(() => source.destroy(new Error('connection reset by peer')))
    const broken = await failure(pushed)
    assert.equal(broken.code, 'IO_ERROR')
    assert.equal(broken.message, 'connection reset by peer')
    await w2.abort()
  })

  it('addFile and addFileStream record the file in airlock.json; bad paths and repeats are refused', async () => {
    const path = fresh('files.tar')
    const w = await ArchiveWriter.create(path)
    const tuf = Buffer.from('{"signed":{}}')
    await w.addFile('sigstore/tuf/root.json', tuf)
    const exe = randomBytes(3000)
    const record = {digest: digestOf(exe), size: exe.length}
    await w.addFileStream('airlock/airlock-1.2.3-linux-amd64', record, bufferStream(exe))
    const outside = await failure(w.addFile('etc/passwd', tuf))
    assert.equal(outside.code, 'USAGE')
    assert.equal(outside.message, 'cannot add "etc/passwd" to the archive: path must be under sigstore/ or airlock/')
    const outsideStream = await failure(w.addFileStream('etc/passwd', record, bufferStream(exe)))
    assert.equal(outsideStream.code, 'USAGE')
    assert.equal(outsideStream.message, outside.message)
    const twice = await failure(w.addFile('sigstore/tuf/root.json', tuf))
    assert.equal(twice.code, 'USAGE')
    assert.equal(twice.message, 'cannot add "sigstore/tuf/root.json" to the archive twice')
    const twiceStream = await failure(w.addFileStream('airlock/airlock-1.2.3-linux-amd64', record, bufferStream(exe)))
    assert.equal(twiceStream.code, 'USAGE')
    assert.equal(twiceStream.message, 'cannot add "airlock/airlock-1.2.3-linux-amd64" to the archive twice')
    const reserved = thrown(() => w.setSection('files', {}))
    assert.equal(reserved.code, 'INTERNAL')
    assert.equal(reserved.message, 'airlock.json section files is reserved')
    await w.commit()
    const list = await entries(path)
    assert.deepEqual(named(list, 'sigstore/tuf/root.json').body, tuf)
    assert.deepEqual(named(list, 'airlock/airlock-1.2.3-linux-amd64').body, exe)
    assert.deepEqual(JSON.parse(named(list, 'airlock.json').body.toString()).files, {
      'sigstore/tuf/root.json': {digest: digestOf(tuf), size: tuf.length},
      'airlock/airlock-1.2.3-linux-amd64': record,
    })
  })

  it('addFileStream refuses a stream that is not the expected file, and the file is not recorded', async () => {
    const w = await ArchiveWriter.create(fresh('stream-bad.tar'))
    const exe = randomBytes(100)
    const refused = await failure(
      w.addFileStream(
        'airlock/airlock-1.2.3-linux-amd64',
        {digest: digestOf(exe), size: 100},
        bufferStream(randomBytes(100)),
      ),
    )
    assert.equal(refused.code, 'DIGEST_MISMATCH')
    assert.match(refused.message, /^airlock\/airlock-1\.2\.3-linux-amd64: content hashes to /)
    assert.deepEqual(w.airlockJson().files, {})
    const source = new PassThrough()
    const w2 = await ArchiveWriter.create(fresh('stream-err.tar'))
    const added = w2.addFileStream('sigstore/x', {digest: digestOf(exe), size: 100}, source)
    setImmediate(() => source.destroy(new Error('read failed')))
    const broken = await failure(added)
    assert.equal(broken.message, 'read failed')
    await w.abort()
    await w2.abort()
  })

  it('an image whose manifest was never pushed cannot be committed', async () => {
    const w = await ArchiveWriter.create(fresh('noimage.tar'))
    const m = blob(10)
    w.addImage(image(m.descriptor, 'example.com/lost:2'))
    const refused = await failure(w.commit())
    assert.equal(refused.code, 'INTERNAL')
    assert.equal(refused.message, 'image example.com/lost:2 was recorded but its manifest was not written')
    await w.abort()
  })

  it('a committed or aborted writer refuses further work', async () => {
    const w = await ArchiveWriter.create(fresh('closed.tar'))
    await w.commit()
    const a = blob(10)
    const closed = await failure(w.push(a.descriptor, bufferStream(a.bytes)))
    assert.equal(closed.code, 'INTERNAL')
    assert.equal(closed.message, 'archive writer is closed')
    const dir = work.subdir('aborted-')
    const w2 = await ArchiveWriter.create(join(dir, 'x.tar'))
    await w2.abort()
    assert.deepEqual(readdirSync(dir), [])
    const closed2 = await failure(w2.addFile('sigstore/x', Buffer.from('x')))
    assert.equal(closed2.message, 'archive writer is closed')
  })

  it('a large blob is hashed on a worker: good bytes are written, wrong ones refused with the worker digest', async () => {
    const pool = HashPool.startStreaming()
    try {
      const path = fresh('offload.tar')
      const w = await ArchiveWriter.create(path, {offloadHashBytes: 1000, hashPool: pool})
      const big = blob(5000)
      await w.push(big.descriptor, bufferStream(big.bytes))
      const other = blob(4000)
      const wrongBytes = randomBytes(4000)
      const refused = await failure(w.push(other.descriptor, bufferStream(wrongBytes)))
      assert.equal(refused.code, 'DIGEST_MISMATCH')
      assert.equal(
        refused.message,
        `blob ${other.descriptor.digest}: content hashes to ${digestOf(wrongBytes)}, expected ${other.descriptor.digest}`,
      )
      assert.equal(w.has(big.descriptor.digest), true)
      assert.equal(w.has(other.descriptor.digest), false)
      await w.abort()
    } finally {
      await pool.close()
    }
    assert.equal(OFFLOAD_HASH_BYTES, 1024 * 1024)
  })
})

describe('ArchiveWriter, volume set', () => {
  it('writes volumes and volumes.json, and reports the set in the summary', async () => {
    const dir = work.subdir('set-')
    const path = join(dir, 'set.tar')
    writeFileSync(path, 'a plain archive of the same name is not in the way')
    const w = await ArchiveWriter.create(path, {volumeSize: 65536})
    const a = blob(30000)
    const b = blob(30000)
    await w.push(a.descriptor, bufferStream(a.bytes))
    await w.push(b.descriptor, bufferStream(b.bytes))
    w.addImage(image(b.descriptor))
    const summary = await w.commit()
    const set = parseVolumesJson(readFileSync(join(dir, 'set.volumes.json')), 'set.volumes.json')
    assert.equal(summary.path, path)
    assert.equal(summary.blobs, 2)
    assert.equal(summary.images, 1)
    assert.equal(summary.bytes, set.totalBytes)
    assert.ok(summary.volumes)
    assert.equal(summary.volumes.count, set.count)
    assert.equal(summary.volumes.setId, set.setId)
    assert.equal(summary.volumes.manifest, join(dir, 'set.volumes.json'))
    assert.equal(
      summary.volumes.manifestSha256,
      createHash('sha256')
        .update(readFileSync(join(dir, 'set.volumes.json')))
        .digest('hex'),
    )
    assert.deepEqual(
      summary.volumes.volumes,
      set.volumes.map(v => ({file: join(dir, v.file), size: v.size, sha256: v.sha256})),
    )
    for (const v of set.volumes) {
      const bytes = readFileSync(join(dir, v.file))
      assert.equal(bytes.length, v.size)
      assert.ok(v.size <= 65536)
      assert.equal(createHash('sha256').update(bytes).digest('hex'), v.sha256)
    }
    assert.ok(set.count >= 2)
    const all = (await Promise.all(set.volumes.map(v => entries(join(dir, v.file))))).flat()
    assert.deepEqual(named(all, blobPath(a.descriptor.digest)).body, a.bytes)
    assert.deepEqual(named(all, blobPath(b.descriptor.digest)).body, b.bytes)
    assert.equal(readFileSync(path, 'utf8'), 'a plain archive of the same name is not in the way')
    assert.deepEqual(partials(dir), [])
  })

  it('refuses an existing set unless forced', async () => {
    const dir = work.subdir('set-exists-')
    const path = join(dir, 'set.tar')
    await (await ArchiveWriter.create(path, {volumeSize: 65536})).commit()
    const refused = await failure(ArchiveWriter.create(path, {volumeSize: 65536}))
    assert.equal(refused.code, 'IO_ERROR')
    assert.equal(refused.message, `${join(dir, 'set.volumes.json')} already exists`)
    assert.equal(refused.hint, 'choose another output path or pass --force to overwrite the set')
    const w = await ArchiveWriter.create(path, {volumeSize: 65536, force: true})
    const a = blob(100)
    await w.push(a.descriptor, bufferStream(a.bytes))
    await w.commit()
    const set = parseVolumesJson(readFileSync(join(dir, 'set.volumes.json')), 'set.volumes.json')
    assert.deepEqual(named(await entries(join(dir, set.volumes[0]!.file)), blobPath(a.descriptor.digest)).body, a.bytes)
  })

  it('an uncreatable set is refused and leaves nothing behind', async () => {
    const path = join(work.dir, 'no-such-dir', 'set.tar')
    const refused = await failure(ArchiveWriter.create(path, {volumeSize: 65536}))
    assert.equal(refused.code, 'NOT_FOUND')
    assert.match(
      refused.message,
      /^ENOENT: no such file or directory, open '.*\/no-such-dir\/\.set\.vol001\.tar\.partial-/,
    )
    const plain = await failure(ArchiveWriter.create(path))
    assert.equal(plain.code, 'NOT_FOUND')
    assert.match(plain.message, /^ENOENT: no such file or directory, open '.*\/no-such-dir\/\.set\.tar\.partial-/)
    assert.equal(existsSync(join(work.dir, 'no-such-dir')), false)
  })
})
