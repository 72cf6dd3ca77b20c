// The single-file executables (issue 15). This file builds them itself with scripts/package.ts, twice (both
// platforms each time, about a minute on an idle machine), because "two builds from the same commit are
// byte-identical" can only be shown by building twice. npm test (and so .ci/run) runs it like every other file.
// The smoke test runs the amd64 executable the way the disconnected side would: environment emptied (no Node on
// PATH, HOME an empty read-only directory), inside a network namespace of its own (`unshare -n`, only loopback,
// where the test registry also runs), so any network attempt or file read outside the work directory would fail.
import assert from 'node:assert/strict'
// Not runCli (test/support/cli.ts): the subject is the packaged executable, run with an empty environment in a network namespace.
import {execFileSync, spawn, spawnSync, type ChildProcess} from 'node:child_process'
import {createHash} from 'node:crypto'
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {WORKER_THRESHOLD_BYTES} from '../src/archive/hash-pool.ts'
import {LayoutBuilder} from './support/layouts.ts'
import {parseCliJson} from './support/json-contract.ts'

const ROOT = new URL('..', import.meta.url).pathname
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {version: string}).version
const NODE_VERSION = (
  JSON.parse(readFileSync(join(ROOT, 'node_modules/node/package.json'), 'utf8')) as {version: string}
).version
const SIG = join(ROOT, 'fixtures/example-signatures')
const CONFORMANCE = '/work/shared/corpora/sigstore+sigstore-conformance/test/assets/bundle-verify'
const PROD_ROOT = '/work/shared/corpora/sigstore+root-signing/targets/trusted_root.json'
const IDENTITY = [
  '--certificate-identity',
  'release@example.test',
  '--certificate-oidc-issuer',
  'https://accounts.example.test',
]

const work = mkdtempSync(join(tmpdir(), 'airlock-package-'))
const buildA = join(work, 'a')
const buildB = join(work, 'b')
const exeName = (platform: string) => `airlock-${VERSION}-linux-${platform}`
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex')

interface BuildResult {
  executables: Array<{
    platform: string
    file: string
    bytes: number
    sha256: string
    bundle?: string
    startupSeconds?: number
  }>
  commit: string
  codeSha256: string
  seconds: number
}

function packageInto(out: string, extra: string[]): BuildResult {
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts/package.ts'), '--out', out, '--json', ...extra], {
    cwd: ROOT,
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  })
  assert.equal(r.status, 0, `npm run package failed: ${r.stderr}`)
  return JSON.parse(r.stdout) as BuildResult
}

let first: BuildResult
let second: BuildResult

before(() => {
  execFileSync(
    'openssl',
    ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', join(work, 'release.key')],
    {stdio: 'ignore'},
  )
  execFileSync('openssl', ['pkey', '-in', join(work, 'release.key'), '-pubout', '-out', join(work, 'release.pub')], {
    stdio: 'ignore',
  })
  first = packageInto(buildA, ['--key', join(work, 'release.key')])
  second = packageInto(buildB, ['--no-measure'])
  process.stderr.write(`# package.test: builds took ${first.seconds.toFixed(1)} s and ${second.seconds.toFixed(1)} s\n`)
})
after(() => rmSync(work, {recursive: true, force: true}))

/** Runs an executable with an empty environment (no PATH entries, no HOME) and returns its result. */
function runBare(exe: string, args: string[], options: {cwd?: string; env?: Record<string, string>} = {}) {
  return spawnSync(exe, args, {
    cwd: options.cwd ?? work,
    encoding: 'utf8',
    env: {PATH: join(work, 'empty-path'), ...options.env},
    maxBuffer: 64 * 1024 * 1024,
  })
}

