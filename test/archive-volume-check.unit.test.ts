// checkVolume (verify-volume) in process (issue 13 item 5), on small sets built here: each volume a tar made with
// the hostile corpus's tar writer (a label, a blob or a split part), and a volumes.json naming their real sizes and
// sha256. Each lie a volume can tell (another set's label, another volume's number, a number past the set, a size,
// a damaged header before or after the label, a changed body byte, an entry the archive rules refuse) is refused
// with its exact message; a good volume reports what is present and what is still missing.
import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'
import {appendFileSync, copyFileSync, readFileSync, rmSync, truncateSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, it} from 'node:test'
import {checkVolume} from '../src/archive/volume-check.ts'
import {labelBytes, partName} from '../src/archive/volumes.ts'
import {type BuiltSet, blobName, buildVolumeSet, failure, sha, workDir} from './support/archive-unit.ts'
import {type TarEntry, writeTar} from './support/hostile/tar.ts'

const work = workDir('airlock-volume-check-')
const label = (setId: string, volume: number): TarEntry => ({
  name: 'airlock-volume.json',
  body: labelBytes(setId, volume),
})
/** NAME.volNNN.tar for each list of entries after its label, and NAME.volumes.json listing them (no split records). */
const buildSet = (volumes: TarEntry[][], options: {name?: string; setId?: string; labels?: number[]} = {}): BuiltSet =>
  buildVolumeSet(work, volumes, {...options, split: []})

const b1 = randomBytes(1000)
const b2 = randomBytes(700)
const b3 = randomBytes(300)
const three = (): TarEntry[][] => [
  [{name: blobName(b1), body: b1}],
  [{name: blobName(b2), body: b2}],
  [{name: partName(blobName(b3), 1), body: b3}],
]

