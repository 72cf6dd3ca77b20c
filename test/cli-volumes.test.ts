// Issue 17 item 4: self-verifying volumes, through the CLI. A set written by `export --volume-size` verifies,
// inspects and pushes as the same logical archive in any order, never rejoined on disk; each volume checks alone
// as it arrives (verify-volume); and every kind of damage to a set (mixed, repeated, missing, truncated, swapped,
// corrupt, a lying volumes.json) fails naming the volume, with nothing pushed into a real registry.
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {createHash} from 'node:crypto'
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
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {runCli, runCliJson} from './support/cli.ts'
import {LayoutBuilder} from './support/layouts.ts'
import {startRegistry, type StartedRegistry} from './support/registry.ts'

const VOLUME = '100K' // 100,000 bytes: the 300 KB layer is split over 4 volumes, the rest fit whole
const IMAGES = ['example.com/test/app:1.0', 'example.com/test/two:1.0']

let work: string
let layout: string
let registry: StartedRegistry

interface VolumesJson {
  setId: string
  count: number
  totalBytes: number
  volumeSize: number
  volumes: Array<{volume: number; file: string; size: number; sha256: string}>
  split: Array<{
    entry: string
    size: number
    parts: Array<{volume: number; name: string; size: number; sha256: string}>
  }>
}

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex')

/** Exports the two test images into DIR/NAME.vol*.tar as a set. */
async function exportSet(dir: string, name = 'set', size = VOLUME) {
  mkdirSync(dir, {recursive: true})
  return runCliJson<{volumes: {manifest: string; manifestSha256: string; setId: string; count: number; split: number}}>(
    [
      'export',
      '--no-tuf',
      '--signatures',
      'skip',
      '--volume-size',
      size,
      '-o',
      join(dir, `${name}.tar`),
      ...IMAGES.map(i => `oci:${layout}:${i}`),
    ],
  )
}

/** A fresh copy of the reference set in its own directory (tests damage their copy). */
function copySet(from: string, to: string): string {
  mkdirSync(to, {recursive: true})
  for (const f of readdirSync(from)) copyFileSync(join(from, f), join(to, f))
  return to
}

const volumes = (dir: string) =>
  readdirSync(dir)
    .filter(f => /\.vol[0-9]{3}\.tar$/.test(f))
    .map(f => join(dir, f))

const verify = (...args: string[]) => runCli(['verify', '--signatures', 'skip', ...args])

function shuffled<T>(list: T[]): T[] {
  const out = [...list]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}

async function catalog(): Promise<string[]> {
  const body = (await fetch(`${registry.url}/v2/_catalog`).then(r => r.json())) as {repositories: string[]}
  return body.repositories
}

let reference: string

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'airlock-volumes-'))
  layout = join(work, 'layout')
  const b = await LayoutBuilder.create(layout)
  const app = await b.image([await b.randomLayer(300_000), await b.randomLayer(30_000)])
  await b.tag(app, IMAGES[0]!)
  await b.tag(await b.image([await b.randomLayer(70_000)]), IMAGES[1]!)
  registry = await startRegistry()
  reference = join(work, 'reference')
  const r = await exportSet(reference)
  assert.equal(r.status, 0, r.stderr)
})

after(async () => {
  await registry?.stop()
  await rm(work, {recursive: true, force: true})
})

