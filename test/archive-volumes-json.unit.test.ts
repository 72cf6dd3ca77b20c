// src/archive/volumes.ts's parsers in process (issue 13 item 5): NAME.volumes.json field by field, the volume label,
// --volume-size and the file-name forms. test/archive-volumes.unit.test.ts drives them through real exports, where
// one lie per document is checked; here each condition of each field is refused on its own, from a valid document
// whose fields agree with each other, and the message says which field lied.
import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import {describe, it} from 'node:test'
import {
  labelBytes,
  parseLabel,
  parsePartName,
  parseVolumeFile,
  parseVolumeSize,
  parseVolumesJson,
  partName,
  setBase,
  volumeFile,
} from '../src/archive/volumes.ts'

const SET = 'a1'.repeat(16)
const hex = (s: string) => createHash('sha256').update(s).digest('hex')
const ENTRY = `blobs/sha256/${hex('layer')}`
const FILE = '/tmp/set.volumes.json'

/** A consistent volumes.json: three volumes, one entry split over volumes 1 and 2. */
function valid(): any {
  return {
    airlockVolumes: 1,
    setId: SET,
    name: 'set',
    volumeSize: 65536,
    count: 3,
    totalBytes: 65536 + 65536 + 1000,
    volumes: [1, 2, 3].map(v => ({
      volume: v,
      file: volumeFile('set', v),
      size: v === 3 ? 1000 : 65536,
      sha256: hex(`v${v}`),
    })),
    split: [
      {
        entry: ENTRY,
        size: 70000,
        parts: [
          {part: 1, volume: 1, name: partName(ENTRY, 1), size: 60000, sha256: hex('p1')},
          {part: 2, volume: 2, name: partName(ENTRY, 2), size: 10000, sha256: hex('p2')},
        ],
      },
    ],
  }
}
const parse = (doc: unknown) => parseVolumesJson(Buffer.from(JSON.stringify(doc)), FILE)
const HINT = 'volumes.json is not the one written with these volumes; compare its sha256 with the one export printed'

