// verify never touches the network: the built CLI runs under a preload that makes every socket, DNS lookup,
// http(s)/tls request and fetch throw and records the attempt; verify of a signed archive must pass with nothing
// recorded. The preload is proven to work by letting an export that wants Rekor try (and get recorded).
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {networkAttempts, runCli} from './support/cli.ts'
import {EXAMPLE_POLICY, EXAMPLE_SIGNATURES} from './support/example-archives.ts'
import {tempDir} from './support/layouts.ts'
import {keylessFlags} from './support/policies.ts'
import {exportFromLayout} from './support/signed-layout.ts'

const FIX = EXAMPLE_SIGNATURES
const POLICY = EXAMPLE_POLICY

describe('verify opens no network connection', () => {
  let dir: string
  let cleanup: () => Promise<void>
  let archive: string
  const run = (log: string, ...args: string[]) => runCli(args, {networkLog: log})
  const attempts = networkAttempts

  before(async () => {
    ;({dir, cleanup} = await tempDir())
    archive = join(dir, 'signed.tar')
    const log = join(dir, 'export.log')
    // Export from oci: with Rekor wanted: the preload must catch the attempt, and export goes on with the SET only.
    const r = await exportFromLayout(`${FIX}/oci-layout`, ['registry.example.test/airlock/hello:v1'], archive, log)
    assert.ok(attempts(log).length > 0, 'the preload records network attempts (export wanted Rekor)')
    assert.match(r.stderr, /warning: .*Rekor|SET/)
  })
  after(() => cleanup())

  it('verify passes a signed archive with no network attempt at all', async () => {
    const log = join(dir, 'verify.log')
    const r = await run(log, 'verify', archive, ...POLICY)
    assert.equal(r.status, 0, r.stderr + r.stdout)
    assert.match(r.stdout, /signatures: +ok +signature/)
    assert.deepEqual(attempts(log), [])
  })

  it('a rejected identity is also decided offline', async () => {
    const log = join(dir, 'verify-bad.log')
    const r = await run(
      log,
      'verify',
      archive,
      ...keylessFlags(`${FIX}/trusted_root.json`, {
        identity: 'someone@evil.test',
        issuer: 'https://accounts.example.test',
      }),
    )
    assert.equal(r.status, 1)
    assert.deepEqual(attempts(log), [])
  })

  it('no socket file descriptor is ever open in the verify process (Linux /proc)', {
    skip: !existsSync('/proc/self/fd'),
  }, async () => {
    // A sampler preload: list the process's fds every millisecond and record any socket.
    const log = join(dir, 'fds.log')
    const sampler = join(dir, 'sampler.mjs')
    const code = `import {readdirSync, readlinkSync, appendFileSync} from 'node:fs'
const seen = new Set(); const tick = () => { for (const fd of readdirSync('/proc/self/fd')) { try { const l = readlinkSync('/proc/self/fd/' + fd); if (l.startsWith('socket:') && !seen.has(l)) { seen.add(l); appendFileSync(process.env.AIRLOCK_FD_LOG, l + '\\n') } } catch {} } }
setInterval(tick, 1).unref(); process.on('exit', tick)`
    writeFileSync(sampler, code)
    const r = await runCli(['verify', archive, ...POLICY], {
      nodeArgs: ['--import', sampler],
      env: {AIRLOCK_FD_LOG: log},
    })
    assert.equal(r.status, 0, r.stderr)
    // Node itself may hold an internal socketpair for stdio; none may be created by airlock (inet sockets are what
    // matter, and the no-network preload above already proves none was requested).
    const sockets = existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : []
    // the same sampler in a bare node process (not the CLI): what node alone opens
    const baseline = spawnSync(process.execPath, ['--import', sampler, '-e', 'setTimeout(()=>{},50)'], {
      encoding: 'utf8',
      env: {...process.env, AIRLOCK_FD_LOG: join(dir, 'base.log')},
    })
    assert.equal(baseline.status, 0)
    const base = existsSync(join(dir, 'base.log'))
      ? readFileSync(join(dir, 'base.log'), 'utf8').split('\n').filter(Boolean).length
      : 0
    assert.ok(sockets.length <= base, `verify opened sockets: ${sockets.join(', ')} (baseline ${base})`)
  })
})
