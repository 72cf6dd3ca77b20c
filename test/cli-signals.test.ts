// Issue 12 item 2: with an older system Node, bin/run.js re-executes itself on the project's Node 22. SIGINT, SIGTERM
// and SIGHUP sent to the PID the user sees (the wrapper) must reach the real process: the wrapper exits 128+n, the
// real process is gone (no orphan that later writes the archive) and no partial output is left. Each signal on
// export, verify and push, started under the system Node (/usr/bin/node, 20 here) so the wrapper path runs.
import assert from 'node:assert/strict'
import {spawn, spawnSync, type ChildProcess} from 'node:child_process'
import {existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync} from 'node:fs'
import {constants} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {fileURLToPath} from 'node:url'
import {exportImages} from '../src/export/export.ts'
import {LayoutBuilder, tempDir} from './support/layouts.ts'
import {startRegistry, type StartedRegistry} from './support/registry.ts'

const root = fileURLToPath(new URL('..', import.meta.url))
const BIN = join(root, 'bin/run.js')

/** The first Node older than 22 on PATH (the wrapper path); the test fails, not skips, without one. */
function systemOldNode(): string {
  const candidates = spawnSync('sh', ['-c', 'which -a node nodejs; ls /usr/bin/node /usr/local/bin/node 2>/dev/null'], {
    encoding: 'utf8',
  })
    .stdout.split('\n')
    .filter(Boolean)
  for (const candidate of new Set(candidates)) {
    const version = spawnSync(candidate, ['-p', 'process.versions.node'], {encoding: 'utf8'}).stdout.trim()
    if (version && Number(version.split('.')[0]) < 22) return candidate
  }
  throw new Error(
    `no Node.js older than 22 found (${candidates.join(', ')}): the wrapper path of bin/run.js cannot be exercised`,
  )
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number)
  } catch {
    return []
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.startsWith('Z')
  } catch {
    return false
  }
}

function opens(pid: number, path: string): boolean {
  try {
    return readdirSync(`/proc/${pid}/fd`).some(fd => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`) === path
      } catch {
        return false
      }
    })
  } catch {
    return false
  }
}

async function until(condition: () => boolean, what: string, wrapper: ChildProcess, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (wrapper.exitCode !== null) throw new Error(`the command ended (exit ${wrapper.exitCode}) before ${what}`)
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(r => setTimeout(r, 20))
  }
}

describe('bin/run.js forwards signals to the Node 22 process it starts', () => {
  let dir: string
  let cleanup: () => Promise<void>
  let archive: string
  let layout: string
  let mirror: StartedRegistry
  let node: string

  before(async () => {
    node = systemOldNode()
    ;({dir, cleanup} = await tempDir('airlock-signals-'))
    mirror = await startRegistry()
    layout = join(dir, 'layout')
    // Large enough that every command is still working when the signal arrives (it is sent as soon as the real
    // process is seen at work, not after a sleep).
    const b = await LayoutBuilder.create(layout)
    const image = await b.image([await b.randomLayer(160 * 1024 * 1024)])
    await b.tag(image, 'example.com/big/app:1')
    archive = join(dir, 'big.tar')
    await exportImages({sources: [`oci:${layout}:example.com/big/app:1`], output: archive})
  })
  after(async () => {
    await mirror?.stop()
    await cleanup?.()
  })

  const commands = {
    export: (out: string) => ({
      args: [
        'export',
        '--no-tuf',
        '--signatures',
        'skip',
        '-o',
        join(out, 'out.tar'),
        `oci:${layout}:example.com/big/app:1`,
      ],
      working: (pid: number) => readdirSync(out).some(f => f.includes('.partial-')) && pid > 0,
    }),
    verify: (_out: string) => ({
      args: ['verify', '--signatures', 'skip', archive],
      working: (pid: number) => opens(pid, archive),
    }),
    push: (_out: string) => ({
      args: [
        'push',
        '--skip-verify',
        '--insecure-registry',
        mirror.host,
        archive,
        `${mirror.host}/sig${Math.random().toString(36).slice(2, 8)}`,
      ],
      working: (pid: number) => opens(pid, archive),
    }),
  }

  for (const [name, make] of Object.entries(commands))
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
      it(`${signal} on ${name}: exit ${128 + constants.signals[signal]}, the real process gone, no partial output`, async () => {
        const out = join(dir, `${name}-${signal}`)
        mkdirSync(out)
        const {args, working} = make(out)
        // A new session, as a shell job would be: the signal reaches only the wrapper, as with `kill PID`.
        const wrapper = spawn(node, [BIN, ...args], {cwd: out, stdio: ['ignore', 'pipe', 'pipe'], detached: true})
        let stderr = ''
        wrapper.stderr!.on('data', d => (stderr += d))
        wrapper.stdout!.resume()
        const exited = new Promise<{code: number | null; signal: string | null}>(resolve =>
          wrapper.on('exit', (code, sig) => resolve({code, signal: sig})),
        )
        let real = 0
        await until(
          () => (real = childrenOf(wrapper.pid!)[0] ?? 0) > 0 && working(real),
          `${name} to start working`,
          wrapper,
        )
        wrapper.kill(signal)
        const result = await exited
        assert.deepEqual(result, {code: 128 + constants.signals[signal], signal: null}, stderr)
        await until(
          () => !alive(real),
          'the real process to end',
          wrapper.exitCode === null ? wrapper : ({exitCode: null} as ChildProcess),
          10_000,
        )
        assert.deepEqual(readdirSync(out), [], `left in the working directory: ${stderr}`)
        // Nothing written later by a process that kept running.
        await new Promise(r => setTimeout(r, 300))
        assert.equal(existsSync(join(out, 'out.tar')), false)
      })

  it('SIGKILL of the wrapper: the real process notices, stops and removes its partial archive', async () => {
    const out = join(dir, 'export-SIGKILL')
    mkdirSync(out)
    const {args, working} = commands.export(out)
    const wrapper = spawn(node, [BIN, ...args], {cwd: out, stdio: ['ignore', 'ignore', 'ignore'], detached: true})
    let real = 0
    await until(
      () => (real = childrenOf(wrapper.pid!)[0] ?? 0) > 0 && working(real),
      'export to start working',
      wrapper,
    )
    wrapper.kill('SIGKILL')
    await until(() => !alive(real), 'the orphaned real process to stop', {exitCode: null} as ChildProcess, 10_000)
    assert.deepEqual(readdirSync(out), [])
  })
})