describe('parseVolumesJson', () => {
  it('reads a consistent document', () => {
    const set = parse(valid())
    assert.deepEqual(set, valid())
  })

  it('refuses each lie by the field that lies', () => {
    const cases: Array<[string, (d: any) => void, string]> = [
      ['setId short', d => (d.setId = 'a1'), 'setId is not 32 lowercase hex digits'],
      ['setId upper', d => (d.setId = SET.toUpperCase()), 'setId is not 32 lowercase hex digits'],
      ['setId number', d => (d.setId = 5), 'setId is not 32 lowercase hex digits'],
      ['name empty', d => (d.name = ''), 'name is not a plain file name'],
      ['name path', d => (d.name = 'a/set'), 'name is not a plain file name'],
      ['name NUL', d => (d.name = 'se\0t'), 'name is not a plain file name'],
      ['name number', d => (d.name = 7), 'name is not a plain file name'],
      ['volumeSize small', d => (d.volumeSize = 65535), 'volumeSize is not a valid size'],
      ['volumeSize text', d => (d.volumeSize = '65536'), 'volumeSize is not a valid size'],
      ['count 0', d => (d.count = 0), 'count is not between 1 and 999'],
      ['count 1000', d => (d.count = 1000), 'count is not between 1 and 999'],
      ['count 1.5', d => (d.count = 1.5), 'count is not between 1 and 999'],
      ['count other', d => (d.count = 2), 'count says 2 volumes but 3 are listed'],
      ['volumes missing', d => (d.volumes = {}), 'count says 3 volumes but no are listed'],
      ['volume number', d => (d.volumes[1].volume = 3), 'volumes[1] is not volume 2'],
      ['volume not object', d => (d.volumes[1] = [2]), 'volumes[1] is not volume 2'],
      ['volume file', d => (d.volumes[2].file = 'set.vol003.tar.x'), 'volumes[2].file is not "set.vol003.tar"'],
      ['volume size over', d => (d.volumes[0].size = 65537), 'volumes[0].size is not a size within volumeSize'],
      ['volume size negative', d => (d.volumes[0].size = -1), 'volumes[0].size is not a size within volumeSize'],
      [
        'volume sha256',
        d => (d.volumes[0].sha256 = 'A'.repeat(64)),
        'volumes[0].sha256 is not 64 lowercase hex digits',
      ],
      ['volume sha256 type', d => (d.volumes[0].sha256 = 1), 'volumes[0].sha256 is not 64 lowercase hex digits'],
      ['totalBytes', d => (d.totalBytes = 1), 'totalBytes 1 is not the sum of the volume sizes (132072)'],
      ['split', d => (d.split = {}), 'split is not a list'],
      ['split entry', d => (d.split[0].entry = 5), 'split[0] is not an entry with parts'],
      ['split size', d => (d.split[0].size = -5), 'split[0] is not an entry with parts'],
      ['split parts', d => (d.split[0].parts = {}), 'split[0] is not an entry with parts'],
      ['split object', d => (d.split[0] = [1]), 'split[0] is not an entry with parts'],
      ['part number', d => (d.split[0].parts[1].part = 3), `split[0].parts[1] is not part 2 of ${ENTRY}`],
      [
        'part name',
        d => (d.split[0].parts[1].name = partName(ENTRY, 3)),
        `split[0].parts[1] is not part 2 of ${ENTRY}`,
      ],
      ['part volume 0', d => (d.split[0].parts[0].volume = 0), `split[0].parts[0] is not part 1 of ${ENTRY}`],
      ['part volume 4', d => (d.split[0].parts[0].volume = 4), `split[0].parts[0] is not part 1 of ${ENTRY}`],
      ['part volume 1.5', d => (d.split[0].parts[0].volume = 1.5), `split[0].parts[0] is not part 1 of ${ENTRY}`],
      ['part size', d => (d.split[0].parts[0].size = -1), `split[0].parts[0] is not part 1 of ${ENTRY}`],
      ['part sha256', d => (d.split[0].parts[0].sha256 = 'x'), `split[0].parts[0] is not part 1 of ${ENTRY}`],
      ['part sha256 type', d => (d.split[0].parts[0].sha256 = 2), `split[0].parts[0] is not part 1 of ${ENTRY}`],
      ['part object', d => (d.split[0].parts[0] = null), `split[0].parts[0] is not part 1 of ${ENTRY}`],
      ['parts sum', d => (d.split[0].size = 70001), `split[0]: the parts of ${ENTRY} do not add up to its 70001 bytes`],
      [
        'one part',
        d => {
          d.split[0].parts.pop()
          d.split[0].size = 60000
        },
        `split[0]: the parts of ${ENTRY} do not add up to its 60000 bytes`,
      ],
    ]
    for (const [what, change, reason] of cases) {
      const doc = valid()
      change(doc)
      assert.throws(() => parse(doc), {code: 'ARCHIVE_INVALID', message: `${FILE}: ${reason}`, hint: HINT}, what)
    }
    // the last volume may hold more than 0 bytes up to volumeSize, and a part may sit in the last volume
    const edge = valid()
    edge.volumes[2].size = 65536
    edge.totalBytes = 3 * 65536
    edge.split[0].parts[1].volume = 3
    assert.equal(parse(edge).volumes[2]!.size, 65536)
  })

  it('refuses what is not an airlock volumes.json', () => {
    for (const doc of [[], null, {airlockVolumes: 2}, {}])
      assert.throws(() => parse(doc), {
        code: 'ARCHIVE_INVALID',
        message: `${FILE}: not a volumes.json written by airlock export --volume-size`,
      })
    assert.throws(() => parseVolumesJson(Buffer.from('{'), FILE), {
      code: 'ARCHIVE_INVALID',
      message: `${FILE}: not valid JSON`,
    })
  })
})

