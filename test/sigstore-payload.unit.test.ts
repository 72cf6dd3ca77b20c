// Signed payloads and --require-container-identity, in process (issue 13 item 5): src/sigstore/payload.ts and
// container-identity.ts on cosign's real simple-signing payload of a Talos installer release
// (/work/shared/corpora/talos-verifying-images/payload_guess.json, the payload cosign signed for
// ghcr.io/siderolabs/installer) and on in-toto statements as cosign writes them.
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {describe, it} from 'node:test'
import {containerIdentityProblem, signedNameOf} from '../src/sigstore/container-identity.ts'
import {parseSimpleSigning, parseStatement} from '../src/sigstore/payload.ts'

const TALOS = readFileSync('/work/shared/corpora/talos-verifying-images/payload_guess.json')
const TALOS_HEX = 'f41795cc88f40eb1bc6b3c638c4a3123f6ef3c90627bfc35c04ebab82581e3ee'
const json = (v: unknown) => Buffer.from(JSON.stringify(v))
const statement = (subject: unknown) =>
  json({_type: 'https://in-toto.io/Statement/v0.1', predicateType: 'https://slsa.dev/provenance/v0.2', subject})

describe('signed payloads', () => {
  it("reads cosign's simple-signing payload of a real release", () => {
    const parsed = parseSimpleSigning(TALOS)
    assert.ok(typeof parsed !== 'string', String(parsed))
    assert.equal(parsed.critical.type, 'cosign container image signature')
    assert.equal(parsed.critical.image['docker-manifest-digest'], `sha256:${TALOS_HEX}`)
    assert.equal(parsed.critical.identity?.['docker-reference'], 'ghcr.io/siderolabs/installer')
  })

  it('says what a simple-signing payload lacks', () => {
    const talos = JSON.parse(TALOS.toString()) as {critical: Record<string, unknown>}
    const table: Array<[Buffer, string]> = [
      [Buffer.from('{'), 'signature payload is not JSON'],
      [Buffer.from('null'), 'signature payload has no "critical" section'],
      [json({}), 'signature payload has no "critical" section'],
      [json({critical: 'x'}), 'signature payload has no "critical" section'],
      [
        json({critical: {...talos.critical, image: undefined}}),
        'signature payload has no critical.image.docker-manifest-digest',
      ],
      [
        json({critical: {...talos.critical, image: {'docker-manifest-digest': 5}}}),
        'signature payload has no critical.image.docker-manifest-digest',
      ],
      [json({critical: {...talos.critical, type: undefined}}), 'signature payload has no critical.type'],
    ]
    for (const [payload, reason] of table) assert.equal(parseSimpleSigning(payload), reason, payload.toString())
  })

  it('reads an in-toto statement, and says what one lacks', () => {
    const good = statement([{name: 'ghcr.io/siderolabs/installer', digest: {sha256: TALOS_HEX}}])
    const parsed = parseStatement(good)
    assert.ok(typeof parsed !== 'string')
    assert.equal(parsed.predicateType, 'https://slsa.dev/provenance/v0.2')
    assert.deepEqual(parsed.subject, [{name: 'ghcr.io/siderolabs/installer', digest: {sha256: TALOS_HEX}}])
    const table: Array<[Buffer, string]> = [
      [Buffer.from('not json'), 'in-toto payload is not JSON'],
      [Buffer.from('null'), 'in-toto payload is not a statement (subject and predicateType required)'],
      [Buffer.from('"s"'), 'in-toto payload is not a statement (subject and predicateType required)'],
      [
        json({subject: [], predicateType: 5}),
        'in-toto payload is not a statement (subject and predicateType required)',
      ],
      [
        json({subject: {}, predicateType: 'p'}),
        'in-toto payload is not a statement (subject and predicateType required)',
      ],
      [statement([null]), 'in-toto statement has a subject without digest'],
      [statement(['x']), 'in-toto statement has a subject without digest'],
      [statement([{name: 'a'}]), 'in-toto statement has a subject without digest'],
      [statement([{name: 'a', digest: null}]), 'in-toto statement has a subject without digest'],
      [statement([{name: 'a', digest: 'sha256:x'}]), 'in-toto statement has a subject without digest'],
    ]
    for (const [payload, reason] of table) assert.equal(parseStatement(payload), reason, payload.toString())
  })
})

