// The volume-set arguments and files in process (issue 13 item 5): archiveArgument (what the command line names),
// readVolumesJsonHashed (the size limit, an unreadable or missing volumes.json) and removeStaleSetPartials (the
// temporaries an interrupted export of a set left). volumes.json files are written here; archiveArgument reads
// only them, so the volumes themselves need not exist.
import assert from 'node:assert/strict'
import {createHash, randomBytes} from 'node:crypto'
import {existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, truncateSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'
import {
  archiveArgument,
  MAX_VOLUMES_JSON_BYTES,
  readVolumesJsonHashed,
  removeStaleSetPartials,
} from '../src/archive/volumes.ts'

const work = mkdtempSync(join(tmpdir(), 'airlock-volume-args-'))
after(() => rmSync(work, {recursive: true, force: true}))
let n = 0
const freshDir = (): string => mkdtempSync(join(work, `${n++}-`))

/** NAME.volumes.json for a set of `count` volumes (named `name` inside). */
function writeSet(dir: string, file: string, name: string, count: number): {path: string; bytes: Buffer} {
  const volumes = Array.from({length: count}, (_, i) => ({
    volume: i + 1,
    file: `${name}.vol${String(i + 1).padStart(3, '0')}.tar`,
    size: 70_000,
    sha256: 'a'.repeat(64),
  }))
  const bytes = Buffer.from(
    JSON.stringify({
      airlockVolumes: 1,
      setId: randomBytes(16).toString('hex'),
      name,
      volumeSize: 100_000,
      count,
      totalBytes: 70_000 * count,
      volumes,
      split: [],
    }),
  )
  const path = join(dir, file)
  writeFileSync(path, bytes)
  return {path, bytes}
}
function refusal(f: () => unknown): Error & {code?: string; hint?: string; details?: unknown} {
  try {
    f()
  } catch (error) {
    return error as Error & {code?: string; hint?: string; details?: unknown}
  }
  assert.fail('expected a refusal')
}

describe('archiveArgument', () => {
  it('one plain archive, one volume of a one-volume set, or the volumes of a set', () => {
    const dir = freshDir()
    assert.equal(archiveArgument([join(dir, 'plain.tar')]), join(dir, 'plain.tar'))
    assert.equal(archiveArgument([join(dir, 'set.volumes.json')]), join(dir, 'set.volumes.json'))
    writeSet(dir, 'one.volumes.json', 'one', 1)
    assert.equal(archiveArgument([join(dir, 'one.vol001.tar')]), join(dir, 'one.volumes.json'))
    writeSet(dir, 'set.volumes.json', 'set', 3)
    assert.equal(
      archiveArgument([join(dir, 'set.vol002.tar'), join(dir, 'set.vol003.tar'), join(dir, 'set.vol001.tar')]),
      join(dir, 'set.volumes.json'),
    )
  })

  it('a second argument that is not a volume is unexpected, named as oclif names it', () => {
    const two = refusal(() => archiveArgument(['/d/a.tar', '/d/b.tar']))
    assert.equal(two.code, 'USAGE')
    assert.equal(two.message, 'Unexpected argument: /d/b.tar (this command takes 1 argument(s): ARCHIVE)')
    assert.equal(two.hint, 'give one archive, a NAME.volumes.json, or the volumes of one set (NAME.vol*.tar)')
    assert.deepEqual(two.details, {usage: {kind: 'unexpected-argument'}})
    // the first is not a volume but the second is: the second is the unexpected one
    assert.equal(
      refusal(() => archiveArgument(['/d/a.tar', '/d/s.vol001.tar'])).message,
      'Unexpected argument: /d/s.vol001.tar (this command takes 1 argument(s): ARCHIVE)',
    )
    // a volume first, then a stray archive, then another volume: the stray one is named
    assert.equal(
      refusal(() => archiveArgument(['/d/s.vol001.tar', '/d/s.vol002.tar', '/d/x.tar', '/d/s.vol003.tar'])).message,
      'Unexpected argument: /d/x.tar (this command takes 1 argument(s): ARCHIVE)',
    )
  })

  it('volumes of a set whose volumes.json names another set, or with volumes missing', () => {
    const dir = freshDir()
    writeSet(dir, 'set.volumes.json', 'renamed', 2)
    const other = refusal(() => archiveArgument([join(dir, 'set.vol001.tar'), join(dir, 'set.vol002.tar')]))
    assert.equal(other.code, 'ARCHIVE_INVALID')
    assert.equal(other.message, `${join(dir, 'set.volumes.json')} describes the set "renamed", not "set"`)
    assert.equal(other.hint, 'volumes.json belongs to another export: keep each set with its own volumes.json')
    const dir2 = freshDir()
    writeSet(dir2, 'set.volumes.json', 'set', 3)
    const missing = refusal(() => archiveArgument([join(dir2, 'set.vol002.tar')]))
    assert.equal(missing.code, 'ARCHIVE_INCOMPLETE')
    assert.equal(
      missing.message,
      `the set set has 3 volumes; missing: ${join(dir2, 'set.vol001.tar')}, ${join(dir2, 'set.vol003.tar')}`,
    )
    assert.equal(missing.hint, 'wait for every volume (airlock verify-volume FILE says which are still missing)')
    const mixed = refusal(() => archiveArgument([join(dir2, 'set.vol001.tar'), join(dir, 'set.vol002.tar')]))
    assert.equal(mixed.code, 'ARCHIVE_INVALID')
    assert.equal(mixed.hint, 'give the volumes of one export only')
  })
})

describe('readVolumesJsonHashed', () => {
  it('returns the parsed set and the sha256 of its bytes', () => {
    const dir = freshDir()
    const {path, bytes} = writeSet(dir, 'set.volumes.json', 'set', 2)
    const {set, sha256} = readVolumesJsonHashed(path)
    assert.equal(sha256, createHash('sha256').update(bytes).digest('hex'))
    assert.equal(set.count, 2)
    assert.equal(set.name, 'set')
  })

  it('a volumes.json over the limit is refused before it is read; at the limit it is read', () => {
    const dir = freshDir()
    const over = join(dir, 'over.volumes.json')
    writeFileSync(over, '')
    truncateSync(over, MAX_VOLUMES_JSON_BYTES + 1)
    const big = refusal(() => readVolumesJsonHashed(over))
    assert.equal(big.code, 'TOO_LARGE')
    assert.equal(big.message, `${over} is over the ${MAX_VOLUMES_JSON_BYTES} byte limit`)
    const at = join(dir, 'at.volumes.json')
    writeFileSync(at, '')
    truncateSync(at, MAX_VOLUMES_JSON_BYTES)
    const bad = refusal(() => readVolumesJsonHashed(at))
    assert.equal(bad.code, 'ARCHIVE_INVALID')
    assert.equal(bad.message, `${at}: not valid JSON`)
  })

  it('a missing or unreadable volumes.json: the hint says to copy it', () => {
    const dir = freshDir()
    const gone = join(dir, 'gone.volumes.json')
    const missing = refusal(() => readVolumesJsonHashed(gone))
    assert.equal(missing.code, 'ARCHIVE_INCOMPLETE')
    assert.equal(missing.message, `${gone} cannot be read: ENOENT: no such file or directory, stat '${gone}'`)
    assert.equal(
      missing.hint,
      'a volume set is read through its NAME.volumes.json, which export writes beside the volumes: copy it too',
    )
    const isDir = join(dir, 'dir.volumes.json')
    mkdirSync(isDir)
    const unreadable = refusal(() => readVolumesJsonHashed(isDir))
    assert.equal(unreadable.code, 'ARCHIVE_INCOMPLETE')
    assert.equal(unreadable.message, `${isDir} cannot be read: EISDIR: illegal operation on a directory, read`)
  })
})

describe('removeStaleSetPartials', () => {
  it("removes the dead temporaries of this set's volumes and volumes.json, nothing else", () => {
    const dir = freshDir()
    // a pid no process has (above the kernel's pid_max)
    const dead = '4194999-0a1b2c'
    const stale = [
      `.set.vol001.tar.partial-${dead}`,
      `.set.vol012.tar.partial-${dead}`,
      `.set.volumes.json.partial-${dead}`,
    ]
    const kept = [
      `.other.vol001.tar.partial-${dead}`,
      `.set.tar.partial-${dead}`,
      `set.vol001.tar.partial-${dead}`,
      `.set.vol001.tar.partial-${process.pid}-0a1b2c`,
      'set.vol001.tar',
      'set.volumes.json',
    ]
    for (const f of [...stale, ...kept]) writeFileSync(join(dir, f), 'x')
    const removed = removeStaleSetPartials(join(dir, 'set.tar'))
    assert.deepEqual([...removed].sort(), stale.map(f => join(dir, f)).sort())
    assert.deepEqual(readdirSync(dir).sort(), [...kept].sort())
    assert.equal(existsSync(join(dir, stale[0]!)), false)
    // the same set named without .tar
    writeFileSync(join(dir, stale[2]!), 'x')
    assert.deepEqual(removeStaleSetPartials(join(dir, 'set')), [join(dir, stale[2]!)])
  })
})
