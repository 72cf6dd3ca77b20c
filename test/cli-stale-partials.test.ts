// Issue 12 item 13: nothing left behind after a crash. An export killed with SIGKILL (no handler runs) leaves its
// `.NAME.partial-*` file; the next export to the same output removes stale partial files of its own naming that no
// live process holds, and says so. A partial file a live process still has open is left alone.
import {HANG_GUARD_MS} from './support/cli.ts'
import assert from 'node:assert/strict'
import {spawn, spawnSync} from 'node:child_process'
import {closeSync, existsSync, mkdirSync, openSync, readdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {fileURLToPath} from 'node:url'
import {LayoutBuilder, tempDir} from './support/layouts.ts'

const root = fileURLToPath(new URL('..', import.meta.url))
const BIN = join(root, 'bin/run.js')

describe('stale partial files', () => {
  let dir: string
  let cleanup: () => Promise<void>
  let source: string
  before(async () => {
    ;({dir, cleanup} = await tempDir('airlock-stale-'))
    const b = await LayoutBuilder.create(join(dir, 'layout'))
    await b.tag(await b.image([await b.randomLayer(96 * 1024 * 1024)]), 'example.com/big/app:1')
    source = `oci:${join(dir, 'layout')}:example.com/big/app:1`
  })
  after(() => cleanup())

  it('SIGKILL leaves a partial file; the next export to the same output removes it and says so', async () => {
    const out = join(dir, 'out')
    mkdirSync(out)
    const archive = join(out, 'a.tar')
    const args = [BIN, 'export', '--no-tuf', '--signatures', 'skip', '-o', archive, source]
    const child = spawn(process.execPath, args, {stdio: 'ignore'})
    const deadline = Date.now() + 60_000
    while (!readdirSync(out).some(n => n.includes('.partial-')) && Date.now() < deadline && child.exitCode === null)
      await new Promise(r => setTimeout(r, 20))
    child.kill('SIGKILL')
    await new Promise(r => child.once('exit', r))
    const left = readdirSync(out).filter(n => n.startsWith('.a.tar.partial-'))
    assert.equal(left.length, 1, `after SIGKILL: ${readdirSync(out).join(', ')}`)

    // Another partial of the same naming that a live process (this test) holds open must survive.
    const held = join(out, '.a.tar.partial-0123456789ab')
    writeFileSync(held, 'being written')
    const fd = openSync(held, 'r')
    try {
      const r = spawnSync(process.execPath, args, {encoding: 'utf8', timeout: HANG_GUARD_MS})
      assert.equal(r.status, 0, r.stderr)
      assert.match(
        r.stderr,
        new RegExp(`removed .*${left[0]!.replace(/[.]/g, '\\.')}: a partial archive left by an interrupted export`),
      )
      assert.ok(existsSync(archive))
      assert.ok(existsSync(held), 'a partial file held open by a live process was removed')
      assert.deepEqual(readdirSync(out).sort(), ['.a.tar.partial-0123456789ab', 'a.tar'])
    } finally {
      closeSync(fd)
    }
  })
})
