// Policy globs read exactly as Talos reads imagePattern (issue 14 item 6, issue 10 finding 9). The tables follow
// github.com/ryanuber/go-glob's glob_test.go and siderolabs/talos's rules_test.go and imageref_test.go; the subject
// is go-containerregistry's Repository.String() in older Talos (Docker Hub is index.docker.io/library/NAME) and the
// imageref RepositoryKey in newer Talos (docker.io/library/NAME, pattern registry normalized).
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {goGlob, normalizePattern, parsePolicy, ruleFor, talosRepositoryName, validateGlob} from '../src/policy/index.ts'

describe('goGlob is go-glob v1.0.0 (the version Talos pins)', () => {
  it('TestEmptyPattern', () => {
    assert.equal(goGlob('', ''), true)
    assert.equal(goGlob('', 'test'), false)
  })
  it('TestEmptySubject', () => {
    for (const p of ['', '*', '**', '***', '*'.repeat(16), '*'.repeat(1000000)])
      assert.equal(goGlob(p, ''), true, p.slice(0, 20))
    const star = '*'.repeat(1000000)
    for (const p of [
      'test',
      '*test*',
      '*x',
      '*'.repeat(17) + 'x',
      star + 'x',
      'x*',
      'x' + '*'.repeat(17),
      'x' + star,
      'x*x',
      'x' + '*'.repeat(16) + 'x',
      'x' + star + 'x',
    ])
      assert.equal(goGlob(p, ''), false, p.slice(0, 20))
  })
  it('TestPatternWithoutGlobs', () => assert.equal(goGlob('test', 'test'), true))
  it('TestGlob', () => {
    for (const p of [
      '*test',
      'this*',
      'this*test',
      '*is *',
      '*is*a*',
      '**test**',
      '**is**a***test*',
      '* *',
      '*',
      '**********',
      '*Ѿ*',
      '*is a ϗѾ *',
    ])
      assert.equal(goGlob(p, 'this is a ϗѾ test'), true, p)
    for (const p of ['test*', '*is', '*no*', ' ', '* ', ' *', '*ʤ*', 'this*this is a test'])
      assert.equal(goGlob(p, 'this is a test'), false, p)
  })
  it('* crosses "/"; nothing else is special', () => {
    assert.equal(goGlob('ghcr.io/siderolabs/*', 'ghcr.io/siderolabs/sub/image'), true)
    assert.equal(goGlob('*/t/legacy', '127.0.0.1:5000/t/legacy'), true)
    assert.equal(goGlob('ghcr.io/?iderolabs/*', 'ghcr.io/siderolabs/x'), false)
    assert.equal(goGlob('ghcr.io/[s]iderolabs/*', 'ghcr.io/siderolabs/x'), false)
    assert.equal(goGlob('ghcr.io/foo*o', 'ghcr.io/foo'), false, 'the prefix and the suffix do not overlap')
  })
})

describe("Talos's pattern normalization (imageref_test.go TestNormalizePattern)", () => {
  const table: [string, string][] = [
    ['registry.k8s.io/*', 'registry.k8s.io/*'],
    ['REGISTRY.K8S.IO/*', 'registry.k8s.io/*'],
    ['docker.io/library/nginx', 'docker.io/library/nginx'],
    ['index.docker.io/library/alpine*', 'docker.io/library/alpine*'],
    ['Index.Docker.IO/library/alpine*', 'docker.io/library/alpine*'],
    ['*', '*'],
    ['*.docker.io/library/*', '*.docker.io/library/*'],
    ['*/library/*', '*/library/*'],
    ['nginx*', 'nginx*'],
    ['index.docker.io*', 'docker.io*'],
    ['registry-1.docker.io/library/alpine*', 'docker.io/library/alpine*'],
    ['REGISTRY-1.DOCKER.IO*', 'docker.io*'],
    ['docker.io*', 'docker.io*'],
    ['INDEX.DOCKER.I*', 'index.docker.i*'],
    ['REGISTRY.K8S.IO', 'registry.k8s.io'],
    ['localhost:5000/*', 'localhost:5000/*'],
  ]
  for (const [pattern, expected] of table)
    it(`${pattern} -> ${expected}`, () => {
      assert.equal(normalizePattern(pattern), expected)
      assert.equal(normalizePattern(expected), expected)
    })
  it('go-containerregistry spells Docker Hub index.docker.io (name.DefaultRegistry); other registries as they are', () => {
    assert.equal(talosRepositoryName('docker.io/library/alpine'), 'index.docker.io/library/alpine')
    assert.equal(talosRepositoryName('ghcr.io/siderolabs/installer'), 'ghcr.io/siderolabs/installer')
  })
})

