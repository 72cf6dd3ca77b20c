// --require-container-identity (issue 10 finding 7, second half), through the CLI: an image signed for one
// repository, carried under another name that the same signer and rule cover, passes by default (as in cosign, which
// does not compare docker-reference) and fails with the flag; the in-toto subject name of a cosign bundle is held to
// the same rule. Signed by the test Sigstore instance; verify runs offline under the no-network preload.
import assert from 'node:assert/strict'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {tempDir} from './support/layouts.ts'
import {runCli} from './support/cli.ts'
import {keylessFlags} from './support/policies.ts'
import {SignedLayout, exportFromLayout, verifyVerdicts} from './support/signed-layout.ts'
import {createTestSigstore, sampleImage, type TestSigstore} from './support/sigstore/index.ts'

const REPO = 'registry.example.test/names'
const id = {identity: 'release@example.test', issuer: 'https://accounts.example.test'}
const IMAGES = ['release', 'relabeled', 'bundle-release', 'bundle-relabeled', 'hub-spelling']

describe('--require-container-identity binds the signed name to the image repository', () => {
  let dir: string
  let cleanup: () => Promise<void>
  let ss: TestSigstore
  let archive: string
  const verify = async (...extra: string[]) => {
    const r = await verifyVerdicts(archive, [...keylessFlags(join(dir, 'trusted_root.json'), id), ...extra], {
      repo: REPO,
      log: join(dir, 'verify-net.log'),
    })
    return {
      status: r.status,
      report: new Map([...r.verdicts].map(([name, v]) => [name, {ok: v.ok, reasons: v.reasons.join('\n')}])),
    }
  }

  before(async () => {
    ;({dir, cleanup} = await tempDir())
    ss = await createTestSigstore({listen: false, name: 'example.test'})
    writeFileSync(join(dir, 'trusted_root.json'), ss.trustedRootJSON())
    const layout = new SignedLayout(join(dir, 'layout'))
    /** `name` in the layout: an image signed (legacy .sig, or a cosign v3 bundle) for the repository `signedFor`. */
    const add = (name: string, signedFor: string, form: 'legacy' | 'bundle') => {
      const image = sampleImage(name)
      if (form === 'legacy') {
        layout.putImage(image)
        layout.name(image.manifestDescriptor, `${REPO}/${name}:v1`)
        const sig = ss.signImageLegacy(signedFor, image.manifestDescriptor.digest, id)
        layout.putImage(sig)
        layout.name(sig.manifestDescriptor, `${REPO}/${name}:${sig.tag}`)
      } else {
        layout.putReferred(image, `${REPO}/${name}`, 'v1', [
          ss.signImageBundle(image.manifestDescriptor, signedFor, id),
        ])
      }
    }
    add('release', `${REPO}/release`, 'legacy')
    add('relabeled', `${REPO}/release`, 'legacy')
    add('bundle-release', `${REPO}/bundle-release`, 'bundle')
    add('bundle-relabeled', `${REPO}/release`, 'bundle')
    // cosign spells the repository as go-containerregistry does; a different spelling of the same name still binds.
    add('hub-spelling', `REGISTRY.EXAMPLE.TEST/names/hub-spelling`, 'legacy')
    layout.finish()
    archive = join(dir, 'names.tar')
    await exportFromLayout(
      layout.dir,
      IMAGES.map(n => `${REPO}/${n}:v1`),
      archive,
      join(dir, 'export-net.log'),
    )
  })
  after(async () => {
    await ss?.stop()
    await cleanup()
  })

  it('without the flag (cosign default), an image signed for another repository passes', async () => {
    const {status, report} = await verify()
    assert.equal(status, 0)
    for (const name of IMAGES) assert.equal(report.get(name)?.ok, true, `${name}: ${report.get(name)?.reasons}`)
  })

  it('with the flag, the signed name must be the repository: relabeled images fail naming both, the rest pass', async () => {
    const {status, report} = await verify('--require-container-identity')
    assert.equal(status, 1)
    for (const name of ['release', 'bundle-release', 'hub-spelling'])
      assert.equal(report.get(name)?.ok, true, `${name}: ${report.get(name)?.reasons}`)
    for (const name of ['relabeled', 'bundle-relabeled']) {
      assert.equal(report.get(name)?.ok, false, name)
      assert.match(
        report.get(name)!.reasons,
        new RegExp(`signed for ${REPO.replace(/\./g, '\\.')}/release, not for ${REPO.replace(/\./g, '\\.')}/${name}`),
      )
    }
  })

  it('the flag alone is a usage error: it adds to a policy, it is not one', async () => {
    const r = await runCli(
      ['verify', archive, '--trusted-root', join(dir, 'trusted_root.json'), '--require-container-identity'],
      {networkLog: join(dir, 'verify-net.log')},
    )
    assert.equal(r.status, 2, r.stdout + r.stderr)
    assert.match(r.stderr, /airlock: error: .*--require-container-identity.*--policy/)
  })
})

describe('container identity comparison', async () => {
  const {containerIdentityProblem} = await import('../src/sigstore/container-identity.ts')
  it('compares normalized repositories; Docker Hub as go-containerregistry spells it binds', () => {
    assert.equal(containerIdentityProblem('index.docker.io/library/alpine', 'alpine:3.20'), undefined)
    assert.equal(
      containerIdentityProblem('ghcr.io/siderolabs/installer', 'ghcr.io/siderolabs/installer:v1.9.0'),
      undefined,
    )
    assert.match(
      containerIdentityProblem('ghcr.io/siderolabs/installer', 'ghcr.io/siderolabs/kubelet:v1.9.0') ?? '',
      /signed for ghcr\.io\/siderolabs\/installer, not for ghcr\.io\/siderolabs\/kubelet/,
    )
  })
  it('a tag the signer wrote must be the image tag (containers-policy matchRepoDigestOrExact)', () => {
    assert.equal(containerIdentityProblem('ghcr.io/x/app:v2', 'ghcr.io/x/app:v2'), undefined)
    assert.match(containerIdentityProblem('ghcr.io/x/app:v1', 'ghcr.io/x/app:v2') ?? '', /signed for tag v1, not v2/)
    assert.equal(
      containerIdentityProblem('localhost:5000/app', 'localhost:5000/app:v2'),
      undefined,
      'a port is not a tag',
    )
  })
  it('no name, or a name that is not a reference, does not bind', () => {
    assert.match(containerIdentityProblem(undefined, 'ghcr.io/x/app:v2') ?? '', /names no repository/)
    assert.match(containerIdentityProblem('not a reference', 'ghcr.io/x/app:v2') ?? '', /not an image reference/)
  })
})
