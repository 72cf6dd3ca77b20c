// The tar layer of the archive in process (issue 13 item 5): src/archive/tar.ts (scanTar and TarWriter) and
// src/archive/output.ts (FileOutput). The hostile corpus reaches scanTar only through verifyArchive, where a refusal
// of the header walk and one of a later check look alike, and the writer only through exports whose bytes no
// in-process test read back. Here every archive is written by the project's own TarWriter/FileOutput or, for the
// damaged ones, by the hostile corpus's tar support (node-tar's Header/Pax, patched by code); the expected entries,
// offsets and bodies come from the bytes written, and every refusal is matched by its own message.
import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'
import {mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {open} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {basename, join} from 'node:path'
import {after, describe, it} from 'node:test'
import {Header} from 'tar'
import {FileOutput} from '../src/archive/output.ts'
import {KeepSink, scanTar, type TarEntry as ScannedEntry, type TarRegion, TarWriter} from '../src/archive/tar.ts'
import {BLOCK, type EntryType, paxRecord, type TarEntry, writeTar} from './support/hostile/tar.ts'

const dir = mkdtempSync(join(tmpdir(), 'airlock-tar-unit-'))
after(() => rmSync(dir, {recursive: true, force: true}))
let n = 0
const fresh = (stem: string) => join(dir, `${stem}-${++n}`)

function put(bytes: Buffer): string {
  const path = fresh('t.tar')
  writeFileSync(path, bytes)
  return path
}

/** Every entry of `path` with its body (KeepSink). */
async function scan(
  path: string,
): Promise<{entries: Array<ScannedEntry & {body: Buffer}>; count: number; bytes: number}> {
  const entries: Array<ScannedEntry & {body: Buffer}> = []
  const result = await scanTar(path, entry => {
    const kept: ScannedEntry & {body: Buffer} = {...entry, body: Buffer.alloc(0)}
    entries.push(kept)
    return new KeepSink(body => {
      kept.body = body
    })
  })
  return {entries, count: result.entries, bytes: result.bytes}
}

async function refusal(path: string): Promise<Error & {code?: string; hint?: string}> {
  try {
    await scanTar(path, () => undefined)
  } catch (error) {
    return error as Error & {code?: string; hint?: string}
  }
  throw new Error(`${path} was read without a refusal`)
}

/** File descriptors of this process open on a path containing `part` (Linux /proc). */
function openOn(part: string): string[] {
  const found: string[] = []
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`)
      if (target.includes(part)) found.push(target)
    } catch {
      // the fd readdir itself used is gone
    }
  }
  return found
}

/** The output file and its temporaries in `dir`. */
const left = (path: string): string[] =>
  readdirSync(dir).filter(f => f === basename(path) || f.startsWith(`.${basename(path)}.partial-`))

async function* chunks(parts: Buffer[]): AsyncIterable<Buffer> {
  for (const p of parts) yield p
}

const file = (name: string, body: Buffer, extra: Partial<TarEntry> = {}): TarEntry => ({name, body, ...extra})
const paxEntry = (body: Buffer | string): TarEntry => ({
  name: 'PaxHeader/x',
  type: 'ExtendedHeader',
  body: Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8'),
})

describe('FileOutput and TarWriter: what is written reads back', () => {
  it('files, a pax-named file, directories and a streamed body, at the offsets reserved', async () => {
    const path = fresh('out.tar')
    const small = Buffer.from('{"schemaVersion":2}\n')
    const longName = `blobs/sha256/${'ab'.repeat(60)}` // over the 100 bytes of a ustar name: a pax header
    const longBody = randomBytes(700)
    // 3 MiB + 1 in chunks of every kind: small ones gathered into 1 MiB buffers, a large one written as it is
    const streamed = randomBytes(3 * 1024 * 1024 + 1)
    // a large chunk on an empty buffer (written as it is), small ones, a large one on a partly filled buffer
    const sizes = [300 * 1024, 1000, ...Array.from({length: 40}, () => 50_000), 400 * 1024]
    const parts: Buffer[] = []
    let cut = 0
    for (const size of sizes) parts.push(streamed.subarray(cut, (cut += size)))
    parts.push(streamed.subarray(cut))
    assert.equal(Buffer.concat(parts).length, streamed.length)

    const out = await FileOutput.create(path)
    await out.addBuffer('oci-layout', small)
    assert.equal(out.bytesWritten, BLOCK + BLOCK) // header and one padded block
    await out.addDirectory('blobs')
    await out.addDirectory('blobs/sha256/')
    await out.addBuffer(longName, longBody)
    const region = (await out.reserve('blobs/sha256/streamed', streamed.length)) as TarRegion
    let progress = 0
    await out.fill(region, chunks(parts), k => {
      progress += k
    })
    await out.writeHeader(region)
    const reservedEnd = out.bytesWritten
    const {bytes} = await out.commit(false)
    assert.equal(progress, streamed.length)
    assert.equal(bytes, reservedEnd + 2 * BLOCK)
    assert.equal(bytes, statSync(path).size)
    assert.deepEqual(left(path), [basename(path)], 'the temporary was renamed into place')

    const read = await scan(path)
    assert.equal(read.count, 5)
    assert.equal(read.bytes, bytes)
    assert.deepEqual(
      read.entries.map(e => [e.name, e.type, e.size, e.headerOffset]),
      [
        ['oci-layout', 'File', small.length, 0],
        ['blobs/', 'Directory', 0, 1024],
        ['blobs/sha256/', 'Directory', 0, 1536],
        [longName, 'File', 700, 2048],
        ['blobs/sha256/streamed', 'File', streamed.length, region.headerOffset],
      ],
    )
    assert.equal(read.entries[4]!.dataOffset, region.dataOffset)
    assert.ok(read.entries[3]!.dataOffset > 2048 + BLOCK, 'the long name took a pax header before its own')
    assert.deepEqual(read.entries[0]!.body, small)
    assert.deepEqual(read.entries[3]!.body, longBody)
    assert.ok(read.entries[4]!.body.equals(streamed), 'the streamed body reads back byte for byte')
    for (const e of read.entries) assert.equal('linkpath' in e, false)

    // the header fields the writer fixes (same content, same bytes): modes, owner, time
    const bytesOf = readFileSync(path)
    const header = (at: number) => new Header(bytesOf, at)
    assert.equal(header(0).mode, 0o644)
    assert.equal(header(1024).mode, 0o755)
    assert.equal(header(region.headerOffset).mode, 0o644)
    for (const at of [0, 1024, region.headerOffset]) {
      const h = header(at)
      assert.equal(h.uname ?? '', '')
      assert.equal(h.gname ?? '', '')
      assert.equal(h.uid, 0)
      assert.equal(h.mtime?.getTime(), 0)
    }
    // the padding after a body is zeros
    assert.ok(bytesOf.subarray(BLOCK + small.length, 2 * BLOCK).every(b => b === 0))
  })

  it('a body longer or shorter than its entry is refused by name; the temporary goes with abort', async () => {
    const path = fresh('sizes.tar')
    const stem = path.split('/').pop()!
    const before = process.listenerCount('SIGINT')
    const out = await FileOutput.create(path)
    const long = await out.reserve('long', 10)
    await assert.rejects(out.fill(long, chunks([Buffer.alloc(6), Buffer.alloc(6)])), {
      code: 'SIZE_MISMATCH',
      message: 'long: more than the expected 10 bytes',
    })
    const short = await out.reserve('short', 10)
    await assert.rejects(out.fill(short, chunks([Buffer.alloc(4), Buffer.alloc(1)])), {
      code: 'SIZE_MISMATCH',
      message: 'short: got 5 bytes, expected 10',
    })
    assert.equal(openOn(`.${stem}.partial-`).length, 1)
    await out.abort()
    await out.abort() // twice is safe
    assert.deepEqual(openOn(`.${stem}.partial-`), [], 'abort closes the temporary')
    assert.deepEqual(left(path), [])
    assert.equal(process.listenerCount('SIGINT'), before, 'abort unregisters the temporary')
  })

  it('an invalid entry size is an internal error naming the entry', () => {
    const writer = new TarWriter({} as never)
    for (const size of [-1, 1.5, Number.MAX_SAFE_INTEGER + 2])
      assert.throws(() => writer.reserve('blobs/x', size), {
        code: 'INTERNAL',
        message: `blobs/x: invalid entry size ${size}`,
      })
    assert.equal(writer.bytesWritten, 0)
  })

  it('commit refuses to replace an existing file without force, removes its temporary and leaves the file', async () => {
    const path = fresh('exists.tar')
    const stem = path.split('/').pop()!
    writeFileSync(path, 'mine')
    const before = process.listenerCount('SIGINT')
    const out = await FileOutput.create(path)
    await out.addBuffer('a', Buffer.from('x'))
    await assert.rejects(out.commit(false), {code: 'IO_ERROR', message: `${path} already exists`})
    assert.equal(readFileSync(path, 'utf8'), 'mine')
    assert.deepEqual(left(path), [stem])
    assert.equal(process.listenerCount('SIGINT'), before)
    await out.abort() // after a failed commit: nothing left to close or remove
    assert.deepEqual(openOn(`.${stem}.partial-`), [])

    const forced = await FileOutput.create(path)
    await forced.addBuffer('a', Buffer.from('x'))
    const {bytes} = await forced.commit(true)
    assert.equal(statSync(path).size, bytes)
    assert.equal(process.listenerCount('SIGINT'), before)
  })

  it('an output that cannot be created is an I/O error and registers nothing', async () => {
    const before = process.listenerCount('SIGINT')
    // ENAMETOOLONG: not one of the codes toAirlockError names, so the fallback code is the one given
    await assert.rejects(FileOutput.create(join(dir, 'x'.repeat(300))), {code: 'IO_ERROR', message: /ENAMETOOLONG/})
    await assert.rejects(FileOutput.create(join(dir, 'no-such-dir', 'a.tar')), {code: 'NOT_FOUND'})
    assert.equal(process.listenerCount('SIGINT'), before)
  })
})

describe('scanTar: a valid archive', () => {
  it('reads entries across read windows, with link targets, and seeks past bodies nobody asked for', async () => {
    // a first entry that ends just before the 1 MiB read window, so the next pax body straddles it
    const first = randomBytes(1024 * 1024 - 3 * BLOCK)
    const longName = `sigstore/${'c'.repeat(1000)}` // its pax body (over 1,000 bytes) crosses the 1 MiB window
    const bytes = writeTar([
      file('first', first),
      file(longName, Buffer.from('after the window'), {pax: {path: longName}}),
      {name: 'link', type: 'SymbolicLink', linkpath: 'first'},
      file('last', randomBytes(3000)),
    ])
    // the pax of the second entry: its header block is at 1 MiB - 2 blocks, its body crosses 1 MiB
    const path = put(Buffer.concat([bytes, Buffer.alloc(10 * BLOCK)])) // zero padding after the marker is allowed
    const read = await scan(path)
    assert.deepEqual(
      read.entries.map(e => [e.name, e.type, e.size]),
      [
        ['first', 'File', first.length],
        [longName, 'File', 16],
        ['link', 'SymbolicLink', 0],
        ['last', 'File', 3000],
      ],
    )
    assert.equal(read.entries[1]!.headerOffset, BLOCK + first.length)
    assert.equal(read.entries[2]!.linkpath, 'first')
    assert.deepEqual(read.entries[0]!.body, first)
    assert.equal(read.entries[1]!.body.toString(), 'after the window')
    assert.equal(read.bytes, bytes.length + 10 * BLOCK)

    // the same file through a handle the caller opened: left open for the caller
    const fh = await open(path, 'r')
    try {
      const names: string[] = []
      const result = await scanTar(fh, e => {
        names.push(e.name)
        return undefined
      })
      assert.equal(result.entries, 4)
      assert.deepEqual(names, ['first', longName, 'link', 'last'])
      assert.equal((await fh.stat()).size, read.bytes, 'the handle is still open')
    } finally {
      await fh.close()
    }
    assert.deepEqual(openOn(path), [], 'a path scanTar opened is closed')
  })

  it('a path that cannot be opened is an I/O error', async () => {
    await assert.rejects(
      scanTar(join(dir, 'y'.repeat(300)), () => undefined),
      {code: 'IO_ERROR', message: /ENAMETOOLONG/},
    )
  })
})

describe('scanTar: every structural fault has its own refusal', () => {
  const ok = file('a', Buffer.from('body'))

  it('no entries, one end block, a corrupt end marker, data after it', async () => {
    assert.equal((await refusal(put(Buffer.alloc(2 * BLOCK)))).message, 'archive has no entries')
    const one = writeTar([ok], {endBlocks: false})
    assert.equal(
      (await refusal(put(Buffer.concat([one, Buffer.alloc(BLOCK)])))).message,
      'archive is truncated: only one of the two end-of-archive blocks after entry "a"',
    )
    assert.equal(
      (await refusal(put(Buffer.alloc(BLOCK)))).message,
      'archive is truncated: only one of the two end-of-archive blocks at the start of the archive',
    )
    const second = Buffer.alloc(BLOCK)
    second[100] = 1
    assert.equal(
      (await refusal(put(Buffer.concat([one, Buffer.alloc(BLOCK), second])))).message,
      `corrupt end-of-archive marker at offset ${one.length} after entry "a"`,
    )
    const trailing = Buffer.alloc(4 * BLOCK)
    trailing[3 * BLOCK + 5] = 7
    assert.equal(
      (await refusal(put(Buffer.concat([writeTar([ok]), trailing])))).message,
      `unexpected data after the end-of-archive marker at offset ${one.length + 2 * BLOCK}`,
    )
    assert.equal(
      (await refusal(put(one))).message,
      `archive is truncated: no end-of-archive marker after entry "a" (offset ${one.length})`,
    )
  })

  it('a bad checksum, with its hint', async () => {
    const error = await refusal(
      put(writeTar([ok, file('b', Buffer.alloc(0), {patchHeader: b => b.fill(0x31, 0, 1), keepChecksum: true})])),
    )
    assert.equal(error.code, 'ARCHIVE_INVALID')
    assert.equal(error.message, 'bad tar header checksum at offset 1024 after entry "a"')
    assert.equal(error.hint, 'the archive is corrupt, or an entry before it states a wrong size')
  })

  it('sizes: negative, beyond 2^53, past the end of the file', async () => {
    // base-256 size fields: all ones is -1, 0x80 then ones is far beyond 2^53
    const negative = (b: Buffer) => b.fill(0xff, 124, 136)
    const huge = (b: Buffer) => {
      b.fill(0xff, 124, 136)
      b[124] = 0x80
    }
    // node-tar reads -1 as "no size": refused, not read as an empty entry (it was, before this test)
    assert.equal(
      (await refusal(put(writeTar([ok, file('b', Buffer.alloc(0), {patchHeader: negative})])))).message,
      'entry at offset 1024 has an invalid size',
    )
    // node-tar refuses a number beyond 2^53 itself
    assert.equal(
      (await refusal(put(writeTar([ok, file('b', Buffer.alloc(0), {patchHeader: huge})])))).message,
      'unreadable tar header at offset 1024 after entry "a": parsed number outside of javascript safe integer range',
    )
    assert.equal(
      (
        await refusal(
          put(writeTar([file('blobs/sha256/big', Buffer.alloc(10), {headerSize: 5000})], {endBlocks: false})),
        )
      ).message,
      'archive is truncated: entry "blobs/sha256/big" declares 5000 bytes but only 512 remain',
    )
    const cut = writeTar([file('big', Buffer.alloc(10), {headerSize: 5000})], {endBlocks: false}).subarray(0, BLOCK)
    assert.equal(
      (await refusal(put(cut))).message,
      'archive is truncated: entry "big" declares 5000 bytes but only 0 remain',
    )
  })

  it('GNU and global extensions are refused by type, with the hint', async () => {
    for (const type of ['NextFileHasLongPath', 'NextFileHasLongLinkpath', 'OldGnuLongPath', 'GlobalExtendedHeader']) {
      const error = await refusal(
        put(writeTar([ok, {name: 'ext', type: type as EntryType, body: Buffer.from('x')}, ok])),
      )
      assert.equal(error.message, `unsupported tar extension (${type}) at offset 1024 after entry "a"`)
      assert.equal(error.hint, 'airlock archives use plain ustar headers with pax extended headers')
    }
  })

  it('pax headers: dangling, doubled, over the limit', async () => {
    assert.equal(
      (await refusal(put(writeTar([ok, paxEntry(paxRecord('path', 'b'))])))).message,
      'pax header at offset 1024 is not followed by an entry',
    )
    assert.equal(
      (await refusal(put(writeTar([paxEntry(paxRecord('path', 'b')), paxEntry(paxRecord('path', 'c')), ok])))).message,
      'two pax headers in a row at offset 1024',
    )
    const limit = 64 * 1024
    // "LEN path=VALUE\n" of exactly `total` bytes
    const value = (total: number) => 'p'.repeat(total - ' path=\n'.length - String(total).length)
    const atLimit = paxRecord('path', value(limit))
    assert.equal(Buffer.byteLength(atLimit), limit)
    const read = await scan(put(writeTar([paxEntry(atLimit), ok])))
    assert.equal(read.entries[0]!.name, value(limit))
    const over = paxRecord('path', value(limit + 1))
    assert.equal(Buffer.byteLength(over), limit + 1)
    assert.equal(
      (await refusal(put(writeTar([paxEntry(over), ok])))).message,
      `pax header at offset 0 is ${limit + 1} bytes, over the ${limit} byte limit`,
    )
  })

  it('pax records: each malformed form refused, the allowed ones read', async () => {
    const malformed = [
      'path=a\n', // no length
      'x path=a\n', // length not a number
      '012 path=ab\n', // leading zero (the length is right)
      '12.0 path=a\n', // a length Number() reads, not digits only
      '11 path=ab', // no newline at the end
      '30 path=a\n', // longer than the header
      '10 path=ab\n', // length one short: the record does not end in a newline
    ]
    for (const body of malformed)
      assert.equal(
        (await refusal(put(writeTar([paxEntry(body), ok])))).message,
        'pax header at offset 0 has a malformed record',
        JSON.stringify(body),
      )
    const cases: Array<[string, string]> = [
      [paxRecord('comment', 'x'), 'has an unsupported record "comment"'],
      [paxRecord('', 'x'), 'has an unsupported record ""'],
      ['8 pathx\n', 'has an unsupported record "path"'], // no "=": the key is not "path" with a value
      [paxRecord(`SCHILY.xattr.${'k'.repeat(50)}`, 'x'), `has an unsupported record "SCHILY.xattr.${'k'.repeat(27)}"`],
      [paxRecord('path', ''), 'has an invalid path "" (empty or containing NUL)'],
      [paxRecord('path', `${'a'.repeat(300)}\0`), `has an invalid path "${'a'.repeat(200)}" (empty or containing NUL)`],
      [paxRecord('size', 'x'.repeat(50)), `has an invalid size "${'x'.repeat(40)}"`],
      [paxRecord('linkpath', 'a\0b'), 'has an invalid linkpath "a\\u0000b" (empty or containing NUL)'],
      [paxRecord('size', '1e3'), 'has an invalid size "1e3"'],
      [paxRecord('uid', '-1'), 'has an invalid uid "-1"'],
      [paxRecord('gid', '1234567890123456'), 'has an invalid gid "1234567890123456"'],
      [paxRecord('uid', ''), 'has an invalid uid ""'],
    ]
    for (const [body, reason] of cases)
      assert.equal((await refusal(put(writeTar([paxEntry(body), ok])))).message, `pax header at offset 0 ${reason}`)
    const nonUtf8 = Buffer.concat([Buffer.from('12 path=a'), Buffer.from([0xff, 0xfe]), Buffer.from('\n')])
    assert.equal(
      (await refusal(put(writeTar([paxEntry(nonUtf8), ok])))).message,
      'pax header at offset 0 is not valid UTF-8',
    )
    // allowed: the keys airlock writes, several records, 15-digit numbers, a linkpath override
    const allowed = [
      paxRecord('path', 'renamed'),
      paxRecord('mtime', '1.5'),
      paxRecord('uid', '123456789012345'),
      paxRecord('gid', '0'),
      paxRecord('uname', ''),
      paxRecord('uname', 'u'),
      paxRecord('gname', 'g'),
      paxRecord('atime', '2'),
      paxRecord('ctime', '3'),
      paxRecord('size', '4'),
    ].join('')
    const read = await scan(put(writeTar([paxEntry(allowed), ok])))
    assert.deepEqual(
      read.entries.map(e => [e.name, e.size, e.headerOffset, e.body.toString()]),
      [['renamed', 4, 0, 'body']],
    )
    const link = await scan(
      put(writeTar([paxEntry(paxRecord('linkpath', 'target')), {name: 'l', type: 'SymbolicLink', linkpath: 'x'}])),
    )
    assert.equal(link.entries[0]!.linkpath, 'target')
  })

  it('compressed files are named, with the hint; six bytes are enough to tell', async () => {
    const xz = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])
    const error = await refusal(put(xz))
    assert.equal(error.message, 'archive is xz-compressed; airlock reads plain tar archives only')
    assert.equal(
      error.hint,
      'decompress it first (it is not decompressed automatically, to rule out decompression bombs)',
    )
    // five bytes of gzip are too short to be told apart: read as a tar, which they are not either
    assert.equal(
      (await refusal(put(Buffer.from([0x1f, 0x8b, 8, 0, 0])))).message,
      'archive is truncated: no end-of-archive marker at the start of the archive (offset 0)',
    )
  })
})
