// README "Talos in a disconnected datacenter" (issue 14 item 8): every `airlock` command of the walkthrough, taken
// from the README itself, runs against test registries (a source holding keyless-signed images from the test
// Sigstore instance, and Distribution 2.8 as the datacenter mirror). Test-only substitutions: the image list
// (`talosctl images default` is not run), the test signer's identity and issuer for Sidero Labs', the mirror's
// loopback address, and the flags a loopback test needs (plain HTTP, the test trusted root instead of the public
// TUF repository, the test Rekor). The `talosctl` lines are not run.
import assert from 'node:assert/strict'
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {parseAllDocuments} from 'yaml'
import {parseReference} from '../src/reference/index.ts'
import {RegistryClient} from '../src/registry/index.ts'
import {runCli} from './support/cli.ts'
import {makeWorkDir} from './support/images.ts'
import {startRegistry, type StartedRegistry} from './support/registry.ts'
import {createTestSigstore, sampleImage, type TestSigstore} from './support/sigstore/index.ts'
import {pushBundleSignedIndex, putImage} from './support/sigstore/registry-images.ts'
import {TalosChecker} from './support/talos-lookup.ts'

const ROOT = join(import.meta.dirname, '..')
const ID = 'release@airlock.test'
const ISSUER = 'https://accounts.airlock.test'

/** The sh block of the README section, continuation lines joined, comments dropped. */
function walkthroughCommands(): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  const section = readme.split('\n## Talos in a disconnected datacenter\n')[1]!.split('\n## ')[0]!
  const block = section.split('```sh\n')[1]!.split('```')[0]!
  return block
    .replace(/\\\n\s*/g, '')
    .split('\n')
    .map(l => l.trim())
    .filter(l => l.length > 0 && !l.startsWith('#'))
}

/** Splits a shell line into words (single quotes only, as the README uses). */
function words(line: string): string[] {
  const out: string[] = []
  for (const m of line.matchAll(/'([^']*)'|(\S+)/g)) out.push(m[1] ?? m[2]!)
  return out
}

describe('README walkthrough: Talos in a disconnected datacenter', () => {
  let source: StartedRegistry
  let mirror: StartedRegistry
  let ss: TestSigstore
  let work: {dir: string; cleanup(): void}
  const digests: Record<string, string> = {}

  before(async () => {
    ;[source, mirror, ss] = await Promise.all([startRegistry(), startRegistry(), createTestSigstore()])
    work = makeWorkDir('airlock-walkthrough-')
    writeFileSync(join(work.dir, 'trusted_root.json'), ss.trustedRootJSON())
    const client = new RegistryClient({insecure: source.insecure})
    const open = (ref: string) => client.repository(parseReference(ref))
    const id = {identity: ID, issuer: ISSUER}
    const img = sampleImage('walkthrough-installer')
    await putImage(open(`${source.host}/siderolabs/installer`), img, 'v1')
    const digest = img.manifestDescriptor.digest
    await putImage(
      open(`${source.host}/siderolabs/installer`),
      ss.signImageLegacy(`${source.host}/siderolabs/installer`, digest, id),
      `${digest.replace(':', '-')}.sig`,
    )
    digests['installer'] = digest
    const {index} = await pushBundleSignedIndex(
      open(`${source.host}/siderolabs/kubelet`),
      ss,
      `${source.host}/siderolabs/kubelet`,
      'walkthrough',
      id,
    )
    digests['kubelet'] = index.descriptor.digest
    client.close()
    // What `talosctl images default > images.txt` would write, for the test source registry.
    writeFileSync(
      join(work.dir, 'images.txt'),
      `${source.host}/siderolabs/installer:v1\n${source.host}/siderolabs/kubelet:v1\n`,
    )
  })

  after(async () => {
    await Promise.all([source?.stop(), mirror?.stop(), ss?.stop()])
    work?.cleanup()
  })

  function adapt(line: string): {args: string[]; env: Record<string, string>} {
    const env: Record<string, string> = {}
    let w = words(line)
    while (w[0] && /^[A-Z_]+=/.test(w[0])) {
      const [name] = w.shift()!.split('=')
      env[name!] = 'walkthrough-password' // COSIGN_PASSWORD='...'
    }
    assert.equal(w.shift(), 'airlock')
    w = w.map(a =>
      a
        .replace('registry.dc.local:5000', mirror.host)
        .replace('@siderolabs\\.com$', '@airlock\\.test$')
        .replace('https://accounts.google.com', ISSUER),
    )
    const trustedRoot = ['--trusted-root', join(work.dir, 'trusted_root.json')]
    switch (w[0]) {
      case 'export':
        w.push('--insecure-registry', source.host, '--no-tuf', ...trustedRoot, '--rekor-url', ss.url)
        break
      case 'verify':
        w.push(...trustedRoot)
        if (w.includes('--registry')) w.push('--insecure-registry', mirror.host)
        break
      case 'push':
        w.push(...trustedRoot, '--insecure-registry', mirror.host)
        break
    }
    return {args: w, env}
  }

  it('runs every airlock command of the walkthrough, and the mirror then passes a Talos publicKey rule', async () => {
    const commands = walkthroughCommands().filter(l => !l.startsWith('talosctl'))
    assert.deepEqual(
      commands.map(l => words(l).find(w => !/^[A-Z_]+=/.test(w) && w !== 'airlock')),
      ['export', 'generate-key-pair', 'verify', 'push', 'verify'],
    )
    for (const line of commands) {
      const {args, env} = adapt(line)
      const r = await runCli(args, {cwd: work.dir, env})
      assert.equal(r.status, 0, `${args.join(' ')}\n${r.stdout}${r.stderr}`)
    }
    // The emitted documents parse and carry the key; the cluster's view passes for every image.
    const pub = readFileSync(join(work.dir, 'dc-gap.pub'), 'utf8')
    const talos = parseAllDocuments(readFileSync(join(work.dir, 'talos-verify.yaml'), 'utf8')).map(d => d.toJSON())
    const rules = talos.find(d => d.kind === 'ImageVerificationConfig').rules
    assert.ok(
      rules.filter((r: {publicKey?: {certificate: string}}) => r.publicKey?.certificate.trim() === pub.trim())
        .length === 2,
    )
    assert.ok(existsSync(join(work.dir, 'talos-verify.legacy.yaml')))
    assert.equal(
      parseAllDocuments(readFileSync(join(work.dir, 'cip.yaml'), 'utf8'))[0]!.toJSON().kind,
      'ClusterImagePolicy',
    )
    for (const [name, digest] of Object.entries(digests)) {
      const r = await new TalosChecker(mirror.url, pub).check(`talos/siderolabs/${name}`, digest)
      assert.equal(r.verified, true, `${name}: ${r.message}`)
    }
  })
})
