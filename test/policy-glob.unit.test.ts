// Image globs in process (issue 13 item 5): Docker Hub spellings, where `*` may end, the exact refusals and hints a
// policy author reads, and the two Talos readings disagreeing in either direction.
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {globMatches, goGlob, loadPolicy, matchGlob, validateGlob} from '../src/policy/index.ts'

const refusal = (glob: string) => {
  try {
    validateGlob(glob)
  } catch (error) {
    const e = error as Error & {code?: string; hint?: string}
    assert.equal(e.code, 'USAGE')
    return {message: e.message, hint: e.hint}
  }
  return undefined
}

describe('validateGlob: the refusal and the spelling that works', () => {
  it('an empty glob', () => assert.deepEqual(refusal(''), {message: 'empty image glob', hint: undefined}))
  it('characters no name has', () =>
    assert.deepEqual(refusal('ghcr.io/?iderolabs/*'), {
      message:
        'image glob "ghcr.io/?iderolabs/*" has characters no registry/repository name has (tags and digests are never matched)',
      hint: "the only wildcard is * (any run of characters, '/' included), as in Talos",
    }))
  it('a tag after the registry', () =>
    assert.deepEqual(refusal('ghcr.io/siderolabs/installer:v1*'), {
      message:
        'image glob "ghcr.io/siderolabs/installer:v1*" has ":", "[" or "]" after the registry, which no repository name has (tags and digests are never matched)',
      hint: 'match the repository only: ghcr.io/siderolabs/installer',
    }))
  it('a port or an IPv6 address in the registry is fine, up to the first "/"', () => {
    for (const glob of ['localhost:5000*', '[::1]/*', '[::1]:5000/app*', 'localhost:5000/app'])
      assert.equal(refusal(glob), undefined, glob)
  })
  it('a name without * that can never match says how to write it', () =>
    assert.deepEqual(refusal('docker.io/library/busybox'), {
      message:
        'image glob "docker.io/library/busybox" can never match: names are compared in full, registry included, Docker Hub as index.docker.io/library/NAME',
      hint: 'write index.docker.io/library/busybox',
    }))
  it('a text without * that is no name at all', () =>
    assert.deepEqual(refusal('ghcr.io/-bad-'), {
      message: 'image glob "ghcr.io/-bad-" is not a registry/repository name, and without * it must be one',
      hint: 'add * to match many names: ghcr.io/siderolabs/*',
    }))
  it('Docker Hub named docker.io or registry-1.docker.io before a * is refused; index.docker.io is how to write it', () => {
    assert.deepEqual(refusal('registry-1.docker.io/library/*'), {
      message:
        'image glob "registry-1.docker.io/library/*" names Docker Hub as registry-1.docker.io, which Talos releases that match go-containerregistry names (index.docker.io/library/NAME) never match',
      hint: 'write index.docker.io/library/*, which airlock and every Talos release read the same',
    })
    assert.equal(
      refusal('docker.io*')?.hint,
      'write index.docker.io*, which airlock and every Talos release read the same',
    )
    for (const glob of ['index.docker.io/library/*', 'index.docker.io*', 'docker.iox/*', 'mirror.docker.io/*'])
      assert.equal(refusal(glob), undefined, glob)
  })
})

describe('goGlob: where * ends', () => {
  it('without * the whole name must be equal, not a suffix or a prefix', () => {
    assert.equal(goGlob('ghcr.io/a/b', 'ghcr.io/a/b'), true)
    assert.equal(goGlob('ghcr.io/a/b', 'xghcr.io/a/b'), false)
    assert.equal(goGlob('ghcr.io/a/b', 'ghcr.io/a/bc'), false)
  })
  it('a trailing * takes the rest of the name, several segments too; a leading * the start', () => {
    assert.equal(goGlob('ghcr.io/siderolabs/*', 'ghcr.io/siderolabs/a/b/c'), true)
    assert.equal(goGlob('ghcr.io/siderolabs/*', 'ghcr.io/siderolabs'), false)
    assert.equal(goGlob('*/installer', 'ghcr.io/siderolabs/installer'), true)
    assert.equal(goGlob('*/installer', 'ghcr.io/siderolabs/installer-x'), false)
    assert.equal(goGlob('ghcr.io/**', 'ghcr.io/a'), true)
    assert.equal(goGlob('ghcr.io/*/installer', 'ghcr.io/a/b/installer'), true)
    assert.equal(goGlob('ghcr.io/*/installer', 'quay.io/a/installer'), false)
  })
})

describe('matchGlob: the two Talos readings', () => {
  it('agreeing readings match or not', () => {
    assert.deepEqual(matchGlob('index.docker.io/library/*', 'alpine:3'), {matches: true})
    assert.deepEqual(matchGlob('ghcr.io/*', 'alpine:3'), {matches: false})
    assert.equal(globMatches('index.docker.io/library/*', 'alpine:3'), true)
    assert.equal(globMatches('ghcr.io/*', 'alpine:3'), false)
  })
  it('a glob only newer Talos matches is a conflict, named in both spellings, and never a match', () => {
    assert.deepEqual(matchGlob('docker.io/library/*', 'alpine:3'), {
      conflict:
        'docker.io/library/* does not match index.docker.io/library/alpine in older Talos releases but matches docker.io/library/alpine in newer ones',
    })
    assert.equal(globMatches('docker.io/library/*', 'alpine:3'), false)
  })
  it('a glob only older Talos matches is a conflict too', () => {
    assert.deepEqual(matchGlob('index.*', 'alpine'), {
      conflict:
        'index.* matches index.docker.io/library/alpine in older Talos releases but does not match docker.io/library/alpine in newer ones',
    })
    assert.equal(globMatches('index.*', 'alpine'), false)
  })
})

describe('flag policies name themselves in refusals', () => {
  it('an identity flag without an issuer says it came from the flags', () =>
    assert.throws(() => loadPolicy({'certificate-identity': 'a@b.c'}), {
      code: 'USAGE',
      message: 'flags: an OIDC issuer or issuer regexp is required',
    }))
})
