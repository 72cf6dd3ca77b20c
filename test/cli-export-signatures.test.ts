// Issue 12 item 10: export finds all problems at once. An export with several unsigned images lists them all in one
// failure (it used to stop at the first); a policy rule with `skip: true` relaxes --signatures required for the
// images it matches; push --signatures skip exists (integrity-only, like verify) beside --skip-verify.
import assert from 'node:assert/strict'
import {existsSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {parseReference} from '../src/reference/index.ts'
import {RegistryClient} from '../src/registry/index.ts'
import {tempDir} from './support/layouts.ts'
import {startRegistry, type StartedRegistry} from './support/registry.ts'
import {createTestSigstore, sampleImage, type TestSigstore} from './support/sigstore/index.ts'
import {putImage} from './support/sigstore/registry-images.ts'
import {type CliRun, runCli} from './support/cli.ts'

function airlock(...args: string[]): Promise<CliRun> {
  return runCli(args)
}

describe('export and push: all signature problems at once, policy skip, push --signatures skip', () => {
  let registry: StartedRegistry
  let ss: TestSigstore
  let dir: string
  let cleanup: () => Promise<void>
  const refs: string[] = []
  const unsigned: string[] = []
  before(async () => {
    ;({dir, cleanup} = await tempDir('airlock-export-sigs-'))
    registry = await startRegistry()
    ss = await createTestSigstore({listen: false})
    const client = new RegistryClient({insecure: registry.insecure})
    try {
      for (let i = 0; i < 6; i++) {
        const name = `${registry.host}/${i % 2 ? 'unsigned' : 'signed'}/app${i}`
        const repo = client.repository(parseReference(`${name}:v1`))
        const image = sampleImage(`app${i}`)
        await putImage(repo, image, 'v1')
        if (i % 2) unsigned.push(`${name}:v1`)
        else {
          const sig = ss.signImageLegacy(name, image.manifestDescriptor.digest, {key: true})
          await putImage(repo, sig, `${image.manifestDescriptor.digest.replace(':', '-')}.sig`)
        }
        refs.push(`${name}:v1`)
      }
    } finally {
      client.close()
    }
  })
  after(async () => {
    await registry?.stop()
    await ss?.stop()
    await cleanup?.()
  })

  const base = () => ['export', '--no-tuf', '--no-rekor', '--insecure-registry', registry.host]

  it('--signatures required with 3 unsigned of 6: one failure naming all 3, nothing written', async () => {
    const out = join(dir, 'all.tar')
    const r = await airlock(...base(), '-o', out, ...refs)
    assert.equal(r.status, 1, r.stderr)
    const errors = r.stderr.split('\n').filter(l => l.startsWith('airlock: error:'))
    assert.equal(errors.length, 1, r.stderr)
    assert.match(errors[0]!, /3 images have no signature, nothing written/)
    for (const ref of unsigned) assert.ok(errors[0]!.includes(ref), `${ref} not named: ${errors[0]}`)
    assert.equal(existsSync(out), false)
  })

  it('a policy rule with skip: true relaxes --signatures required for the images it matches', async () => {
    const key = join(dir, 'cosign.pub')
    writeFileSync(key, ss.staticKeyPem)
    const policy = join(dir, 'policy.yaml')
    writeFileSync(
      policy,
      [
        'kind: ImageVerificationConfig',
        'rules:',
        `  - image: ${registry.host}/unsigned/*`,
        '    skip: true',
        '  - image: "**"',
        '    publicKey:',
        '      certificate: |',
        ...ss.staticKeyPem
          .trimEnd()
          .split('\n')
          .map(l => `        ${l}`),
        '',
      ].join('\n'),
    )
    const trustedRoot = join(dir, 'trusted_root.json')
    writeFileSync(trustedRoot, ss.trustedRootJSON())
    const out = join(dir, 'relaxed.tar')
    const r = await airlock(...base(), '--policy', policy, '--trusted-root', trustedRoot, '-o', out, ...refs)
    assert.equal(r.status, 0, r.stderr)
    assert.ok(existsSync(out))
    for (const ref of unsigned)
      assert.match(
        r.stderr,
        new RegExp(`${ref.replace(/[.]/g, '\\.')}: no signature found \\(carried unsigned: policy rule .* skip\\)`),
      )
  })

  it('push --signatures skip: integrity-only verification, said so, then the push', async () => {
    const out = join(dir, 'relaxed.tar')
    const r = await airlock(
      'push',
      '--signatures',
      'skip',
      '--insecure-registry',
      registry.host,
      out,
      `${registry.host}/mirror`,
    )
    assert.equal(r.status, 0, r.stderr)
    assert.match(r.stderr, /--signatures skip: signatures and policy were NOT checked \(integrity only\)/)
    assert.match(r.stderr, /^verification: verified 6 images, /m)
    const both = await airlock(
      'push',
      '--signatures',
      'skip',
      '--key',
      join(dir, 'cosign.pub'),
      out,
      `${registry.host}/mirror`,
    )
    assert.equal(both.status, 2)
  })
})
