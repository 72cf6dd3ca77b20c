import assert from 'node:assert/strict'
import {copyFile, open, readFile, stat, truncate, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {Header} from 'tar'
import {scanTar} from '../src/archive/tar.ts'
import {verifyArchive, firstFailure} from '../src/verify/verify.ts'
import {standardArchive, tempDir} from './support/layouts.ts'

/** Entry name -> {dataOffset, size} of an archive, from the strict reader. */
async function entries(file: string): Promise<Map<string, {dataOffset: number; size: number; headerOffset: number}>> {
  const map = new Map<string, {dataOffset: number; size: number; headerOffset: number}>()
  await scanTar(file, e => {
    map.set(e.name, e)
    return undefined
  })
  return map
}

/** Re-writes an archive without one entry (header + padded body removed). */
async function withoutEntry(file: string, out: string, name: string): Promise<void> {
  const bytes = await readFile(file)
  const e = (await entries(file)).get(name)!
  const end = e.dataOffset + Math.ceil(e.size / 512) * 512
  await writeFile(out, Buffer.concat([bytes.subarray(0, e.headerOffset), bytes.subarray(end)]))
}

/** Inserts a valid extra file entry before the end marker. */
async function withExtraEntry(file: string, out: string, name: string, body: Buffer): Promise<void> {
  const bytes = await readFile(file)
  const block = Buffer.alloc(512)
  new Header({path: name, mode: 0o644, size: body.length, mtime: new Date(0), type: 'File', uid: 0, gid: 0}).encode(
    block,
    0,
  )
  const pad = Buffer.alloc((512 - (body.length % 512)) % 512)
  // the archive ends with two zero blocks
  await writeFile(out, Buffer.concat([bytes.subarray(0, bytes.length - 1024), block, body, pad, Buffer.alloc(1024)]))
}

describe('verify (integrity)', () => {
  let dir: string
  let cleanup: () => Promise<void>
  let good: string

  before(async () => {
    ;({dir, cleanup} = await tempDir())
    good = join(dir, 'good.tar')
    await standardArchive(dir, good)
  })
  after(() => cleanup())

  it('accepts the untouched archive', async () => {
    const report = await verifyArchive(good)
    assert.equal(report.ok, true)
    assert.equal(report.problems.length, 0)
  })

  it('fails on a flipped byte in any blob, naming the blob', async () => {
    const blobs = [...(await entries(good)).entries()].filter(([n]) => /^blobs\/sha256\/[a-f0-9]{64}$/.test(n))
    assert.ok(blobs.length >= 14)
    for (const [name, e] of blobs) {
      const bad = join(dir, 'flip.tar')
      await copyFile(good, bad)
      const fh = await open(bad, 'r+')
      const at = e.dataOffset + Math.floor(e.size / 2)
      const byte = Buffer.alloc(1)
      await fh.read(byte, 0, 1, at)
      byte[0]! ^= 0x01
      await fh.write(byte, 0, 1, at)
      await fh.close()
      const report = await verifyArchive(bad)
      assert.equal(report.ok, false, name)
      const message = firstFailure(report)!
      assert.match(message, new RegExp(name.replace(/\//g, '\\/')), `${name}: ${message}`)
      assert.doesNotMatch(message, /\n/)
    }
  })

  it('fails when a blob is missing', async () => {
    const bad = join(dir, 'missing.tar')
    const layer = [...(await entries(good)).entries()].filter(([n]) => /^blobs\/sha256\/[a-f0-9]{64}$/.test(n))[2]![0]
    await withoutEntry(good, bad, layer)
    const report = await verifyArchive(bad)
    assert.equal(report.ok, false)
    assert.match(firstFailure(report)!, new RegExp(`${layer} is missing`))
  })

  it('fails on an extra entry, reporting it as unexpected', async () => {
    const bad = join(dir, 'extra.tar')
    const body = Buffer.from('surprise')
    const {createHash} = await import('node:crypto')
    const name = `blobs/sha256/${createHash('sha256').update(body).digest('hex')}`
    await withExtraEntry(good, bad, name, body)
    const report = await verifyArchive(bad)
    assert.equal(report.ok, false)
    assert.equal(firstFailure(report), `unexpected entry ${name}: not referenced by any image`)
    const other = join(dir, 'extra2.tar')
    await withExtraEntry(good, other, 'sigstore/extra.json', body)
    assert.match(
      firstFailure(await verifyArchive(other))!,
      /unexpected entry sigstore\/extra.json: not listed in airlock.json/,
    )
  })

  it('fails on a truncated archive at any point with a one-line message', async () => {
    const size = (await stat(good)).size
    for (const cut of [
      1,
      100,
      512,
      700,
      1024,
      1536,
      Math.floor(size / 2),
      size - 1024,
      size - 600,
      size - 512,
      size - 1,
    ]) {
      const bad = join(dir, 'cut.tar')
      await copyFile(good, bad)
      await truncate(bad, cut)
      await assert.rejects(verifyArchive(bad), (error: Error & {code?: string}) => {
        assert.equal(error.code, 'ARCHIVE_INVALID', `${cut}: ${error.message}`)
        assert.match(error.message, /truncated|end-of-archive|missing/, `${cut}: ${error.message}`)
        assert.doesNotMatch(error.message, /\n/)
        return true
      })
    }
  })

  it('fails on a size field that lies', async () => {
    const bad = join(dir, 'lie.tar')
    const bytes = Buffer.from(await readFile(good))
    const e = [...(await entries(good)).values()].find(x => x.size === 3000)!
    const header = new Header(bytes.subarray(e.headerOffset, e.headerOffset + 512))
    header.size = 1000
    header.encode(bytes, e.headerOffset)
    await writeFile(bad, bytes)
    await assert.rejects(
      verifyArchive(bad),
      /(bad tar header checksum|unreadable tar header) at offset \d+ after entry "blobs\/sha256\/[a-f0-9]{64}"/,
    )
  })
})
