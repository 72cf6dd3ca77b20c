import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {parseReference, registryEndpoint} from '../src/reference/index.ts'

const D = `sha256:${'a'.repeat(64)}`

describe('parseReference', () => {
  const valid: Array<[string, string, {registry: string; repository: string; tag?: string; digest?: string}]> = [
    ['alpine', 'docker.io/library/alpine:latest', {registry: 'docker.io', repository: 'library/alpine', tag: 'latest'}],
    [
      'alpine:3.20',
      'docker.io/library/alpine:3.20',
      {registry: 'docker.io', repository: 'library/alpine', tag: '3.20'},
    ],
    ['library/alpine', 'docker.io/library/alpine:latest', {registry: 'docker.io', repository: 'library/alpine'}],
    ['docker.io/alpine', 'docker.io/library/alpine:latest', {registry: 'docker.io', repository: 'library/alpine'}],
    [
      'index.docker.io/library/alpine',
      'docker.io/library/alpine:latest',
      {registry: 'docker.io', repository: 'library/alpine'},
    ],
    ['bitnami/redis', 'docker.io/bitnami/redis:latest', {registry: 'docker.io', repository: 'bitnami/redis'}],
    [
      'ghcr.io/siderolabs/kubelet:v1.31.0',
      'ghcr.io/siderolabs/kubelet:v1.31.0',
      {registry: 'ghcr.io', repository: 'siderolabs/kubelet', tag: 'v1.31.0'},
    ],
    ['localhost/foo', 'localhost/foo:latest', {registry: 'localhost', repository: 'foo'}],
    [
      'localhost:5000/foo/bar:t',
      'localhost:5000/foo/bar:t',
      {registry: 'localhost:5000', repository: 'foo/bar', tag: 't'},
    ],
    [
      '127.0.0.1:5000/a_b/c__d/e-f--g.h',
      '127.0.0.1:5000/a_b/c__d/e-f--g.h:latest',
      {registry: '127.0.0.1:5000', repository: 'a_b/c__d/e-f--g.h'},
    ],
    ['[::1]:5000/foo', '[::1]:5000/foo:latest', {registry: '[::1]:5000', repository: 'foo'}],
    [
      'Registry.Example.COM/foo',
      'registry.example.com/foo:latest',
      {registry: 'registry.example.com', repository: 'foo'},
    ],
    [`alpine@${D}`, `docker.io/library/alpine@${D}`, {registry: 'docker.io', repository: 'library/alpine', digest: D}],
    [
      `alpine:3@${D}`,
      `docker.io/library/alpine:3@${D}`,
      {registry: 'docker.io', repository: 'library/alpine', tag: '3', digest: D},
    ],
    [`host:1/x:y@${D}`, `host:1/x:y@${D}`, {registry: 'host:1', repository: 'x', tag: 'y', digest: D}],
  ]
  for (const [input, normalized, parts] of valid) {
    it(`parses ${input}`, () => {
      const ref = parseReference(input)
      assert.equal(ref.toString(), normalized)
      assert.equal(ref.registry, parts.registry)
      assert.equal(ref.repository, parts.repository)
      if (parts.tag) assert.equal(ref.tag, parts.tag)
      assert.equal(ref.digest, parts.digest)
      assert.equal(ref.name, `${parts.registry}/${parts.repository}`)
      // normalization is idempotent
      assert.equal(parseReference(normalized).toString(), normalized)
    })
  }

  const invalid: Array<[string, RegExp]> = [
    ['', /empty/],
    [' alpine', /whitespace/],
    ['https://ghcr.io/foo', /scheme/],
    ['Alpine', /lowercase/],
    ['ghcr.io/Foo/bar', /lowercase/],
    ['alpine:', /invalid tag/],
    ['alpine:-bad', /invalid tag/],
    [`alpine:${'t'.repeat(129)}`, /invalid tag/],
    ['alpine@sha256:abc', /64 lowercase hex/],
    [`alpine@sha512:${'a'.repeat(128)}`, /only sha256/],
    ['alpine@', /malformed digest/],
    ['ghcr.io/', /missing repository/],
    ['ghcr.io//foo', /path component/],
    ['foo/bar/', /path component/],
    ['foo..bar', /path component/],
    ['-foo', /path component/],
    ['foo_', /path component/],
    ['bad_host:5000/foo', /registry host/],
    ['host:port/foo', /registry host/],
    [`ghcr.io/${'a'.repeat(260)}`, /longer than/],
  ]
  for (const [input, message] of invalid) {
    it(`refuses ${JSON.stringify(input.slice(0, 40))}`, () => {
      assert.throws(
        () => parseReference(input),
        (error: Error & {code?: string}) => {
          assert.equal(error.code, 'REFERENCE_INVALID')
          assert.match(error.message, message)
          assert.ok(!error.message.includes('\n'))
          return true
        },
      )
    })
  }

  it('builds copies with another tag or digest', () => {
    const ref = parseReference('ghcr.io/a/b:1')
    assert.equal(ref.withTag('2').toString(), 'ghcr.io/a/b:2')
    assert.equal(ref.withDigest(D).toString(), `ghcr.io/a/b:1@${D}`)
    assert.equal(ref.withDigest(D).reference, D)
    assert.equal(ref.toString(), 'ghcr.io/a/b:1')
    assert.throws(() => ref.withTag('no/slash'), {code: 'REFERENCE_INVALID'})
  })

  it('maps docker.io to the host that serves its API', () => {
    assert.equal(registryEndpoint('docker.io'), 'registry-1.docker.io')
    assert.equal(parseReference('alpine').endpoint, 'registry-1.docker.io')
    assert.equal(parseReference('ghcr.io/x/y').endpoint, 'ghcr.io')
  })
})
