// Policy files as a user writes them wrong (issue 13 item 5): each mistake is reported as the one line verify prints,
// every problem of the file at once, and a right file reads to the rules it says. Plus --attestation-type names.
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {parsePolicy, predicateMatches, predicateTypesFor, readPolicyFile} from '../src/policy/index.ts'

const PEM = '-----BEGIN PUBLIC KEY-----\\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\\n-----END PUBLIC KEY-----'
const HINT =
  'each rule is {image: GLOB} plus one of keyless: {issuer, subject or subjectRegex}, publicKey: {certificate: PEM}, skip: true, deny: true'

describe('policy file mistakes, one line each', () => {
  const cases: Array<[string, string, string]> = [
    ['an empty file', '', 'p.yaml: no ImageVerificationConfig document found'],
    [
      'a Talos config without the document',
      'kind: A\n---\nkind: B\n',
      'p.yaml: no ImageVerificationConfig document found',
    ],
    ['a scalar', 'hello', 'p.yaml: the document must be a mapping with a "rules" list'],
    ['a list', '- a\n- b', 'p.yaml: the document must be a mapping with a "rules" list'],
    [
      'unknown fields, another kind and apiVersion',
      'rules: [{image: "a/*", skip: true}]\nextra: 1\nkind: Foo\napiVersion: v2',
      'p.yaml: 3 problems: unknown top-level field "extra"; kind must be ImageVerificationConfig (got "Foo"); apiVersion must be v1alpha1 (got "v2")',
    ],
    ['no rules', 'rules: []', 'p.yaml: "rules" must be a non-empty list'],
    ['rules as a mapping', 'rules: {image: x}', 'p.yaml: "rules" must be a non-empty list'],
    ['a rule that is not a mapping', 'rules: [x]', 'p.yaml: rules[0]: must be a mapping'],
    [
      'a rule without an action',
      'rules: [{image: "a/*"}]',
      'p.yaml: rules[0]: exactly one of keyless, publicKey, skip: true, deny: true is required',
    ],
    [
      'a rule with two actions',
      'rules: [{image: "a/*", skip: true, deny: true}]',
      'p.yaml: rules[0]: exactly one of keyless, publicKey, skip: true, deny: true is required (got skip, deny)',
    ],
    [
      'skip that is not a boolean',
      'rules: [{image: "a/*", skip: "yes"}]',
      'p.yaml: rules[0].skip: must be true or false',
    ],
    ['deny that is not a boolean', 'rules: [{image: "a/*", deny: 1}]', 'p.yaml: rules[0].deny: must be true or false'],
    [
      'a publicKey that is not PEM',
      'rules: [{image: "a/*", publicKey: {certificate: "abc"}}]',
      'p.yaml: rules[0].publicKey.certificate: required, a PEM public key or certificate',
    ],
    [
      'a publicKey that is a string',
      'rules: [{image: "a/*", publicKey: "abc"}]',
      'p.yaml: rules[0].publicKey.certificate: required, a PEM public key or certificate',
    ],
    [
      'a publicKey certificate that is not a string',
      'rules: [{image: "a/*", publicKey: {certificate: 5}}]',
      'p.yaml: rules[0].publicKey.certificate: required, a PEM public key or certificate',
    ],
    [
      'a publicKey with an unknown field',
      `rules: [{image: "a/*", publicKey: {certificate: "${PEM}", foo: 1}}]`,
      'p.yaml: rules[0].publicKey: unknown field "foo"',
    ],
    [
      'keyless that is a string',
      'rules: [{image: "a/*", keyless: "x"}]',
      'p.yaml: rules[0].keyless: must be a mapping with issuer and subject or subjectRegex',
    ],
    [
      'keyless as a list',
      'rules: [{image: "a/*", keyless: [x]}]',
      'p.yaml: rules[0].keyless: must be a mapping with issuer and subject or subjectRegex',
    ],
    [
      'keyless with an unknown field',
      'rules: [{image: "a/*", keyless: {issuer: i, subject: s, foo: 1}}]',
      'p.yaml: rules[0].keyless: unknown field "foo"',
    ],
    [
      'keyless with an empty issuer and a number subject',
      'rules: [{image: "a/*", keyless: {issuer: "", subject: 3}}]',
      'p.yaml: 2 problems: rules[0].keyless.issuer: must be a non-empty string; rules[0].keyless.subject: must be a non-empty string',
    ],
    [
      'keyless with a regexp Go would not accept',
      'rules: [{image: "a/*", keyless: {issuerRegex: "(?=x)", subject: s}}]',
      'p.yaml: unsupported rules[0].keyless.issuerRegex "(?=x)": lookaround, comments, backreferences and inline flags other than one leading (?i), (?m), (?s) are not RE2 syntax or have no JavaScript equivalent',
    ],
    [
      'keyless with an exact subject and a subject regexp',
      'rules: [{image: "a/*", keyless: {issuer: i, subject: s, subjectRegex: x}}]',
      'p.yaml: rules[0].keyless: give an exact subject or a subject regexp, not both',
    ],
    [
      'keyless without a subject',
      'rules: [{image: "a/*", keyless: {issuer: i}}]',
      'p.yaml: rules[0].keyless: a subject (identity) or subject regexp is required',
    ],
    [
      'a rule without an image',
      'rules: [{deny: true}]',
      'p.yaml: rules[0].image: required, a glob over registry/repository',
    ],
    [
      'an empty image',
      'rules: [{image: "", deny: true}]',
      'p.yaml: rules[0].image: required, a glob over registry/repository',
    ],
    [
      'an image that is a number',
      'rules: [{image: 5, deny: true}]',
      'p.yaml: rules[0].image: required, a glob over registry/repository',
    ],
    [
      'an image glob no name can match, with its hint',
      'rules: [{image: "A/*", deny: true}]',
      'p.yaml: rules[0].image: image glob "A/*" has upper-case letters, which no normalized image name has (write it lower-case: a/*)',
    ],
    [
      'a second rule wrong and the first right',
      'rules: [{image: "a/*", deny: true}, {image: "b/*", skip: 1}]',
      'p.yaml: rules[1].skip: must be true or false',
    ],
    [
      'YAML syntax',
      'rules: [\n',
      'p.yaml: Flow sequence in block collection must be sufficiently indented and end with a ] at line 2, column 1:',
    ],
    ['a repeated key', 'a: 1\na: 2\n', 'p.yaml: Map keys must be unique at line 2, column 1:'],
  ]
  for (const [what, text, message] of cases)
    it(what, () =>
      assert.throws(
        () => parsePolicy(text, 'p.yaml'),
        (error: Error & {code?: string; hint?: string; details?: {problems?: string[]}}) => {
          assert.equal(error.code, 'USAGE')
          assert.equal(error.message, message)
          if (!message.endsWith('document found')) {
            assert.equal(error.hint, HINT)
            assert.equal(
              error.details?.problems?.length,
              /: (\d+) problems: /.exec(message)?.[1] ? Number(/: (\d+) problems: /.exec(message)?.[1]) : 1,
            )
          }
          return true
        },
      ),
    )
})

