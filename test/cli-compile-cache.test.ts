// Start-up (issue 11): bin/run.js keeps Node 22's module compile cache in the installation's node_modules/.cache
// (AIRLOCK_COMPILE_CACHE=/DIR moves it, =off stops it), and a cache that cannot be written never changes what
// airlock does or prints.
import assert from 'node:assert/strict'
import {existsSync, readdirSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'
import {ROOT, runCli} from './support/cli.ts'
import {makeWorkDir} from './support/images.ts'

/** Every file under dir (node, not `find`: the test-setup tool check). */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir, {recursive: true, withFileTypes: true})
    .filter(e => e.isFile())
    .map(e => join(e.parentPath, e.name))
}

describe('module compile cache', () => {
  const work = makeWorkDir('airlock-compile-cache-')
  after(() => work.cleanup())
  const env = (cache: string | undefined) => ({AIRLOCK_COMPILE_CACHE: cache, NODE_COMPILE_CACHE: undefined})

  it('is kept in the installation (node_modules/.cache), never under HOME', async () => {
    const home = join(work.dir, 'home')
    const run = await runCli(['--version'], {env: {...env(undefined), HOME: home, XDG_CACHE_HOME: undefined}})
    assert.equal(run.status, 0, run.stderr)
    assert.ok(filesUnder(join(ROOT, 'node_modules/.cache/airlock-compile-cache')).length > 0)
    assert.deepEqual(filesUnder(home), [])
  })

  it('AIRLOCK_COMPILE_CACHE=/DIR: written there and reused by the next start', async () => {
    const dir = join(work.dir, 'cache')
    const first = await runCli(['--version'], {env: env(dir)})
    assert.equal(first.status, 0, first.stderr)
    // one entry per compiled file: the bundle (dist/airlock.cjs, airlock with oclif and its dependencies) is one
    // large entry; a few small modules (package.json lookups, plugins) would not reach this size
    const cached = filesUnder(dir)
    const largest = Math.max(0, ...cached.map(file => statSync(file).size))
    assert.ok(largest > 100_000, `expected the bundle's compiled code in the cache, found ${cached.length} entries`)
    const second = await runCli(['--version'], {env: env(dir)})
    assert.equal(second.status, 0, second.stderr)
    assert.equal(second.stdout, first.stdout)
    assert.equal(second.stderr, '')
  })

  it('an unusable cache directory costs only the speed-up: same output, exit 0, nothing on stderr', async () => {
    // a file where the directory should be: mkdir fails (also for root, unlike a read-only mode)
    const blocker = join(work.dir, 'not-a-directory')
    writeFileSync(blocker, 'x')
    const run = await runCli(['--version'], {env: env(join(blocker, 'cache'))})
    assert.equal(run.status, 0, run.stderr)
    assert.match(run.stdout, /^airlock\/\d+\.\d+\.\d+ /)
    assert.equal(run.stderr, '')
    const help = await runCli(['push', '--help'], {env: env(join(blocker, 'cache'))})
    assert.equal(help.status, 0, help.stderr)
    assert.match(help.stdout, /Push a verified archive/)
  })

  it('AIRLOCK_COMPILE_CACHE=off and NODE_DISABLE_COMPILE_CACHE turn it off (nothing written)', async () => {
    const dir = join(work.dir, 'disabled')
    const off = await runCli(['--version'], {env: {...env('off'), XDG_CACHE_HOME: dir, HOME: dir}})
    assert.equal(off.status, 0, off.stderr)
    const disabled = await runCli(['--version'], {env: {...env(dir), NODE_DISABLE_COMPILE_CACHE: '1'}})
    assert.equal(disabled.status, 0, disabled.stderr)
    assert.deepEqual(filesUnder(dir), [])
  })
})
