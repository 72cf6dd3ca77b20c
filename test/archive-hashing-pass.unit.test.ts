// The header pass and the hashing pass in process (issue 13 item 5): scanArchive (plain-source.ts) and
// hashPendingEntries/startPool (hashing-pass.ts) on archives and volume sets built here with the hostile corpus's
// tar writer. Every digest is compared with the sha256 of the bytes written, in this thread and on worker threads;
// skipped blobs, progress counts, a corrupt volume, a split entry whose parts are not in consecutive volumes, and
// the refusals of the header pass are asserted exactly.
import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, it} from 'node:test'
import type {EntryRecord} from '../src/archive/entries.ts'
import {hashPendingEntries, startPool} from '../src/archive/hashing-pass.ts'
import {scanArchive} from '../src/archive/plain-source.ts'
import {openVolumeSet} from '../src/archive/volume-set-source.ts'
import {partName} from '../src/archive/volumes.ts'
import {
  type BuiltSet,
  blobName,
  buildVolumeSet,
  digestOf as digest,
  type Failure,
  failure,
  openPaths,
  sha,
  workDir,
} from './support/archive-unit.ts'
import {type TarEntry, writeTar} from './support/hostile/tar.ts'

const work = workDir('airlock-hashing-pass-')

const layout = Buffer.from('{"imageLayoutVersion":"1.0.0"}')
const index = Buffer.from('{"schemaVersion":2,"manifests":[]}')
const airlock = Buffer.from('{"formatVersion":1}')
const a = randomBytes(3000)
const b = randomBytes(700)
const c = randomBytes(2500)

function archive(entries: TarEntry[]): string {
  const path = work.next('.tar')
  writeFileSync(path, writeTar(entries))
  return path
}
const good = (): TarEntry[] => [
  {name: 'oci-layout', body: layout},
  {name: 'blobs/', type: 'Directory'},
  {name: 'blobs/sha256/', type: 'Directory'},
  {name: blobName(a), body: a},
  {name: blobName(b), body: b},
  {name: 'index.json', body: index},
  {name: 'airlock.json', body: airlock},
]
const digests = (entries: Map<string, EntryRecord>) =>
  Object.fromEntries([...entries.values()].map(r => [r.name, r.hashSkipped ? 'skipped' : r.digest]))
const expected = {
  'oci-layout': digest(layout),
  [blobName(a)]: digest(a),
  [blobName(b)]: digest(b),
  'index.json': digest(index),
  'airlock.json': digest(airlock),
}
/** File descriptors of this process open on `path`. */
const openOn = (path: string): number => openPaths().filter(target => target === path).length
const refusal = (p: Promise<unknown>): Promise<Failure> => failure(p, 'a refusal')
/** A volume set: set.volNNN.tar with a label each, and set.volumes.json derived from the parts found. */
const volumeSet = (volumes: TarEntry[][]): BuiltSet => buildVolumeSet(work, volumes)

