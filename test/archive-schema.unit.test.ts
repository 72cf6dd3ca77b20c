// airlock.json as an attacker writes it, in process (issue 13 item 5): every field can lie or be the wrong type, and
// each lie is refused with the one line verify prints (ARCHIVE_INVALID, or UNSUPPORTED for another format version).
// Also the names an archive may carry besides blobs.
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {
  blobPath,
  digestFromBlobPath,
  extraFilePathProblem,
  parseAirlockJson,
  type AirlockJson,
} from '../src/archive/schema.ts'

const D = `sha256:${'a'.repeat(64)}`
const IMAGE = {
  reference: 'registry.example/team/app:1.0',
  source: 'oci:layout:app',
  digest: D,
  mediaType: 'application/vnd.oci.image.index.v1+json',
  size: 1234,
}
const GOOD = {formatVersion: 1, tool: {name: 'airlock', version: '0.1.0'}, images: [IMAGE], files: {}}
const parse = (value: unknown) => parseAirlockJson(Buffer.from(JSON.stringify(value)))
const refuses = (value: unknown, message: string, code = 'ARCHIVE_INVALID') =>
  assert.throws(() => parse(value), {code, message})

describe('parseAirlockJson: a well-formed airlock.json', () => {
  it('reads every field, keeps extra sections, and drops nothing it checked', () => {
    const full = {
      ...GOOD,
      exportedAt: '2026-12-01T00:00:00Z',
      images: [
        {
          ...IMAGE,
          tag: '1.0',
          platforms: [{platform: 'linux/amd64', digest: D}],
          attached: [{mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: D, size: 0}],
          filtered: true,
        },
      ],
      files: {'sigstore/tuf/x/root.json': {digest: D, size: 10}},
      signatures: {any: 'section'},
    }
    const parsed: AirlockJson = parse(full)
    assert.deepEqual(parsed, full)
    assert.deepEqual(parse(GOOD), GOOD)
    const empty = {...GOOD, images: [{...IMAGE, size: 0}], files: {'sigstore/empty': {digest: D, size: 0}}}
    assert.deepEqual(parse(empty), empty)
    assert.equal('tag' in (parse(GOOD).images[0] ?? {}), false)
  })
})

