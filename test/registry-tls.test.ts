// TLS and credentials as operators configure them (issue 18 finding 5, issue 12 item 6), through the CLI against
// real Distribution registries: two HTTPS registries with Basic auth and their own CAs, and one that requires a
// client certificate (mTLS, `http.tls.clientcas`). The certs.d root is AIRLOCK_CERTS_D here instead of
// /etc/containers/certs.d and /etc/docker/certs.d.
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {copyFileSync, existsSync, mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {parseReference} from '../src/reference/index.ts'
import {RegistryClient} from '../src/registry/index.ts'
import {buildImage, makeWorkDir, pushImage} from './support/images.ts'
import {startRegistry, TEST_PASSWORD, TEST_USER, type StartedRegistry} from './support/registry.ts'
import {type CliRun, runCli} from './support/cli.ts'

const ROOT = join(import.meta.dirname, '..')

function cli(args: string[], options: {input?: string; env?: Record<string, string>} = {}): Promise<CliRun> {
  const env = {AIRLOCK_CERTS_D: '', REGISTRY_AUTH_FILE: undefined, NODE_EXTRA_CA_CERTS: undefined, ...options.env}
  return runCli(args, {env, input: options.input ?? ''})
}

describe('TLS and credentials as operators configure them', () => {
  let a: StartedRegistry
  let b: StartedRegistry
  let m: StartedRegistry
  let work: {dir: string; cleanup(): void}
  let authFile: string
  const exportArgs = (out: string) => ['export', '-o', out, '--no-tuf', '--signatures', 'skip', '--force']

  before(async () => {
    ;[a, b, m] = await Promise.all([
      startRegistry({auth: 'basic-tls'}),
      startRegistry({auth: 'basic-tls'}),
      startRegistry({auth: 'mtls'}),
    ])
    work = makeWorkDir('airlock-tls-')
    const image = await buildImage(work.dir, {layerSizes: [1024, 2048]})
    for (const r of [a, b]) {
      const client = new RegistryClient({caFile: r.caFile!, username: TEST_USER, password: TEST_PASSWORD})
      await pushImage(client.repository(parseReference(`${r.host}/tls/app`)), image, '1')
      client.close()
    }
    const mc = new RegistryClient({caFile: m.caFile!, clientCert: m.clientCertFile!, clientKey: m.clientKeyFile!})
    await pushImage(mc.repository(parseReference(`${m.host}/tls/app`)), image, '1')
    mc.close()
    authFile = join(work.dir, 'auth.json')
    const auth = Buffer.from(`${TEST_USER}:${TEST_PASSWORD}`).toString('base64')
    writeFileSync(authFile, JSON.stringify({auths: {[a.host]: {auth}, [b.host]: {auth}}}))
    if (!existsSync(join(ROOT, 'dist/cli/registry-flags.js')))
      execFileSync('npm', ['run', 'build'], {cwd: ROOT, stdio: 'ignore'})
  })

  after(async () => {
    await Promise.all([a?.stop(), b?.stop(), m?.stop()])
    work?.cleanup()
  })

  it('--ca-file adds to the trust store: NODE_EXTRA_CA_CERTS still trusts the other registry; --authfile gives both logins', async () => {
    const r = await cli(
      [
        ...exportArgs(join(work.dir, 'two.tar')),
        '--ca-file',
        b.caFile!,
        '--authfile',
        authFile,
        `${a.host}/tls/app:1`,
        `${b.host}/tls/app:1`,
      ],
      {env: {NODE_EXTRA_CA_CERTS: a.caFile!}},
    )
    assert.equal(r.status, 0, r.stderr)
  })

  it('REGISTRY_AUTH_FILE is read like --authfile', async () => {
    const r = await cli([...exportArgs(join(work.dir, 'env.tar')), '--ca-file', a.caFile!, `${a.host}/tls/app:1`], {
      env: {REGISTRY_AUTH_FILE: authFile},
    })
    assert.equal(r.status, 0, r.stderr)
  })

  it('an untrusted certificate says so and names --ca-file and certs.d', async () => {
    const r = await cli([...exportArgs(join(work.dir, 'untrusted.tar')), '--authfile', authFile, `${a.host}/tls/app:1`])
    assert.equal(r.status, 1)
    assert.match(r.stderr, /TLS certificate of 127\.0\.0\.1:\d+ is not trusted/)
    assert.match(r.stderr, /--ca-file/)
    assert.match(r.stderr, /certs\.d/)
  })

  it('certs.d/<host>/ca.crt is trusted without any flag', async () => {
    const certsD = join(work.dir, 'certs.d')
    mkdirSync(join(certsD, b.host), {recursive: true})
    copyFileSync(b.caFile!, join(certsD, b.host, 'ca.crt'))
    const r = await cli([...exportArgs(join(work.dir, 'certsd.tar')), '--authfile', authFile, `${b.host}/tls/app:1`], {
      env: {AIRLOCK_CERTS_D: certsD},
    })
    assert.equal(r.status, 0, r.stderr)
  })

  it('mTLS: without a client certificate the error says the registry wants one', async () => {
    const r = await cli([...exportArgs(join(work.dir, 'nocert.tar')), '--ca-file', m.caFile!, `${m.host}/tls/app:1`])
    assert.equal(r.status, 1)
    assert.match(r.stderr, /client certificate/)
    assert.match(r.stderr, /--client-cert/)
  })

  it('mTLS with --client-cert/--client-key: export, then push --skip-verify into the same registry', async () => {
    const out = join(work.dir, 'mtls.tar')
    const tls = ['--ca-file', m.caFile!, '--client-cert', m.clientCertFile!, '--client-key', m.clientKeyFile!]
    const e = await cli([...exportArgs(out), ...tls, `${m.host}/tls/app:1`])
    assert.equal(e.status, 0, e.stderr)
    const p = await cli(['push', out, `${m.host}/mirror`, '--skip-verify', ...tls])
    assert.equal(p.status, 0, p.stderr)
  })

  it('mTLS from certs.d: ca.crt, client.cert and client.key under <host>/', async () => {
    const certsD = join(work.dir, 'certs.d-mtls')
    mkdirSync(join(certsD, m.host), {recursive: true})
    copyFileSync(m.caFile!, join(certsD, m.host, 'ca.crt'))
    copyFileSync(m.clientCertFile!, join(certsD, m.host, 'client.cert'))
    copyFileSync(m.clientKeyFile!, join(certsD, m.host, 'client.key'))
    const r = await cli([...exportArgs(join(work.dir, 'mtls-certsd.tar')), `${m.host}/tls/app:1`], {
      env: {AIRLOCK_CERTS_D: certsD},
    })
    assert.equal(r.status, 0, r.stderr)
  })

  it('--client-cert without --client-key is a usage error', async () => {
    const r = await cli([
      ...exportArgs(join(work.dir, 'half.tar')),
      '--client-cert',
      m.clientCertFile!,
      `${m.host}/tls/app:1`,
    ])
    assert.equal(r.status, 2)
    assert.match(r.stderr, /--client-cert and --client-key go together/)
  })

  it('--username without --password-stdin is a usage error', async () => {
    const r = await cli([
      ...exportArgs(join(work.dir, 'nopw.tar')),
      '--ca-file',
      a.caFile!,
      '--username',
      TEST_USER,
      `${a.host}/tls/app:1`,
    ])
    assert.equal(r.status, 2)
    assert.match(r.stderr, /--username airlock needs a password/)
  })

  it('--username/--password-stdin go to the first image registry only; the other keeps its own login', async () => {
    // b's login is in the auth file with b's password; a's explicit password would be refused there.
    const other = join(work.dir, 'auth-b.json')
    writeFileSync(
      other,
      JSON.stringify({auths: {[b.host]: {auth: Buffer.from(`${TEST_USER}:${TEST_PASSWORD}`).toString('base64')}}}),
    )
    const r = await cli(
      [
        ...exportArgs(join(work.dir, 'bound.tar')),
        '--ca-file',
        a.caFile!,
        '--authfile',
        other,
        '--username',
        'someone-else',
        '--password-stdin',
        `${b.host}/tls/app:1`,
      ],
      {input: 'not the password\n', env: {NODE_EXTRA_CA_CERTS: b.caFile!}},
    )
    // The explicit credentials belong to b (the first image's registry) and are wrong there: rejected, said so.
    // (b alone here: with a second image the two registries are asked concurrently and a's own 401 may come first.)
    assert.equal(r.status, 1)
    assert.match(r.stderr, new RegExp(`${b.host.replace(/\./g, '\\.')} rejected the credentials`))
    // Wrong credentials bound to another registry are never offered to this one: its auth-file login works.
    const ok = await cli(
      [
        ...exportArgs(join(work.dir, 'bound2.tar')),
        '--authfile',
        other,
        '--username',
        'someone-else',
        '--password-stdin',
        '--creds-for',
        a.host,
        `${b.host}/tls/app:1`,
      ],
      {input: 'not the password\n', env: {NODE_EXTRA_CA_CERTS: b.caFile!}},
    )
    assert.equal(ok.status, 0, ok.stderr)
  })
})