describe('scanArchive (the plain archive header pass)', () => {
  it('without hashing: where each entry is, the layout files read whole, no digest', async () => {
    const path = archive(good())
    const scanned = await scanArchive(path, {})
    try {
      assert.equal(scanned.count, 7)
      assert.equal(scanned.bytes, readFileSync(path).length)
      assert.deepEqual(scanned.identity.size, scanned.bytes)
      assert.deepEqual(
        [...scanned.entries.values()].map(r => [r.name, r.size, r.dataOffset, r.digest]),
        [
          ['oci-layout', layout.length, 512, undefined],
          [blobName(a), 3000, 512 + 512 + 512 + 512 + 512, undefined],
          [blobName(b), 700, 2560 + 3072 + 512, undefined],
          ['index.json', index.length, 6144 + 1024 + 512, undefined],
          ['airlock.json', airlock.length, 7680 + 512 + 512, undefined],
        ],
      )
      assert.deepEqual(Object.fromEntries(scanned.small), {
        'oci-layout': layout,
        'index.json': index,
        'airlock.json': airlock,
      })
    } finally {
      await scanned.fh.close()
    }
  })

  it('hashing in this thread and on a worker gives the same digests; progress counts every byte', async () => {
    const path = archive(good())
    for (const workers of [0, 1, undefined]) {
      let counted = 0
      const scanned = await scanArchive(path, {hash: true, workers, onBytes: k => (counted += k)})
      assert.deepEqual(digests(scanned.entries), expected, String(workers))
      assert.equal(counted, layout.length + a.length + b.length + index.length + airlock.length, String(workers))
      await scanned.fh.close()
    }
  })

  it('skipHash leaves those blobs unhashed, with or without workers', async () => {
    const path = archive(good())
    for (const workers of [0, 1, undefined]) {
      const scanned = await scanArchive(path, {hash: true, workers, skipHash: new Set([digest(a)])})
      assert.deepEqual(digests(scanned.entries), {...expected, [blobName(a)]: 'skipped'}, String(workers))
      await scanned.fh.close()
    }
  })

  it('refusals name the archive; the file is closed again', async () => {
    const gone = join(work.dir, 'gone.tar')
    const e1 = await refusal(scanArchive(gone, {}))
    assert.equal(e1.code, 'NOT_FOUND')
    assert.equal(e1.message, `${gone}: ENOENT: no such file or directory, open '${gone}'`)
    const dup = archive([...good(), {name: blobName(a), body: a}])
    const e2 = await refusal(scanArchive(dup, {hash: true}))
    assert.equal(e2.code, 'ARCHIVE_INVALID')
    assert.equal(e2.message, `${dup}: entry "${blobName(a)}": appears more than once in the archive`)
    assert.equal(openOn(dup), 0)
    const dupDir = archive([
      {name: 'blobs/', type: 'Directory'},
      {name: 'blobs', type: 'Directory'},
    ])
    assert.equal(
      (await refusal(scanArchive(dupDir, {}))).message,
      `${dupDir}: entry "blobs": appears more than once in the archive`,
    )
    const stray = archive([{name: 'etc/passwd', body: a}])
    const e3 = await refusal(scanArchive(stray, {}))
    assert.equal(e3.message, `${stray}: entry "etc/passwd": unexpected entry (not part of an airlock archive)`)
    assert.equal(openOn(stray), 0)
    const bad = join(work.dir, 'bad.tar')
    writeFileSync(bad, Buffer.concat([writeTar(good()).subarray(0, 512), Buffer.alloc(100)]))
    const e4 = await refusal(scanArchive(bad, {}))
    assert.equal(e4.code, 'ARCHIVE_INVALID')
    assert.ok(e4.message.startsWith(`${bad}: `))
    assert.ok(e4.hint === undefined || typeof e4.hint === 'string')
  })
})