describe('rules as Talos matches them (rules_test.go TestRuleMatcher), where every Talos release agrees', () => {
  const policy = {
    source: 'p.yaml',
    insecureIgnoreTlog: false,
    rules: parsePolicy(
      [
        'registry.k8s.io/*',
        'index.docker.io/library/busybox*',
        'index.docker.io/library/alpine*',
        'ghcr.io/siderolabs/*',
        'index.docker.io*',
      ]
        .map(image => `- image: '${image}'\n  deny: true`)
        .join('\n')
        .replace(/^/, 'rules:\n')
        .replace(/\n/g, '\n  ')
        .replace('rules:\n  ', 'rules:\n  '),
      'p.yaml',
    ),
  }
  const table: [string, number | undefined][] = [
    ['registry.k8s.io/pause:3.9', 0],
    ['REGISTRY.K8S.IO/pause:3.9', 0],
    ['registry.k8s.io/pause@sha256:7031c1b283388d2c2e09b57badb803c05ebed362dc88d84b480cc47f72a21097', 0],
    ['docker.io/library/busybox:1.36', 1],
    ['busybox:1.36', 1],
    ['index.docker.io/library/busybox:1.36', 1],
    ['registry-1.docker.io/library/busybox:1.36', 1],
    ['REGISTRY-1.DOCKER.IO/busybox:1.36', 1],
    ['docker.io/library/alpine:3.19', 2],
    ['DOCKER.IO/library/alpine:3.19', 2],
    ['ghcr.io/siderolabs/kubelet:v1.34.1', 3],
    ['ghcr.io/siderolabs/sub/image:v1', 3],
    ['nginx:latest', 4],
    ['quay.io/some/image:v1.0.0', undefined],
    ['quay.io/registry.k8s.io:latest', undefined],
  ]
  for (const [reference, index] of table)
    it(`${reference} -> ${index === undefined ? 'no rule' : `rules[${index}]`}`, () => {
      const rule = ruleFor(policy, reference)
      assert.equal(rule.origin, index === undefined ? 'p.yaml (no rule matches; denied)' : `p.yaml rules[${index}]`)
    })
})

describe('globs that can never match, or that Talos releases read differently, are refused or deny', () => {
  const refused: [string, RegExp][] = [
    ['busybox', /write index\.docker\.io\/library\/busybox/],
    ['docker.io/busybox', /write index\.docker\.io\/library\/busybox/],
    ['index.docker.io/busybox', /write index\.docker\.io\/library\/busybox/],
    ['docker.io/library/busybox', /write index\.docker\.io\/library\/busybox/],
    ['docker.io/library/*', /write index\.docker\.io\/library\/\*/],
    ['registry-1.docker.io/library/*', /write index\.docker\.io\/library\/\*/],
    ['docker.io*', /write index\.docker\.io\*/],
    ['GHCR.IO/siderolabs/*', /lower-case: ghcr\.io\/siderolabs\/\*/],
    ['ghcr.io/siderolabs/Installer', /lower-case/],
    ['ghcr.io/siderolabs/installer:v1', /after the registry.*ghcr\.io\/siderolabs\/installer/],
    ['ghcr.io/siderolabs/installer@sha256:*', /characters no registry/],
    ['ghcr.io/?iderolabs/*', /characters no registry/],
    ['ghcr.io/{a,b}/*', /characters no registry/],
    ['ghcr.io/[s]iderolabs/*', /after the registry/],
    ['ghcr.io/siderolabs/*:v1', /after the registry/],
  ]
  for (const [glob, hint] of refused)
    it(`refuses ${glob}`, () =>
      assert.throws(
        () => validateGlob(glob),
        (error: Error & {code?: string; hint?: string}) => {
          assert.equal(error.code, 'USAGE')
          assert.match(`${error.message} ${error.hint ?? ''}`, hint)
          return true
        },
      ))
  for (const glob of [
    'ghcr.io/siderolabs/installer',
    'index.docker.io/library/busybox',
    '*',
    '**',
    'ghcr.io/siderolabs/*',
    '*/t/legacy',
    '[::1]:5000/*',
    'localhost:5000/app',
  ])
    it(`accepts ${glob}`, () => validateGlob(glob))

  it('a glob the two Talos readings disagree on denies the image, naming both readings', () => {
    const policy = {
      source: 'p.yaml',
      insecureIgnoreTlog: false,
      rules: parsePolicy(
        "rules:\n  - image: '*.docker.io/library/*'\n    skip: true\n  - image: '*'\n    skip: true\n",
        'p.yaml',
      ),
    }
    const rule = ruleFor(policy, 'alpine:3')
    assert.equal(rule.action, 'deny')
    assert.match(
      rule.origin,
      /p\.yaml rules\[0\].*matches index\.docker\.io\/library\/alpine in older Talos releases but does not match docker\.io\/library\/alpine/,
    )
    assert.equal(ruleFor(policy, 'ghcr.io/x/y:1').action, 'skip')
  })
})

describe('Talos ImageVerificationConfig emission', () => {
  it('a flags policy becomes exact rules spelled as every Talos release matches them; file globs carry over without a dialect warning', async () => {
    const {talosRulesFromPolicy} = await import('../src/talos/policy.ts')
    const flags = {
      source: 'flags',
      insecureIgnoreTlog: false,
      rules: [{image: '**', origin: 'flags', action: 'skip' as const}],
    }
    assert.deepEqual(
      talosRulesFromPolicy(flags, ['docker.io/library/alpine', 'ghcr.io/siderolabs/installer']).rules.map(r => r.image),
      ['ghcr.io/siderolabs/installer', 'index.docker.io/library/alpine'],
    )
    const file = {
      source: 'p.yaml',
      insecureIgnoreTlog: false,
      rules: parsePolicy(
        "rules:\n  - image: 'ghcr.io/siderolabs/**'\n    skip: true\n  - image: '*'\n    deny: true\n",
        'p.yaml',
      ),
    }
    const converted = talosRulesFromPolicy(file, [])
    assert.deepEqual(
      converted.rules.map(r => r.image),
      ['ghcr.io/siderolabs/**', '*'],
    )
    assert.deepEqual(converted.warnings, [])
    const bound = talosRulesFromPolicy({...file, requireContainerIdentity: true}, [])
    assert.match(bound.warnings.join('\n'), /Talos does not compare the signed repository name/)
  })
})