describe('policy files that are right', () => {
  it('a policy file that cannot be read is a usage error naming it', () =>
    assert.throws(() => readPolicyFile('/nonexistent/airlock-policy.yaml'), {
      code: 'USAGE',
      message: /^cannot read policy file \/nonexistent\/airlock-policy\.yaml: .*ENOENT/,
    }))
  it('each action reads to its rule, skip: false and deny: false count as absent', () => {
    const rules = parsePolicy(
      [
        'apiVersion: v1alpha1',
        'kind: ImageVerificationConfig',
        'rules:',
        '  - {image: "a/*", skip: false, deny: true}',
        `  - {image: "b/*", publicKey: {certificate: "${PEM}"}}`,
        '  - {image: "c/*", keyless: {issuerRegex: goo, subjectRegex: "s$"}}',
        '  - {image: "d/*", keyless: {issuer: i, subject: s}}',
        '  - {image: "*", deny: false, skip: true}',
      ].join('\n'),
      'p.yaml',
    )
    assert.deepEqual(rules, [
      {image: 'a/*', action: 'deny', origin: 'p.yaml rules[0]'},
      {image: 'b/*', action: 'public-key', publicKeyPem: PEM.replaceAll('\\n', '\n'), origin: 'p.yaml rules[1]'},
      {
        image: 'c/*',
        action: 'keyless',
        identities: [{issuerRegExp: 'goo', subjectRegExp: 's$'}],
        origin: 'p.yaml rules[2]',
      },
      {image: 'd/*', action: 'keyless', identities: [{issuer: 'i', subject: 's'}], origin: 'p.yaml rules[3]'},
      {image: '*', action: 'skip', origin: 'p.yaml rules[4]'},
    ])
  })
  it('empty documents are passed over; of several ImageVerificationConfig documents the first counts', () => {
    assert.deepEqual(parsePolicy('---\n---\nrules: [{image: "*", deny: true}]\n', 'p.yaml'), [
      {image: '*', action: 'deny', origin: 'p.yaml rules[0]'},
    ])
    const two =
      'kind: ImageVerificationConfig\nrules: [{image: "*", deny: true}]\n---\nkind: ImageVerificationConfig\nrules: [{image: "*", skip: true}]\n'
    assert.equal(parsePolicy(two)[0]?.action, 'deny')
    assert.equal(parsePolicy(two)[0]?.origin, 'policy rules[0]')
  })
})

