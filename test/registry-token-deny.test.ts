// A token server that denies a scope (test/support/token-server.ts `denied`): like Docker's token services it still
// answers 200, with a token whose `access` claim omits what was refused, and the real registry (Distribution with
// `auth: token`) then answers 401 insufficient_scope. airlock must report that as a refusal naming the repository,
// in one line, after a bounded number of token requests (no loop), and keep working for the scopes it was granted.
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {parseReference} from '../src/reference/index.ts'
import {RegistryClient} from '../src/registry/index.ts'
import {buildImage, makeWorkDir, pushImage} from './support/images.ts'
import {startRegistry, TEST_PASSWORD, TEST_USER, type StartedRegistry} from './support/registry.ts'

describe('a token server that denies a scope (real registry, token auth)', () => {
  let registry: StartedRegistry
  const work = makeWorkDir('airlock-token-deny-')
  let client: RegistryClient
  before(async () => {
    registry = await startRegistry({auth: 'bearer'})
    client = new RegistryClient({insecure: registry.insecure, username: TEST_USER, password: TEST_PASSWORD})
  })
  after(async () => {
    client?.close()
    await registry?.stop()
    work.cleanup()
  })
  const tokenRequestsFor = (repo: string) =>
    registry.tokenServer!.requests.filter(r => r.scopes.some(s => s.startsWith(`repository:${repo}:`))).length

  it('push denied on one repository: refused with the repository named, pull of it and push elsewhere still work', async () => {
    const image = await buildImage(work.dir)
    // the image exists in the read-only repository (pushed before the deny) and pull works there
    await pushImage(client.repository(parseReference(`${registry.host}/deny/readonly`)), image, 'v1')
    registry.tokenServer!.denied.add('repository:deny/readonly:push')
    const fresh = new RegistryClient({insecure: registry.insecure, username: TEST_USER, password: TEST_PASSWORD})
    try {
      const before = tokenRequestsFor('deny/readonly')
      const other = await buildImage(work.dir)
      await assert.rejects(
        pushImage(fresh.repository(parseReference(`${registry.host}/deny/readonly`)), other, 'v2'),
        (error: Error & {code?: string}) => {
          assert.equal(error.code, 'UNAUTHORIZED')
          assert.match(
            error.message,
            new RegExp(`^push blob ${registry.host}/deny/readonly@sha256:[0-9a-f]{64}: HTTP 401`),
          )
          assert.doesNotMatch(error.message, /\n/)
          assert.match(error.message, /lack permission to push to deny\/readonly/)
          return true
        },
      )
      assert.ok(
        tokenRequestsFor('deny/readonly') - before <= 3,
        `token requests for the denied scope: ${tokenRequestsFor('deny/readonly') - before}`,
      )
      // pull was not denied: the same client still reads the repository, and pushes where push is granted
      const resolved = await fresh.repository(parseReference(`${registry.host}/deny/readonly`)).resolve('v1')
      assert.equal(resolved.digest, image.descriptor.digest)
      await pushImage(fresh.repository(parseReference(`${registry.host}/deny/writable`)), other, 'v1')
    } finally {
      fresh.close()
    }
  })

  it('every action denied on a repository: even a read is refused with the repository named', async () => {
    registry.tokenServer!.denied.add('repository:deny/secret')
    const fresh = new RegistryClient({insecure: registry.insecure, username: TEST_USER, password: TEST_PASSWORD})
    try {
      await assert.rejects(
        fresh.repository(parseReference(`${registry.host}/deny/secret`)).resolve('v1'),
        (error: Error & {code?: string}) => {
          assert.equal(error.code, 'UNAUTHORIZED')
          assert.match(error.message, new RegExp(`^HEAD manifest ${registry.host}/deny/secret:v1: HTTP 401`))
          return true
        },
      )
    } finally {
      fresh.close()
    }
  })
  // A logged-in user whose token lacks the scope must not be told to log in: the registry's 401 carries
  // error="insufficient_scope" after our credentials were exchanged for a token; the credentials lack permission.
  it('the hint for a denied scope does not tell a user who gave credentials to log in', async () => {
    const fresh = new RegistryClient({insecure: registry.insecure, username: TEST_USER, password: TEST_PASSWORD})
    try {
      await assert.rejects(
        fresh.repository(parseReference(`${registry.host}/deny/secret`)).resolve('v1'),
        (error: Error & {hint?: string; code?: string}) => {
          assert.equal(error.code, 'UNAUTHORIZED')
          assert.doesNotMatch(error.hint ?? '', /log in|--username/)
          assert.match(error.hint ?? error.message, /scope|not granted|denied|permission/i)
          // names the repository and the action that was refused
          assert.match(`${error.message} ${error.hint}`, /deny\/secret/)
          assert.match(`${error.message} ${error.hint}`, /\bpull\b/)
          return true
        },
      )
    } finally {
      fresh.close()
    }
  })
})
