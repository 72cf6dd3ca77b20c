// Start-up (issue 11): bin/run.js keeps Node 22's module compile cache under the user's cache directory, and a
// cache that cannot be written never changes what airlock does or prints.
import assert from 'node:assert/strict'
import {existsSync, readdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'
import {runCli} from './support/cli.ts'
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

  it('is written under $XDG_CACHE_HOME/airlock/compile-cache and reused by the next start', async () => {
    const cacheHome = join(work.dir, 'cache')
    const first = await runCli(['--version'], {env: {XDG_CACHE_HOME: cacheHome, NODE_COMPILE_CACHE: undefined}})
    assert.equal(first.status, 0, first.stderr)
    const cached = filesUnder(join(cacheHome, 'airlock', 'compile-cache'))
    // oclif alone is dozens of modules; one entry per compiled module
    assert.ok(cached.length > 20, `expected compiled modules in the cache, found ${cached.length}`)
    const second = await runCli(['--version'], {env: {XDG_CACHE_HOME: cacheHome, NODE_COMPILE_CACHE: undefined}})
    assert.equal(second.status, 0, second.stderr)
    assert.equal(second.stdout, first.stdout)
    assert.equal(second.stderr, '')
  })

  it('an unusable cache directory costs only the speed-up: same output, exit 0, nothing on stderr', async () => {
    // a file where the directory should be: mkdir fails (also for root, unlike a read-only mode)
    const blocker = join(work.dir, 'not-a-directory')
    writeFileSync(blocker, 'x')
    const run = await runCli(['--version'], {env: {XDG_CACHE_HOME: blocker, NODE_COMPILE_CACHE: undefined}})
    assert.equal(run.status, 0, run.stderr)
    assert.match(run.stdout, /^airlock\/\d+\.\d+\.\d+ /)
    assert.equal(run.stderr, '')
    const help = await runCli(['push', '--help'], {env: {XDG_CACHE_HOME: blocker}})
    assert.equal(help.status, 0, help.stderr)
    assert.match(help.stdout, /Push a verified archive/)
  })

  it('NODE_DISABLE_COMPILE_CACHE turns it off (nothing written)', async () => {
    const cacheHome = join(work.dir, 'disabled')
    const run = await runCli(['--version'], {
      env: {XDG_CACHE_HOME: cacheHome, NODE_DISABLE_COMPILE_CACHE: '1', NODE_COMPILE_CACHE: undefined},
    })
    assert.equal(run.status, 0, run.stderr)
    assert.deepEqual(filesUnder(cacheHome), [])
  })
})
