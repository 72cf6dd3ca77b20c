// The trust flags through the built CLI (npm run build): export carries a TUF repository served on loopback,
// verify/push resolve the trusted root from it, --no-tuf says what it means, and a keyless policy without any
// trusted root fails with the reason.
import {HANG_GUARD_MS} from './support/cli.ts'
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {fileURLToPath} from 'node:url'
import {mirrorIdFor, pinnedRootFingerprint} from '../src/trust/index.ts'
import {startStaticServer, type StaticServer} from './support/static-server.ts'
import {readTar, writeTar} from './support/hostile/tar.ts'
import {TestTufRepo} from './support/tuf-repo.ts'
import {assertFreshBuild} from './support/built.ts'
import {parseCliJson} from './support/json-contract.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
// dist/ must be the current source: fail (never skip, never test old code) when it is not
assertFreshBuild()
const FIXTURE = 'oci:fixtures/example:example.com/demo/hello:1.0'
const KEYLESS = [
  '--certificate-identity',
  'someone@example.com',
  '--certificate-oidc-issuer',
  'https://issuer.example.com',
]

function airlock(...args: string[]) {
  return spawnSync(process.execPath, [join(ROOT, 'bin/run.js'), ...args], {
    encoding: 'utf8',
    cwd: ROOT,
    timeout: HANG_GUARD_MS,
  })
}

/** The CLI in a child process, asynchronously: the TUF mirror it fetches from is served by this process. */
async function airlockAsync(args: string[]): Promise<{status: number | null; stdout: string; stderr: string}> {
  const {spawn} = await import('node:child_process')
  return new Promise(ok => {
    const child = spawn(process.execPath, [join(ROOT, 'bin/run.js'), ...args], {cwd: ROOT})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', d => (stdout += d))
    child.stderr.on('data', d => (stderr += d))
    child.on('close', status => ok({status, stdout, stderr}))
  })
}

