// `airlock push --countersign-key` and `airlock countersign` end to end (issue 14): keyless-signed images from the
// test Sigstore instance (one legacy .sig, one multi-arch index with v0.3 bundles) are exported, verified offline
// and pushed with countersigning into Distribution 2.8 and into Distribution behind the referrers front. The
// independent Talos-lookup checker (test/support/talos-lookup.ts) accepts every digest under the operator key,
// another key fails; the emitted Talos and policy-controller YAML parse and carry the key; bad keys and a
// --skip-verify request fail in one line with nothing pushed; a `skip` rule image is reported, not signed.
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {TrustedRoot} from '@sigstore/protobuf-specs'
import {parseAllDocuments} from 'yaml'
import {exportImages} from '../src/export/export.ts'
import {generateKeyPair} from '../src/keys/index.ts'
import {loadPolicy} from '../src/policy/index.ts'
import {parseReference} from '../src/reference/index.ts'
import {RegistryClient} from '../src/registry/index.ts'
import {signatureExportHooks} from '../src/export/signature-hook.ts'
import {makeWorkDir} from './support/images.ts'
import {startReferrersFront, type ReferrersFront} from './support/referrers-front.ts'
import {startRegistry, type StartedRegistry} from './support/registry.ts'
import {createTestSigstore, sampleImage, type TestSigstore} from './support/sigstore/index.ts'
import {pushBundleSignedIndex, putImage} from './support/sigstore/registry-images.ts'
import {TalosChecker} from './support/talos-lookup.ts'
import {type CliRun, runCli} from './support/cli.ts'

const ROOT = join(import.meta.dirname, '..')
const ID = 'release@airlock.test'
const ISSUER = 'https://accounts.airlock.test'
const id = {identity: ID, issuer: ISSUER}
const VECTORS = '/work/shared/corpora/sigstore+cosign/keys' // as test/sigstore-corpora.test.ts

