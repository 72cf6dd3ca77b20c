// `--signature-forms legacy` for Quay <= 3.11 (issue 18 item 4), through the CLI against the Quay 3.11 front
// (test/support/quirks-front.ts: bundle manifests refused with 400 MANIFEST_INVALID, quay/quay#877) over the real
// registry. The source holds `t/both` (legacy .sig/.att tags AND a v0.3 bundle referrer) and `t/bundle-only` (a
// bundle-signed index). Without the flag, push stops with one line naming the Quay setting and the flag; with it,
// the legacy tags land, the bundles are counted as not pushed (never silently), `verify --registry
// --signature-forms legacy` verifies the legacy signatures from the mirror, and an image that would land unsigned
// (bundle-only) is refused before anything is written.
import assert from 'node:assert/strict'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {parseReference} from '../src/reference/index.ts'
import {RegistryClient} from '../src/registry/index.ts'
import {runCli, runCliJson} from './support/cli.ts'
import {makeWorkDir} from './support/images.ts'
import {startQuirksFront, type QuirksFront} from './support/quirks-front.ts'
import {keylessFlags} from './support/policies.ts'
import {startRegistry, type StartedRegistry} from './support/registry.ts'
import {createTestSigstore, referrersIndex, sampleImage, type TestSigstore} from './support/sigstore/index.ts'
import {pushBundleSignedIndex, putImage} from './support/sigstore/registry-images.ts'

const ID = 'release@airlock.test'
const ISSUER = 'https://accounts.airlock.test'