describe('npm run package', () => {
  it('builds both platforms; two builds from the same commit are byte-identical and SHA256SUMS checks', () => {
    for (const platform of ['amd64', 'arm64']) {
      const a = readFileSync(join(buildA, exeName(platform)))
      const b = readFileSync(join(buildB, exeName(platform)))
      assert.equal(sha256(a), sha256(b), `${platform}: the two builds differ`)
      assert.ok(a.equals(b))
      assert.equal(first.executables.find(e => e.platform === platform)?.sha256, sha256(a))
    }
    assert.equal(readFileSync(join(buildA, 'SHA256SUMS'), 'utf8'), readFileSync(join(buildB, 'SHA256SUMS'), 'utf8'))
    assert.equal(readFileSync(join(buildA, 'SHA256SUMS'), 'utf8').trim().split('\n').length, 2)
    const check = spawnSync('sha256sum', ['-c', 'SHA256SUMS'], {cwd: buildA, encoding: 'utf8'})
    assert.equal(check.status, 0, check.stdout + check.stderr)
    assert.match(check.stdout, new RegExp(`${exeName('arm64')}: OK`))
  })

  it('makes an x86-64 and an aarch64 ELF executable, both under the size budget', () => {
    assert.match(
      execFileSync('file', ['-b', join(buildA, exeName('amd64'))], {encoding: 'utf8'}),
      /^ELF 64-bit LSB .*x86-64/,
    )
    assert.match(
      execFileSync('file', ['-b', join(buildA, exeName('arm64'))], {encoding: 'utf8'}),
      /^ELF 64-bit LSB .*ARM aarch64/,
    )
    for (const e of first.executables) assert.ok(e.bytes < 120_000_000, `${e.platform}: ${e.bytes} bytes`)
    assert.ok(
      first.executables.find(e => e.platform === 'amd64')?.startupSeconds !== undefined,
      'the report measures the amd64 start-up',
    )
  })

  it('version --json reports the version, the commit, the Node inside and the sha256 sha256sum computes', () => {
    const exe = join(buildA, exeName('amd64'))
    const r = runBare(exe, ['version', '--json'])
    assert.equal(r.status, 0, r.stderr)
    const self = parseCliJson(r.stdout) as Record<string, unknown> & {executable: {path: string; sha256: string}}
    const expected = execFileSync('sha256sum', [exe], {encoding: 'utf8'}).split(' ')[0]
    assert.equal(self.executable.sha256, expected)
    assert.equal(self.executable.path, exe)
    assert.equal(self.version, VERSION)
    assert.equal(self.node, `v${NODE_VERSION}`)
    assert.equal(self.packaged, true)
    assert.match(
      self.commit as string,
      new RegExp(`^${execFileSync('git', ['rev-parse', 'HEAD'], {cwd: ROOT, encoding: 'utf8'}).trim()}(-dirty)?$`),
    )
    assert.equal(self.commit, first.commit)
    assert.equal(self.embeddedCodeSha256, first.codeSha256)
    const seeds = JSON.parse(readFileSync(join(ROOT, 'node_modules/@sigstore/tuf/seeds.json'), 'utf8')) as Record<
      string,
      {'root.json': string}
    >
    const root = Buffer.from(seeds['https://tuf-repo-cdn.sigstore.dev']!['root.json'], 'base64')
    assert.deepEqual(self.publicGoodTufRoot, {
      version: (JSON.parse(root.toString()) as {signed: {version: number}}).signed.version,
      sha256: sha256(root),
    })
  })

  it('a copy with damaged embedded code refuses to run, in one line; a truncated copy does not run silently', () => {
    const good = readFileSync(join(buildA, exeName('amd64')))
    const at = good.indexOf('Copy images (and everything they reference)')
    assert.ok(at > 0, 'the export command summary is in the embedded code')
    const damaged = Buffer.from(good)
    damaged[at] = 'K'.charCodeAt(0)
    const file = join(work, 'damaged')
    writeFileSync(file, damaged, {mode: 0o755})
    for (const args of [['--version'], ['version', '--json'], ['verify', 'x.tar']]) {
      const r = runBare(file, args)
      assert.equal(r.status, 1, `${args.join(' ')}: ${r.stdout}`)
      assert.equal(r.stdout, '')
      const lines = r.stderr.trim().split('\n')
      assert.equal(lines.length, 1, r.stderr)
      assert.match(
        lines[0]!,
        /^airlock: error: this executable is damaged: its embedded code has sha256 [0-9a-f]{64}, the build recorded [0-9a-f]{64} \(check the file with sha256sum -c SHA256SUMS/,
      )
    }
    const truncated = join(work, 'truncated')
    writeFileSync(truncated, good.subarray(0, good.length - 1_000_000), {mode: 0o755})
    const r = runBare(truncated, ['--version'])
    assert.notEqual(r.status, 0)
    assert.equal(r.stdout, '')
  })

  it('writes a Sigstore bundle per executable that verify-blob --key accepts, and only for its own executable', () => {
    const exe = join(buildA, exeName('amd64'))
    for (const platform of ['amd64', 'arm64']) {
      const target = join(buildA, exeName(platform))
      assert.ok(existsSync(`${target}.sigstore.json`))
      const ok = runBare(exe, [
        'verify-blob',
        '--key',
        join(work, 'release.pub'),
        '--insecure-ignore-tlog',
        '--bundle',
        `${target}.sigstore.json`,
        target,
      ])
      assert.equal(ok.status, 0, ok.stderr)
      assert.match(ok.stdout, /Verified OK/)
    }
    const swapped = runBare(exe, [
      'verify-blob',
      '--key',
      join(work, 'release.pub'),
      '--insecure-ignore-tlog',
      '--bundle',
      `${join(buildA, exeName('arm64'))}.sigstore.json`,
      exe,
    ])
    assert.equal(swapped.status, 1)
    assert.match(swapped.stderr, /verification failed/)
    assert.deepEqual(
      readdirSync(buildB).filter(n => n.endsWith('.sigstore.json')),
      [],
      'no key, no bundle',
    )
  })
})

describe('the amd64 executable on the disconnected side (no Node, empty HOME, no network)', () => {
  const box = join(work, 'box')
  const home = join(work, 'home')
  let exe: string
  let holder: ChildProcess
  let registry: ChildProcess | undefined

  /** Runs a command inside the holder's network namespace. */
  const inNs = (command: string[], options: {env?: Record<string, string>} = {}) =>
    spawnSync(
      'nsenter',
      [
        '-t',
        String(holder.pid),
        '-n',
        '--',
        '/usr/bin/env',
        '-i',
        ...Object.entries({PATH: join(work, 'empty-path'), HOME: home, ...options.env}).map(([k, v]) => `${k}=${v}`),
        ...command,
      ],
      {
        cwd: box,
        encoding: 'utf8',
        maxBuffer: 64 * 1024 * 1024,
      },
    )
  const airlock = (...args: string[]) => inNs([exe, ...args])

  before(async () => {
    mkdirSync(box, {recursive: true})
    mkdirSync(join(work, 'empty-path'), {recursive: true})
    mkdirSync(home, {recursive: true})
    chmodSync(home, 0o555)
    // the executable alone, copied next to the data: nothing else of the project is reachable by relative path
    exe = join(box, exeName('amd64'))
    copyFileSync(join(buildA, exeName('amd64')), exe)
    chmodSync(exe, 0o755)
    holder = spawn('unshare', ['-n', 'sleep', '3600'], {stdio: 'ignore'})
    await new Promise(resolve => setTimeout(resolve, 200))
    assert.equal(holder.exitCode, null, 'unshare -n must work here (root, or user namespaces)')
    const lo = spawnSync('nsenter', ['-t', String(holder.pid), '-n', 'ip', 'link', 'set', 'lo', 'up'], {
      encoding: 'utf8',
    })
    assert.equal(lo.status, 0, lo.stderr)
    const routes = spawnSync('nsenter', ['-t', String(holder.pid), '-n', 'ip', '-o', 'link'], {encoding: 'utf8'})
      .stdout.trim()
      .split('\n')
    assert.deepEqual(
      routes.map(l => l.split(':')[1]!.trim()),
      ['lo'],
      'the namespace has loopback only',
    )
    // a 65 MiB layer: over verify's worker threshold, so hashing runs on worker threads inside the executable
    const layout = await LayoutBuilder.create(join(box, 'big-layout'))
    await layout.tag(await layout.image([await layout.randomLayer(65 * 1024 * 1024)]), 'example.test/big:1')
  })
  after(() => {
    registry?.kill('SIGKILL')
    holder?.kill('SIGKILL')
    chmodSync(home, 0o755)
  })

  it('exports the signed fixture offline, verifies it (and rejects a wrong identity), inspects it', () => {
    const exported = airlock(
      'export',
      '--no-tuf',
      '--no-rekor',
      '-o',
      'signed.tar',
      '--trusted-root',
      join(SIG, 'trusted_root.json'),
      ...IDENTITY,
      `oci:${SIG}/oci-layout:registry.example.test/airlock/hello:v1`,
    )
    assert.equal(exported.status, 0, exported.stderr)
    const verified = airlock('verify', 'signed.tar', '--trusted-root', join(SIG, 'trusted_root.json'), ...IDENTITY)
    assert.equal(verified.status, 0, verified.stderr + verified.stdout)
    assert.match(verified.stdout, /verified: 1 image/)
    const wrong = airlock(
      'verify',
      'signed.tar',
      '--trusted-root',
      join(SIG, 'trusted_root.json'),
      '--certificate-identity',
      'someone@evil.test',
      '--certificate-oidc-issuer',
      'https://accounts.example.test',
    )
    assert.equal(wrong.status, 1)
    const inspected = airlock('inspect', 'signed.tar')
    assert.equal(inspected.status, 0, inspected.stderr)
    assert.match(inspected.stdout, /registry\.example\.test\/airlock\/hello:v1/)
    assert.deepEqual(readdirSync(home), [], 'nothing was written to HOME')
  })

  it('pushes the verified archive into a registry inside the same namespace', async () => {
    const storage = join(work, 'registry')
    mkdirSync(storage, {recursive: true})
    writeFileSync(
      join(storage, 'config.yml'),
      [
        'version: 0.1',
        'log:',
        '  level: error',
        '  accesslog:',
        '    disabled: true',
        'storage:',
        '  filesystem:',
        `    rootdirectory: ${storage}/data`,
        'http:',
        '  addr: 127.0.0.1:5000',
        '  secret: smoke',
      ].join('\n') + '\n',
    )
    registry = spawn(
      'nsenter',
      ['-t', String(holder.pid), '-n', '/usr/bin/docker-registry', 'serve', join(storage, 'config.yml')],
      {stdio: 'ignore'},
    )
    for (let i = 0; ; i++) {
      if (
        spawnSync('nsenter', ['-t', String(holder.pid), '-n', 'bash', '-c', 'exec 3<>/dev/tcp/127.0.0.1/5000'])
          .status === 0
      )
        break
      assert.ok(i < 200, 'the registry did not start')
      await new Promise(resolve => setTimeout(resolve, 50))
    }
    if (!existsSync(join(box, 'signed.tar'))) assert.fail('the export test runs first')
    const pushed = airlock(
      'push',
      'signed.tar',
      '127.0.0.1:5000/mirror',
      '--insecure-registry',
      '127.0.0.1:5000',
      '--state',
      join(box, 'state'),
      '--trusted-root',
      join(SIG, 'trusted_root.json'),
      ...IDENTITY,
    )
    assert.equal(pushed.status, 0, pushed.stderr + pushed.stdout)
    const tags = join(storage, 'data/docker/registry/v2/repositories/mirror/airlock/hello/_manifests/tags')
    assert.ok(readdirSync(tags).includes('v1'), `tags: ${readdirSync(tags).join(', ')}`)
    assert.deepEqual(readdirSync(home), [])
  })

  it('verify-blob checks conformance cases offline', () => {
    const ok = airlock(
      'verify-blob',
      '--bundle',
      join(CONFORMANCE, 'happy-path-v0.3/bundle.sigstore.json'),
      '--trusted-root',
      PROD_ROOT,
      '--certificate-identity',
      'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main',
      '--certificate-oidc-issuer',
      'https://token.actions.githubusercontent.com',
      join(CONFORMANCE, 'a.txt'),
    )
    assert.equal(ok.status, 0, ok.stderr + ok.stdout)
    const bad = airlock(
      'verify-blob',
      '--bundle',
      join(CONFORMANCE, 'signature-mismatch_fail/bundle.sigstore.json'),
      '--trusted-root',
      PROD_ROOT,
      '--certificate-identity',
      'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main',
      '--certificate-oidc-issuer',
      'https://token.actions.githubusercontent.com',
      join(CONFORMANCE, 'a.txt'),
    )
    assert.equal(bad.status, 1, bad.stderr)
  })

  it('export --include-airlock carries both executables of its own directory; the one taken out of the archive is the same', () => {
    // the release directory as the operator holds it: both executables and SHA256SUMS (the box has amd64 already)
    copyFileSync(join(buildA, exeName('arm64')), join(box, exeName('arm64')))
    copyFileSync(join(buildA, 'SHA256SUMS'), join(box, 'SHA256SUMS'))
    const exported = airlock(
      'export',
      '--no-tuf',
      '--signatures',
      'skip',
      '--include-airlock',
      '-o',
      'carried.tar',
      `oci:${SIG}/oci-layout:registry.example.test/airlock/hello:v1`,
    )
    assert.equal(exported.status, 0, exported.stderr)
    const inspected = airlock('inspect', 'carried.tar')
    for (const platform of ['amd64', 'arm64'])
      assert.match(inspected.stdout, new RegExp(`^airlock: airlock/${exeName(platform)} `, 'm'))
    const verified = airlock('verify', 'carried.tar', '--signatures', 'skip')
    assert.equal(verified.status, 0, verified.stderr)
    const out = join(box, 'unpacked')
    mkdirSync(out, {recursive: true})
    execFileSync('tar', ['-xf', join(box, 'carried.tar'), '-C', out, `airlock/${exeName('amd64')}`])
    const unpacked = join(out, 'airlock', exeName('amd64'))
    chmodSync(unpacked, 0o755)
    const self = parseCliJson(inNs([unpacked, 'version', '--json']).stdout) as {executable: {sha256: string}}
    assert.equal(self.executable.sha256, sha256(readFileSync(exe)))
    rmSync(join(box, exeName('arm64')))
  })

  it('hashes a large archive on worker threads, and shows oclif help', () => {
    const exported = airlock(
      'export',
      '--no-tuf',
      '--signatures',
      'skip',
      '-o',
      'big.tar',
      `oci:${join(box, 'big-layout')}:example.test/big:1`,
    )
    assert.equal(exported.status, 0, exported.stderr)
    assert.ok(
      statSync(join(box, 'big.tar')).size > WORKER_THRESHOLD_BYTES,
      'big enough for verify to start its hashing workers',
    )
    const verified = airlock('verify', 'big.tar', '--signatures', 'skip', '--json')
    assert.equal(verified.status, 0, verified.stderr)
    assert.equal(parseCliJson<{ok: boolean}>(verified.stdout).ok, true)
    const help = airlock('--help')
    assert.equal(help.status, 0)
    for (const command of ['export', 'verify', 'push', 'inspect', 'verify-blob', 'version'])
      assert.match(help.stdout, new RegExp(`^  ${command} `, 'm'))
    const verifyHelp = airlock('verify', '--help')
    assert.match(verifyHelp.stdout, /USAGE\n\s+\$ airlock verify ARCHIVE/)
  })
})
