// Issue 12 item 9: output never contradicts itself. Each case was observed: "ok trust" beside "keyless signatures
// cannot be verified", "verified" under --signatures skip, verify-blob quoting a log index it did not check,
// "NOT verified: N image(s)" naming only the first failure, push printing "tagged" before "verification", exact
// byte counts beside "MB", "1 manifests", and `push --emit-talos-config -` writing the YAML to stderr.
import assert from 'node:assert/strict'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {parse as parseYaml} from 'yaml'
import {tempDir} from './support/layouts.ts'
import {startRegistry, type StartedRegistry} from './support/registry.ts'
import {type CliRun, runCli} from './support/cli.ts'
import {EXAMPLE_POLICY, EXAMPLE_SIGNATURES, exportExampleArchives} from './support/example-archives.ts'

const SIG = EXAMPLE_SIGNATURES
const POLICY = EXAMPLE_POLICY

const airlock = (...args: string[]): Promise<CliRun> => runCli(args)

describe('CLI: output never contradicts itself', () => {
  let dir: string
  let cleanup: () => Promise<void>
  let two: string
  let signed: string
  let mirror: StartedRegistry
  before(async () => {
    ;({dir, cleanup} = await tempDir('airlock-output-'))
    ;({signed, two} = await exportExampleArchives(dir))
    mirror = await startRegistry()
  })
  after(async () => {
    await mirror?.stop()
    await cleanup?.()
  })

  it('verify --signatures skip: no "ok trust" without a trust source, no bare "verified"', async () => {
    const r = await airlock('verify', '--signatures', 'skip', two)
    assert.equal(r.status, 0, r.stderr)
    assert.doesNotMatch(r.stdout, /^ok +trust/m)
    assert.match(r.stdout, /^none +trust\n.*keyless signatures cannot be verified/m)
    assert.doesNotMatch(r.stdout, /^verified:/m)
    assert.match(r.stdout, /^integrity verified, signatures NOT checked: 2 images, 16 blobs, [\d.]+ KB in /m)
  })

  it('a failed verify names every failed image, not only the first', async () => {
    const r = await airlock(
      'verify',
      two,
      '--key',
      join(SIG, 'cosign.pub'),
      '--trusted-root',
      join(SIG, 'trusted_root.json'),
    )
    assert.equal(r.status, 1)
    assert.match(r.stdout, /^NOT verified \(2 of 2 failed\): 2 images/m)
    const error = r.stderr.split('\n').filter(l => l.startsWith('airlock: error:'))
    assert.equal(error.length, 1, r.stderr)
    assert.match(
      error[0]!,
      /^airlock: error: verification failed: registry\.example\.test\/airlock\/hello:v1: .* \(2 of 2 images failed: registry\.example\.test\/airlock\/hello:v1, example\.com\/demo\/hello:1\.0\)$/,
    )
  })

  it('verify-blob --insecure-ignore-tlog does not quote the log index it did not check', async () => {
    const args = [
      'verify-blob',
      '--bundle',
      join(SIG, 'hello.txt.key.sigstore.json'),
      '--key',
      join(SIG, 'cosign.pub'),
      '--trusted-root',
      join(SIG, 'trusted_root.json'),
    ]
    const checked = await airlock(...args, join(SIG, 'hello.txt'))
    assert.equal(checked.status, 0, checked.stderr)
    assert.match(checked.stdout, /Verified OK: .* signed by the given key, log index \d+/)
    const ignored = await airlock(...args, '--insecure-ignore-tlog', join(SIG, 'hello.txt'))
    assert.equal(ignored.status, 0, ignored.stderr)
    assert.match(ignored.stdout, /Verified OK: .* signed by the given key\n/)
    assert.doesNotMatch(ignored.stdout, /log index/)
  })

  it('push: verification before any tag, human sizes, singulars right, --emit-talos-config - is the YAML alone on stdout', async () => {
    const r = await airlock(
      'push',
      signed,
      `${mirror.host}/m`,
      '--insecure-registry',
      mirror.host,
      ...POLICY,
      '--emit-talos-config',
      '-',
    )
    assert.equal(r.status, 0, r.stderr)
    const lines = r.stderr.split('\n')
    const verification = lines.findIndex(l => l.startsWith('verification: verified 1 image, '))
    const tagged = lines.findIndex(l => l.startsWith('tagged '))
    assert.ok(verification >= 0 && tagged > verification, r.stderr)
    assert.doesNotMatch(r.stderr, /\b\d{4,} bytes\b|\b1 (manifests|blobs|images)\b|\(\d+\.\d MB\/s\)|\d+ MB\b(?! )/)
    assert.match(r.stderr, /1 manifest pushed|\d+ manifests pushed/)
    assert.doesNotMatch(r.stderr, /RegistryMirrorConfig/)
    const docs = r.stdout
      .split(/^---$/m)
      .filter(d => d.trim())
      .map(d => parseYaml(d) as {kind?: string})
    assert.ok(docs.length >= 1 && docs.every(d => typeof d.kind === 'string'), r.stdout)
    assert.ok(
      docs.some(d => d.kind === 'RegistryMirrorConfig'),
      r.stdout,
    )
  })
})