describe('--signature-forms legacy: push into Quay 3.11 without bundle manifests (front over the real registry)', () => {
  let source: StartedRegistry
  let mirror: StartedRegistry
  let ss: TestSigstore
  let quay: QuirksFront
  const work = makeWorkDir('airlock-forms-')
  let trustedRoot = ''
  let both = ''
  let mixed = ''
  const policy = () => keylessFlags(trustedRoot, {identity: ID, issuer: ISSUER})
  /** `airlock push|verify ARCHIVE ...where` against the Quay front (plain HTTP), `--signature-forms legacy`. */
  const legacyOnQuay = (command: 'push' | 'verify', archive: string, ...where: string[]) => [
    command,
    archive,
    ...where,
    '--insecure-registry',
    quay.host,
    '--signature-forms',
    'legacy',
    ...policy(),
  ]

  before(async () => {
    ;[source, mirror, ss] = await Promise.all([startRegistry(), startRegistry(), createTestSigstore()])
    trustedRoot = join(work.dir, 'trusted_root.json')
    writeFileSync(trustedRoot, ss.trustedRootJSON())
    const client = new RegistryClient({insecure: source.insecure})
    const open = (ref: string) => client.repository(parseReference(ref))
    const id = {identity: ID, issuer: ISSUER}
    try {
      const ref = `${source.host}/t/both`
      const img = sampleImage('forms-both')
      await putImage(open(ref), img, 'v1')
      const digest = img.manifestDescriptor.digest
      await putImage(open(ref), ss.signImageLegacy(ref, digest, id), `${digest.replace(':', '-')}.sig`)
      await putImage(open(ref), ss.attestImageLegacy(ref, digest, id), `${digest.replace(':', '-')}.att`)
      const bundle = ss.signImageBundle(img.manifestDescriptor, ref, id)
      await putImage(open(ref), bundle)
      const fallback = referrersIndex([bundle])
      await open(ref).pushManifest(fallback.bytes, fallback.descriptor.mediaType, digest.replace(':', '-'))
      await pushBundleSignedIndex(open(`${source.host}/t/bundle-only`), ss, `${source.host}/t/bundle-only`, 'forms', id)
    } finally {
      client.close()
    }
    const exportArchive = async (out: string, refs: string[]) => {
      const r = await runCli([
        'export',
        '-o',
        out,
        '--insecure-registry',
        source.host,
        '--no-tuf',
        '--rekor-url',
        ss.url,
        ...policy(),
        ...refs,
      ])
      assert.equal(r.status, 0, r.stderr)
    }
    both = join(work.dir, 'both.tar')
    mixed = join(work.dir, 'mixed.tar')
    await exportArchive(both, [`${source.host}/t/both:v1`])
    await exportArchive(mixed, [`${source.host}/t/both:v1`, `${source.host}/t/bundle-only:v1`])
    quay = await startQuirksFront(mirror.host, 'quay-3.11')
  })
  after(async () => {
    await quay?.stop()
    await Promise.all([source?.stop(), mirror?.stop(), ss?.stop()])
    work.cleanup()
  })

  it('without the flag: the refusal names the Quay setting and --signature-forms, in one error line', async () => {
    const r = await runCli(['push', both, `${quay.host}/plain`, '--insecure-registry', quay.host, ...policy()])
    assert.notEqual(r.status, 0)
    const errors = r.stderr.split('\n').filter(l => l.startsWith('airlock: error:'))
    assert.equal(errors.length, 1, r.stderr)
    assert.match(errors[0]!, /does not accept Sigstore bundle manifests/)
    assert.match(errors[0]!, /ALLOWED_OCI_ARTIFACT_TYPES/)
    assert.match(errors[0]!, /--signature-forms legacy/)
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace')
  })

  it('with --signature-forms legacy: the legacy tags land, the bundle is reported NOT pushed, and verifies from the mirror', async () => {
    const r = await runCliJson<{
      signatureForms: {requested: string; written: string[]; referrersNotPushed: number}
      signatures: {legacyTags: number; referrers: number; referrersNotPushed: number}
      images: Array<{referrersNotPushed?: number; fallbackTags: string[]}>
    }>(legacyOnQuay('push', both, `${quay.host}/legacy`))
    assert.equal(r.status, 0, r.stderr)
    assert.deepEqual(r.json.signatureForms, {requested: 'legacy', written: ['legacy-tags'], referrersNotPushed: 1})
    assert.deepEqual(r.json.signatures, {legacyTags: 2, referrers: 0, referrersNotPushed: 1})
    assert.equal(r.json.images[0]!.referrersNotPushed, 1)
    assert.deepEqual(r.json.images[0]!.fallbackTags, [], 'no fallback tag for bundles that were not pushed')
    // No bundle manifest was even offered to Quay (it would have answered 400).
    assert.equal(quay.count(/^PUT \/v2\/legacy\/.*-> 400$/), 0, quay.log.join('\n'))
    // The text output says it too (not only --json).
    const text = await runCli(legacyOnQuay('push', both, `${quay.host}/legacy`))
    assert.equal(text.status, 0, text.stderr)
    assert.match(text.stderr, /signature forms: legacy \.sig\/\.att tags only .* 1 Sigstore bundle referrer NOT pushed/)

    const v = await runCli(legacyOnQuay('verify', both, '--registry', `${quay.host}/legacy`))
    assert.equal(v.status, 0, `${v.stderr}\n${v.stdout}`)
    assert.match(v.stdout, /legacy signature forms only: 1 bundle referrer\(s\) not expected/)
    // Without the flag the mirror check expects the bundle and says it is missing.
    const strict = await runCli([
      'verify',
      both,
      '--registry',
      `${quay.host}/legacy`,
      '--insecure-registry',
      quay.host,
      ...policy(),
    ])
    assert.notEqual(strict.status, 0)
    assert.match(
      `${strict.stdout}\n${strict.stderr}`,
      /referrer sha256:[a-f0-9]{64} of sha256:[a-f0-9]{64} is not listed/,
    )
  })

  it('with --signature-forms legacy, an image signed only by bundles is refused before anything is written', async () => {
    const r = await runCli(legacyOnQuay('push', mixed, `${quay.host}/refused`))
    assert.notEqual(r.status, 0)
    assert.match(r.stderr, /--signature-forms legacy would push \S+\/t\/bundle-only:v1 without a signature/)
    assert.match(r.stderr, /nothing was pushed/)
    assert.equal(quay.count(/^(PUT|POST|PATCH) \/v2\/refused\//), 0, 'nothing written')
  })
})
