// Volume sets in process (issue 13 item 5): src/archive/volume-output.ts, volumes.ts, volume-check.ts and the set
// reader, which test/cli-volumes.test.ts drives through the built CLI only (mutation testing cannot use it). The set
// is written by the real exporter (exportImages with volumeSize) from an OCI layout, then damaged the ways
// cli-volumes.test.ts damages it; each refusal must name the volume and what is wrong with it, as there.
import assert from 'node:assert/strict'
import {
  copyFileSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs'
import {mkdtemp} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {createHash} from 'node:crypto'
import {after, before, describe, it} from 'node:test'
import {checkVolume} from '../src/archive/volume-check.ts'
import {
  archiveArgument,
  manifestFile,
  parseVolumeFile,
  parseVolumeSize,
  readVolumesJson,
  volumeFile,
} from '../src/archive/volumes.ts'
import {exportImages} from '../src/export/export.ts'
import {firstFailure, verifyArchive} from '../src/verify/verify.ts'
import {LayoutBuilder} from './support/layouts.ts'

const IMAGES = ['example.com/test/app:1.0', 'example.com/test/two:1.0']
const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex')

let work: string
let reference: string
let n = 0

/** A fresh copy of the reference set (tests damage their copy). */
function copySet(): string {
  const to = join(work, `copy${n++}`)
  mkdirSync(to)
  for (const f of readdirSync(reference)) copyFileSync(join(reference, f), join(to, f))
  return to
}
/** verify's verdict on a set: the thrown error's message or the report's first failure; undefined when it passes. */
async function verdict(manifest: string): Promise<string | undefined> {
  try {
    const report = await verifyArchive(manifest)
    return report.ok ? undefined : firstFailure(report)
  } catch (error) {
    return (error as Error).message
  }
}

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'airlock-volumes-unit-'))
  const layout = join(work, 'layout')
  const b = await LayoutBuilder.create(layout)
  const app = await b.image([await b.randomLayer(300_000), await b.randomLayer(30_000)])
  await b.tag(app, IMAGES[0]!)
  await b.tag(await b.image([await b.randomLayer(70_000)]), IMAGES[1]!)
  reference = join(work, 'reference')
  mkdirSync(reference)
  const result = await exportImages({
    sources: IMAGES.map(i => `oci:${layout}:${i}`),
    output: join(reference, 'set.tar'),
    volumeSize: 100_000,
  })
  assert.equal(result.volumes?.manifest, join(reference, 'set.volumes.json'))
})
after(() => rmSync(work, {recursive: true, force: true}))

describe('volume sets written by export', () => {
  it('NAME.volNNN.tar within the size, and a volumes.json whose sizes and hashes are the files', async () => {
    const set = readVolumesJson(join(reference, 'set.volumes.json'))
    assert.ok(set.count >= 4, `count ${set.count}`)
    assert.equal(set.volumeSize, 100_000)
    let total = 0
    for (const v of set.volumes) {
      const path = join(reference, v.file)
      assert.equal(v.file, `set.vol${String(v.volume).padStart(3, '0')}.tar`)
      assert.ok(statSync(path).size <= 100_000, v.file)
      assert.equal(statSync(path).size, v.size)
      assert.equal(sha256(path), v.sha256)
      total += v.size
    }
    assert.equal(set.totalBytes, total)
    // the 300 KB layer does not fit one volume: it is split into parts
    assert.ok(set.split.length >= 1)
    assert.equal(await verdict(join(reference, 'set.volumes.json')), undefined)
  })

  it('each volume checked alone: which set, which volume, what is still missing', async () => {
    const dir = copySet()
    rmSync(join(dir, 'set.vol003.tar'))
    const check = await checkVolume(join(dir, 'set.vol002.tar'))
    const set = readVolumesJson(join(dir, 'set.volumes.json'))
    assert.equal(check.volume, 2)
    assert.equal(check.count, set.count)
    assert.equal(check.setId, set.setId)
    assert.equal(check.manifestSha256, sha256(join(dir, 'set.volumes.json')))
    assert.equal(check.sha256, set.volumes[1]!.sha256)
    assert.equal(check.complete, false)
    assert.deepEqual(check.missing, [join(dir, 'set.vol003.tar')])
    assert.equal(check.present.length, set.count - 1)
    await assert.rejects(checkVolume(join(dir, 'loose.tar')), {
      code: 'USAGE',
      message: `${join(dir, 'loose.tar')} is not named NAME.volNNN.tar, so its volumes.json cannot be found`,
    })
  })

  it('a volume missing, truncated, swapped or corrupt: named', async () => {
    let dir = copySet()
    rmSync(join(dir, 'set.vol002.tar'))
    assert.match((await verdict(join(dir, 'set.volumes.json')))!, /set\.vol002\.tar/)

    dir = copySet()
    const cut = join(dir, 'set.vol002.tar')
    truncateSync(cut, statSync(cut).size - 4096)
    assert.match(
      (await verdict(join(dir, 'set.volumes.json')))!,
      /set\.vol002\.tar is \d+ bytes, but volumes\.json says volume 2 is \d+ \(truncated\)/,
    )
    await assert.rejects(checkVolume(cut), /set\.vol002\.tar is \d+ bytes, but .*(\(truncated\)|: truncated)/)

    dir = copySet()
    const [a, b] = [join(dir, 'set.vol001.tar'), join(dir, 'set.vol002.tar')]
    assert.equal(statSync(a).size, statSync(b).size)
    renameSync(a, join(dir, 'tmp'))
    renameSync(b, a)
    renameSync(join(dir, 'tmp'), b)
    assert.match(
      (await verdict(join(dir, 'set.volumes.json')))!,
      /set\.vol001\.tar: holds volume 2 of the set, not volume 1: volumes renamed, swapped or repeated/,
    )
    await assert.rejects(checkVolume(b), /set\.vol002\.tar holds volume 1 of the set, not volume 2/)

    dir = copySet()
    const bad = join(dir, 'set.vol003.tar')
    const bytes = readFileSync(bad)
    bytes[bytes.length - 20_000]! ^= 0xff
    writeFileSync(bad, bytes)
    assert.match(
      (await verdict(join(dir, 'set.volumes.json')))!,
      /set\.vol003\.tar: volume 3 hashes to sha256 [0-9a-f]{64}, but volumes\.json says/,
    )
  })

  it('a volumes.json that lies about a size, a hash or the count: named', async () => {
    const lie = (edit: (set: Record<string, any>) => void) => {
      const dir = copySet()
      const file = join(dir, 'set.volumes.json')
      const set = JSON.parse(readFileSync(file, 'utf8'))
      edit(set)
      writeFileSync(file, JSON.stringify(set))
      return file
    }
    const cases: Array<[string, (set: Record<string, any>) => void, RegExp]> = [
      [
        'size',
        set => {
          set.volumes[3].size -= 512
          set.totalBytes -= 512
        },
        /set\.vol004\.tar is \d+ bytes, but volumes\.json says volume 4 is \d+/,
      ],
      ['total', set => void (set.volumes[3].size -= 512), /totalBytes \d+ is not the sum/],
      [
        'hash',
        set => void (set.volumes[1].sha256 = '0'.repeat(64)),
        /set\.vol002\.tar: volume 2 hashes to sha256 [0-9a-f]{64}, but volumes\.json says 0{64}/,
      ],
      [
        'count (one fewer)',
        set => {
          const last = set.volumes.pop()
          set.count--
          set.totalBytes -= last.size
        },
        /set\.vol00\d\.tar is present, but .*set\.volumes\.json lists \d volume\(s\)/,
      ],
      ['count (disagrees with the list)', set => void set.count++, /count says \d+ volumes but \d+ are listed/],
    ]
    for (const [what, edit, message] of cases) assert.match((await verdict(lie(edit))) ?? 'verified', message, what)
  })
})

