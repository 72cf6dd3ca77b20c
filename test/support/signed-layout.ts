// An OCI layout of images signed by the test Sigstore instance, exported and verified through the CLI under the
// no-network preload: the set-up of the signature acceptance and container-identity tests. Export asks for an
// unreachable Rekor (the preload records the attempt; the SET in each signature suffices); verify must stay offline.
import assert from 'node:assert/strict'
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {type CliRun, networkAttempts, runCli, runCliJson} from './cli.ts'
import {digestTag, type OciImage, referrersIndex} from './sigstore/index.ts'

interface Descriptor {
  mediaType: string
  digest: string
  size: number
}

/** Writes blobs and named manifests into an OCI layout; `finish()` writes index.json and oci-layout. */
export class SignedLayout {
  readonly dir: string
  private readonly manifests: unknown[] = []

  constructor(dir: string) {
    this.dir = dir
    mkdirSync(join(dir, 'blobs', 'sha256'), {recursive: true})
  }

  put(digest: string, bytes: Buffer): void {
    writeFileSync(join(this.dir, 'blobs', 'sha256', digest.slice(7)), bytes)
  }

  putImage(img: OciImage): void {
    this.put(img.manifestDescriptor.digest, img.manifest)
    this.put(img.config.descriptor.digest, img.config.bytes)
    for (const l of img.layers) this.put(l.descriptor.digest, l.bytes)
  }

  /** Lists `d` in index.json under the reference `name` (org.opencontainers.image.ref.name). */
  name(d: Descriptor, name: string): void {
    this.manifests.push({...d, annotations: {'org.opencontainers.image.ref.name': name}})
  }

  /** `image` named `repository:tag`, with `referrers` listed in a referrers index under its fallback tag. */
  putReferred(image: OciImage, repository: string, tag: string, referrers: OciImage[]): void {
    const index = referrersIndex(referrers)
    this.putImage(image)
    for (const r of referrers) this.putImage(r)
    this.put(index.descriptor.digest, index.bytes)
    this.name(image.manifestDescriptor, `${repository}:${tag}`)
    this.name(index.descriptor, `${repository}:${digestTag(image.manifestDescriptor.digest)}`)
  }

  finish(): void {
    writeFileSync(join(this.dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}')
    writeFileSync(
      join(this.dir, 'index.json'),
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: this.manifests,
      }),
    )
  }
}

/**
 * `airlock export --no-tuf` of `refs` from the layout into `archive` under the no-network preload (recording in
 * `log`), Rekor wanted but unreachable; asserts it succeeds.
 */
export async function exportFromLayout(
  layout: string,
  refs: readonly string[],
  archive: string,
  log: string,
): Promise<CliRun> {
  const r = await runCli(
    [
      'export',
      '--no-tuf',
      '--rekor-url',
      'https://rekor.airlock.test',
      '-o',
      archive,
      ...refs.map(n => `oci:${layout}:${n}`),
    ],
    {networkLog: log},
  )
  assert.equal(r.status, 0, r.stderr)
  return r
}

export interface ImageVerdict {
  ok: boolean
  /** The reasons of the signatures check. */
  reasons: string[]
}

/**
 * `airlock verify ARCHIVE --json ...args` offline (no network attempt recorded in `log`); the verdict of each image
 * by its reference without `repo/` and `:v1`.
 */
export async function verifyVerdicts(
  archive: string,
  args: readonly string[],
  {repo, log}: {repo: string; log: string},
): Promise<{status: number | null; verdicts: Map<string, ImageVerdict>}> {
  const r = await runCliJson<{images: {reference: string; ok: boolean; checks: {name: string; reasons: string[]}[]}[]}>(
    ['verify', archive, ...args],
    {networkLog: log},
  )
  assert.deepEqual(networkAttempts(log), [], 'verify stays offline')
  const verdicts = new Map<string, ImageVerdict>()
  for (const image of r.json.images)
    verdicts.set(image.reference.replace(`${repo}/`, '').replace(/:v1$/, ''), {
      ok: image.ok,
      reasons: image.checks.find(c => c.name === 'signatures')?.reasons ?? [],
    })
  return {status: r.status, verdicts}
}