describe('trust flags through the CLI', () => {
  let repo: TestTufRepo
  let server: StaticServer
  let work: string
  let rootFile: string
  let archive: string

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'airlock-trust-cli-'))
    repo = new TestTufRepo({rootVersions: 2})
    server = await startStaticServer(repo.dir)
    rootFile = join(work, 'root.json')
    writeFileSync(rootFile, repo.pinnedRoot())
    archive = join(work, 'a.tar')
  })
  after(async () => {
    await server?.stop()
    repo?.remove()
    if (work) rmSync(work, {recursive: true, force: true})
  })

  it('export --tuf-mirror --tuf-root carries the repository and says so; verify --tuf-root reports the trust source', async () => {
    // the CLI fetches from the server in this process: run it asynchronously
    const {spawn} = await import('node:child_process')
    const run = (args: string[]) =>
      new Promise<{status: number | null; stdout: string; stderr: string}>(ok => {
        const child = spawn(process.execPath, [join(ROOT, 'bin/run.js'), ...args], {cwd: ROOT})
        let stdout = ''
        let stderr = ''
        child.stdout.on('data', d => (stdout += d))
        child.stderr.on('data', d => (stderr += d))
        child.on('close', status => ok({status, stdout, stderr}))
      })
    const e = await run([
      'export',
      '--signatures',
      'optional',
      '--tuf-mirror',
      server.url,
      '--tuf-root',
      rootFile,
      '-o',
      archive,
      FIXTURE,
    ])
    assert.equal(e.status, 0, e.stderr)
    assert.match(
      e.stderr + e.stdout,
      new RegExp(`trust: TUF ${server.url.replace(/[.]/g, '\\.')}: root v2 \\(from pinned v1, --tuf-root `),
    )

    const state = join(work, 'state')
    const v = airlock('verify', archive, '--signatures', 'skip', '--tuf-root', rootFile, '--state', state)
    assert.equal(v.status, 0, v.stderr + v.stdout)
    assert.match(v.stdout, /ok {4}trust/)
    assert.match(
      v.stdout,
      new RegExp(
        `TUF ${mirrorIdFor(server.url)}: root v2 from pinned v1 \\(--tuf-root .*\\), timestamp v1, .*trusted_root\\.json sha256:[0-9a-f]{64}; all metadata current`,
      ),
    )
    assert.match(v.stdout, /TUF state recorded in /)
    assert.ok(existsSync(join(state, 'tuf', `root-${pinnedRootFingerprint(repo.pinnedRoot())}.json`)))

    const j = airlock('verify', archive, '--signatures', 'skip', '--tuf-root', rootFile, '--no-state', '--json')
    assert.equal(j.status, 0)
    const trust = (
      parseCliJson(j.stdout) as {
        checks: Array<{name: string; ok: boolean; details: {sources: Array<{kind: string; name: string}>}}>
      }
    ).checks.find(c => c.name === 'trust')!
    assert.deepEqual(
      trust.details.sources.map(s => [s.kind, s.name]),
      [['tuf', mirrorIdFor(server.url)]],
    )

    const noRoot = airlock('verify', archive, '--signatures', 'skip', '--no-state')
    assert.equal(noRoot.status, 1)
    assert.match(noRoot.stderr, /trust: TUF .*: no pinned root for this mirror/)
  })

  it('export --no-tuf says the archive carries no trust root; verify with a keyless policy then fails with the reason', () => {
    const out = join(work, 'no-tuf.tar')
    const e = airlock('export', '--no-tuf', '--signatures', 'optional', '-o', out, FIXTURE)
    assert.equal(e.status, 0, e.stderr)
    assert.match(
      e.stderr + e.stdout,
      /--no-tuf: the archive carries no TUF repository; verify will need --trusted-root FILE/,
    )
    const v = airlock('verify', out, '--no-state', ...KEYLESS)
    assert.notEqual(v.status, 0)
    assert.match(
      v.stderr,
      /no trusted root: the archive carries no TUF data \(sigstore\/tuf\/\) and no --trusted-root was given/,
    )
  })

  it('export: an unreachable mirror is a clear error naming it', () => {
    const e = airlock(
      'export',
      '--signatures',
      'optional',
      '--tuf-mirror',
      'http://127.0.0.1:9',
      '--tuf-root',
      rootFile,
      '-o',
      join(work, 'x.tar'),
      FIXTURE,
    )
    assert.notEqual(e.status, 0)
    assert.match(e.stderr, /cannot reach TUF mirror http:\/\/127\.0\.0\.1:9/)
    assert.match(e.stderr, /--no-tuf/)
    assert.equal(existsSync(join(work, 'x.tar')), false)
  })

  it('renaming the mirror directory inside an older archive does not replay it against an empty state (bare --tuf-root, issue 10 finding 5)', async () => {
    const older = join(work, 'older.tar')
    const newer = join(work, 'newer.tar')
    const state = join(work, 'state-rename')
    const exportTo = (out: string) =>
      airlockAsync([
        'export',
        '--signatures',
        'optional',
        '--tuf-mirror',
        server.url,
        '--tuf-root',
        rootFile,
        '-o',
        out,
        FIXTURE,
      ])
    const e1 = await exportTo(older)
    assert.equal(e1.status, 0, e1.stderr)
    repo.publish() // timestamp, snapshot, targets v+1
    const e2 = await exportTo(newer)
    assert.equal(e2.status, 0, e2.stderr)
    const v = airlock('verify', newer, '--signatures', 'skip', '--tuf-root', rootFile, '--state', state)
    assert.equal(v.status, 0, v.stderr + v.stdout)
    const replay = airlock('verify', older, '--signatures', 'skip', '--tuf-root', rootFile, '--state', state)
    assert.equal(replay.status, 1, replay.stdout)
    assert.match(replay.stderr + replay.stdout, /older than .* accepted on an earlier import/)

    // the same older archive with its mirror directory renamed (and airlock.json re-listed to match, as the
    // attacker would): the bare --tuf-root now pairs with the new name
    const prefix = `sigstore/tuf/${mirrorIdFor(server.url)}/`
    const renamedPrefix = 'sigstore/tuf/renamed.example/'
    const {entries} = readTar(readFileSync(older))
    assert.ok(entries.some(e => e.name.startsWith(prefix)))
    const renamed = join(work, 'renamed.tar')
    writeFileSync(
      renamed,
      writeTar(
        entries.map(e => ({
          name: e.name.startsWith(prefix) ? renamedPrefix + e.name.slice(prefix.length) : e.name,
          type: e.type as 'File',
          body:
            e.name === 'airlock.json' ? Buffer.from(e.body.toString('utf8').split(prefix).join(renamedPrefix)) : e.body,
        })),
      ),
    )
    const r = airlock('verify', renamed, '--signatures', 'skip', '--tuf-root', rootFile, '--state', state)
    assert.equal(r.status, 1, r.stdout)
    assert.match(
      r.stderr + r.stdout,
      /TUF renamed\.example: .* older than .* accepted on an earlier import \(rollback or replayed archive\)/,
    )
  })
})
