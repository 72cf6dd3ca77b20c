// openVolumeSet in process (issue 13 item 5): a volume set opened as one logical archive, on small sets built here
// with the hostile corpus's tar writer and a volumes.json naming their real sizes. The good set's index is compared
// field by field (offsets, volumes, split parts joined); each lie of a set (a volume past the count, missing, cut or
// grown, without its label, of another set or another number, parts repeated, missing, moved, unlisted, listed but
// absent, an entry both whole and split, a layout file over its limit) is refused by its exact message, and no file
// stays open after a refusal.
import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'
import {appendFileSync, rmSync, truncateSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, it} from 'node:test'
import {partName} from '../src/archive/volumes.ts'
import {openVolumeSet} from '../src/archive/volume-set-source.ts'
import {
  type BuiltSet,
  blobName,
  buildVolumeSet,
  type Failure,
  openPaths,
  type SetOptions,
  type SplitClaim,
  sha,
  workDir,
} from './support/archive-unit.ts'
import {BLOCK, type TarEntry, writeTar} from './support/hostile/tar.ts'

const work = workDir('airlock-volume-set-')
/**
 * Writes set.volNNN.tar (a label, then `entries`) for each volume and set.volumes.json. Split records are derived
 * from the `parts/` entries found, unless `split` is given.
 */
const buildSet = (volumes: TarEntry[][], options: SetOptions = {}): BuiltSet => buildVolumeSet(work, volumes, options)
/** Paths of this process's open files under `dir`. */
const openUnder = (dir: string): string[] => openPaths().filter(target => target.startsWith(dir))
async function refusal(built: BuiltSet): Promise<Failure> {
  try {
    const opened = await openVolumeSet(built.manifest)
    await Promise.all(opened.files.map(f => f.fh.close()))
  } catch (error) {
    assert.deepEqual(openUnder(built.dir), [], 'a refused set leaves no file open')
    return error as Failure
  }
  assert.fail('expected a refusal')
}

const layout = Buffer.from('{"imageLayoutVersion":"1.0.0"}')
const index = Buffer.from('{"schemaVersion":2,"manifests":[]}')
const airlock = Buffer.from('{"formatVersion":1}')
const whole = randomBytes(700)
const big = randomBytes(2000)