describe('--attestation-type names', () => {
  it('cosign short names, any case, map to their predicate types', () => {
    assert.deepEqual(predicateTypesFor('SLSAProvenance'), [
      'https://slsa.dev/provenance/v0.2',
      'https://slsa.dev/provenance/v1',
    ])
    assert.deepEqual(predicateTypesFor('spdxjson'), ['https://spdx.dev/Document'])
    assert.deepEqual(predicateTypesFor('custom'), ['https://cosign.sigstore.dev/attestation/v1'])
  })
  it('a URI stands for itself; anything else is refused with the names as the hint', () => {
    assert.deepEqual(predicateTypesFor('HTTPS://example.com/p'), ['HTTPS://example.com/p'])
    for (const bad of ['x://a b', 'ftp:/x', 'https://', '1http://x', 'urn:x', 'see https://x.example/p'])
      assert.throws(
        () => predicateTypesFor(bad),
        (error: Error & {code?: string; hint?: string}) => {
          assert.equal(error.code, 'USAGE')
          assert.equal(error.message, `unknown attestation type ${JSON.stringify(bad)}`)
          assert.equal(
            error.hint,
            'use a predicate type URI or one of: slsaprovenance, slsaprovenance02, slsaprovenance1, link, spdx, spdxjson, cyclonedx, vuln, openvex, custom',
          )
          return true
        },
      )
  })
  it('a statement satisfies the type exactly; openvex accepts any version suffix, nothing else does', () => {
    assert.equal(predicateMatches('https://openvex.dev/ns/v0.2.0', predicateTypesFor('openvex')), true)
    assert.equal(predicateMatches('https://openvex.dev/ns', predicateTypesFor('openvex')), true)
    assert.equal(predicateMatches('https://slsa.dev/provenance/v1', predicateTypesFor('slsaprovenance')), true)
    assert.equal(predicateMatches('https://slsa.dev/provenance/v1', predicateTypesFor('slsaprovenance02')), false)
    assert.equal(predicateMatches('https://spdx.dev/Document/v2', predicateTypesFor('spdx')), false)
    assert.equal(predicateMatches('x/https://openvex.dev/ns', predicateTypesFor('openvex')), false)
    assert.equal(predicateMatches('https://openvex.dev/ns', []), false)
  })
})