describe('hashPendingEntries', () => {
  it('a plain archive scanned without hashing: every entry hashed but the skipped blobs', async () => {
    const path = archive(good())
    for (const workers of [0, 1]) {
      const scanned = await scanArchive(path, {})
      const files = [{path, fh: scanned.fh, identity: scanned.identity}]
      let counted = 0
      await hashPendingEntries(files, scanned.entries, undefined, new Map(), {
        workers,
        skipHash: new Set([digest(b)]),
        onBytes: k => (counted += k),
      })
      assert.deepEqual(digests(scanned.entries), {
        'oci-layout': digest(layout),
        [blobName(a)]: digest(a),
        [blobName(b)]: 'skipped',
        'index.json': digest(index),
        'airlock.json': digest(airlock),
      })
      assert.equal(counted, layout.length + a.length + index.length + airlock.length)
      await scanned.fh.close()
    }
  })

  it('entries already hashed or skipped are left as they are', async () => {
    const path = archive(good())
    const scanned = await scanArchive(path, {})
    const records = scanned.entries
    records.get(blobName(a))!.digest = 'sha256:kept' as never
    records.get(blobName(b))!.hashSkipped = true
    records.delete('index.json')
    records.delete('airlock.json')
    await hashPendingEntries([{path, fh: scanned.fh, identity: scanned.identity}], records, undefined, new Map(), {
      workers: 0,
    })
    assert.deepEqual(digests(records), {
      'oci-layout': digest(layout),
      [blobName(a)]: 'sha256:kept',
      [blobName(b)]: 'skipped',
    })
    await scanned.fh.close()
  })

  it('a volume set: each volume checked, split entries hashed across volumes, in this thread and on workers', async () => {
    const set = volumeSet([
      [
        {name: 'oci-layout', body: layout},
        {name: blobName(a), body: a},
        {name: partName(blobName(c), 1), body: c.subarray(0, 1000)},
      ],
      [
        {name: partName(blobName(c), 2), body: c.subarray(1000)},
        {name: 'index.json', body: index},
      ],
      [
        {name: blobName(b), body: b},
        {name: 'airlock.json', body: airlock},
      ],
    ])
    for (const workers of [0, 2]) {
      const opened = await openVolumeSet(set.manifest)
      let counted = 0
      await hashPendingEntries(opened.files, opened.entries, opened.volumes, opened.small, {
        workers,
        onBytes: k => (counted += k),
      })
      assert.deepEqual(digests(opened.entries), {...expected, [blobName(c)]: digest(c)}, String(workers))
      // progress counts the entries' bytes
      assert.equal(
        counted,
        layout.length + a.length + c.length + index.length + b.length + airlock.length,
        String(workers),
      )
      await Promise.all(opened.files.map(f => f.fh.close()))
    }
  })

  it('a split entry whose parts are not in consecutive volumes is hashed as one stream across them', async () => {
    const set = volumeSet([
      [{name: partName(blobName(c), 1), body: c.subarray(0, 1000)}],
      [{name: blobName(a), body: a}],
      [{name: partName(blobName(c), 2), body: c.subarray(1000)}],
    ])
    for (const workers of [0, 1]) {
      const opened = await openVolumeSet(set.manifest)
      let counted = 0
      await hashPendingEntries(opened.files, opened.entries, opened.volumes, opened.small, {
        workers,
        onBytes: k => (counted += k),
      })
      assert.deepEqual(digests(opened.entries), {[blobName(a)]: digest(a), [blobName(c)]: digest(c)})
      assert.equal(counted, a.length + c.length, String(workers))
      await Promise.all(opened.files.map(f => f.fh.close()))
    }
    // and without a progress callback
    const opened = await openVolumeSet(set.manifest)
    await hashPendingEntries(opened.files, opened.entries, opened.volumes, opened.small, {workers: 0})
    assert.deepEqual(digests(opened.entries), {[blobName(a)]: digest(a), [blobName(c)]: digest(c)})
    await Promise.all(opened.files.map(f => f.fh.close()))
  })

  it('a volume whose bytes are not the ones volumes.json lists is named', async () => {
    const set = volumeSet([[{name: blobName(a), body: a}], [{name: blobName(b), body: b}]])
    const bytes = readFileSync(set.files[1]!)
    const listed = sha(bytes)
    bytes[1024 + 512 + 3]! ^= 0xff
    writeFileSync(set.files[1]!, bytes)
    for (const workers of [0, 1]) {
      const opened = await openVolumeSet(set.manifest)
      const e = await refusal(hashPendingEntries(opened.files, opened.entries, opened.volumes, opened.small, {workers}))
      assert.equal(e.code, 'DIGEST_MISMATCH')
      assert.equal(
        e.message,
        `${set.files[1]}: volume 2 hashes to sha256 ${sha(bytes)}, but volumes.json says ${listed}: the volume is corrupt, or volumes.json is not this set's`,
      )
      assert.equal(e.hint, "copy set.vol002.tar again; compare volumes.json's sha256 with the one export printed")
      await Promise.all(opened.files.map(f => f.fh.close()))
    }
  })

  it('a file cut short after the header pass is refused as an invalid archive', async () => {
    const path = archive(good())
    const scanned = await scanArchive(path, {})
    writeFileSync(path, readFileSync(path).subarray(0, 2048))
    for (const workers of [0, 1]) {
      const e = await refusal(
        hashPendingEntries(
          [{path, fh: scanned.fh, identity: scanned.identity}],
          scanned.entries,
          undefined,
          new Map(),
          {workers},
        ),
      )
      assert.equal(e.code, 'ARCHIVE_INVALID', String(workers))
      assert.match(e.message, new RegExp(`${blobName(a).replaceAll('/', '\\/')}`), String(workers))
    }
    await scanned.fh.close()
  })
})

describe('startPool', () => {
  it('no pool for 0 workers, a small or unreadable file; a pool when workers are asked for', async () => {
    const path = archive(good())
    assert.equal(await startPool(path, 0), undefined)
    assert.equal(await startPool(path, undefined), undefined)
    assert.equal(await startPool(join(work.dir, 'missing.tar'), undefined), undefined)
    const pool = await startPool(path, 1)
    assert.ok(pool)
    try {
      assert.deepEqual(await pool.hash([{name: blobName(a), offset: 2560, size: 3000}]), [digest(a)])
    } finally {
      await pool.close()
    }
  })
})
