import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {checkCollisions, mapRepository, parseMirrorTarget} from '../src/reference/mirror-path.ts'
import {fallbackTag, mergeReferrersIndex, referrerDescriptor} from '../src/push/referrers.ts'
import {sha256} from '../src/oci/digest.ts'
import {parseManifest} from '../src/oci/manifest.ts'
import {MediaType} from '../src/oci/media-types.ts'

describe('mirror target and repository mapping', () => {
  it('parses REGISTRY[/PREFIX]', () => {
    assert.deepEqual(parseMirrorTarget('registry.dc.local'), {registry: 'registry.dc.local', prefix: ''})
    assert.deepEqual(parseMirrorTarget('Registry.DC.local:5000/mirror/talos/'), {
      registry: 'registry.dc.local:5000',
      prefix: 'mirror/talos',
    })
    assert.deepEqual(parseMirrorTarget('localhost/m'), {registry: 'localhost', prefix: 'm'})
    assert.throws(() => parseMirrorTarget('https://registry.dc.local'), {code: 'USAGE'})
    assert.throws(() => parseMirrorTarget('mirror/x'), {code: 'USAGE'})
    assert.throws(() => parseMirrorTarget('registry.dc.local/Mirror'), {code: 'USAGE'})
    assert.throws(() => parseMirrorTarget('registry.dc.local/m:tag'), {code: 'USAGE'})
  })

  it('drops the source host by default and keeps it with --keep-host', () => {
    const target = parseMirrorTarget('registry.dc.local:5000/mirror')
    const src = {registry: 'ghcr.io', repository: 'siderolabs/installer'}
    assert.equal(mapRepository(src, target), 'mirror/siderolabs/installer')
    assert.equal(mapRepository(src, target, {keepHost: true}), 'mirror/ghcr.io/siderolabs/installer')
    assert.equal(
      mapRepository({registry: 'docker.io', repository: 'library/alpine'}, parseMirrorTarget('r.local')),
      'library/alpine',
    )
    assert.equal(
      mapRepository({registry: 'index.docker.io', repository: 'library/alpine'}, parseMirrorTarget('r.local'), {
        keepHost: true,
      }),
      'docker.io/library/alpine',
    )
    // ':' is not legal in a repository path: the port is joined with '-'.
    assert.equal(
      mapRepository({registry: '127.0.0.1:5000', repository: 'a/b'}, parseMirrorTarget('r.local/p'), {keepHost: true}),
      'p/127.0.0.1_5000/a/b',
    )
    // Injective (issue 10, finding 1): a port and a host name with a dash never share a path.
    const kh = (registry: string) =>
      mapRepository({registry, repository: 'a/b'}, parseMirrorTarget('r.local/p'), {keepHost: true})
    assert.notEqual(kh('reg.example:5000'), kh('reg.example-5000'))
    assert.throws(() => kh('[::1]:5000'), /IPv6/)
  })

  it('refuses two source repositories landing in one mirror repository', () => {
    const target = parseMirrorTarget('r.local')
    const sources = [
      {registry: 'ghcr.io', repository: 'x/app'},
      {registry: 'quay.io', repository: 'x/app'},
    ]
    assert.throws(() => checkCollisions(sources, target), /ghcr.io\/x\/app and quay.io\/x\/app would both be pushed/)
    assert.equal(checkCollisions(sources, target, {keepHost: true}).size, 2)
    assert.equal(checkCollisions([sources[0]!, sources[0]!], target).size, 1)
  })
})

describe('referrers fallback tag merge', () => {
  const subject = {mediaType: MediaType.OciManifest, digest: sha256('subject'), size: 7}
  const referrer = (n: number) =>
    parseManifest(
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MediaType.OciManifest,
          artifactType: MediaType.SigstoreBundle03,
          config: {mediaType: MediaType.OciEmpty, digest: sha256('{}'), size: 2},
          layers: [{mediaType: MediaType.SigstoreBundle03, digest: sha256(`bundle${n}`), size: 7}],
          subject,
          annotations: {n: String(n)},
        }),
      ),
    )

  it('names the fallback tag after the subject digest', () => {
    assert.equal(fallbackTag(subject.digest), `sha256-${subject.digest.slice(7)}`)
  })

  it('builds a new index when none exists', () => {
    const merged = mergeReferrersIndex(undefined, [referrerDescriptor(referrer(1))])
    assert.equal(merged.changed, true)
    const index = parseManifest(merged.bytes)
    assert.equal(index.parsed.kind, 'index')
    assert.equal(index.mediaType, MediaType.OciIndex)
    if (index.parsed.kind !== 'index') return
    assert.equal(index.parsed.manifests[0]!.artifactType, MediaType.SigstoreBundle03)
    assert.deepEqual(index.parsed.manifests[0]!.annotations, {n: '1'})
  })

  it('keeps what another tool wrote, dedups by digest, and leaves an up-to-date tag alone', () => {
    const foreign = {
      mediaType: MediaType.OciManifest,
      digest: sha256('foreign'),
      size: 3,
      artifactType: 'application/spdx+json',
      'x-unknown': 1,
    }
    const existing = parseManifest(
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MediaType.OciIndex,
          manifests: [foreign],
          annotations: {by: 'oras'},
        }),
      ),
    )
    const one = referrerDescriptor(referrer(1))
    const merged = mergeReferrersIndex(existing, [one, one])
    assert.equal(merged.changed, true)
    assert.equal(merged.added.length, 1)
    const json = JSON.parse(merged.bytes.toString())
    assert.deepEqual(
      json.manifests[0],
      foreign,
      'existing entry kept byte-for-byte in content, unknown fields included',
    )
    assert.equal(json.manifests[1].digest, one.digest)
    assert.deepEqual(json.annotations, {by: 'oras'})
    const again = mergeReferrersIndex(parseManifest(merged.bytes), [one])
    assert.equal(again.changed, false)
    assert.equal(again.bytes, merged.bytes)
  })
})
