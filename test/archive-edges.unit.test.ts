// Edges of src/archive that survivors of the mutation run showed no test pinned (issue 13 item 5): a pax record whose
// stated length ends inside its value, a volume size with text before the number or two decimals, which of two stray
// command-line arguments is named, a whole entry of a volume set whose name the archive rules refuse, and a null file
// record in airlock.json, and a plain archive replaced while it is hashed (named once, not twice).
import assert from 'node:assert/strict'
import {copyFileSync, renameSync, writeFileSync} from 'node:fs'
import {describe, it} from 'node:test'
import {scanArchive} from '../src/archive/plain-source.ts'
import {parseAirlockJson} from '../src/archive/schema.ts'
import {scanTar} from '../src/archive/tar.ts'
import {openVolumeSet} from '../src/archive/volume-set-source.ts'
import {archiveArgument, parseVolumeSize} from '../src/archive/volumes.ts'
import {buildVolumeSet, failure, openPaths, thrown, workDir} from './support/archive-unit.ts'
import {writeTar} from './support/hostile/tar.ts'

const work = workDir('airlock-archive-edges-')

describe('src/archive edges', () => {
  it('a pax record whose length ends inside its value is malformed (not read as a shorter value)', async () => {
    const path = work.next('.tar')
    // "8 path=ab\n" is 10 bytes: a length of 8 ends the record at "a", before its newline
    writeFileSync(
      path,
      writeTar([
        {name: 'PaxHeader/x', type: 'ExtendedHeader', body: Buffer.from('8 path=ab\n')},
        {name: 'a', body: Buffer.from('body')},
      ]),
    )
    const error = await failure(scanTar(path, () => undefined))
    assert.equal(error.message, 'pax header at offset 0 has a malformed record')
  })

  it('a volume size must be the whole text: a prefix before the number is not a size', () => {
    for (const text of ['x100M', 'size 100M', '=64Ki'])
      assert.equal(thrown(() => parseVolumeSize(text)).message, `--volume-size ${JSON.stringify(text)}: not a size`)
    assert.equal(parseVolumeSize(' 100M '), 100_000_000)
    // any number of decimals, not just one
    assert.equal(parseVolumeSize('4.75G'), 4_750_000_000)
    assert.equal(parseVolumeSize('1.125Mi'), 1_179_648)
  })

  it('a stray archive first and another after a volume: the later stray one is named', () => {
    assert.equal(
      thrown(() => archiveArgument(['/d/a.tar', '/d/s.vol001.tar', '/d/x.tar'])).message,
      'Unexpected argument: /d/x.tar (this command takes 1 argument(s): ARCHIVE)',
    )
  })

  it('a volume set refuses a whole entry whose name the archive rules refuse, naming the volume', async () => {
    const built = buildVolumeSet(work, [[{name: 'etc/passwd', body: Buffer.from('root:x:0:0')}]])
    const error = await failure(openVolumeSet(built.manifest))
    assert.equal(error.code, 'ARCHIVE_INVALID')
    assert.equal(
      error.message,
      `${built.files[0]}: entry "etc/passwd": unexpected entry (not part of an airlock archive)`,
    )
    assert.deepEqual(
      openPaths().filter(p => p.startsWith(built.dir)),
      [],
    )
  })

  it('airlock.json: a null file record is refused by name like any other non-record', () => {
    const json = {formatVersion: 1, tool: {name: 'airlock', version: '0.1.0'}, images: [], files: {'sigstore/x': null}}
    const error = thrown(() => parseAirlockJson(Buffer.from(JSON.stringify(json))))
    assert.equal(error.code, 'ARCHIVE_INVALID')
    assert.equal(error.message, 'airlock.json: files["sigstore/x"] must be {digest, size}')
  })

  it('a plain archive replaced while it is hashed is refused, named once, and closed', async () => {
    const path = work.next('.tar')
    const layout = Buffer.from('{"imageLayoutVersion":"1.0.0"}')
    writeFileSync(
      path,
      writeTar([
        {name: 'oci-layout', body: layout},
        {name: 'blobs/', type: 'Directory'},
      ]),
    )
    // the same bytes under another inode, renamed over the archive once hashing has begun: only the identity check
    // after the pass can tell
    const copy = work.next('.tar')
    copyFileSync(path, copy)
    let replaced = false
    const onBytes = () => {
      if (replaced) return
      replaced = true
      renameSync(copy, path)
    }
    const error = await failure(scanArchive(path, {hash: true, workers: 0, onBytes}))
    assert.equal(replaced, true)
    assert.equal(error.code, 'ARCHIVE_INVALID')
    assert.equal(
      error.message,
      `${path}: the archive file changed while airlock was reading it (size, modification time or inode differ)`,
    )
    assert.equal(error.hint, 'copy the archive to local storage that nothing else writes to, then run again')
    assert.deepEqual(
      openPaths().filter(p => p === path),
      [],
    )
  })
})
