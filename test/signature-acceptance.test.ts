// Which bundles count as an image signature (issue 10 finding 11), through the CLI: exactly what cosign accepts.
// cosign v3 (sigstore/cosign pkg/cosign/verify.go, verifyImageAttestationsSigstoreBundle) verifies an image's
// bundles with sigstore-go's WithArtifactDigest(image digest), then refuses a bundle without a DSSE envelope
// ("bundle does not contain a DSSE envelope"), and IntotoSubjectClaimVerifier (pkg/cosign/verifiers.go) requires an
// in-toto subject whose sha256 is the image digest; sigstore-go reads a DSSE statement only under the payload type
// application/vnd.in-toto+json, and cosign's legacy attestations check that type too (verifyOCIAttestation).
// `cosign sign --new-bundle-format` writes exactly that: a DSSE in-toto statement, predicate
// https://sigstore.dev/cosign/sign/v1, subject = image digest (cmd/cosign/cli/sign/sign.go signDigestBundle).
// The images are served from an OCI layout to `airlock export`; verify runs offline under the no-network preload.
import assert from 'node:assert/strict'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {tempDir} from './support/layouts.ts'
import {keylessFlags} from './support/policies.ts'
import {type ImageVerdict, SignedLayout, exportFromLayout, verifyVerdicts} from './support/signed-layout.ts'
import {createTestSigstore, sampleImage, type OciImage, type TestSigstore} from './support/sigstore/index.ts'

const REPO = 'registry.example.test/acceptance'
const id = {identity: 'release@example.test', issuer: 'https://accounts.example.test'}

describe('image signatures: what cosign accepts, and nothing else', () => {
  let dir: string
  let cleanup: () => Promise<void>
  let ss: TestSigstore
  let archive: string
  let report: Map<string, ImageVerdict>

  before(async () => {
    ;({dir, cleanup} = await tempDir())
    ss = await createTestSigstore({listen: false, name: 'example.test'})
    writeFileSync(join(dir, 'trusted_root.json'), ss.trustedRootJSON())
    const layout = new SignedLayout(join(dir, 'layout'))
    /** An image whose only signature is the bundle `sign` makes for it, as a referrer under the fallback tag. */
    const add = (name: string, sign: (image: OciImage) => OciImage) => {
      const image = sampleImage(name)
      layout.putReferred(image, `${REPO}/${name}`, 'v1', [sign(image)])
    }
    const {bundleReferrer} = await import('./support/sigstore/index.ts')
    add('cosign-v3', image => ss.signImageBundle(image.manifestDescriptor, `${REPO}/cosign-v3`, id))
    add('blob-of-manifest', image => bundleReferrer(image.manifestDescriptor, ss.signBlob(image.manifest, id).bundle))
    add('dsse-of-manifest', image =>
      bundleReferrer(
        image.manifestDescriptor,
        ss.signDsse(image.manifest, 'application/vnd.oci.image.manifest.v1+json', id).bundle,
      ),
    )
    add('message-over-simplesigning', image =>
      ss.signImageBundle(image.manifestDescriptor, `${REPO}/message-over-simplesigning`, {
        ...id,
        messageSignature: true,
      }),
    )
    layout.finish()

    archive = join(dir, 'acceptance.tar')
    const names = ['cosign-v3', 'blob-of-manifest', 'dsse-of-manifest', 'message-over-simplesigning']
    await exportFromLayout(
      layout.dir,
      names.map(n => `${REPO}/${n}:v1`),
      archive,
      join(dir, 'export-net.log'),
    )
    const verified = await verifyVerdicts(archive, keylessFlags(join(dir, 'trusted_root.json'), id), {
      repo: REPO,
      log: join(dir, 'verify-net.log'),
    })
    // cosign-v3 passes, the three others fail
    assert.equal(verified.status, 1)
    report = verified.verdicts
  })
  after(async () => {
    await ss?.stop()
    await cleanup()
  })

  it('cosign v3 --new-bundle-format: a DSSE in-toto statement (predicate cosign/sign/v1) about the image digest verifies', () => {
    assert.equal(report.get('cosign-v3')?.ok, true, report.get('cosign-v3')?.reasons.join('\n'))
  })
  it('a sign-blob of the manifest bytes (message signature whose digest is the manifest digest) is not an image signature', () => {
    const r = report.get('blob-of-manifest')!
    assert.equal(r.ok, false)
    assert.match(r.reasons.join('\n'), /message signature.*not an image signature/)
  })
  it('a DSSE envelope whose payload is the manifest, with a payload type other than in-toto, is not an image signature', () => {
    const r = report.get('dsse-of-manifest')!
    assert.equal(r.ok, false)
    assert.match(
      r.reasons.join('\n'),
      /payload type application\/vnd\.oci\.image\.manifest\.v1\+json is not application\/vnd\.in-toto\+json/,
    )
  })
  it("a message signature over the simple-signing payload carries only that payload's digest, so cosign (and airlock) refuse it", () => {
    const r = report.get('message-over-simplesigning')!
    assert.equal(r.ok, false)
    assert.match(r.reasons.join('\n'), /message signature.*not an image signature/)
  })
})
