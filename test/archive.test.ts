// The strict reader against hostile tar entries: each is refused with a one-line message naming the entry.
import assert from 'node:assert/strict'
import {readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {Header} from 'tar'
import {exportImages} from '../src/export/export.ts'
import {verifyArchive} from '../src/verify/verify.ts'
import {inspectArchive} from '../src/report/inspect.ts'
import {fixChecksum} from './support/hostile/tar.ts'
import {standardLayout, tempDir} from './support/layouts.ts'

function entry(path: string, body: Buffer, extra: Record<string, unknown> = {}): Buffer {
  const block = Buffer.alloc(512)
  new Header({path, mode: 0o644, size: body.length, mtime: new Date(0), type: 'File', uid: 0, gid: 0, ...extra}).encode(
    block,
    0,
  )
  return Buffer.concat([block, body, Buffer.alloc((512 - (body.length % 512)) % 512)])
}

/** Writes `name` byte for byte into the header's name field (a real tar tool would write these raw bytes too). */
function rawName(entryBytes: Buffer, name: Buffer): Buffer {
  const out = Buffer.from(entryBytes)
  out.fill(0, 0, 100)
  name.copy(out, 0)
  fixChecksum(out.subarray(0, 512))
  return out
}

describe('archive reader: hostile entries', () => {
  let dir: string
  let cleanup: () => Promise<void>
  let good: Buffer
  before(async () => {
    ;({dir, cleanup} = await tempDir())
    await standardLayout(join(dir, 'layout'))
    await exportImages({sources: [`oci:${dir}/layout:example.com/test/single:1.0`], output: join(dir, 'good.tar')})
    good = await readFile(join(dir, 'good.tar'))
  })
  after(() => cleanup())

  /** The good archive with `extra` inserted before its end marker. */
  async function withEntry(extra: Buffer): Promise<string> {
    const file = join(dir, 'hostile.tar')
    await writeFile(file, Buffer.concat([good.subarray(0, good.length - 1024), extra, Buffer.alloc(1024)]))
    return file
  }

  const cases: Array<[string, Buffer, RegExp]> = [
    [
      'symlink',
      entry('blobs/sha256/' + 'a'.repeat(64), Buffer.alloc(0), {type: 'SymbolicLink', linkpath: '/etc/passwd'}),
      /symbolic links are not allowed/,
    ],
    [
      'hard link',
      entry('blobs/sha256/' + 'b'.repeat(64), Buffer.alloc(0), {type: 'Link', linkpath: 'index.json'}),
      /hard links are not allowed/,
    ],
    [
      'character device',
      entry('dev', Buffer.alloc(0), {type: 'CharacterDevice'}),
      /CharacterDevice entries are not allowed/,
    ],
    ['FIFO', entry('fifo', Buffer.alloc(0), {type: 'FIFO'}), /FIFO entries are not allowed/],
    ['absolute path', entry('/etc/cron.d/x', Buffer.from('x')), /absolute paths are not allowed/],
    ['dot-dot', entry('blobs/sha256/../../x', Buffer.from('x')), /"\.\." segments/],
    ['duplicate name', entry('index.json', Buffer.from('{}')), /appears more than once/],
    ['bad blob name', entry('blobs/sha256/XYZ', Buffer.from('x')), /not a valid blob name/],
    [
      'unknown algorithm',
      entry('blobs/sha512/' + 'c'.repeat(128), Buffer.from('x')),
      /unsupported digest algorithm "sha512"/,
    ],
    ['unknown top-level file', entry('evil.sh', Buffer.from('x')), /unexpected entry/],
    [
      'non-UTF-8 name',
      rawName(entry('placeholder', Buffer.from('x')), Buffer.from([0x62, 0x6c, 0x6f, 0x62, 0x73, 0x2f, 0xff, 0xfe])),
      /entry "blobs\/\uFFFD\uFFFD": name is not valid UTF-8/,
    ],
  ]
  for (const [name, bytes, expected] of cases) {
    it(`refuses a ${name}`, async () => {
      const file = await withEntry(bytes)
      for (const run of [verifyArchive, inspectArchive]) {
        await assert.rejects(run(file), (error: Error) => {
          assert.match(error.message, expected)
          assert.doesNotMatch(error.message, /\n/)
          return true
        })
      }
    })
  }

  it('refuses data hidden after the end-of-archive marker (a tar after the tar)', async () => {
    const file = join(dir, 'trailer.tar')
    await writeFile(file, Buffer.concat([good, entry('x', Buffer.from('hidden'))]))
    await assert.rejects(verifyArchive(file), /unexpected data after the end-of-archive marker/)
  })

  it('refuses an archive without airlock.json with a hint', async () => {
    const file = join(dir, 'plain.tar')
    await writeFile(
      file,
      Buffer.concat([entry('oci-layout', Buffer.from('{"imageLayoutVersion":"1.0.0"}')), Buffer.alloc(1024)]),
    )
    await assert.rejects(verifyArchive(file), /index.json is missing/)
  })
})
