// Issue 17: an export of a volume set killed with SIGKILL (no handler runs) leaves `.NAME.volNNN.tar.partial-*`
// files; the next export to the same output removes those of its own set that no live process holds, and says so,
// as it does for the single archive's `.NAME.tar.partial-*` (test/cli-stale-partials.test.ts). Partials of another
// set in the same directory, or one a live process holds open, are left alone.
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {closeSync, existsSync, mkdirSync, openSync, readdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {fileURLToPath} from 'node:url'
import {runCli} from './support/cli.ts'
import {LayoutBuilder, tempDir} from './support/layouts.ts'

const root = fileURLToPath(new URL('..', import.meta.url))
const BIN = join(root, 'bin/run.js')

describe('stale partial volumes', () => {
  let dir: string
  let cleanup: () => Promise<void>
  let source: string
  before(async () => {
    ;({dir, cleanup} = await tempDir('airlock-stale-vol-'))
    const b = await LayoutBuilder.create(join(dir, 'layout'))
    await b.tag(await b.image([await b.randomLayer(64 * 1024 * 1024)]), 'example.com/big/app:1')
    source = `oci:${join(dir, 'layout')}:example.com/big/app:1`
  })
  after(() => cleanup())

  it('SIGKILL leaves partial volumes; the next export of the set removes them and says so', async () => {
    const out = join(dir, 'out')
    mkdirSync(out)
    const archive = join(out, 'a.tar')
    const args = ['export', '--no-tuf', '--signatures', 'skip', '--volume-size', '8M', '-o', archive, source]
    const child = spawn(process.execPath, [BIN, ...args], {stdio: 'ignore'})
    const deadline = Date.now() + 60_000
    const partials = () => readdirSync(out).filter(n => /^\.a\.vol[0-9]{3}\.tar\.partial-/.test(n))
    // Killed once at least two volumes are open: the first is finished and waits for the commit.
    while (partials().length < 2 && Date.now() < deadline && child.exitCode === null)
      await new Promise(r => setTimeout(r, 20))
    child.kill('SIGKILL')
    await new Promise(r => child.once('exit', r))
    const left = partials()
    assert.ok(left.length >= 2, `after SIGKILL: ${readdirSync(out).join(', ')}`)

    // A partial volume of another set, and one of this set that a live process (this test) holds open, survive.
    const other = join(out, '.b.vol001.tar.partial-999999999-0123456789ab')
    writeFileSync(other, 'another set')
    const held = join(out, '.a.vol001.tar.partial-0123456789ab')
    writeFileSync(held, 'being written')
    const fd = openSync(held, 'r')
    try {
      const r = await runCli(args)
      assert.equal(r.status, 0, r.stderr)
      for (const name of left)
        assert.match(
          r.stderr,
          new RegExp(`removed .*${name.replace(/[.]/g, '\\.')}: a partial archive left by an interrupted export`),
        )
      assert.ok(existsSync(join(out, 'a.volumes.json')))
      assert.ok(existsSync(held), 'a partial volume held open by a live process was removed')
      assert.ok(existsSync(other), "another set's partial volume was removed")
      assert.deepEqual(
        readdirSync(out)
          .filter(n => n.includes('.partial-'))
          .sort(),
        ['.a.vol001.tar.partial-0123456789ab', '.b.vol001.tar.partial-999999999-0123456789ab'],
      )
    } finally {
      closeSync(fd)
    }
  })
})