describe('volume labels', () => {
  it('reads what labelBytes writes, refuses anything else', () => {
    assert.deepEqual(parseLabel(labelBytes(SET, 7), 'v.tar'), {airlockVolume: 1, setId: SET, volume: 7})
    assert.deepEqual(parseLabel(labelBytes(SET, 999), 'v.tar').volume, 999)
    const bad = [
      {airlockVolume: 2, setId: SET, volume: 1},
      {airlockVolume: 1, setId: 'A1'.repeat(16), volume: 1},
      {airlockVolume: 1, setId: 5, volume: 1},
      {airlockVolume: 1, setId: SET, volume: 0},
      {airlockVolume: 1, setId: SET, volume: 1000},
      {airlockVolume: 1, setId: SET, volume: 1.5},
      null,
      'label',
    ]
    for (const label of bad)
      assert.throws(() => parseLabel(Buffer.from(JSON.stringify(label)), 'v.tar'), {
        code: 'ARCHIVE_INVALID',
        message: 'v.tar: airlock-volume.json is not a volume label airlock wrote',
      })
    assert.throws(() => parseLabel(Buffer.from('{"a":'), 'v.tar'), {
      code: 'ARCHIVE_INVALID',
      message: 'v.tar: airlock-volume.json is not valid JSON',
    })
  })
})

describe('names and sizes', () => {
  it('volume files, part names and set bases', () => {
    assert.equal(volumeFile('/d/set', 7), '/d/set.vol007.tar')
    assert.deepEqual(parseVolumeFile('/d/set.vol007.tar'), {base: '/d/set', volume: 7})
    assert.deepEqual(parseVolumeFile('set.vol123.tar'), {base: 'set', volume: 123})
    for (const bad of [
      '/d/set.vol07.tar',
      '/d/set.vol0007.tar',
      '/d/.vol001.tar',
      '/d/set.vol001.tarx',
      'x/set.vol001.tar/y',
    ])
      assert.equal(parseVolumeFile(bad), undefined, bad)
    assert.equal(partName(ENTRY, 2), `parts/${ENTRY}.002`)
    assert.deepEqual(parsePartName(`parts/${ENTRY}.012`), {entry: ENTRY, part: 12})
    for (const bad of [`${ENTRY}.001`, `parts/${ENTRY}.01`, `xparts/${ENTRY}.001`, `parts/${ENTRY}.001x`])
      assert.equal(parsePartName(bad), undefined, bad)
    assert.equal(setBase('/d/out.tar'), '/d/out')
    assert.equal(setBase('/d/out.tar.gz'), '/d/out.tar.gz')
    assert.equal(setBase('/d/out'), '/d/out')
  })

  it('--volume-size: units, bounds and refusals with the hint', () => {
    const sizes: Array<[string, number]> = [
      ['65536', 65536],
      [' 64Ki ', 65536],
      ['64KiB', 65536],
      ['4.7G', 4_700_000_000],
      ['4.7gb', 4_700_000_000],
      ['4Gi', 4 * 2 ** 30],
      ['700M', 700_000_000],
      ['1 T', 10 ** 12],
      ['2Ti', 2 * 2 ** 40],
      ['65.6K', 65_600],
    ]
    for (const [text, bytes] of sizes) assert.equal(parseVolumeSize(text), bytes, text)
    const hint = 'e.g. --volume-size 4.7G (DVD), 25G, 4Gi; K/M/G/T are powers of 1000, Ki/Mi/Gi/Ti powers of 1024'
    const refused: Array<[string, string]> = [
      ['4.7 Gigs', 'not a size'],
      ['-5G', 'not a size'],
      ['.5G', 'not a size'],
      ['5G5', 'not a size'],
      ['65535', 'below the 65536 byte (64Ki) minimum'],
      ['64K', 'below the 65536 byte (64Ki) minimum'],
      ['99999999999T', 'too large'],
    ]
    for (const [text, why] of refused)
      assert.throws(() => parseVolumeSize(text), {
        code: 'USAGE',
        message: `--volume-size ${JSON.stringify(text)}: ${why}`,
        hint,
      })
  })
})
