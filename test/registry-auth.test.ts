// Authentication against real registries: htpasswd Basic behind TLS with a test CA, Bearer tokens from the test
// token server, credentials from docker's config.json (auths and a credential helper), and refusals.
import assert from 'node:assert/strict'
import {chmodSync, mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {parseReference} from '../src/reference/index.ts'
import {parseChallenges, RegistryClient, type RegistryOptions} from '../src/registry/index.ts'
import {buildImage, makeWorkDir, pushImage} from './support/images.ts'
import {startRegistry, TEST_PASSWORD, TEST_USER, type StartedRegistry} from './support/registry.ts'

const work = makeWorkDir('airlock-auth-')
after(() => work.cleanup())

async function roundTrip(registry: StartedRegistry, options: RegistryOptions, name: string): Promise<void> {
  const client = new RegistryClient(options)
  try {
    const repository = client.repository(parseReference(`${registry.host}/${name}`))
    const image = await buildImage(work.dir, {layerSizes: [2048]})
    await pushImage(repository, image, 'v1')
    assert.deepEqual(await repository.resolve('v1'), image.descriptor)
    assert.ok((await repository.fetchManifest('v1')).bytes.equals(image.manifestBytes))
    assert.deepEqual(await repository.tags(), ['v1'])
  } finally {
    client.close()
  }
}

function dockerConfig(content: unknown): string {
  const dir = join(work.dir, `docker-${Math.random().toString(36).slice(2)}`)
  mkdirSync(dir)
  writeFileSync(join(dir, 'config.json'), JSON.stringify(content))
  return dir
}

describe('WWW-Authenticate parsing', () => {
  it('reads realm, service and scope, with commas inside quotes', () => {
    const [bearer] = parseChallenges(
      'Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push repository:c:pull"',
    )
    assert.deepEqual(bearer, {
      scheme: 'bearer',
      params: {
        realm: 'https://auth.example/token',
        service: 'registry.example',
        scope: 'repository:a/b:pull,push repository:c:pull',
      },
    })
    const both = parseChallenges('Basic realm="x", Bearer realm="https://t/", error="invalid_token"')
    assert.deepEqual(
      both.map(c => c.scheme),
      ['basic', 'bearer'],
    )
    assert.equal(both[1]!.params.error, 'invalid_token')
  })
})

describe('Basic auth over TLS', () => {
  let registry: StartedRegistry
  before(async () => {
    registry = await startRegistry({auth: 'basic-tls'})
  })
  after(() => registry?.stop())

  it('pushes and pulls with explicit credentials and the test CA', () =>
    roundTrip(registry, {caFile: registry.caFile!, username: TEST_USER, password: TEST_PASSWORD}, 'basic/explicit'))

  it('refuses anonymous access with UNAUTHORIZED and a hint', async () => {
    const client = new RegistryClient({caFile: registry.caFile!, dockerConfigDir: dockerConfig({})})
    await assert.rejects(
      client.repository(parseReference(`${registry.host}/basic/explicit`)).resolve('v1'),
      (error: Error & {code?: string; hint?: string}) => {
        assert.equal(error.code, 'UNAUTHORIZED')
        assert.match(error.hint ?? '', /docker login/)
        return true
      },
    )
    client.close()
  })

  it('refuses a wrong password with UNAUTHORIZED', async () => {
    const client = new RegistryClient({caFile: registry.caFile!, username: TEST_USER, password: 'wrong'})
    await assert.rejects(client.repository(parseReference(`${registry.host}/basic/explicit`)).tags(), {
      code: 'UNAUTHORIZED',
    })
    client.close()
  })

  it('does not trust the certificate without the CA file, and never falls back to HTTP', async () => {
    const client = new RegistryClient({username: TEST_USER, password: TEST_PASSWORD})
    await assert.rejects(
      client.repository(parseReference(`${registry.host}/basic/explicit`)).tags(),
      (error: Error & {code?: string}) => {
        assert.equal(error.code, 'NETWORK_ERROR')
        assert.match(error.message, /CERT|certificate/i)
        return true
      },
    )
    client.close()
  })

  it('uses base64 `auths` entries from docker config.json', () =>
    roundTrip(
      registry,
      {
        caFile: registry.caFile!,
        dockerConfigDir: dockerConfig({
          auths: {
            [`https://${registry.host}`]: {auth: Buffer.from(`${TEST_USER}:${TEST_PASSWORD}`).toString('base64')},
          },
        }),
      },
      'basic/config',
    ))

  it('runs the credential helper named in credHelpers', async () => {
    const bin = join(work.dir, 'bin')
    mkdirSync(bin, {recursive: true})
    const log = join(work.dir, 'helper.log')
    const script = join(bin, 'docker-credential-test')
    writeFileSync(
      script,
      `#!/bin/sh\n[ "$1" = get ] || exit 1\nread server\necho "$server" >> ${log}\nprintf '{"ServerURL":"%s","Username":"${TEST_USER}","Secret":"${TEST_PASSWORD}"}' "$server"\n`,
    )
    chmodSync(script, 0o755)
    const missing = join(bin, 'docker-credential-empty')
    writeFileSync(missing, '#!/bin/sh\necho "credentials not found in native keychain"\nexit 1\n')
    chmodSync(missing, 0o755)
    const path = process.env.PATH
    process.env.PATH = `${bin}:${path}`
    try {
      await roundTrip(
        registry,
        {
          caFile: registry.caFile!,
          dockerConfigDir: dockerConfig({credHelpers: {[registry.host]: 'test'}, credsStore: 'empty'}),
        },
        'basic/helper',
      )
      // a credsStore that knows nothing means anonymous, which this registry refuses
      const client = new RegistryClient({
        caFile: registry.caFile!,
        dockerConfigDir: dockerConfig({credsStore: 'empty'}),
      })
      await assert.rejects(client.repository(parseReference(`${registry.host}/basic/helper`)).tags(), {
        code: 'UNAUTHORIZED',
      })
      client.close()
    } finally {
      process.env.PATH = path
    }
    const {readFileSync} = await import('node:fs')
    assert.match(readFileSync(log, 'utf8'), new RegExp(`^${registry.host}$`, 'm'))
  })
})

describe('Bearer token auth', () => {
  let registry: StartedRegistry
  before(async () => {
    registry = await startRegistry({auth: 'bearer'})
  })
  after(() => registry?.stop())

  it('pushes and pulls with tokens from the token server, cached per scope', async () => {
    await roundTrip(registry, {insecure: registry.insecure, username: TEST_USER, password: TEST_PASSWORD}, 'bearer/app')
    const requests = registry.tokenServer!.requests
    // one token for pull+push (the push side), one for pull-only requests: not one per request
    const scopes = new Set(requests.map(r => r.scopes.join(' ')))
    assert.deepEqual([...scopes].sort(), ['repository:bearer/app:pull', 'repository:bearer/app:pull,push'])
    assert.ok(requests.length <= 4, `token requests: ${requests.length}`)
  })

  it('mounts across repositories with a token covering both', async () => {
    const client = new RegistryClient({insecure: registry.insecure, username: TEST_USER, password: TEST_PASSWORD})
    try {
      const image = await buildImage(work.dir)
      const source = client.repository(parseReference(`${registry.host}/bearer/source`))
      await pushImage(source, image)
      const target = client.repository(parseReference(`${registry.host}/bearer/target`))
      assert.equal(await target.mount(image.layers[0]!.descriptor, 'bearer/source'), true)
      assert.equal(await target.exists(image.layers[0]!.descriptor), true)
      assert.ok(
        registry.tokenServer!.requests.some(
          r =>
            r.scopes.includes('repository:bearer/source:pull') &&
            r.scopes.includes('repository:bearer/target:pull,push'),
        ),
      )
    } finally {
      client.close()
    }
  })

  it('refuses anonymous access with UNAUTHORIZED', async () => {
    const client = new RegistryClient({insecure: registry.insecure, dockerConfigDir: dockerConfig({})})
    await assert.rejects(
      client.repository(parseReference(`${registry.host}/bearer/app`)).resolve('v1'),
      (error: Error & {code?: string; hint?: string}) => {
        assert.equal(error.code, 'UNAUTHORIZED')
        assert.match(error.hint ?? '', /credentials|login/)
        return true
      },
    )
    client.close()
  })
})