describe('push --countersign-key / airlock countersign (CLI)', () => {
  let source: StartedRegistry
  let plain: StartedRegistry
  let backend: StartedRegistry
  let front: ReferrersFront
  let ss: TestSigstore
  let work: {dir: string; cleanup(): void}
  let archive: string
  let trustedRootFile: string
  let keyFile: string
  let pubPem: string
  let otherPub: string
  let pubFile: string
  let otherPubFile: string
  const digests: Record<string, string[]> = {}

  // Asynchronous: the referrers front runs in this process and must keep answering while the CLI runs.
  const cli = (args: string[], env: Record<string, string> = {}, input = ''): Promise<CliRun> =>
    runCli(args, {env, input})
  const policyArgs = () => [
    '--trusted-root',
    trustedRootFile,
    '--certificate-identity',
    ID,
    '--certificate-oidc-issuer',
    ISSUER,
  ]
  const tags = async (url: string, repository: string) => {
    const res = await fetch(`${url}/v2/${repository}/tags/list`)
    return res.status === 200 ? (((await res.json()) as {tags: string[] | null}).tags ?? []) : []
  }

  before(async () => {
    ;[source, plain, backend, ss] = await Promise.all([
      startRegistry(),
      startRegistry(),
      startRegistry(),
      createTestSigstore(),
    ])
    front = await startReferrersFront(backend.host)
    work = makeWorkDir('airlock-countersign-cli-')
    trustedRootFile = join(work.dir, 'trusted_root.json')
    writeFileSync(trustedRootFile, ss.trustedRootJSON())
    const trustedRoots = [TrustedRoot.fromJSON(JSON.parse(ss.trustedRootJSON()))]
    const sourceClient = new RegistryClient({insecure: source.insecure})
    const open = (ref: string) => sourceClient.repository(parseReference(ref))
    {
      const ref = `${source.host}/t/legacy`
      const img = sampleImage('cs-cli-legacy')
      await putImage(open(ref), img, 'v1')
      const digest = img.manifestDescriptor.digest
      await putImage(open(ref), ss.signImageLegacy(ref, digest, id), `${digest.replace(':', '-')}.sig`)
      digests['legacy'] = [digest]
    }
    {
      const ref = `${source.host}/t/multi`
      const {index} = await pushBundleSignedIndex(open(ref), ss, ref, 'cs-cli', id)
      const manifests = (JSON.parse(index.bytes.toString()) as {manifests: Array<{digest: string}>}).manifests
      digests['multi'] = [index.descriptor.digest, ...manifests.map(m => m.digest)]
    }
    archive = join(work.dir, 'signed.tar')
    await exportImages({
      sources: [`${source.host}/t/legacy:v1`, `${source.host}/t/multi:v1`],
      output: archive,
      openRegistry: async reference => {
        const ref = parseReference(reference)
        return {
          store: sourceClient.repository(ref),
          name: ref.toString(),
          reference: ref.reference,
          ...(ref.tag ? {tag: ref.tag} : {}),
        }
      },
      hooks: signatureExportHooks({
        mode: 'required',
        rekorUrl: ss.url,
        trustedRoots,
        policy: loadPolicy({'certificate-identity': ID, 'certificate-oidc-issuer': ISSUER}),
      }).hooks,
    })
    sourceClient.close()
    const pair = await generateKeyPair(Buffer.from('gap-password'))
    keyFile = join(work.dir, 'cosign.key')
    writeFileSync(keyFile, pair.privatePem)
    pubPem = pair.publicPem
    otherPub = (await generateKeyPair(Buffer.from('x'))).publicPem
    pubFile = join(work.dir, 'cosign.pub')
    writeFileSync(pubFile, pubPem)
    otherPubFile = join(work.dir, 'other.pub')
    writeFileSync(otherPubFile, otherPub)
    if (
      !readFileSync(join(ROOT, 'dist/commands/countersign.js'), {encoding: 'utf8', flag: 'a+'}).includes('countersign')
    )
      execFileSync('npm', ['run', 'build'], {cwd: ROOT, stdio: 'ignore'})
  })

  after(async () => {
    await front?.stop()
    await Promise.all([source?.stop(), plain?.stop(), backend?.stop(), ss?.stop()])
    work?.cleanup()
  })

  it('--countersign-key with --skip-verify is a usage error', async () => {
    const r = await cli(
      [
        'push',
        archive,
        `${plain.host}/dc`,
        '--insecure-registry',
        plain.host,
        '--skip-verify',
        '--countersign-key',
        keyFile,
      ],
      {COSIGN_PASSWORD: 'gap-password'},
    )
    assert.equal(r.status, 2)
    assert.match(
      r.stderr,
      /--countersign-key cannot be used with --skip-verify: airlock never signs what it did not verify/,
    )
  })

  it('bad keys fail in one line naming the file and the reason, with nothing pushed', async () => {
    const cases: Array<[string, Record<string, string>, RegExp]> = [
      [keyFile, {COSIGN_PASSWORD: 'wrong'}, /cosign\.key: decryption failed: wrong password/],
      [join(VECTORS, 'invalid-ec-p224.key'), {}, /invalid-ec-p224\.key: ECDSA curve P-224 not allowed/],
      [join(VECTORS, 'invalid-rsa-1024.key'), {}, /invalid-rsa-1024\.key: key size not supported: 1024/],
      [join(VECTORS, 'plain-ec-p256.pub'), {}, /plain-ec-p256\.pub: this is a public key, not a private key/],
    ]
    for (const [file, env, message] of cases) {
      const r = await cli(
        [
          'push',
          archive,
          `${plain.host}/bad`,
          '--insecure-registry',
          plain.host,
          ...policyArgs(),
          '--countersign-key',
          file,
        ],
        env,
      )
      assert.notEqual(r.status, 0)
      const errors = r.stderr.split('\n').filter(l => l.startsWith('airlock: error:'))
      assert.equal(errors.length, 1, r.stderr)
      assert.match(errors[0]!, message)
      assert.doesNotMatch(r.stderr, /\n\s+at /) // no stack trace
    }
    assert.deepEqual(await tags(plain.url, 'bad/t/legacy'), [])
    assert.deepEqual(await tags(plain.url, 'bad/t/multi'), [])
  })

  it('push --countersign-key: every digest verifies the Talos way under the key (Distribution 2.8), another key fails; config emitted', async () => {
    const talosFile = join(work.dir, 'talos.yaml')
    const pcFile = join(work.dir, 'cip.yaml')
    const r = await cli(
      [
        'push',
        archive,
        `${plain.host}/dc`,
        '--insecure-registry',
        plain.host,
        ...policyArgs(),
        '--countersign-key',
        keyFile,
        '--key-password-stdin',
        '--emit-talos-config',
        talosFile,
        '--emit-policy-controller',
        pcFile,
      ],
      {},
      'gap-password\n',
    )
    assert.equal(r.status, 0, r.stderr)
    assert.match(r.stderr, /countersigned .*\/t\/multi:v1 -> .*\/dc\/t\/multi: 3 digest\(s\) \(3 newly signed/)
    assert.match(r.stderr, /countersign: 2 image\(s\) signed with key/)
    for (const [name, list] of Object.entries(digests))
      for (const digest of list) {
        const ok = await new TalosChecker(plain.url, pubPem).check(`dc/t/${name}`, digest)
        assert.equal(ok.verified, true, `${name} ${digest}: ${ok.message}`)
        const wrong = await new TalosChecker(plain.url, otherPub).check(`dc/t/${name}`, digest)
        assert.equal(wrong.verified, false)
      }
    const docs = parseAllDocuments(readFileSync(talosFile, 'utf8')).map(d => d.toJSON())
    const verification = docs.find(d => d.kind === 'ImageVerificationConfig')
    assert.equal(verification.rules.length, 3)
    assert.equal(verification.rules[0].image, `${source.host}/t/legacy`)
    assert.equal(verification.rules[0].publicKey.certificate.trim(), pubPem.trim())
    assert.deepEqual(verification.rules.at(-1), {image: '*', deny: true})
    assert.ok(docs.some(d => d.kind === 'RegistryMirrorConfig'))
    assert.match(readFileSync(talosFile, 'utf8'), /v1\.13\.8/)
    const legacy = parseAllDocuments(readFileSync(talosFile.replace(/\.yaml$/, '.legacy.yaml'), 'utf8'))[0]!.toJSON()
    assert.ok(legacy.machine.registries.mirrors[source.host].endpoints[0].includes(`${plain.host}/v2/dc`))
    const cip = parseAllDocuments(readFileSync(pcFile, 'utf8'))[0]!.toJSON()
    assert.equal(cip.kind, 'ClusterImagePolicy')
    assert.equal(cip.spec.authorities[0].key.data.trim(), pubPem.trim())

    // A re-run writes nothing new.
    const again = await cli(
      [
        'push',
        archive,
        `${plain.host}/dc`,
        '--insecure-registry',
        plain.host,
        ...policyArgs(),
        '--countersign-key',
        keyFile,
        '--check',
      ],
      {COSIGN_PASSWORD: 'gap-password'},
    )
    assert.equal(again.status, 0, again.stderr)
    // Push re-writes the archive's .sig manifest under its tag (the mirror's copy with our layer is replaced), so
    // countersign adds its .sig layer back once; every other form is left as it was, and nothing is duplicated.
    assert.match(
      again.stderr,
      /countersign: 2 image\(s\) signed with key .*, [0-4] signature\(s\)\/receipt\(s\) written/,
    )
    assert.match(again.stderr, /multi: 3 digest\(s\) \(all already signed/)
    const sig = (await (
      await fetch(`${plain.url}/v2/dc/t/legacy/manifests/${digests['legacy']![0]!.replace(':', '-')}.sig`, {
        headers: {Accept: 'application/vnd.oci.image.manifest.v1+json'},
      })
    ).json()) as {layers: unknown[]}
    assert.equal(sig.layers.length, 2, 'the upstream layer and one countersign layer')
    // push --check looks the signatures up the Talos way under the countersign key: no referrers API here.
    assert.match(
      again.stderr,
      /check: talos: ok +.*\/t\/multi:v1 @sha256:.*satisfied by the bundle under the sha256-<hex> tag/,
    )
    assert.match(
      again.stderr,
      /check: talos: ok: a Talos publicKey rule for this key accepts every digest of 2 image\(s\)/,
    )
  })

  it('airlock countersign on a mirror with the referrers API: the countersign referrer is found first (the keyless one alone would fail)', async () => {
    const push = await cli(['push', archive, `${front.host}/dc`, '--insecure-registry', front.host, ...policyArgs()])
    assert.equal(push.status, 0, `${push.stderr}`)
    const before = await new TalosChecker(front.url, pubPem).check('dc/t/multi', digests['multi']![0]!)
    assert.deepEqual(
      [before.verified, before.form],
      [false, 'referrers'],
      'the trap: upstream keyless bundle referrer alone',
    )
    // airlock's Talos view reports the trap in so many words.
    const trap = await cli([
      'verify',
      archive,
      ...policyArgs(),
      '--registry',
      `${front.host}/dc`,
      '--insecure-registry',
      front.host,
      '--talos-key',
      pubFile,
    ])
    assert.equal(trap.status, 1, trap.stderr)
    assert.match(
      trap.stdout,
      /talos: FAILED .*\/t\/multi:v1 @sha256:.*bundle referrer\(s\) found through the referrers API and none verifies under the key, so Talos stops there/,
    )
    const r = await cli(
      [
        'countersign',
        archive,
        `${front.host}/dc`,
        '--insecure-registry',
        front.host,
        '--key',
        keyFile,
        ...policyArgs(),
      ],
      {COSIGN_PASSWORD: 'gap-password'},
    )
    assert.equal(r.status, 0, r.stderr)
    for (const digest of digests['multi']!) {
      const after = await new TalosChecker(front.url, pubPem).check('dc/t/multi', digest)
      assert.deepEqual([after.verified, after.form], [true, 'referrers'], after.message)
    }
    const view = await cli([
      'verify',
      archive,
      ...policyArgs(),
      '--registry',
      `${front.host}/dc`,
      '--insecure-registry',
      front.host,
      '--talos-key',
      pubFile,
    ])
    assert.equal(view.status, 0, view.stdout + view.stderr)
    assert.match(view.stdout, /talos: ok +.*\/t\/multi:v1 @sha256:.*satisfied by the bundle referrer \(referrers API\)/)
    assert.match(
      view.stdout,
      new RegExp(
        `talos: +.*/t/multi:v1: receipt: verified at the gap .*upstream signer ${ID.replace('.', '\\.')} \\(issuer ${ISSUER.replace(/\./g, '\\.')}\\), log index`,
      ),
    )
    const otherKey = await cli([
      'verify',
      archive,
      ...policyArgs(),
      '--registry',
      `${front.host}/dc`,
      '--insecure-registry',
      front.host,
      '--talos-key',
      otherPubFile,
    ])
    assert.equal(otherKey.status, 1)
    assert.match(otherKey.stdout, /talos: FAILED: a Talos publicKey rule for this key would refuse 4 digest\(s\)/)
  })

  it('a skip rule image is reported and not signed; a mirror without the images is refused before any signature', async () => {
    const policyFile = join(work.dir, 'policy.yaml')
    writeFileSync(
      policyFile,
      [
        'apiVersion: v1alpha1',
        'kind: ImageVerificationConfig',
        'rules:',
        `  - image: ${source.host}/t/legacy`,
        '    skip: true',
        `  - image: ${source.host}/t/multi`,
        `    keyless: {issuer: '${ISSUER}', subject: '${ID}'}`,
      ].join('\n'),
    )
    // rules name the source host, so the mirror path must keep it (issue 10 finding 1: no host-dependent rule
    // may answer for a host-less path)
    const push = await cli(
      [
        'push',
        archive,
        `${plain.host}/skip`,
        '--keep-host',
        '--insecure-registry',
        plain.host,
        '--trusted-root',
        trustedRootFile,
        '--policy',
        policyFile,
        '--countersign-key',
        keyFile,
      ],
      {COSIGN_PASSWORD: 'gap-password'},
    )
    assert.equal(push.status, 0, push.stderr)
    assert.match(push.stderr, /NOT countersigned .*\/t\/legacy:v1: policy rule .* says skip/)
    const legacyPath = `skip/${source.host.replace(':', '_')}/t/legacy`
    const legacy = await new TalosChecker(plain.url, pubPem).check(legacyPath, digests['legacy']![0]!)
    assert.equal(legacy.verified, false)
    assert.ok(!(await tags(plain.url, legacyPath)).some(t => t.endsWith('.att')), 'no receipt for an unverified image')

    const missing = await cli(
      [
        'countersign',
        archive,
        `${plain.host}/nowhere`,
        '--insecure-registry',
        plain.host,
        '--key',
        keyFile,
        ...policyArgs(),
      ],
      {COSIGN_PASSWORD: 'gap-password'},
    )
    assert.equal(missing.status, 1)
    assert.match(missing.stderr, /is not in the mirror; nothing was signed/)
  })
})
