// Policy semantics through the CLI (issue 10 findings 9, 10; issue 14 item 6): `airlock verify --policy FILE` on an
// archive exported from the example signatures (registry.example.test/airlock/hello, signed by release@example.test),
// offline under the no-network preload.
import assert from 'node:assert/strict'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {networkAttempts, runCli} from './support/cli.ts'
import {tempDir} from './support/layouts.ts'
import {exportFromLayout} from './support/signed-layout.ts'

const FIX = 'fixtures/example-signatures'
const KEYLESS = "keyless: {issuer: 'https://accounts.example.test', subject: 'release@example.test'}"

describe('verify --policy: rules read as Talos reads them', () => {
  let dir: string
  let cleanup: () => Promise<void>
  let archive: string
  /** verify under the no-network preload, which must record no attempt. */
  const offline = async (...args: string[]) => {
    const log = join(dir, 'verify-net.log')
    const r = await runCli(args, {networkLog: log})
    assert.deepEqual(networkAttempts(log), [], 'verify stays offline')
    return r
  }
  let n = 0
  const verify = (rules: string[], ...extra: string[]) => {
    const file = join(dir, `policy-${n++}.yaml`)
    writeFileSync(file, ['rules:', ...rules.map(r => `  - ${r}`)].join('\n') + '\n')
    return offline('verify', archive, '--trusted-root', `${FIX}/trusted_root.json`, '--policy', file, ...extra)
  }

  before(async () => {
    ;({dir, cleanup} = await tempDir())
    archive = join(dir, 'signed.tar')
    await exportFromLayout(
      `${FIX}/oci-layout`,
      ['registry.example.test/airlock/hello:v1'],
      archive,
      join(dir, 'net.log'),
    )
  })
  after(() => cleanup())

  it('a deny rule written with an upper-case host is refused, not passed over for a later skip', async () => {
    const r = await verify([
      "image: 'REGISTRY.EXAMPLE.TEST/airlock/hello'\n    deny: true",
      "image: '*'\n    skip: true",
    ])
    assert.equal(r.status, 2, r.stdout + r.stderr)
    assert.match(
      r.stderr,
      /rules\[0\]\.image: image glob "REGISTRY\.EXAMPLE\.TEST\/airlock\/hello" has upper-case letters.*registry\.example\.test\/airlock\/hello/,
    )
  })

  it('a Docker Hub rule spelled so that some Talos releases ignore it is refused with the spelling that works', async () => {
    for (const glob of ['busybox', 'docker.io/library/*']) {
      const r = await verify([`image: '${glob}'\n    deny: true`, "image: '*'\n    skip: true"])
      assert.equal(r.status, 2, r.stdout + r.stderr)
      assert.match(r.stderr, /write index\.docker\.io\/library\//)
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace')
    }
  })

  it('* matches across "/" as in Talos: registry.example.test/* denies airlock/hello', async () => {
    const r = await verify(["image: 'registry.example.test/*'\n    deny: true", `image: '*'\n    ${KEYLESS}`])
    assert.equal(r.status, 1, r.stdout + r.stderr)
    assert.match(r.stdout + r.stderr, /denied by .*rules\[0\]/)
    const ok = await verify([`image: 'registry.example.test/*'\n    ${KEYLESS}`])
    assert.equal(ok.status, 0, ok.stdout + ok.stderr)
  })

  it('identity regexps mean what they mean in Go: \\x{40} is "@", \\Z is refused (JavaScript would read a literal Z)', async () => {
    const flags = (regexp: string) =>
      offline(
        'verify',
        archive,
        '--trusted-root',
        `${FIX}/trusted_root.json`,
        '--certificate-oidc-issuer',
        'https://accounts.example.test',
        '--certificate-identity-regexp',
        regexp,
      )
    const hex = await flags('^release\\x{40}example\\.test$')
    assert.equal(hex.status, 0, hex.stdout + hex.stderr)
    const z = await flags('release@example\\.test\\Z')
    assert.equal(z.status, 2, z.stdout + z.stderr)
    assert.match(z.stderr, /\\Z is not RE2 syntax/)
  })
})
