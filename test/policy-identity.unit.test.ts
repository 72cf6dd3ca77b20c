// Keyless identity requirements in process (issue 13 item 5): exact vs regexp, what a certificate with no SAN or no
// issuer gets, and the one-line reasons and descriptions a user reads in verify's output.
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {describeIdentity, matchIdentity, validateIdentity} from '../src/policy/index.ts'

const ISSUER = 'https://token.actions.githubusercontent.com'
const SUBJECT = 'https://github.com/siderolabs/talos/.github/workflows/ci.yaml@refs/heads/main'
const signer = {subject: SUBJECT, issuer: ISSUER}

describe('matchIdentity: exact values compare equal, regexps search', () => {
  it('an exact subject is not a prefix, a substring or a regexp', () => {
    assert.equal(matchIdentity({subject: SUBJECT, issuer: ISSUER}, signer), undefined)
    for (const subject of [SUBJECT.slice(0, -1), 'siderolabs', 'https://github.com/siderolabs/.*'])
      assert.equal(
        matchIdentity({subject, issuer: ISSUER}, signer),
        `certificate identity ${JSON.stringify(SUBJECT)} is not ${JSON.stringify(subject)}`,
      )
  })
  it('an exact issuer is compared whole, with the signer named in the reason', () => {
    assert.equal(
      matchIdentity({subject: SUBJECT, issuer: 'https://token.actions.githubusercontent.co'}, signer),
      `certificate OIDC issuer "${ISSUER}" is not "https://token.actions.githubusercontent.co"`,
    )
  })
  it('a subject regexp is an unanchored search, and its mismatch names the regexp', () => {
    assert.equal(matchIdentity({subjectRegExp: 'siderolabs/talos', issuer: ISSUER}, signer), undefined)
    assert.equal(
      matchIdentity({subjectRegExp: '^siderolabs', issuer: ISSUER}, signer),
      `certificate identity "${SUBJECT}" does not match regexp "^siderolabs"`,
    )
  })
  it('an issuer regexp is an unanchored search, and its mismatch names the regexp', () => {
    assert.equal(matchIdentity({subject: SUBJECT, issuerRegExp: 'githubusercontent'}, signer), undefined)
    assert.equal(
      matchIdentity({subject: SUBJECT, issuerRegExp: '^https://accounts\\.google\\.com$'}, signer),
      `certificate OIDC issuer "${ISSUER}" does not match regexp "^https://accounts\\\\.google\\\\.com$"`,
    )
  })
  it('a certificate with no subject or no issuer matches no requirement, not even .* (nor the text "undefined")', () => {
    for (const subjectRegExp of ['.*', 'undefined', 'null'])
      assert.equal(
        matchIdentity({subjectRegExp, issuer: ISSUER}, {issuer: ISSUER}),
        `certificate identity null does not match regexp ${JSON.stringify(subjectRegExp)}`,
      )
    for (const issuerRegExp of ['.*', 'undefined'])
      assert.equal(
        matchIdentity({subject: SUBJECT, issuerRegExp}, {subject: SUBJECT}),
        `certificate OIDC issuer null does not match regexp ${JSON.stringify(issuerRegExp)}`,
      )
    assert.equal(
      matchIdentity({subject: SUBJECT, issuer: ISSUER}, {issuer: ISSUER}),
      `certificate identity null is not "${SUBJECT}"`,
    )
    assert.equal(
      matchIdentity({subject: SUBJECT, issuer: ISSUER}, {subject: SUBJECT}),
      `certificate OIDC issuer null is not "${ISSUER}"`,
    )
  })
  it('the subject is judged before the issuer (the reason names the first mismatch)', () => {
    assert.match(matchIdentity({subject: 'a', issuer: 'b'}, signer) ?? '', /^certificate identity /)
    assert.match(matchIdentity({subjectRegExp: 'x^', issuerRegExp: 'y^'}, signer) ?? '', /^certificate identity /)
  })
})

describe('validateIdentity: the shape of a requirement', () => {
  const refuses = (identity: object, message: string) =>
    assert.throws(() => validateIdentity(identity, 'rules[0].keyless'), {code: 'USAGE', message})
  it('exact and regexp together are contradictory, for the subject and for the issuer', () => {
    refuses(
      {subject: 'a', subjectRegExp: 'b', issuer: 'i'},
      'rules[0].keyless: give an exact subject or a subject regexp, not both',
    )
    refuses(
      {subject: 'a', issuer: 'i', issuerRegExp: 'j'},
      'rules[0].keyless: give an exact issuer or an issuer regexp, not both',
    )
  })
  it('a subject and an issuer are both required (an empty one counts as missing)', () => {
    refuses({issuer: 'i'}, 'rules[0].keyless: a subject (identity) or subject regexp is required')
    refuses({subject: '', issuer: 'i'}, 'rules[0].keyless: a subject (identity) or subject regexp is required')
    refuses({subjectRegExp: 's'}, 'rules[0].keyless: an OIDC issuer or issuer regexp is required')
    refuses({subject: 's', issuerRegExp: ''}, 'rules[0].keyless: an OIDC issuer or issuer regexp is required')
  })
  it('each regexp must be one Go would accept, and the refusal says which one', () => {
    assert.throws(() => validateIdentity({subjectRegExp: '(?=x)', issuer: 'i'}, 'flags'), {
      code: 'USAGE',
      message: /^unsupported flags subject regexp "\(\?=x\)"/,
    })
    assert.throws(() => validateIdentity({subject: 's', issuerRegExp: '(a)\\1'}, 'flags'), {
      code: 'USAGE',
      message: /^unsupported flags issuer regexp/,
    })
    assert.throws(() => validateIdentity({subject: 's', issuerRegExp: '(a)\\1'}), {
      message: /^unsupported identity issuer regexp/,
    })
  })
  it('accepts each well-formed combination', () => {
    for (const identity of [
      {subject: 's', issuer: 'i'},
      {subjectRegExp: 's', issuer: 'i'},
      {subject: 's', issuerRegExp: 'i'},
      {subjectRegExp: 's', issuerRegExp: 'i'},
    ])
      assert.doesNotThrow(() => validateIdentity(identity))
  })
})

describe('describeIdentity: how a rule is shown in verify output', () => {
  it('exact values plainly, regexps between ~/ /', () => {
    assert.equal(describeIdentity({subject: SUBJECT, issuer: ISSUER}), `identity ${SUBJECT}, issuer ${ISSUER}`)
    assert.equal(
      describeIdentity({subjectRegExp: '@siderolabs\\.com$', issuerRegExp: 'google'}),
      'identity~/@siderolabs\\.com$/, issuer~/google/',
    )
    assert.equal(describeIdentity({subjectRegExp: 'x', issuer: ISSUER}), `identity~/x/, issuer ${ISSUER}`)
    assert.equal(describeIdentity({subject: SUBJECT, issuerRegExp: 'y'}), `identity ${SUBJECT}, issuer~/y/`)
  })
  it('an incomplete requirement still reads as one (never the text "undefined")', () => {
    assert.equal(describeIdentity({}), 'identity~//, issuer~//')
  })
})
