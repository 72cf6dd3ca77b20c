import assert from 'node:assert/strict'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, it} from 'node:test'
import {compileGoRegExp, loadPolicy, matchIdentity, parsePolicy, ruleFor} from '../src/policy/index.ts'

const FILE = `
apiVersion: v1alpha1
kind: ImageVerificationConfig
rules:
  - image: ghcr.io/siderolabs/installer
    deny: true
  - image: ghcr.io/siderolabs/*
    keyless:
      issuer: https://accounts.google.com
      subjectRegex: '@siderolabs\\.com$'
  - image: index.docker.io/library/*
    skip: true
  - image: registry.example.com/**
    publicKey:
      certificate: |
        -----BEGIN PUBLIC KEY-----
        MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE
        -----END PUBLIC KEY-----
`

describe('policy rules file', () => {
  const policy = {source: 'p.yaml', rules: parsePolicy(FILE, 'p.yaml'), insecureIgnoreTlog: false}
  it('first matching rule wins, in file order', () => {
    assert.equal(ruleFor(policy, 'ghcr.io/siderolabs/installer:v1.4.0').action, 'deny')
    assert.equal(ruleFor(policy, 'ghcr.io/siderolabs/kubelet:v1.30.0').action, 'keyless')
  })
  it('globs match registry/repository only, as Talos does: * is any run of characters, / included', () => {
    assert.equal(ruleFor(policy, 'nginx:latest').action, 'skip')
    assert.equal(ruleFor(policy, 'index.docker.io/library/nginx@sha256:' + 'a'.repeat(64)).action, 'skip')
    assert.equal(ruleFor(policy, 'registry.example.com/a/b/c:1').action, 'public-key')
    assert.equal(ruleFor(policy, 'ghcr.io/siderolabs/sub/image:1').action, 'keyless')
    const unmatched = ruleFor(policy, 'quay.io/siderolabs/image:1')
    assert.equal(unmatched.action, 'deny')
    assert.match(unmatched.origin, /no rule matches/)
  })
  it('records where each rule came from', () => assert.equal(policy.rules[1]?.origin, 'p.yaml rules[1]'))
  it('accepts JSON and picks the ImageVerificationConfig out of a multi-document Talos config', () => {
    assert.equal(parsePolicy(JSON.stringify({rules: [{image: '**', skip: true}]})).length, 1)
    const multi = `kind: RegistryMirrorConfig\nname: docker.io\n---\n${FILE}`
    assert.equal(parsePolicy(multi).length, 4)
  })
  it('rejects malformed files listing every problem', () => {
    const bad = `rules:\n  - image: a/*\n    skip: true\n    deny: true\n  - keyless: {subject: x}\n  - image: b\n    keyless: {issuer: i, subjectRegex: '(?=x)'}\n  - image: c\n    skip: true\n    extra: 1\n`
    assert.throws(
      () => parsePolicy(bad, 'bad.yaml'),
      (error: Error & {code?: string; details?: {problems: string[]}}) => {
        assert.equal(error.code, 'USAGE')
        const problems = error.details?.problems ?? []
        assert.ok(
          problems.some(p => /rules\[0\].*exactly one/.test(p)),
          problems.join('\n'),
        )
        assert.ok(problems.some(p => /rules\[1\]\.image/.test(p)))
        assert.ok(problems.some(p => /rules\[1\]\.keyless.*issuer/.test(p)))
        assert.ok(problems.some(p => /rules\[2\].*subjectRegex/.test(p)))
        assert.ok(problems.some(p => /rules\[3\]: unknown field "extra"/.test(p)))
        return true
      },
    )
    assert.throws(() => parsePolicy('rules: [', 'x.yaml'), {code: 'USAGE'})
    assert.throws(() => parsePolicy('kind: Other\nrules: []'), {code: 'USAGE'})
  })
})

describe('identity matching (cosign semantics)', () => {
  const signer = {subject: 'andrey.smirnov@siderolabs.com', issuer: 'https://accounts.google.com'}
  it('regexps are unanchored searches', () => {
    assert.equal(matchIdentity({subjectRegExp: 'siderolabs', issuer: signer.issuer}, signer), undefined)
    assert.equal(matchIdentity({subjectRegExp: '@siderolabs\\.com$', issuerRegExp: 'google'}, signer), undefined)
    assert.match(matchIdentity({subjectRegExp: '^siderolabs', issuer: signer.issuer}, signer) ?? '', /does not match/)
  })
  it('exact identity and issuer compare equal, not as substrings', () => {
    assert.equal(matchIdentity({subject: signer.subject, issuer: signer.issuer}, signer), undefined)
    assert.ok(matchIdentity({subject: 'siderolabs.com', issuer: signer.issuer}, signer))
    assert.ok(matchIdentity({subject: signer.subject, issuer: 'https://accounts.google.co'}, signer))
  })
  it('translates Go syntax and rejects what JavaScript would read differently', () => {
    assert.ok(compileGoRegExp('(?i)@SIDEROLABS\\.com$').test(signer.subject))
    assert.ok(compileGoRegExp('(?P<user>[a-z.]+)@').test(signer.subject))
    assert.ok(compileGoRegExp('\\Aandrey').test(signer.subject))
    for (const bad of ['(?=a)', '(?<!a)b', '(a)\\1', '[[:^alpha:]]', '\\pL', '(?U)a*'])
      assert.throws(() => compileGoRegExp(bad), {code: 'USAGE'}, bad)
  })
})

describe('policy from flags', () => {
  it('builds one keyless rule for every image', () => {
    const policy = loadPolicy({
      'certificate-identity-regexp': '@siderolabs\\.com$',
      'certificate-oidc-issuer': 'https://accounts.google.com',
    })
    const rule = ruleFor(policy, 'ghcr.io/any/thing:1')
    assert.equal(rule.action, 'keyless')
    assert.deepEqual(rule.action === 'keyless' && rule.identities, [
      {subjectRegExp: '@siderolabs\\.com$', issuer: 'https://accounts.google.com'},
    ])
  })
  it('requires identity and issuer, and refuses contradictory flags', () => {
    assert.throws(() => loadPolicy({}), {code: 'USAGE'})
    assert.throws(() => loadPolicy({'certificate-identity': 'a'}), /issuer/)
    assert.throws(
      () =>
        loadPolicy({'certificate-identity': 'a', 'certificate-identity-regexp': 'b', 'certificate-oidc-issuer': 'i'}),
      /not both/,
    )
    assert.throws(() => loadPolicy({policy: 'x.yaml', 'certificate-identity': 'a'}), /cannot be combined/)
    assert.throws(
      () => loadPolicy({'certificate-identity': 'a', 'certificate-oidc-issuer': 'i', 'attestation-type': 'nonsense'}),
      {code: 'USAGE'},
    )
  })
  it('reads --key and --policy files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'airlock-policy-'))
    writeFileSync(join(dir, 'k.pub'), '-----BEGIN PUBLIC KEY-----\nX\n-----END PUBLIC KEY-----\n')
    writeFileSync(join(dir, 'p.yaml'), FILE)
    assert.equal(loadPolicy({key: join(dir, 'k.pub')}).rules[0]?.action, 'public-key')
    const policy = loadPolicy({
      policy: join(dir, 'p.yaml'),
      'insecure-ignore-tlog': true,
      'attestation-type': 'slsaprovenance',
    })
    assert.equal(policy.rules.length, 4)
    assert.equal(policy.insecureIgnoreTlog, true)
    assert.equal(policy.attestationType, 'slsaprovenance')
  })
})
