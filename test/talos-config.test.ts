import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {parseAllDocuments} from 'yaml'
import {parseMirrorTarget} from '../src/reference/mirror-path.ts'
import {mirrorEndpoint, renderTalosYaml, rulesForRepositories, talosConfig} from '../src/talos/config.ts'

describe('Talos RegistryMirrorConfig', () => {
  it('points straight at the registry when there is no prefix', () => {
    assert.deepEqual(mirrorEndpoint(parseMirrorTarget('registry.dc.local:5000'), 'ghcr.io'), {
      url: 'https://registry.dc.local:5000',
    })
    assert.deepEqual(mirrorEndpoint(parseMirrorTarget('registry.dc.local'), 'ghcr.io', {plainHttp: true}), {
      url: 'http://registry.dc.local',
    })
  })

  it('uses /v2/PREFIX[/HOST] with overridePath when the mirror lives under a path', () => {
    const target = parseMirrorTarget('registry.dc.local/mirror')
    assert.deepEqual(mirrorEndpoint(target, 'ghcr.io'), {
      url: 'https://registry.dc.local/v2/mirror',
      overridePath: true,
    })
    assert.deepEqual(mirrorEndpoint(target, 'ghcr.io', {keepHost: true}), {
      url: 'https://registry.dc.local/v2/mirror/ghcr.io',
      overridePath: true,
    })
    assert.deepEqual(mirrorEndpoint(parseMirrorTarget('r.local'), 'index.docker.io', {keepHost: true}), {
      url: 'https://r.local/v2/docker.io',
      overridePath: true,
    })
  })

  it('emits one document per source registry, and rules in policy order', () => {
    const config = talosConfig({
      target: parseMirrorTarget('registry.dc.local/mirror'),
      keepHost: true,
      sourceRegistries: ['ghcr.io', 'docker.io', 'ghcr.io'],
      rules: [
        {
          image: 'ghcr.io/siderolabs/*',
          keyless: {issuer: 'https://accounts.google.com', subjectRegex: '@siderolabs\\.com$'},
        },
        {image: 'docker.io/library/*', skip: true},
        {image: 'registry.dc.local/*', publicKey: '-----BEGIN CERTIFICATE-----\nMII\n-----END CERTIFICATE-----\n'},
        {image: '*', deny: true},
      ],
    })
    const yaml = renderTalosYaml(config)
    const docs = parseAllDocuments(yaml).map(d => d.toJSON())
    assert.deepEqual(
      docs.map(d => [d.kind, d.name]),
      [
        ['RegistryMirrorConfig', 'docker.io'],
        ['RegistryMirrorConfig', 'ghcr.io'],
        ['ImageVerificationConfig', undefined],
      ],
    )
    assert.deepEqual(docs[1].endpoints, [{url: 'https://registry.dc.local/v2/mirror/ghcr.io', overridePath: true}])
    assert.equal(docs[1].skipFallback, true)
    assert.equal(docs[1].apiVersion, 'v1alpha1')
    assert.deepEqual(docs[2].rules, [
      {
        image: 'ghcr.io/siderolabs/*',
        keyless: {issuer: 'https://accounts.google.com', subjectRegex: '@siderolabs\\.com$'},
      },
      {image: 'docker.io/library/*', skip: true},
      {
        image: 'registry.dc.local/*',
        publicKey: {certificate: '-----BEGIN CERTIFICATE-----\nMII\n-----END CERTIFICATE-----'},
      },
      {image: '*', deny: true},
    ])
    assert.match(yaml, /^# WARNING: policy rule 1 .*online/m)
  })

  it('refuses a policy Talos cannot express rather than weakening it', () => {
    const base = {target: parseMirrorTarget('r.local'), sourceRegistries: ['ghcr.io']}
    assert.throws(
      () => talosConfig({...base, rules: [{image: 'ghcr.io/*', keyless: {issuerRegex: 'google', subject: 'a@b'}}]}),
      {code: 'UNSUPPORTED'},
    )
    assert.throws(() => talosConfig({...base, rules: [{image: 'ghcr.io/*'}]}), {code: 'UNSUPPORTED'})
  })

  it('turns a flags policy into one exact rule per repository', () => {
    const rules = rulesForRepositories(['ghcr.io/b', 'ghcr.io/a', 'ghcr.io/b'], {keyless: {issuer: 'i', subject: 's'}})
    assert.deepEqual(
      rules.map(r => r.image),
      ['ghcr.io/a', 'ghcr.io/b'],
    )
  })
})