describe('--require-container-identity', () => {
  it('the name a payload claims: docker-reference, or the subject with this digest', () => {
    assert.equal(signedNameOf(TALOS, 'simple-signing', TALOS_HEX), 'ghcr.io/siderolabs/installer')
    const talos = JSON.parse(TALOS.toString()) as {critical: Record<string, unknown>}
    assert.equal(
      signedNameOf(json({critical: {...talos.critical, identity: undefined}}), 'simple-signing', TALOS_HEX),
      undefined,
    )
    assert.equal(
      signedNameOf(
        json({critical: {...talos.critical, identity: {'docker-reference': 7}}}),
        'simple-signing',
        TALOS_HEX,
      ),
      undefined,
    )
    assert.equal(signedNameOf(Buffer.from('{'), 'simple-signing', TALOS_HEX), undefined)
    const st = statement([
      {name: 'other.example/x', digest: {sha256: 'aa'.repeat(32)}},
      {name: 'ghcr.io/siderolabs/installer', digest: {sha256: TALOS_HEX.toUpperCase()}},
    ])
    assert.equal(signedNameOf(st, 'in-toto', TALOS_HEX), 'ghcr.io/siderolabs/installer')
    assert.equal(signedNameOf(st, 'in-toto', 'bb'.repeat(32)), undefined)
    assert.equal(signedNameOf(statement([{digest: {sha256: TALOS_HEX}}]), 'in-toto', TALOS_HEX), undefined)
    assert.equal(signedNameOf(Buffer.from('x'), 'in-toto', TALOS_HEX), undefined)
  })

  it('the repository must match after normalization; a signed tag must be the image tag', () => {
    const ok: Array<[string, string]> = [
      ['ghcr.io/siderolabs/installer', 'ghcr.io/siderolabs/installer:v1.9.0'],
      ['ghcr.io/siderolabs/installer:v1.9.0', 'ghcr.io/siderolabs/installer:v1.9.0'],
      ['index.docker.io/library/alpine', 'alpine:3.20'],
      ['docker.io/library/alpine:3.20', 'alpine:3.20'],
      // a signed tag, an image by digest: nothing to compare the tag with
      ['ghcr.io/siderolabs/installer:v1.9.0', `ghcr.io/siderolabs/installer@sha256:${TALOS_HEX}`],
      [`ghcr.io/siderolabs/installer@sha256:${TALOS_HEX}`, 'ghcr.io/siderolabs/installer:v2'],
      ['localhost:5000/app', 'localhost:5000/app:1'],
    ]
    for (const [claimed, image] of ok)
      assert.equal(containerIdentityProblem(claimed, image), undefined, `${claimed} for ${image}`)
    assert.equal(
      containerIdentityProblem(undefined, 'ghcr.io/siderolabs/installer:v1'),
      'the signed payload names no repository, and --require-container-identity needs ghcr.io/siderolabs/installer',
    )
    assert.equal(
      containerIdentityProblem('', 'alpine:3'),
      'the signed payload names no repository, and --require-container-identity needs docker.io/library/alpine',
    )
    assert.equal(
      containerIdentityProblem('ghcr.io/siderolabs/imager', 'ghcr.io/siderolabs/installer:v1'),
      'signed for ghcr.io/siderolabs/imager, not for ghcr.io/siderolabs/installer (--require-container-identity)',
    )
    assert.equal(
      containerIdentityProblem('ghcr.io/siderolabs/installer:v1.8.0', 'ghcr.io/siderolabs/installer:v1.9.0'),
      'signed for tag v1.8.0, not v1.9.0 (--require-container-identity)',
    )
    assert.equal(
      containerIdentityProblem('Not A Reference!', 'alpine:3'),
      'the signed payload names "Not A Reference!", which is not an image reference',
    )
    const long = `x${'Y'.repeat(300)}`
    assert.equal(
      containerIdentityProblem(long, 'alpine:3'),
      `the signed payload names ${JSON.stringify(long.slice(0, 200))}, which is not an image reference`,
    )
  })
})