describe('parseAirlockJson: lies are refused, one line each', () => {
  const cases: Array<[string, unknown, string]> = [
    ['not an object', [GOOD], 'airlock.json: not a JSON object'],
    ['no tool', {...GOOD, tool: undefined}, 'airlock.json: tool must be {name, version}'],
    ['a tool without a version', {...GOOD, tool: {name: 'airlock'}}, 'airlock.json: tool must be {name, version}'],
    [
      'a tool name that is a number',
      {...GOOD, tool: {name: 1, version: '1'}},
      'airlock.json: tool must be {name, version}',
    ],
    ['images as an object', {...GOOD, images: {}}, 'airlock.json: images must be an array'],
    ['an image that is a string', {...GOOD, images: ['x']}, 'airlock.json: images[0] is not an object'],
    [
      'an image without a reference',
      {...GOOD, images: [{...IMAGE, reference: 1}]},
      'airlock.json: images[0].reference must be a string',
    ],
    [
      'an image without a source',
      {...GOOD, images: [{...IMAGE, source: undefined}]},
      'airlock.json: images[0].source must be a string',
    ],
    [
      'an image without a media type',
      {...GOOD, images: [{...IMAGE, mediaType: null}]},
      'airlock.json: images[0].mediaType must be a string',
    ],
    [
      'a negative size',
      {...GOOD, images: [{...IMAGE, size: -1}]},
      'airlock.json: images[0].size must be a non-negative integer',
    ],
    [
      'a fractional size',
      {...GOOD, images: [{...IMAGE, size: 1.5}]},
      'airlock.json: images[0].size must be a non-negative integer',
    ],
    [
      'a size as text',
      {...GOOD, images: [{...IMAGE, size: '12'}]},
      'airlock.json: images[0].size must be a non-negative integer',
    ],
    [
      'a size past 2^53',
      {...GOOD, images: [{...IMAGE, size: 2 ** 53}]},
      'airlock.json: images[0].size must be a non-negative integer',
    ],
    ['a tag that is a number', {...GOOD, images: [{...IMAGE, tag: 1}]}, 'airlock.json: images[0].tag must be a string'],
    [
      'platforms as an object',
      {...GOOD, images: [{...IMAGE, platforms: {}}]},
      'airlock.json: images[0].platforms must be an array',
    ],
    [
      'a platform without a name',
      {...GOOD, images: [{...IMAGE, platforms: [{digest: D}]}]},
      'airlock.json: images[0].platforms[0] must be {platform, digest}',
    ],
    [
      'a platform that is a string',
      {...GOOD, images: [{...IMAGE, platforms: ['linux/amd64']}]},
      'airlock.json: images[0].platforms[0] must be {platform, digest}',
    ],
    [
      'attached as an object',
      {...GOOD, images: [{...IMAGE, attached: {}}]},
      'airlock.json: images[0].attached must be an array',
    ],
    [
      'an attached manifest with a negative size',
      {...GOOD, images: [{...IMAGE, attached: [{mediaType: 'm', digest: D, size: -1}]}]},
      'airlock.json: images[0].attached[0] must be {mediaType, digest, size}',
    ],
    [
      'an attached manifest without a media type',
      {...GOOD, images: [{...IMAGE, attached: [{digest: D, size: 1}]}]},
      'airlock.json: images[0].attached[0] must be {mediaType, digest, size}',
    ],
    [
      'an attached manifest with a fractional size',
      {...GOOD, images: [{...IMAGE, attached: [{mediaType: 'm', digest: D, size: 0.5}]}]},
      'airlock.json: images[0].attached[0] must be {mediaType, digest, size}',
    ],
    [
      'an attached manifest with a size as text',
      {...GOOD, images: [{...IMAGE, attached: [{mediaType: 'm', digest: D, size: '1'}]}]},
      'airlock.json: images[0].attached[0] must be {mediaType, digest, size}',
    ],
    [
      'an attached entry that is a list',
      {...GOOD, images: [{...IMAGE, attached: [[]]}]},
      'airlock.json: images[0].attached[0] must be {mediaType, digest, size}',
    ],
    [
      'filtered as text',
      {...GOOD, images: [{...IMAGE, filtered: 'yes'}]},
      'airlock.json: images[0].filtered must be a boolean',
    ],
    ['files as a list', {...GOOD, files: []}, 'airlock.json: files must be an object'],
    ['no files', {...GOOD, files: undefined}, 'airlock.json: files must be an object'],
    [
      'a file with a negative size',
      {...GOOD, files: {'sigstore/x': {digest: D, size: -5}}},
      'airlock.json: files["sigstore/x"] must be {digest, size}',
    ],
    [
      'a file with a fractional size',
      {...GOOD, files: {'sigstore/x': {digest: D, size: 0.5}}},
      'airlock.json: files["sigstore/x"] must be {digest, size}',
    ],
    [
      'a file record that is text',
      {...GOOD, files: {'sigstore/x': 'sha256'}},
      'airlock.json: files["sigstore/x"] must be {digest, size}',
    ],
    [
      'a file record that is a list',
      {...GOOD, files: {'sigstore/x': [D, 1]}},
      'airlock.json: files["sigstore/x"] must be {digest, size}',
    ],
  ]
  for (const [what, value, message] of cases) it(what, () => refuses(value, message))

  it('digests anywhere are checked and named by where they are', () => {
    assert.throws(() => parse({...GOOD, images: [{...IMAGE, digest: 'sha256:abc'}]}), {
      message: /airlock\.json images\[0\]\.digest/,
    })
    assert.throws(() => parse({...GOOD, images: [{...IMAGE, platforms: [{platform: 'p', digest: 'x'}]}]}), {
      message: /airlock\.json images\[0\]\.platforms\[0\]\.digest/,
    })
    assert.throws(
      () => parse({...GOOD, images: [{...IMAGE, attached: [{mediaType: 'm', digest: 'md5:00', size: 1}]}]}),
      {message: /airlock\.json images\[0\]\.attached\[0\]\.digest/},
    )
    assert.throws(() => parse({...GOOD, files: {'sigstore/x': {digest: D.toUpperCase(), size: 1}}}), {
      message: /airlock\.json files\["sigstore\/x"\]\.digest/,
    })
  })

  it('another format version is UNSUPPORTED with a hint', () => {
    for (const formatVersion of [2, 0, '1', undefined])
      assert.throws(
        () => parse({...GOOD, formatVersion}),
        (error: Error & {code?: string; hint?: string}) => {
          assert.equal(error.code, 'UNSUPPORTED')
          assert.equal(
            error.message,
            `airlock.json: format version ${JSON.stringify(formatVersion)} is not supported (expected 1)`,
          )
          assert.equal(error.hint, 'use the airlock version that wrote the archive, or a newer one')
          return true
        },
      )
  })
})