describe('volume names and sizes', () => {
  it('file names of a set', () => {
    assert.equal(volumeFile('/d/set', 7), '/d/set.vol007.tar')
    assert.equal(manifestFile('/d/set'), '/d/set.volumes.json')
    assert.deepEqual(parseVolumeFile('/d/set.vol012.tar'), {base: '/d/set', volume: 12})
    for (const name of ['/d/set.vol12.tar', '/d/set.vol012.tgz', '/d/set.tar', '/d/.vol001.tar'])
      assert.equal(parseVolumeFile(name), undefined, name)
    assert.equal(archiveArgument(['/d/plain.tar']), '/d/plain.tar')
    assert.throws(() => archiveArgument([]), {code: 'USAGE', message: 'no archive given'})
  })

  it('the volumes of a set given in any order stand for its volumes.json; mixed, repeated or missing ones do not', () => {
    const set = readVolumesJson(join(reference, 'set.volumes.json'))
    const all = set.volumes.map(v => join(reference, v.file))
    assert.equal(archiveArgument([...all].reverse()), join(reference, 'set.volumes.json'))
    assert.throws(() => archiveArgument([all[0]!, all[0]!, ...all.slice(1)]), {
      code: 'ARCHIVE_INVALID',
      message: `${all[0]}: volume 1 is given twice`,
    })
    assert.throws(() => archiveArgument(all.slice(1)), {
      code: 'ARCHIVE_INCOMPLETE',
      message: `the set set has ${set.count} volumes; missing: ${all[0]}`,
    })
    assert.throws(() => archiveArgument([all[0]!, '/elsewhere/other.vol002.tar']), {
      code: 'ARCHIVE_INVALID',
      message: '/elsewhere/other.vol002.tar is not a volume of set: volumes of two sets (set, other) given together',
    })
    assert.throws(() => archiveArgument([all[0]!, '/d/x.tar']), {
      code: 'USAGE',
      message: /^Unexpected argument: \/d\/x\.tar /,
    })
    const beyond = join(reference, volumeFile('set', set.count + 1))
    assert.throws(() => archiveArgument([...all, beyond]), {
      code: 'ARCHIVE_INVALID',
      message: `${beyond}: the set set has ${set.count} volumes (${join(reference, 'set.volumes.json')}), not ${set.count + 1}`,
    })
  })

  it('--volume-size grammar: bytes or K/M/G (decimal) and Ki/Mi/Gi, at least 64 KiB', () => {
    const table: Array<[string, number]> = [
      ['100K', 100_000],
      ['65536', 65_536],
      ['4.7G', 4_700_000_000],
      ['1M', 1_000_000],
      ['64Ki', 65_536],
      ['2Mi', 2 * 1024 * 1024],
      ['1Gi', 1024 ** 3],
    ]
    for (const [text, bytes] of table) assert.equal(parseVolumeSize(text), bytes, text)
    for (const bad of ['', 'big', '10X', '-1M', '1K', '65535'])
      assert.throws(() => parseVolumeSize(bad), {code: 'USAGE', message: /^--volume-size "/}, bad)
  })
})
