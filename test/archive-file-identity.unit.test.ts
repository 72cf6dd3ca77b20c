// checkIdentity in process (issue 13 item 5): the archive the reader holds open must still be the file at its path,
// unchanged (device, inode, size, modification time), or it is refused; each way it can change is tried on a real
// file, one field at a time.
import assert from 'node:assert/strict'
import {renameSync, rmSync, truncateSync, utimesSync, writeFileSync} from 'node:fs'
import {open, stat} from 'node:fs/promises'
import {join} from 'node:path'
import {describe, it} from 'node:test'
import {checkIdentity, identityOf} from '../src/archive/file-identity.ts'
import {type Failure, failure, workDir} from './support/archive-unit.ts'

const work = workDir('airlock-file-identity-')
async function opened(): Promise<{path: string; fh: Awaited<ReturnType<typeof open>>}> {
  const path = work.next('.tar')
  writeFileSync(path, Buffer.alloc(2048, 1))
  return {path, fh: await open(path, 'r')}
}
const refusal = (p: Promise<unknown>): Promise<Failure> => failure(p, 'a refusal')
const changed = (path: string) =>
  `${path}: the archive file changed while airlock was reading it (size, modification time or inode differ)`
const HINT = 'copy the archive to local storage that nothing else writes to, then run again'

describe('checkIdentity', () => {
  it('identityOf keeps device, inode, size and modification time', async () => {
    const {path, fh} = await opened()
    const st = await stat(path)
    assert.deepEqual(identityOf(st), {dev: st.dev, ino: st.ino, size: 2048, mtimeMs: st.mtimeMs})
    await checkIdentity(path, fh, identityOf(st))
    await fh.close()
  })

  it('each field that differs from the identity taken at open is refused', async () => {
    const {path, fh} = await opened()
    const identity = identityOf(await fh.stat())
    for (const field of ['dev', 'ino', 'size', 'mtimeMs'] as const) {
      const e = await refusal(checkIdentity(path, fh, {...identity, [field]: identity[field] + 1}))
      assert.equal(e.code, 'ARCHIVE_INVALID', field)
      assert.equal(e.message, changed(path), field)
      assert.equal(e.hint, HINT, field)
    }
    await fh.close()
  })

  it('a file changed in place (size, then only its time) is refused', async () => {
    const a = await opened()
    const identity = identityOf(await a.fh.stat())
    truncateSync(a.path, 1024)
    assert.equal((await refusal(checkIdentity(a.path, a.fh, identity))).message, changed(a.path))
    await a.fh.close()
    const b = await opened()
    const before = identityOf(await b.fh.stat())
    utimesSync(b.path, new Date(1_000_000), new Date(1_000_000))
    assert.equal((await refusal(checkIdentity(b.path, b.fh, before))).message, changed(b.path))
    await b.fh.close()
  })

  it('another file put at the path (same size and time) is refused although the held one is unchanged', async () => {
    const {path, fh} = await opened()
    const st = await fh.stat()
    const identity = identityOf(st)
    const other = join(work.dir, 'other')
    writeFileSync(other, Buffer.alloc(2048, 1))
    utimesSync(other, st.atime, st.mtime)
    renameSync(other, path)
    assert.deepEqual(identityOf(await fh.stat()), identity)
    const e = await refusal(checkIdentity(path, fh, identity))
    assert.equal(e.message, changed(path))
    await fh.close()
  })

  it('a path that is gone, or a handle closed: the archive can no longer be read', async () => {
    const {path, fh} = await opened()
    const identity = identityOf(await fh.stat())
    rmSync(path)
    const gone = await refusal(checkIdentity(path, fh, identity))
    assert.equal(gone.code, 'ARCHIVE_INVALID')
    assert.equal(
      gone.message,
      `${path}: the archive can no longer be read (ENOENT: no such file or directory, stat '${path}')`,
    )
    await fh.close()
    const closed = await refusal(checkIdentity(path, fh, identity))
    assert.equal(closed.code, 'ARCHIVE_INVALID')
    assert.equal(closed.message, `${path}: the archive can no longer be read (file closed)`)
  })
})