describe('openVolumeSet', () => {
  it('indexes every volume, joins the split entry from its parts, and reads the layout files whole', async () => {
    const built = buildSet([
      [
        {name: 'oci-layout', body: layout},
        {name: 'blobs/', type: 'Directory'},
        {name: 'blobs/sha256/', type: 'Directory'},
        {name: blobName(whole), body: whole},
        {name: partName(blobName(big), 1), body: big.subarray(0, 1200)},
      ],
      [
        {name: partName(blobName(big), 2), body: big.subarray(1200)},
        {name: 'index.json', body: index},
        {name: 'airlock.json', body: airlock},
      ],
    ])
    const opened = await openVolumeSet(built.manifest)
    try {
      assert.deepEqual(
        opened.files.map(f => [f.path, f.identity.size]),
        built.files.map((f, i) => [f, built.volumes[i]!.length]),
      )
      // offsets: the label (header + one block), then per entry a header block and its body padded to 512
      const v1 = {
        layout: 1024 + BLOCK,
        whole: 1024 + (BLOCK + 512) + BLOCK + BLOCK + BLOCK,
        part1: 1024 + (BLOCK + 512) + BLOCK + BLOCK + (BLOCK + 1024) + BLOCK,
      }
      const v2 = {
        part2: 1024 + BLOCK,
        index: 1024 + (BLOCK + 1024) + BLOCK,
        airlock: 1024 + (BLOCK + 1024) + (BLOCK + 512) + BLOCK,
      }
      // blob names are digests of random bytes, so both sides are sorted by name
      const byName = ([a]: [string, unknown], [b]: [string, unknown]) => (a < b ? -1 : 1)
      assert.deepEqual(
        [...opened.entries.entries()].sort(byName),
        (
          [
            ['airlock.json', {name: 'airlock.json', size: airlock.length, dataOffset: v2.airlock, volume: 1}],
            [
              blobName(big),
              {
                name: blobName(big),
                size: 2000,
                dataOffset: v1.part1,
                volume: 0,
                parts: [
                  {file: 0, offset: v1.part1, size: 1200},
                  {file: 1, offset: v2.part2, size: 800},
                ],
              },
            ],
            [blobName(whole), {name: blobName(whole), size: 700, dataOffset: v1.whole, volume: 0}],
            ['index.json', {name: 'index.json', size: index.length, dataOffset: v2.index, volume: 1}],
            ['oci-layout', {name: 'oci-layout', size: layout.length, dataOffset: v1.layout, volume: 0}],
          ] as [string, unknown][]
        ).sort(byName),
      )
      assert.deepEqual(
        [...opened.small.entries()].sort(([a], [b]) => (a < b ? -1 : 1)),
        [
          ['airlock.json', airlock],
          ['index.json', index],
          ['oci-layout', layout],
        ],
      )
      // oci-layout, blobs/, blobs/sha256/, the whole blob, index.json, airlock.json, and the split blob once
      assert.equal(opened.count, 7)
      assert.equal(opened.totalBytes, built.volumes[0]!.length + built.volumes[1]!.length)
      assert.deepEqual(opened.info, {
        manifest: built.manifest,
        manifestSha256: built.manifestSha256,
        setId: built.setId,
        count: 2,
        volumes: built.files,
      })
      assert.deepEqual(
        opened.volumes.map(v => [v.volume, v.size, v.sha256]),
        built.volumes.map((b, i) => [i + 1, b.length, sha(b)]),
      )
    } finally {
      await Promise.all(opened.files.map(f => f.fh.close()))
    }
  })

  it('a layout file split over its limit is refused', async () => {
    const long = Buffer.alloc(1500, 0x20)
    const e = await refusal(
      buildSet([
        [{name: partName('oci-layout', 1), body: long.subarray(0, 1000)}],
        [{name: partName('oci-layout', 2), body: long.subarray(1000)}],
      ]),
    )
    assert.equal(e.code, 'TOO_LARGE')
    assert.equal(e.message, 'entry "oci-layout" is 1500 bytes, over the 1024 byte limit')
  })

  it('a volume past the count, missing, cut short or grown', async () => {
    const past = buildSet([[{name: blobName(whole), body: whole}]])
    writeFileSync(join(past.dir, 'set.vol002.tar'), 'x')
    const e1 = await refusal(past)
    assert.equal(e1.code, 'ARCHIVE_INVALID')
    assert.equal(
      e1.message,
      `${join(past.dir, 'set.vol002.tar')} is present, but ${past.manifest} lists 1 volume(s): the count in volumes.json is wrong, or the volume belongs to another export`,
    )
    assert.equal(e1.hint, 'keep only the volumes of one export beside its volumes.json')
    const missing = buildSet([[{name: blobName(whole), body: whole}], [{name: blobName(big), body: big}]])
    rmSync(missing.files[1]!)
    const e2 = await refusal(missing)
    assert.equal(e2.code, 'ARCHIVE_INCOMPLETE')
    assert.equal(e2.message, `volume 2 of 2 (${missing.files[1]}) is missing`)
    assert.equal(
      e2.hint,
      'copy every volume of the set beside its volumes.json (airlock verify-volume says which are missing)',
    )
    const cut = buildSet([[{name: blobName(whole), body: whole}]])
    truncateSync(cut.files[0]!, 1024)
    const e3 = await refusal(cut)
    assert.equal(e3.code, 'ARCHIVE_INVALID')
    assert.equal(
      e3.message,
      `${cut.files[0]} is 1024 bytes, but volumes.json says volume 1 is ${cut.volumes[0]!.length} (truncated)`,
    )
    assert.equal(e3.hint, 'copy the volume again, or check it with airlock verify-volume')
    const grown = buildSet([[{name: blobName(whole), body: whole}]])
    appendFileSync(grown.files[0]!, Buffer.alloc(512))
    const e4 = await refusal(grown)
    assert.equal(
      e4.message,
      `${grown.files[0]} is ${grown.volumes[0]!.length + 512} bytes, but volumes.json says volume 1 is ${grown.volumes[0]!.length}`,
    )
  })

  it('a volume without its label, of another set, or holding another volume', async () => {
    // a volume whose first entry is a blob, with volumes.json rewritten around its bytes
    const fixed = buildSet([[]])
    const bytes = writeTar([{name: blobName(whole), body: whole}])
    writeFileSync(fixed.files[0]!, bytes)
    writeFileSync(
      fixed.manifest,
      JSON.stringify({
        airlockVolumes: 1,
        setId: fixed.setId,
        name: 'set',
        volumeSize: 65536,
        count: 1,
        totalBytes: bytes.length,
        volumes: [{volume: 1, file: 'set.vol001.tar', size: bytes.length, sha256: sha(bytes)}],
        split: [],
      }),
    )
    const e1 = await refusal(fixed)
    assert.equal(e1.code, 'ARCHIVE_INVALID')
    assert.equal(e1.message, `${fixed.files[0]}: does not start with a volume label: not a volume airlock wrote`)
    const other = buildSet([[{name: blobName(whole), body: whole}]], {labels: [['cd'.repeat(16), 1]]})
    const e2 = await refusal(other)
    assert.equal(e2.code, 'ARCHIVE_INVALID')
    assert.equal(
      e2.message,
      `${other.files[0]}: volume of another export (set ${'cd'.repeat(16)}), not of set (set ${other.setId}): volumes of two exports are mixed`,
    )
    assert.equal(e2.hint, 'find volume 1 of set and put it in place of set.vol001.tar')
    const swapped = buildSet([[], []], {
      labels: [
        [undefined, 2],
        [undefined, 1],
      ],
    })
    const e3 = await refusal(swapped)
    assert.equal(
      e3.message,
      `${swapped.files[0]}: holds volume 2 of the set, not volume 1: volumes renamed, swapped or repeated`,
    )
    assert.equal(e3.hint, 'give each volume its own name (set.vol002.tar for this one)')
  })

  it('parts: a bad entry name, not a regular file, repeated; whole entries repeated', async () => {
    const bad = buildSet([[{name: partName('etc/passwd', 1), body: whole}]], {split: []})
    const e1 = await refusal(bad)
    assert.equal(e1.code, 'ARCHIVE_INVALID')
    // the rules judge the entry the part belongs to
    assert.equal(e1.message, `${bad.files[0]}: entry "etc/passwd": unexpected entry (not part of an airlock archive)`)
    const dir = buildSet([[{name: partName('blobs/sha256/', 1), type: 'Directory'}]], {split: []})
    const e2 = await refusal(dir)
    assert.equal(e2.code, 'ARCHIVE_INVALID')
    assert.equal(e2.message, `${dir.files[0]}: entry "parts/blobs/sha256/.001": a part must be a regular file`)
    const name1 = partName(blobName(big), 1)
    const twice = buildSet(
      [[{name: name1, body: big.subarray(0, 1000)}], [{name: name1, body: big.subarray(0, 1000)}]],
      {
        split: [],
      },
    )
    const e3 = await refusal(twice)
    assert.equal(e3.code, 'ARCHIVE_INVALID')
    assert.match(e3.message, new RegExp(`^${twice.files[1]}: .*${name1}.*appears more than once in the set`))
    const dup = buildSet([[{name: blobName(whole), body: whole}], [{name: blobName(whole), body: whole}]])
    const e4 = await refusal(dup)
    assert.match(e4.message, new RegExp(`^${dup.files[1]}: .*${blobName(whole)}.*appears more than once in the set`))
    const dupDir = buildSet([
      [
        {name: 'blobs/', type: 'Directory'},
        {name: 'blobs', type: 'Directory'},
      ],
    ])
    assert.equal(
      (await refusal(dupDir)).message,
      `${dupDir.files[0]}: entry "blobs": appears more than once in the set`,
    )
  })

  it('split entries that disagree with volumes.json', async () => {
    const entry = blobName(big)
    const p1 = {name: partName(entry, 1), body: big.subarray(0, 1200)}
    const p2 = {name: partName(entry, 2), body: big.subarray(1200)}
    const unlisted = buildSet([[p1], [p2]], {split: []})
    const e1 = await refusal(unlisted)
    assert.equal(e1.code, 'ARCHIVE_INVALID')
    assert.equal(
      e1.message,
      `${unlisted.manifest}: ${entry} is split into parts in the volumes, but volumes.json does not list it`,
    )
    const both = buildSet([[{name: entry, body: big}, p1], [p2]])
    const e2 = await refusal(both)
    assert.equal(e2.code, 'ARCHIVE_INVALID')
    assert.match(e2.message, new RegExp(`${entry}.*appears both whole and split in the set`))
    const claim = (volume2: number, size2: number): SplitClaim => ({
      entry,
      size: 1200 + size2,
      parts: [
        {part: 1, volume: 1, name: p1.name, size: 1200, sha256: sha(p1.body)},
        {part: 2, volume: volume2, name: p2.name, size: size2, sha256: sha(p2.body)},
      ],
    })
    const missing = buildSet([[p1], []], {split: [claim(2, 800)]})
    const e3 = await refusal(missing)
    assert.equal(e3.code, 'ARCHIVE_INCOMPLETE')
    assert.equal(e3.message, `${p2.name} (part 2 of 2 of ${entry}) is missing from ${missing.files[1]}`)
    const moved = buildSet([[p1, p2], []], {split: [claim(2, 800)]})
    const e4 = await refusal(moved)
    assert.equal(e4.code, 'ARCHIVE_INVALID')
    assert.equal(e4.message, `${moved.files[0]}: ${p2.name} is 800 bytes, volumes.json says 800 bytes in volume 2`)
    const resized = buildSet([[p1], [p2]], {split: [claim(2, 801)]})
    const e5 = await refusal(resized)
    assert.equal(e5.message, `${resized.files[1]}: ${p2.name} is 800 bytes, volumes.json says 801 bytes in volume 2`)
    const extra = buildSet([[p1], [p2, {name: partName(entry, 3), body: Buffer.from('x')}]], {split: [claim(2, 800)]})
    const e6 = await refusal(extra)
    assert.equal(e6.code, 'ARCHIVE_INVALID')
    assert.match(e6.message, new RegExp(`${entry}.*has 3 parts in the volumes, volumes.json lists 2`))
    const absent = buildSet([[{name: blobName(whole), body: whole}], []], {split: [claim(2, 800)]})
    const e7 = await refusal(absent)
    assert.equal(e7.code, 'ARCHIVE_INCOMPLETE')
    assert.equal(e7.message, `${absent.manifest}: lists ${entry} as split, but no volume holds its parts`)
  })
})