describe('checkVolume', () => {
  it('a good volume: its number, size, sha256, the set, and which volumes are present or missing', async () => {
    const set = buildSet(three())
    rmSync(set.files[2]!)
    truncateSync(set.files[0]!, 512)
    const bytes = readFileSync(set.files[1]!)
    const check = await checkVolume(set.files[1]!)
    assert.deepEqual(check, {
      file: set.files[1],
      volume: 2,
      count: 3,
      size: bytes.length,
      sha256: sha(bytes),
      setId: set.setId,
      manifest: set.manifest,
      manifestSha256: set.manifestSha256,
      present: [set.files[1]],
      missing: [set.files[0], set.files[2]],
      complete: false,
    })
  })

  it('a complete set, a split part, and a volume under another name read through --volumes', async () => {
    const set = buildSet(three())
    const last = await checkVolume(set.files[2]!)
    assert.equal(last.volume, 3)
    assert.deepEqual(last.present, set.files)
    assert.deepEqual(last.missing, [])
    assert.equal(last.complete, true)
    const renamed = join(set.dir, 'renamed.tar')
    copyFileSync(set.files[0]!, renamed)
    const refused = await failure(checkVolume(renamed))
    assert.equal(refused.code, 'USAGE')
    assert.equal(refused.message, `${renamed} is not named NAME.volNNN.tar, so its volumes.json cannot be found`)
    assert.equal(refused.hint, 'pass --volumes NAME.volumes.json')
    const viaFlag = await checkVolume(renamed, set.manifest)
    assert.equal(viaFlag.volume, 1)
    assert.equal(viaFlag.complete, true)
    // another set's name: its number is not compared with the label's
    const other = join(set.dir, 'other.vol002.tar')
    copyFileSync(set.files[0]!, other)
    assert.equal((await checkVolume(other, set.manifest)).volume, 1)
  })

  it('a volume that is not there', async () => {
    const set = buildSet(three())
    const gone = join(set.dir, 'set.vol009.tar')
    const refused = await failure(checkVolume(gone))
    assert.equal(refused.code, 'IO_ERROR')
    assert.equal(refused.message, `${gone}: ENOENT: no such file or directory, stat '${gone}'`)
  })

  it('a volume of another set, or holding another volume of this set', async () => {
    const set = buildSet(three())
    const stranger = buildSet(three(), {setId: 'ab'.repeat(16)})
    const mixed = join(set.dir, 'set.vol001.tar')
    copyFileSync(stranger.files[0]!, mixed)
    const refused = await failure(checkVolume(mixed))
    assert.equal(refused.code, 'ARCHIVE_INVALID')
    assert.equal(
      refused.message,
      `${mixed} is a volume of another export (set ${'ab'.repeat(16)}), not of set (set ${set.setId}, ${set.manifest})`,
    )
    assert.equal(refused.hint, 'volumes of two exports are mixed: keep each set with its own volumes.json')
    const set2 = buildSet(three())
    copyFileSync(set2.files[0]!, set2.files[1]!)
    const swapped = await failure(checkVolume(set2.files[1]!))
    assert.equal(swapped.code, 'ARCHIVE_INVALID')
    assert.equal(
      swapped.message,
      `${set2.files[1]} holds volume 1 of the set, not volume 2: volumes renamed, swapped or repeated`,
    )
    assert.equal(swapped.hint, 'its name is set.vol001.tar')
  })

  it('a label past the end of the set', async () => {
    const set = buildSet(three(), {labels: [1, 2, 4]})
    const past = await failure(checkVolume(set.files[2]!, set.manifest))
    assert.equal(past.code, 'ARCHIVE_INVALID')
    assert.equal(
      past.message,
      `${set.files[2]} holds volume 4 of the set, not volume 3: volumes renamed, swapped or repeated`,
    )
    assert.equal(past.hint, 'its name is volume 4')
    const loose = join(set.dir, 'loose.tar')
    copyFileSync(set.files[2]!, loose)
    const listed = await failure(checkVolume(loose, set.manifest))
    assert.equal(listed.code, 'ARCHIVE_INVALID')
    assert.equal(listed.message, `${loose} says it is volume 4, but ${set.manifest} lists 3 volume(s)`)
  })

  it('a volume cut short or grown', async () => {
    const set = buildSet(three())
    const size = readFileSync(set.files[1]!).length
    truncateSync(set.files[1]!, size - 1024)
    const cut = await failure(checkVolume(set.files[1]!))
    assert.equal(cut.code, 'ARCHIVE_INVALID')
    assert.equal(cut.message, `${set.files[1]} is ${size - 1024} bytes, but volume 2 is ${size}: truncated`)
    assert.equal(cut.hint, 'copy the volume again')
    const size3 = readFileSync(set.files[2]!).length
    appendFileSync(set.files[2]!, Buffer.alloc(512))
    const grown = await failure(checkVolume(set.files[2]!))
    assert.equal(grown.code, 'ARCHIVE_INVALID')
    assert.equal(grown.message, `${set.files[2]} is ${size3 + 512} bytes, but volume 3 is ${size3}`)
  })

  it('a changed body byte: the sha256 differs, named with the sha256 of volumes.json', async () => {
    const set = buildSet(three())
    const bytes = readFileSync(set.files[0]!)
    const listed = sha(bytes)
    bytes[1024 + 512 + 10]! ^= 0xff
    writeFileSync(set.files[0]!, bytes)
    const refused = await failure(checkVolume(set.files[0]!))
    assert.equal(refused.code, 'DIGEST_MISMATCH')
    assert.equal(
      refused.message,
      `${set.files[0]}: volume 1 hashes to sha256 ${sha(bytes)}, but volumes.json says ${listed}: the volume is corrupt, or volumes.json is not this set's`,
    )
    assert.equal(
      refused.hint,
      `copy it again; volumes.json's sha256 is ${set.manifestSha256}: compare it with the one export printed`,
    )
  })

  it('damage before the label refuses the volume; after it, the label is still read first', async () => {
    const set = buildSet(three())
    const bytes = readFileSync(set.files[0]!)
    bytes[0] = 'X'.charCodeAt(0)
    writeFileSync(set.files[0]!, bytes)
    const first = await failure(checkVolume(set.files[0]!))
    assert.equal(first.code, 'ARCHIVE_INVALID')
    assert.match(first.message, new RegExp(`^${set.files[0]}: .*checksum`))
    const set2 = buildSet(three())
    const bytes2 = readFileSync(set2.files[1]!)
    bytes2[1024 + 5] = 'X'.charCodeAt(0)
    writeFileSync(set2.files[1]!, bytes2)
    const second = await failure(checkVolume(set2.files[1]!))
    assert.equal(second.code, 'ARCHIVE_INVALID')
    assert.match(second.message, new RegExp(`^${set2.files[1]}: .*checksum`))
    // with the size wrong too, the size is what is reported (the label was read)
    appendFileSync(set2.files[1]!, Buffer.alloc(512))
    assert.match((await failure(checkVolume(set2.files[1]!))).message, /is \d+ bytes, but volume 2 is \d+$/)
  })

  it('a volume that does not start with its label, or whose label is not one', async () => {
    const setId = randomBytes(16).toString('hex')
    const cases: Array<[string, TarEntry[]]> = [
      ['another first entry', [{name: blobName(b1), body: b1}, label(setId, 1)]],
      ['a directory label', [{name: 'airlock-volume.json', type: 'Directory'}]],
      ['an oversized label', [{name: 'airlock-volume.json', body: Buffer.alloc(1025, 0x20)}]],
    ]
    for (const [what, entries] of cases) {
      const dir = work.subdir()
      const file = join(dir, 'set.vol001.tar')
      writeFileSync(file, writeTar(entries))
      writeFileSync(
        join(dir, 'set.volumes.json'),
        JSON.stringify({
          airlockVolumes: 1,
          setId,
          name: 'set',
          volumeSize: 65536,
          count: 1,
          totalBytes: 10,
          volumes: [{volume: 1, file: 'set.vol001.tar', size: 10, sha256: '0'.repeat(64)}],
          split: [],
        }),
      )
      const refused = await failure(checkVolume(file))
      assert.equal(refused.code, 'ARCHIVE_INVALID', what)
      assert.equal(refused.message, `${file}: does not start with a volume label: not a volume airlock wrote`, what)
    }
    const bad = buildSet([[]])
    writeFileSync(bad.files[0]!, writeTar([{name: 'airlock-volume.json', body: Buffer.from('{"airlockVolume": 2}')}]))
    const refused = await failure(checkVolume(bad.files[0]!))
    assert.equal(refused.code, 'ARCHIVE_INVALID')
    assert.equal(
      refused.message,
      `${bad.files[0]}: ${bad.files[0]}: airlock-volume.json is not a volume label airlock wrote`,
    )
  })

  it('an entry the archive rules refuse, and a part whose entry name they refuse', async () => {
    const evil = buildSet([[{name: 'blobs/sha256/../../etc/passwd', body: b1}]])
    const refused = await failure(checkVolume(evil.files[0]!))
    assert.equal(refused.code, 'ARCHIVE_INVALID')
    assert.match(refused.message, new RegExp(`^${evil.files[0]}: .*blobs/sha256/\\.\\./\\.\\./etc/passwd`))
    const part = buildSet([[{name: partName('etc/passwd', 1), body: b1}]])
    const refusedPart = await failure(checkVolume(part.files[0]!))
    assert.equal(refusedPart.code, 'ARCHIVE_INVALID')
    assert.match(refusedPart.message, new RegExp(`^${part.files[0]}: .*etc/passwd`))
    assert.doesNotMatch(refusedPart.message, /parts\//)
    const link = buildSet([[{name: blobName(b1), type: 'SymbolicLink', linkpath: '/etc/passwd'}]])
    assert.equal((await failure(checkVolume(link.files[0]!))).code, 'ARCHIVE_INVALID')
  })
})