describe('export --volume-size', () => {
  it('writes NAME.vol001.tar ... and NAME.volumes.json: valid tars within the size, hashes that match, the manifest hash printed', async () => {
    const dir = join(work, 'fresh')
    mkdirSync(dir)
    const ok = await exportSet(dir, 'fresh')
    assert.equal(ok.status, 0, ok.stderr)
    const manifestPath = join(dir, 'fresh.volumes.json')
    const set = JSON.parse(readFileSync(manifestPath, 'utf8')) as VolumesJson
    assert.equal(ok.json.volumes.manifestSha256, sha256(manifestPath))
    assert.equal(ok.json.volumes.setId, set.setId)
    assert.equal((ok.json as unknown as {archive: string}).archive, manifestPath)
    assert.ok(set.count >= 4, `count ${set.count}`)
    assert.equal(set.volumeSize, 100_000)
    assert.deepEqual(
      volumes(dir).map(v => v.slice(dir.length + 1)),
      set.volumes.map(v => v.file),
    )
    let total = 0
    for (const v of set.volumes) {
      const path = join(dir, v.file)
      assert.ok(statSync(path).size <= 100_000, `${v.file} is over the volume size`)
      assert.equal(statSync(path).size, v.size)
      assert.equal(sha256(path), v.sha256)
      total += v.size
      // each volume is a tar that GNU tar reads, starting with the set's label
      const names = execFileSync('tar', ['tf', path], {encoding: 'utf8'}).trim().split('\n')
      assert.equal(names[0], 'airlock-volume.json')
      const label = JSON.parse(execFileSync('tar', ['xOf', path, 'airlock-volume.json'], {encoding: 'utf8'}))
      assert.deepEqual(label, {airlockVolume: 1, setId: set.setId, volume: v.volume})
    }
    assert.equal(set.totalBytes, total)
    // the 300 KB layer does not fit in one volume: split, its parts named and hashed, in consecutive volumes
    assert.equal(set.split.length, 1)
    const split = set.split[0]!
    assert.equal(split.size, 300_000)
    assert.ok(split.parts.length >= 3)
    const joined = createHash('sha256')
    for (const part of split.parts) {
      const bytes = execFileSync('tar', ['xOf', join(dir, set.volumes[part.volume - 1]!.file), part.name])
      assert.equal(bytes.length, part.size)
      assert.equal(createHash('sha256').update(bytes).digest('hex'), part.sha256)
      joined.update(bytes)
    }
    assert.equal(`blobs/sha256/${joined.digest('hex')}`, split.entry)
    // without --json: every volume and the manifest's own sha256 printed, to be noted out of band
    const human = await runCli([
      'export',
      '--no-tuf',
      '--signatures',
      'skip',
      '--force',
      '--volume-size',
      VOLUME,
      '-o',
      join(dir, 'fresh.tar'),
      ...IMAGES.map(i => `oci:${layout}:${i}`),
    ])
    assert.equal(human.status, 0, human.stderr)
    const printed = /volumes\.json sha256 ([0-9a-f]{64})/.exec(human.stderr)?.[1]
    assert.equal(printed, sha256(manifestPath))
    assert.match(human.stderr, /wrote .*fresh\.vol001\.tar: .*sha256 [0-9a-f]{64}/)
  })

  it('refuses a nonsense size in one line, before any download', async () => {
    for (const bad of ['abc', '0', '10K', '-5G', '4.7X', '1e3G', '99999999999999T']) {
      const r = await runCli(['export', '--volume-size', bad, '-o', join(work, 'never.tar'), 'registry.invalid/x:1'])
      assert.equal(r.status, 2, `${bad}: ${r.stderr}`)
      assert.match(r.stderr, /^airlock: error: --volume-size "/m, bad)
      assert.equal(r.stderr.split('\n').filter(l => l.startsWith('airlock: error')).length, 1)
      assert.doesNotMatch(r.stderr, /registry\.invalid|TUF/, 'nothing was fetched')
    }
    for (const [good, bytes] of [
      ['4.7G', 4_700_000_000],
      ['4Gi', 4 * 2 ** 30],
      ['64Ki', 65_536],
      ['700MB', 700_000_000],
    ] as const) {
      const {parseVolumeSize} = await import('../src/archive/volumes.ts')
      assert.equal(parseVolumeSize(good), bytes, good)
    }
  })
})

describe('a volume set is the same archive', () => {
  it('verify accepts the volumes in any order, or the volumes.json; inspect too', async () => {
    for (let round = 0; round < 3; round++) {
      const r = await verify(...shuffled(volumes(reference)))
      assert.equal(r.status, 0, r.stderr)
      assert.match(r.stdout, /integrity verified.*2 images, 7 blobs/)
    }
    const byManifest = await runCliJson(['verify', '--signatures', 'skip', join(reference, 'set.volumes.json')])
    assert.equal(byManifest.status, 0, byManifest.stderr)
    assert.equal(byManifest.json['ok'], true)
    const set = byManifest.json['volumeSet'] as {manifestSha256: string; count: number; volumes: string[]}
    assert.equal(set.manifestSha256, sha256(join(reference, 'set.volumes.json')))
    assert.equal(set.volumes.length, set.count)
    const inspect = await runCliJson<{images: Array<{reference: string}>}>(['inspect', ...shuffled(volumes(reference))])
    assert.equal(inspect.status, 0, inspect.stderr)
    assert.deepEqual(inspect.json.images.map(i => i.reference).sort(), IMAGES)
  })

  it('push reads a shuffled set straight into a real registry; the mirror then verifies', async () => {
    const r = await runCli([
      'push',
      '--signatures',
      'skip',
      '--insecure-registry',
      registry.host,
      ...shuffled(volumes(reference)),
      `${registry.host}/set`,
    ])
    assert.equal(r.status, 0, r.stderr)
    assert.deepEqual((await catalog()).sort(), ['set/test/app', 'set/test/two'])
    const check = await runCli([
      'verify',
      '--signatures',
      'skip',
      join(reference, 'set.volumes.json'),
      '--registry',
      `${registry.host}/set`,
      '--insecure-registry',
      registry.host,
    ])
    assert.equal(check.status, 0, check.stderr + check.stdout)
    // nothing was rejoined beside the volumes
    assert.deepEqual(
      readdirSync(reference).sort(),
      [...volumes(reference).map(v => v.slice(reference.length + 1)), 'set.volumes.json'].sort(),
    )
  })
})

describe('verify-volume: one volume as it arrives', () => {
  it('checks each volume alone and says which are still missing, from the files present', async () => {
    const incoming = join(work, 'incoming')
    mkdirSync(incoming)
    copyFileSync(join(reference, 'set.volumes.json'), join(incoming, 'set.volumes.json'))
    const all = volumes(reference)
    const order = shuffled(all)
    for (const [n, volume] of order.entries()) {
      const name = volume.slice(reference.length + 1)
      copyFileSync(volume, join(incoming, name))
      const r = await runCliJson<{volume: number; missing: string[]; complete: boolean; count: number}>([
        'verify-volume',
        join(incoming, name),
      ])
      assert.equal(r.status, 0, r.stderr)
      assert.equal(r.json.volume, Number(/vol([0-9]{3})/.exec(name)![1]))
      assert.equal(r.json.missing.length, all.length - n - 1)
      assert.equal(r.json.complete, n === all.length - 1)
      for (const later of order.slice(n + 1))
        assert.ok(
          r.json.missing.some(m => m.endsWith(later.slice(reference.length + 1))),
          `${later} listed missing`,
        )
    }
    const human = await runCli(['verify-volume', join(incoming, 'set.vol001.tar')])
    assert.match(human.stdout, /volume 1 of \d+ ok/)
    assert.match(human.stdout, /all \d+ volumes are present/)
  })
})

describe('bad sets: each named, nothing pushed', () => {
  let n = 0
  const damaged = () => copySet(reference, join(work, `bad-${n++}`))
  const pushSet = (...args: string[]) =>
    runCli(['push', '--signatures', 'skip', '--insecure-registry', registry.host, ...args, `${registry.host}/bad`])
  const nothingPushed = async () => assert.ok(!(await catalog()).some(r => r.startsWith('bad/')), 'nothing pushed')

  it('volumes of two exports mixed: named as another export', async () => {
    const other = join(work, 'other')
    const r = await exportSet(other) // same images, same names, another set id
    assert.equal(r.status, 0, r.stderr)
    const dir = damaged()
    copyFileSync(join(other, 'set.vol002.tar'), join(dir, 'set.vol002.tar'))
    for (const run of [
      await verify(...volumes(dir)),
      await pushSet(join(dir, 'set.volumes.json')),
      await runCli(['verify-volume', join(dir, 'set.vol002.tar')]),
    ]) {
      assert.notEqual(run.status, 0)
      assert.match(run.stderr, /set\.vol002\.tar.*(another export|two exports)/)
    }
    // and two sets named on one command line
    const two = await verify(
      join(dir, 'set.vol001.tar'),
      join(other, 'set.vol002.tar'),
      join(work, 'x', 'y.vol003.tar'),
    )
    assert.notEqual(two.status, 0)
    assert.match(two.stderr, /volumes of two sets/)
    await nothingPushed()
  })

  it('a volume repeated: given twice, or copied over another of the same size', async () => {
    const dir = damaged()
    const twice = await verify(...volumes(dir), join(dir, 'set.vol001.tar'))
    assert.notEqual(twice.status, 0)
    assert.match(twice.stderr, /set\.vol001\.tar: volume 1 is given twice/)
    // vol001 and vol002 are both full (same size): a copy of one in place of the other
    assert.equal(statSync(join(dir, 'set.vol001.tar')).size, statSync(join(dir, 'set.vol002.tar')).size)
    copyFileSync(join(dir, 'set.vol001.tar'), join(dir, 'set.vol002.tar'))
    for (const run of [await verify(...volumes(dir)), await pushSet(...shuffled(volumes(dir)))]) {
      assert.notEqual(run.status, 0)
      assert.match(run.stderr, /set\.vol002\.tar: holds volume 1 of the set, not volume 2/)
    }
    const one = await runCli(['verify-volume', join(dir, 'set.vol002.tar')])
    assert.notEqual(one.status, 0)
    assert.match(one.stderr, /set\.vol002\.tar holds volume 1 of the set, not volume 2/)
    await nothingPushed()
  })

  it('a volume missing: named, whether the set is given by its volumes or its volumes.json', async () => {
    const dir = damaged()
    rmSync(join(dir, 'set.vol003.tar'))
    const byVolumes = await verify(...volumes(dir))
    assert.notEqual(byVolumes.status, 0)
    assert.match(byVolumes.stderr, /missing: .*set\.vol003\.tar/)
    const byManifest = await pushSet(join(dir, 'set.volumes.json'))
    assert.notEqual(byManifest.status, 0)
    assert.match(byManifest.stderr, /volume 3 of \d+ \(.*set\.vol003\.tar\) is missing/)
    const arrived = await runCliJson<{missing: string[]}>(['verify-volume', join(dir, 'set.vol001.tar')])
    assert.equal(arrived.status, 0)
    assert.deepEqual(
      arrived.json.missing.map(m => m.slice(dir.length + 1)),
      ['set.vol003.tar'],
    )
    await nothingPushed()
  })

  it('a volume truncated: named as truncated', async () => {
    const dir = damaged()
    const path = join(dir, 'set.vol002.tar')
    truncateSync(path, statSync(path).size - 4096)
    for (const run of [
      await verify(...shuffled(volumes(dir))),
      await pushSet(join(dir, 'set.volumes.json')),
      await runCli(['verify-volume', path]),
    ]) {
      assert.notEqual(run.status, 0)
      assert.match(run.stderr, /set\.vol002\.tar is \d+ bytes, but .*(\(truncated\)|: truncated)/)
    }
    await nothingPushed()
  })

  it('two volumes of the same size swapped: each named with the volume it really is', async () => {
    const dir = damaged()
    const [a, b] = [join(dir, 'set.vol001.tar'), join(dir, 'set.vol002.tar')]
    assert.equal(statSync(a).size, statSync(b).size)
    renameSync(a, join(dir, 'tmp'))
    renameSync(b, a)
    renameSync(join(dir, 'tmp'), b)
    for (const run of [await verify(...volumes(dir)), await pushSet(join(dir, 'set.volumes.json'))]) {
      assert.notEqual(run.status, 0)
      assert.match(
        run.stderr,
        /set\.vol001\.tar: holds volume 2 of the set, not volume 1: volumes renamed, swapped or repeated/,
      )
    }
    const one = await runCli(['verify-volume', b])
    assert.match(one.stderr, /set\.vol002\.tar holds volume 1 of the set, not volume 2/)
    await nothingPushed()
  })

  it('a corrupt byte inside a volume: the volume is named as corrupt', async () => {
    const dir = damaged()
    const path = join(dir, 'set.vol003.tar')
    const bytes = readFileSync(path)
    bytes[bytes.length - 20_000]! ^= 0xff // inside the split layer's part, not a header
    writeFileSync(path, bytes)
    for (const run of [
      await verify(...volumes(dir)),
      await pushSet(join(dir, 'set.volumes.json')),
      await runCli(['verify-volume', path]),
    ]) {
      assert.notEqual(run.status, 0)
      assert.match(run.stderr, /set\.vol003\.tar: volume 3 hashes to sha256 [0-9a-f]{64}, but volumes\.json says/)
    }
    await nothingPushed()
  })

  it('a volumes.json that lies about a size, a hash or the count: named', async () => {
    const lie = (edit: (set: VolumesJson) => void) => {
      const dir = damaged()
      const file = join(dir, 'set.volumes.json')
      const set = JSON.parse(readFileSync(file, 'utf8')) as VolumesJson
      edit(set)
      writeFileSync(file, JSON.stringify(set))
      return dir
    }
    const cases: Array<[string, (set: VolumesJson) => void, RegExp]> = [
      [
        'size (total kept consistent)',
        set => {
          set.volumes[3]!.size -= 512
          set.totalBytes -= 512
        },
        /set\.vol004\.tar is \d+ bytes, but volumes\.json says volume 4 is \d+/,
      ],
      ['size (total not updated)', set => void (set.volumes[3]!.size -= 512), /totalBytes \d+ is not the sum/],
      [
        'hash',
        set => void (set.volumes[1]!.sha256 = '0'.repeat(64)),
        /set\.vol002\.tar: volume 2 hashes to sha256 [0-9a-f]{64}, but volumes\.json says 0{64}/,
      ],
      [
        'count (one fewer)',
        set => {
          const last = set.volumes.pop()!
          set.count--
          set.totalBytes -= last.size
        },
        /set\.vol00\d\.tar is present, but .*set\.volumes\.json lists \d volume\(s\)/,
      ],
      ['count (disagrees with the list)', set => void set.count++, /count says \d+ volumes but \d+ are listed/],
    ]
    for (const [what, edit, message] of cases) {
      const dir = lie(edit)
      const run = await pushSet(join(dir, 'set.volumes.json'))
      assert.notEqual(run.status, 0, what)
      assert.match(run.stderr, message, what)
      assert.equal(run.stderr.split('\n').filter(l => l.startsWith('airlock: error')).length, 1, what)
      assert.doesNotMatch(run.stderr, /\n\s+at /, `${what}: no stack trace`)
    }
    await nothingPushed()
  })
})
