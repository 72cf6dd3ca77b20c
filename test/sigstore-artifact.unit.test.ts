// Binding a bundle to the artifact it must cover, in process (issue 13 item 5): src/sigstore/artifact.ts with real
// bundles from the test Sigstore instance (message signatures over bytes, DSSE envelopes with in-toto statements and
// with other payload types). verify-blob and the conformance suite reach this through the CLI only.
import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import {after, before, describe, it} from 'node:test'
import {bundleFromJSON, type Bundle} from '@sigstore/bundle'
import {artifactSha256, checkArtifactBinding, parseDigestArtifact} from '../src/sigstore/artifact.ts'
import {createTestSigstore, type TestSigstore} from './support/sigstore/index.ts'

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest()
const sha512 = (b: Buffer | string) => createHash('sha512').update(b).digest('hex')
const ARTIFACT = Buffer.from('the artifact bytes\n')
const bytes = (b: Buffer) => ({kind: 'bytes' as const, bytes: b})
const digest = (b: Buffer) => ({kind: 'digest' as const, algorithm: 'sha256' as const, digest: sha256(b)})
const statement = (subject: unknown[], predicateType: unknown = 'https://slsa.dev/provenance/v1') =>
  JSON.stringify({_type: 'https://in-toto.io/Statement/v1', subject, predicateType, predicate: {}})

describe('binding a bundle to its artifact', () => {
  let ss: TestSigstore
  let message: Bundle
  const dsse = (payload: string, type = 'application/vnd.in-toto+json'): Bundle =>
    bundleFromJSON(ss.signDsse(payload, type).bundle)

  before(async () => {
    ss = await createTestSigstore({listen: false})
    message = bundleFromJSON(ss.signBlob(ARTIFACT).bundle)
  })
  after(() => ss.stop())

  it('reads sha256:<64 lowercase hex> only', () => {
    const hex = sha256(ARTIFACT).toString('hex')
    assert.deepEqual(parseDigestArtifact(`sha256:${hex}`), {
      kind: 'digest',
      algorithm: 'sha256',
      digest: sha256(ARTIFACT),
    })
    for (const bad of [
      hex,
      `sha256:${hex.toUpperCase()}`,
      `sha256:${hex}0`,
      `sha256:${hex.slice(1)}`,
      `sha512:${hex}`,
      ` sha256:${hex}`,
      '',
    ])
      assert.throws(() => parseDigestArtifact(bad), {
        code: 'USAGE',
        message: `not a sha256 digest: ${bad} (expected sha256:<64 lowercase hex>)`,
      })
    assert.deepEqual(artifactSha256(bytes(ARTIFACT)), sha256(ARTIFACT))
    assert.deepEqual(artifactSha256(digest(ARTIFACT)), sha256(ARTIFACT))
  })

  it('a message signature binds by its message digest, given the bytes or the digest', () => {
    assert.equal(checkArtifactBinding(message, bytes(ARTIFACT)), undefined)
    assert.equal(checkArtifactBinding(message, digest(ARTIFACT)), undefined)
    const other = Buffer.from('other bytes')
    assert.equal(
      checkArtifactBinding(message, bytes(other)),
      `bundle message digest sha256:${sha256(ARTIFACT).toString('hex')} is not the artifact's sha256:${sha256(other).toString('hex')}`,
    )
    assert.equal(
      checkArtifactBinding(message, {kind: 'embedded'}),
      'a message signature needs the artifact (file or sha256 digest)',
    )
  })

  it('a message digest of another algorithm is refused', () => {
    const json = ss.signBlob(ARTIFACT).bundle
    const sha384 = bundleFromJSON({
      ...json,
      messageSignature: {
        ...json.messageSignature!,
        messageDigest: {algorithm: 'SHA2_384', digest: json.messageSignature!.messageDigest.digest},
      },
    } as never)
    assert.equal(
      checkArtifactBinding(sha384, bytes(ARTIFACT)),
      'message digest algorithm SHA2_384 is not supported (sha256 only)',
    )
  })

  it('an in-toto statement binds by a subject digest: sha256, or sha512 of the bytes', () => {
    const hex = sha256(ARTIFACT).toString('hex')
    const bySha256 = dsse(
      statement([
        {name: 'a', digest: {sha256: 'ff'.repeat(32)}},
        {name: 'b', digest: {sha256: hex.toUpperCase()}},
      ]),
    )
    assert.equal(checkArtifactBinding(bySha256, bytes(ARTIFACT)), undefined)
    assert.equal(checkArtifactBinding(bySha256, digest(ARTIFACT)), undefined)
    assert.equal(checkArtifactBinding(bySha256, {kind: 'embedded'}), undefined)
    const bySha512 = dsse(statement([{name: 'a', digest: {sha512: sha512(ARTIFACT).toUpperCase()}}]))
    assert.equal(checkArtifactBinding(bySha512, bytes(ARTIFACT)), undefined)
    // with only the sha256 digest known, a sha512 subject cannot be matched
    assert.equal(
      checkArtifactBinding(bySha512, digest(ARTIFACT)),
      `no in-toto subject has the artifact's digest sha256:${hex}`,
    )
    const other = dsse(statement([{name: 'a', digest: {sha256: 'ff'.repeat(32), sha512: 'ee'.repeat(64)}}]))
    assert.equal(
      checkArtifactBinding(other, bytes(ARTIFACT)),
      `no in-toto subject has the artifact's digest sha256:${hex}`,
    )
  })

  it('an in-toto payload that is not a statement says why', () => {
    assert.equal(checkArtifactBinding(dsse('{not json'), bytes(ARTIFACT)), 'in-toto payload is not JSON')
    assert.equal(
      checkArtifactBinding(dsse(statement([{name: 'a', digest: {sha256: 'ab'}}], 7)), bytes(ARTIFACT)),
      'in-toto payload is not a statement (subject and predicateType required)',
    )
    assert.equal(
      checkArtifactBinding(dsse(statement([{name: 'a'}])), bytes(ARTIFACT)),
      'in-toto statement has a subject without digest',
    )
  })

  it('another DSSE payload type binds when the payload itself is the artifact', () => {
    const payload = '{"anything": true}'
    const envelope = dsse(payload, 'application/vnd.example+json')
    assert.equal(checkArtifactBinding(envelope, bytes(Buffer.from(payload))), undefined)
    assert.equal(checkArtifactBinding(envelope, digest(Buffer.from(payload))), undefined)
    assert.equal(
      checkArtifactBinding(envelope, bytes(ARTIFACT)),
      'DSSE payload (application/vnd.example+json) is not the artifact',
    )
  })
})
