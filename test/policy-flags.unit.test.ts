// The flag-to-policy mapping in process (issue 13 item 5): CLI tests cover it through dist/, which mutation testing
// cannot reach, so each flag's effect on the policy a command verifies under is pinned here.
import assert from 'node:assert/strict'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, it} from 'node:test'
import {Parser} from '@oclif/core'
import {identityFlags, loadPolicy, POLICY_FLAG_NAMES, policyFlags, policyGiven, ruleFor} from '../src/policy/index.ts'

const ISSUER = 'https://token.actions.githubusercontent.com'
const SUBJECT = 'https://github.com/siderolabs/talos/.github/workflows/ci.yaml@refs/heads/main'
const dir = mkdtempSync(join(tmpdir(), 'airlock-policy-flags-'))
const KEY_PEM = '-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n'
writeFileSync(join(dir, 'cosign.pub'), KEY_PEM)
writeFileSync(join(dir, 'policy.yaml'), 'rules:\n  - image: ghcr.io/siderolabs/*\n    skip: true\n')

describe('keyless identity flags become one rule for every image', () => {
  const cases: Array<[Record<string, string>, Record<string, string>]> = [
    [
      {'certificate-identity': SUBJECT, 'certificate-oidc-issuer': ISSUER},
      {subject: SUBJECT, issuer: ISSUER},
    ],
    [
      {'certificate-identity-regexp': '@siderolabs\\.com$', 'certificate-oidc-issuer-regexp': 'github'},
      {subjectRegExp: '@siderolabs\\.com$', issuerRegExp: 'github'},
    ],
    [
      {'certificate-identity': SUBJECT, 'certificate-oidc-issuer-regexp': 'githubusercontent'},
      {subject: SUBJECT, issuerRegExp: 'githubusercontent'},
    ],
  ]
  for (const [flags, identity] of cases)
    it(`${Object.keys(flags).join(' + ')} -> ${Object.keys(identity).join(' + ')}`, () => {
      const policy = loadPolicy(flags)
      assert.deepEqual(policy, {
        source: 'flags',
        rules: [{image: '**', origin: 'flags', action: 'keyless', identities: [identity]}],
        insecureIgnoreTlog: false,
      })
      for (const image of ['ghcr.io/siderolabs/talos:v1.9.0', 'nginx', 'localhost:5000/a/b/c@sha256:' + 'a'.repeat(64)])
        assert.equal(ruleFor(policy, image).action, 'keyless', image)
    })

  it('an identity without an issuer (or the reverse) is refused: "any signer" cannot be written by accident', () => {
    assert.throws(() => loadPolicy({'certificate-identity': SUBJECT}), {code: 'USAGE', message: /issuer/})
    assert.throws(() => loadPolicy({'certificate-identity-regexp': '.*'}), {code: 'USAGE', message: /issuer/})
    assert.throws(() => loadPolicy({'certificate-oidc-issuer': ISSUER}), {code: 'USAGE', message: /subject/})
    assert.throws(() => loadPolicy({'certificate-oidc-issuer-regexp': 'x'}), {code: 'USAGE', message: /subject/})
    assert.throws(() => loadPolicy({'certificate-identity-regexp': '(?=x)', 'certificate-oidc-issuer': ISSUER}), {
      code: 'USAGE',
    })
  })

  it('no policy flag at all is a usage error that names the flags to give', () => {
    assert.throws(
      () => loadPolicy({'insecure-ignore-tlog': true}),
      (error: Error & {code?: string; hint?: string}) => {
        assert.equal(error.code, 'USAGE')
        assert.match(error.message, /no verification policy given/)
        assert.match(error.hint ?? '', /--certificate-identity.*--key.*--policy/)
        return true
      },
    )
  })
})

describe('--key and --policy', () => {
  it('--key reads the PEM into one public-key rule for every image', () => {
    assert.deepEqual(loadPolicy({key: join(dir, 'cosign.pub')}), {
      source: 'flags',
      keyFile: join(dir, 'cosign.pub'),
      rules: [{image: '**', origin: 'flags', action: 'public-key', publicKeyPem: KEY_PEM}],
      insecureIgnoreTlog: false,
    })
  })
  it('an unreadable --key is a usage error naming the file', () => {
    const missing = join(dir, 'missing.pub')
    assert.throws(() => loadPolicy({key: missing}), {
      code: 'USAGE',
      message: new RegExp(`^cannot read --key ${missing}: .*ENOENT`),
    })
  })
  it('--key with identity flags is refused, naming each one', () => {
    assert.throws(
      () =>
        loadPolicy({key: join(dir, 'cosign.pub'), 'certificate-identity': SUBJECT, 'certificate-oidc-issuer': ISSUER}),
      {code: 'USAGE', message: '--key cannot be combined with --certificate-identity, --certificate-oidc-issuer'},
    )
  })
  it('--policy reads the rules file; identity flags or --key beside it are refused', () => {
    const file = join(dir, 'policy.yaml')
    const policy = loadPolicy({policy: file})
    assert.equal(policy.source, file)
    assert.deepEqual(
      policy.rules.map(r => [r.image, r.action, r.origin]),
      [['ghcr.io/siderolabs/*', 'skip', `${file} rules[0]`]],
    )
    assert.throws(() => loadPolicy({policy: file, key: join(dir, 'cosign.pub')}), {
      code: 'USAGE',
      message: '--policy cannot be combined with --key; put identities in the policy file',
    })
    assert.throws(
      () => loadPolicy({policy: file, 'certificate-identity-regexp': 'x', 'certificate-oidc-issuer': ISSUER}),
      {
        code: 'USAGE',
        message:
          '--policy cannot be combined with --certificate-identity-regexp, --certificate-oidc-issuer; put identities in the policy file',
      },
    )
  })
})

