// Puts the test instance's OCI content (images, signature images, referrer indexes) into a real registry through
// the project's client, for tests that sign images and then export, verify or push them.
import {Readable} from 'node:stream'
import type {Descriptor} from '../../../src/oci/descriptor.ts'
import type {Repository} from '../../../src/registry/index.ts'
import {referrersIndex, sampleImage, sampleIndex, type OciImage, type SignOptions, type TestSigstore} from './index.ts'

/** Pushes an image's config and layers, then its manifest under `tag` (default: by digest). */
export async function putImage(repo: Repository, img: OciImage, tag?: string): Promise<void> {
  for (const b of [img.config, ...img.layers]) await repo.push(b.descriptor as Descriptor, Readable.from([b.bytes]))
  await repo.pushManifest(img.manifest, img.manifestDescriptor.mediaType, tag ?? img.manifestDescriptor.digest)
}

/**
 * A linux/amd64 + linux/arm64 index tagged `v1` in `repo`, signed and attested with v0.3 bundle referrers listed
 * under the fallback tag `sha256-<hex>` (Distribution has no referrers API). `name` is the signed reference.
 */
export async function pushBundleSignedIndex(
  repo: Repository,
  ss: TestSigstore,
  name: string,
  label: string,
  signer: SignOptions,
) {
  const amd = sampleImage(`${label}-amd64`)
  const arm = sampleImage(`${label}-arm64`, {architecture: 'arm64', os: 'linux'})
  await putImage(repo, amd)
  await putImage(repo, arm)
  const index = sampleIndex([
    {image: amd, platform: {architecture: 'amd64', os: 'linux'}},
    {image: arm, platform: {architecture: 'arm64', os: 'linux'}},
  ])
  await repo.pushManifest(index.bytes, index.descriptor.mediaType, 'v1')
  const sig = ss.signImageBundle(index.descriptor, name, signer)
  const att = ss.attestImageBundle(index.descriptor, name, signer)
  await putImage(repo, sig)
  await putImage(repo, att)
  const fallback = referrersIndex([sig, att])
  await repo.pushManifest(fallback.bytes, fallback.descriptor.mediaType, index.descriptor.digest.replace(':', '-'))
  return {index, sig, att}
}
