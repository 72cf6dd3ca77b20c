// Start-up (issue 11): bin/run.js starts airlock from one bundled file, dist/airlock.cjs (scripts/bundle.ts), not
// from the ~340 ES modules under dist/ and node_modules; oclif's help, airlock's help class and its unknown-command
// hook behave exactly as they do from the dist/ modules (the fallback when only tsc ran).
import assert from 'node:assert/strict'
import {cpSync, mkdirSync, readFileSync, symlinkSync, writeFileSync} from 'node:fs'
import {join, relative} from 'node:path'
import {pathToFileURL} from 'node:url'
import {after, before, describe, it} from 'node:test'
import {BUNDLE} from './support/built.ts'
import {ROOT, runCli} from './support/cli.ts'
import {makeWorkDir} from './support/images.ts'

const work = makeWorkDir('airlock-bundle-')
after(() => work.cleanup())

/** A preload that records every module file Node loads (import and require alike) into $AIRLOCK_TEST_LOADED. */
function loadRecorder(): string {
  const file = join(work.dir, 'record-loads.mjs')
  writeFileSync(
    file,
    `import {registerHooks} from 'node:module'
import {appendFileSync} from 'node:fs'
registerHooks({load(url, context, next) {
  appendFileSync(process.env.AIRLOCK_TEST_LOADED, url + '\\n')
  return next(url, context)
}})
`,
  )
  return file
}

describe('bundled start', () => {
  let recorder: string
  before(() => {
    recorder = loadRecorder()
  })

  /** The files under ROOT that `airlock ...args` loaded as modules, relative to ROOT. */
  async function loaded(args: string[]): Promise<{files: string[]; status: number | null; stderr: string}> {
    const log = join(work.dir, `loaded-${args.join('-')}.txt`)
    writeFileSync(log, '')
    const run = await runCli(args, {
      nodeArgs: ['--import', pathToFileURL(recorder).href],
      env: {AIRLOCK_TEST_LOADED: log},
    })
    const files = readFileSync(log, 'utf8')
      .split('\n')
      .filter(url => url.startsWith('file://'))
      .map(url => relative(ROOT, new URL(url).pathname))
    return {files: [...new Set(files)], status: run.status, stderr: run.stderr}
  }

  for (const args of [['--version'], ['push', '--help'], ['verfy'], ['help', 'exprot']])
    it(`airlock ${args.join(' ')}: the only file of dist/ it loads is the bundle`, async () => {
      const run = await loaded(args)
      assert.ok(run.status === 0 || run.status === 2, run.stderr)
      assert.deepEqual(
        run.files.filter(f => f.startsWith('dist/')),
        [relative(ROOT, BUNDLE)],
      )
      // oclif itself is in the bundle; only `airlock help ...` (the @oclif/plugin-help command, loaded from
      // node_modules like every plugin) brings the plugin's own copy
      if (args[0] !== 'help')
        assert.deepEqual(
          run.files.filter(f => f.startsWith('node_modules/@oclif/core/')),
          [],
        )
    })
})

describe('bundled start: same behaviour as the dist/ modules', () => {
  // an installation without the bundle: bin/run.js falls back to dist/ (a copy: bin/run.js finds dist/ next to it)
  const fallback = join(work.dir, 'install')
  before(() => {
    mkdirSync(fallback)
    cpSync(join(ROOT, 'bin'), join(fallback, 'bin'), {recursive: true})
    cpSync(join(ROOT, 'dist'), join(fallback, 'dist'), {recursive: true, filter: src => src !== BUNDLE})
    for (const file of ['package.json', 'oclif.manifest.json']) cpSync(join(ROOT, file), join(fallback, file))
    symlinkSync(join(ROOT, 'node_modules'), join(fallback, 'node_modules'))
  })

  // help (root, topics, commands, oclif's `help` command, airlock's help class), the unknown-command hook, usage
  // errors, the plugins' commands, version
  const cases = [
    ['--version'],
    ['--help'],
    ['help'],
    ['push', '--help'],
    ['help', 'push'],
    ['help', 'verify', 'extra'],
    ['verfy'],
    ['verfy', 'a.tar'],
    ['help', 'exprot'],
    ['help', 'nosuchcommand'],
    ['verify', '--bogus'],
    ['push'],
    ['autocomplete', '--help'],
    ['version'],
  ]
  for (const args of cases)
    it(`airlock ${args.join(' ')}`, async () => {
      const [bundled, modules] = [await runCli(args), await runCli(args, {bin: join(fallback, 'bin/run.js')})]
      assert.equal(bundled.status, modules.status)
      assert.equal(bundled.stdout, modules.stdout)
      assert.equal(bundled.stderr, modules.stderr)
    })

  it('an unknown command under --json: the same envelope', async () => {
    const [bundled, modules] = [
      await runCli(['verfy', '--json']),
      await runCli(['verfy', '--json'], {bin: join(fallback, 'bin/run.js')}),
    ]
    assert.equal(bundled.status, 2)
    assert.equal(bundled.status, modules.status)
    const timeless = (out: string) => ({...JSON.parse(out), startedAt: null, durationSeconds: null})
    assert.deepEqual(timeless(bundled.stdout), timeless(modules.stdout))
    assert.equal(bundled.stderr, modules.stderr)
  })
})