describe('options that apply to every rule', () => {
  const keyless = {'certificate-identity': SUBJECT, 'certificate-oidc-issuer': ISSUER}
  it('--insecure-ignore-tlog is on only when given', () => {
    assert.equal(loadPolicy({...keyless, 'insecure-ignore-tlog': true}).insecureIgnoreTlog, true)
    assert.equal(loadPolicy({...keyless, 'insecure-ignore-tlog': false}).insecureIgnoreTlog, false)
    assert.equal(loadPolicy({key: join(dir, 'cosign.pub'), 'insecure-ignore-tlog': true}).insecureIgnoreTlog, true)
  })
  it('--require-container-identity is carried only when true, with every kind of policy', () => {
    assert.equal(loadPolicy({...keyless, 'require-container-identity': true}).requireContainerIdentity, true)
    assert.equal('requireContainerIdentity' in loadPolicy({...keyless, 'require-container-identity': false}), false)
    assert.equal(
      loadPolicy({policy: join(dir, 'policy.yaml'), 'require-container-identity': true}).requireContainerIdentity,
      true,
    )
  })
  it('--attestation-type is checked and carried as given', () => {
    assert.equal(loadPolicy({...keyless, 'attestation-type': 'SLSAProvenance'}).attestationType, 'SLSAProvenance')
    assert.equal(
      loadPolicy({...keyless, 'attestation-type': 'https://example.com/predicate/v1'}).attestationType,
      'https://example.com/predicate/v1',
    )
    assert.throws(() => loadPolicy({...keyless, 'attestation-type': 'slsa'}), {
      code: 'USAGE',
      message: 'unknown attestation type "slsa"',
    })
  })
})

describe('which flags name a policy (export, verify and push decide whether to verify signatures)', () => {
  it('each policy flag alone names one', () => {
    for (const name of ['policy', 'key', ...Object.keys(identityFlags).filter(f => f.startsWith('certificate-'))])
      assert.equal(policyGiven({[name]: 'x'}), true, name)
    assert.deepEqual([...POLICY_FLAG_NAMES].sort(), [
      'certificate-identity',
      'certificate-identity-regexp',
      'certificate-oidc-issuer',
      'certificate-oidc-issuer-regexp',
      'key',
      'policy',
    ])
  })
  it('options alone name none', () => {
    assert.equal(policyGiven({}), false)
    assert.equal(
      policyGiven({'insecure-ignore-tlog': true, 'attestation-type': 'spdx', 'require-container-identity': true}),
      false,
    )
  })
})

describe('the flags as oclif parses them', () => {
  it('--require-container-identity needs a flag that names a signer', async () => {
    await assert.rejects(Parser.parse(['--require-container-identity'], {flags: policyFlags}), (error: Error) => {
      assert.match(error.message, /--require-container-identity: --policy, --key, --certificate-identity/)
      return true
    })
    for (const with_ of [
      ['--key', 'k.pub'],
      ['--policy', 'p.yaml'],
      ['--certificate-identity-regexp', 'x'],
    ]) {
      const {flags} = await Parser.parse(['--require-container-identity', ...with_], {flags: policyFlags})
      assert.equal(flags['require-container-identity'], true, with_[0])
    }
  })
  it('--insecure-ignore-tlog is off unless given', async () => {
    assert.equal((await Parser.parse([], {flags: policyFlags})).flags['insecure-ignore-tlog'], false)
    assert.equal(
      (await Parser.parse(['--insecure-ignore-tlog'], {flags: identityFlags})).flags['insecure-ignore-tlog'],
      true,
    )
  })
  it('every policy flag has a help line and is listed under POLICY in --help', () => {
    for (const [name, flag] of Object.entries(policyFlags)) {
      assert.ok((flag.summary ?? '').length > 20, name)
      assert.equal(flag.helpGroup, 'POLICY', name)
    }
    assert.ok((policyFlags['require-container-identity'].description ?? '').includes('Off by default'))
  })
})