describe('entry names', () => {
  it('a blob path and back', () => {
    assert.equal(blobPath(D as never), `blobs/sha256/${'a'.repeat(64)}`)
    assert.equal(digestFromBlobPath(`blobs/sha256/${'a'.repeat(64)}`), D)
    for (const name of [
      `blobs/sha256/${'A'.repeat(64)}`,
      `blobs/sha256/${'a'.repeat(63)}`,
      `xblobs/sha256/${'a'.repeat(64)}`,
      `blobs/sha256/${'a'.repeat(64)}/x`,
      `blobs/sha512/${'a'.repeat(64)}`,
    ])
      assert.equal(digestFromBlobPath(name), undefined, name)
  })
  it('extra files live under sigstore/ or airlock/, in plain segments', () => {
    for (const path of [
      'sigstore/tuf/tuf-repo-cdn.sigstore.dev/root.json',
      'sigstore/proofs/a,b@c+d=e_f-g.json',
      'airlock/airlock-1.2.3-linux-amd64',
      'airlock/airlock-1.2.3-rc.1-linux-arm64.sigstore.json',
    ])
      assert.equal(extraFilePathProblem(path), undefined, path)
    const table: Array<[string, string]> = [
      [`sigstore/${'a'.repeat(1020)}`, 'path is too long'],
      ['etc/passwd', 'path must be under sigstore/ or airlock/'],
      ['xsigstore/a', 'path must be under sigstore/ or airlock/'],
      [
        'airlock/run.sh',
        'only airlock executables (airlock/airlock-<version>-linux-<amd64|arm64>[.sigstore.json]) may be under airlock/',
      ],
      [
        'airlock/airlock-1.2.3-linux-riscv64',
        'only airlock executables (airlock/airlock-<version>-linux-<amd64|arm64>[.sigstore.json]) may be under airlock/',
      ],
      ['sigstore//x', 'path has an empty, "." or ".." segment'],
      ['sigstore/./x', 'path has an empty, "." or ".." segment'],
      ['sigstore/../x', 'path has an empty, "." or ".." segment'],
      ['sigstore/x/', 'path has an empty, "." or ".." segment'],
      ['sigstore/a b', 'path segment "a b" has characters outside [A-Za-z0-9._@+=,-]'],
      ['sigstore/é', 'path segment "é" has characters outside [A-Za-z0-9._@+=,-]'],
    ]
    for (const [path, problem] of table) assert.equal(extraFilePathProblem(path), problem, path)
    assert.equal(extraFilePathProblem(`sigstore/${'a'.repeat(1015)}`), undefined)
  })
})
