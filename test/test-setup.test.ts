// Issue 12 item 14: the test suite on a fresh machine. `npm test` checks its tools first and fails within seconds in
// one line naming what to run; no test runs a binary that the README/.ci/run does not bring; and a test file whose
// `before` hook fails after starting registries ends promptly and leaves no registry running (it used to hang for
// the whole test timeout, the leaked registry keeping the process alive).
import assert from 'node:assert/strict'
import {spawn, spawnSync} from 'node:child_process'
import {mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, it} from 'node:test'
import {fileURLToPath} from 'node:url'
import {TOOLS} from './preflight.ts'

const root = fileURLToPath(new URL('..', import.meta.url))
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {scripts: Record<string, string>}

/** Base-system commands every Debian has (coreutils, tar, git for the repository itself, util-linux). */
const BASE = new Set([
  'node',
  'npm',
  'sh',
  'cp',
  'ln',
  'mkdir',
  'rm',
  'sync',
  'tar',
  'git',
  'mount',
  'umount',
  'script',
  'which',
  'ls',
])

function walk(dir: string): string[] {
  return readdirSync(dir, {withFileTypes: true}).flatMap(e =>
    e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  )
}

describe('test suite set-up', () => {
  it('npm test starts with the preflight and fails fast, in one line, without the tools', () => {
    assert.match(pkg.scripts.test!, /^node test\/preflight\.ts && /)
    const t = Date.now()
    const r = spawnSync(process.execPath, [join(root, 'test/preflight.ts')], {
      encoding: 'utf8',
      env: {...process.env, PATH: '/nonexistent'},
    })
    assert.equal(r.status, 1)
    assert.ok(Date.now() - t < 5000)
    const lines = r.stderr.trimEnd().split('\n')
    assert.equal(lines.length, 1, r.stderr)
    assert.match(
      lines[0]!,
      /^airlock tests cannot run: missing skopeo, openssl, sha256sum, file, unshare, nsenter, ip, strip, aarch64-linux-gnu-strip, xz, bzip2: run "sudo bash \.ci\/run"/,
    )
    const here = spawnSync(process.execPath, [join(root, 'test/preflight.ts')], {encoding: 'utf8'})
    assert.equal(here.status, 0, `this machine lacks test tools: ${here.stderr}`)
  })

  it('npm test on a clean clone (no npm ci yet) says in one line to run npm ci, on any Node', () => {
    assert.equal(pkg.scripts.pretest, 'node scripts/need-install.js')
    // the script as it sits in a checkout without node_modules
    const clone = mkdtempSync(join(tmpdir(), 'airlock-clean-clone-'))
    try {
      writeFileSync(join(clone, 'need-install.js'), readFileSync(join(root, 'scripts/need-install.js')))
      writeFileSync(join(clone, 'package.json'), '{"type": "module"}')
      const r = spawnSync(process.execPath, [join(clone, 'need-install.js')], {encoding: 'utf8'})
      assert.equal(r.status, 1)
      assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr)
      assert.match(r.stderr, /node_modules is missing\): run "npm ci" first$/m)
    } finally {
      rmSync(clone, {recursive: true, force: true})
    }
    const here = spawnSync(process.execPath, [join(root, 'scripts/need-install.js')], {encoding: 'utf8'})
    assert.equal(here.status, 0, here.stderr)
  })

  it('every external program a test runs is checked by the preflight or is part of the base system', () => {
    const ci = readFileSync(join(root, '.ci/run'), 'utf8')
    for (const tool of TOOLS) assert.ok(ci.includes(tool.debian), `.ci/run does not install ${tool.debian}`)
    const known = new Set(TOOLS.flatMap(t => [t.command, t.command.split('/').pop()!]))
    const unknown = new Set<string>()
    for (const file of [...walk(join(root, 'test')), ...walk(join(root, 'bench'))]) {
      const text = readFileSync(file, 'utf8')
      for (const m of text.matchAll(/\b(?:execFileSync|execFile|spawnSync|spawn|execSync)\(\s*['"`]([^'"`$]+)['"`]/g))
        if (!known.has(m[1]!) && !BASE.has(m[1]!)) unknown.add(`${m[1]} (${file.slice(root.length)})`)
    }
    assert.deepEqual([...unknown], [])
  })

  it('a before hook that fails after starting registries: the file ends promptly, no registry left running', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'airlock-hookfail-'))
    try {
      const marker = join(dir, 'registries.json')
      const file = join(dir, 'hook-fails.test.ts')
      writeFileSync(
        file,
        [
          `import {writeFileSync} from 'node:fs'`,
          `import {before, after, it} from 'node:test'`,
          `import {startRegistry} from ${JSON.stringify(join(root, 'test/support/registry.ts'))}`,
          `let a, b`,
          `before(async () => {`,
          `  const started = await Promise.all([startRegistry(), startRegistry({auth: 'bearer'})])`,
          `  writeFileSync(${JSON.stringify(marker)}, JSON.stringify(started.map((r) => r.dir)))`,
          `  throw new Error('set-up failed after starting registries')`,
          `})`,
          `after(async () => { await a?.stop(); await b?.stop() })`,
          `it('never runs', () => {})`,
        ].join('\n'),
      )
      // The same runner flags as `npm test`.
      const flags = [...pkg.scripts.test!.matchAll(/(--test-[\w-]+(?:=\S+)?)/g)]
        .map(m => m[1]!)
        .filter(f => !f.startsWith('--test-concurrency'))
      const t = Date.now()
      const env = {...process.env}
      delete env.NODE_TEST_CONTEXT // a runner of its own, not a subtest of this one
      const child = spawn(process.execPath, ['--test', ...flags, file], {stdio: ['ignore', 'pipe', 'pipe'], env})
      let output = ''
      child.stdout.on('data', d => (output += d))
      child.stderr.on('data', d => (output += d))
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
      const code = await new Promise<number | null>(resolve => child.on('exit', resolve))
      clearTimeout(timer)
      assert.ok(Date.now() - t < 45_000, `the failed file took ${Date.now() - t} ms to end: ${output}`)
      assert.notEqual(code, 0)
      assert.match(output, /set-up failed after starting registries/)
      const dirs = JSON.parse(readFileSync(marker, 'utf8')) as string[]
      assert.equal(dirs.length, 2)
      // No docker-registry serving one of those configs is still alive.
      await new Promise(r => setTimeout(r, 500))
      const alive = readdirSync('/proc')
        .filter(p => /^\d+$/.test(p))
        .filter(p => {
          try {
            const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8')
            return dirs.some(d => cmd.includes(d))
          } catch {
            return false
          }
        })
      assert.deepEqual(alive, [], 'registries left running')
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })
})
