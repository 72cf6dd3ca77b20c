// The JSON contract (issue 16 item 1) through the built CLI: every command's --json is the envelope and conforms to
// its schema (runCliJson validates), failures included; verify carries the auditor's flat fields (signers, archive
// and policy sha256, trust with units and the forecast).
import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import {readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {ROOT, runCli, runCliJson} from './support/cli.ts'
import {commandSchemas, contractErrors, schemaAjv} from './support/json-contract.ts'
import {tempDir} from './support/layouts.ts'

const FIX = 'fixtures/example-signatures'
const IMAGE = 'registry.example.test/airlock/hello:v1'
const TRUSTED_ROOT = join(ROOT, FIX, 'trusted_root.json')
const POLICY = [
  '--trusted-root',
  TRUSTED_ROOT,
  '--certificate-identity',
  'release@example.test',
  '--certificate-oidc-issuer',
  'https://accounts.example.test',
]
const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex')

interface Envelope {
  schemaVersion: number
  airlock: {version: string; commit: string | null}
  command: string
  ok: boolean
  startedAt: string
  durationSeconds: number
  problems: Array<{code: string; message: string; hint?: string; subject?: string}>
  error?: {code: string}
  [field: string]: unknown
}

describe('the --json contract', () => {
  let dir: string
  let cleanup: () => Promise<void>
  let archive: string

  before(async () => {
    ;({dir, cleanup} = await tempDir('airlock-contract-'))
    archive = join(dir, 'signed.tar')
    const e = await runCliJson<Envelope>([
      'export',
      '--no-tuf',
      '--no-rekor',
      '-o',
      archive,
      `oci:${FIX}/oci-layout:${IMAGE}`,
    ])
    assert.equal(e.status, 0, e.stderr)
    assert.equal(e.json.command, 'export')
    assert.equal(e.json.ok, true)
  })
  after(() => cleanup())

  it('every command has a schema, and every schema compiles (draft 2020-12, strict)', () => {
    const commands = readdirSync(join(ROOT, 'src/commands'))
      .filter(f => f.endsWith('.ts'))
      .map(f => f.slice(0, -3))
      .sort()
    assert.deepEqual(
      commands.filter(c => !commandSchemas().includes(c)),
      [],
      'add schema/<command>.schema.json (CONTRIBUTING.md)',
    )
    for (const id of ['envelope', ...commandSchemas()])
      assert.ok(schemaAjv().getSchema(`https://airlock.example/schema/1/${id}.schema.json`), id)
  })

  it('verify: the envelope, per-image digest, platforms and signers, archive and policy sha256, trust in seconds', async () => {
    const policy = join(dir, 'policy.yaml')
    writeFileSync(
      policy,
      'rules:\n  - image: "**"\n    keyless: {subject: release@example.test, issuer: https://accounts.example.test}\n',
    )
    const r = await runCliJson<Envelope>(['verify', archive, '--trusted-root', TRUSTED_ROOT, '--policy', policy])
    assert.equal(r.status, 0, r.stderr)
    const j = r.json
    assert.equal(j.schemaVersion, 1)
    assert.equal(j.command, 'verify')
    assert.equal(j.ok, true)
    assert.deepEqual(j.problems, [])
    assert.ok(Date.parse(j.startedAt) <= Date.now() && j.durationSeconds >= 0)
    assert.equal(j['archiveSha256'], sha256(archive))
    assert.deepEqual(j['policy'], {source: policy, sha256: sha256(policy), rules: 1})
    const image = (j['images'] as Array<Record<string, unknown>>)[0]!
    assert.equal(image['reference'], IMAGE)
    assert.match(String(image['digest']), /^sha256:8d0a5395/)
    assert.deepEqual(
      (image['platforms'] as Array<{platform: string; digest: string}>).map(p => p.digest),
      [image['digest']],
    )
    const signers = image['signers'] as Array<Record<string, unknown>>
    assert.ok(signers.length >= 1)
    const signature = signers.find(s => s['role'] === 'signature')!
    assert.equal(signature['identity'], 'release@example.test')
    assert.equal(signature['issuer'], 'https://accounts.example.test')
    assert.match(String(signature['logIndex']), /^\d+$/)
    assert.ok(Date.parse(String(signature['integratedTime'])) > 0)
    assert.ok((signature['checks'] as string[]).length > 0)
    const trust = j['trust'] as {sources: Array<{kind: string}>; forecast: {basis: string; noExpiry: string[]}}
    assert.deepEqual(
      trust.sources.map(s => s.kind),
      ['trusted-root'],
    )
    assert.equal(trust.forecast.basis, 'trusted-root')
    assert.deepEqual(trust.forecast.noExpiry, [`--trusted-root ${TRUSTED_ROOT}`])
    // the text output says the forecast in one line
    const text = await runCli(['verify', archive, ...POLICY])
    assert.equal(text.status, 0, text.stderr)
    assert.match(
      text.stdout,
      new RegExp(`^forecast: no expiry: --trusted-root ${TRUSTED_ROOT.replace(/[.]/g, '\\.')}$`, 'm'),
    )
  })

  it('a failing verify says why: ok false, problems name the image, the code and the reason', async () => {
    const r = await runCliJson<Envelope>([
      'verify',
      archive,
      '--trusted-root',
      TRUSTED_ROOT,
      '--certificate-identity',
      'someone@evil.test',
      '--certificate-oidc-issuer',
      'https://accounts.example.test',
    ])
    assert.equal(r.status, 1)
    assert.equal(r.json.ok, false)
    assert.equal(r.json.problems.length, 1, JSON.stringify(r.json.problems))
    const [problem] = r.json.problems
    assert.equal(problem!.code, 'POLICY_DENIED')
    assert.equal(problem!.subject, IMAGE)
    assert.match(problem!.message, /^signatures: .*someone@evil\.test|^signatures: .*release@example\.test/)
    assert.deepEqual((r.json['images'] as Array<{signers: unknown[]}>)[0]!.signers, [])
  })

  it('an error is the envelope too: ok false, the error as a problem with its hint, exit status kept', async () => {
    const missing = await runCliJson<Envelope>(['verify', join(dir, 'missing.tar'), '--signatures', 'skip'])
    assert.equal(missing.status, 1)
    assert.equal(missing.json.ok, false)
    assert.equal(missing.json.problems[0]!.code, 'NOT_FOUND')
    assert.equal(missing.json.error!.code, 'NOT_FOUND')
    const usage = await runCliJson<Envelope>(['verify', archive])
    assert.equal(usage.status, 2)
    assert.equal(usage.json.command, 'verify')
    assert.deepEqual(
      usage.json.problems.map(p => [p.code, typeof p.hint]),
      [['USAGE', 'string']],
    )
  })

  it('inspect, version, generate-key-pair, verify-blob (pass and fail) conform to their schemas', async () => {
    const inspect = await runCliJson<Envelope>(['inspect', archive])
    assert.equal(inspect.status, 0, inspect.stderr)
    assert.deepEqual(inspect.json['airlockExecutables'], [])
    const version = await runCliJson<Envelope>(['version'])
    assert.equal(version.json.airlock.version, version.json['version'])
    const keys = await runCliJson<Envelope>(['generate-key-pair', '--output-key-prefix', join(dir, 'k')], {
      env: {COSIGN_PASSWORD: 'x'},
    })
    assert.equal(keys.status, 0, keys.stderr)
    const blob = ['verify-blob', '--bundle', `${FIX}/hello.txt.sigstore.json`, `${FIX}/hello.txt`]
    const good = await runCliJson<Envelope>([...blob, ...POLICY])
    assert.equal(good.status, 0, good.stderr)
    assert.equal(good.json.ok, true)
    const bad = await runCliJson<Envelope>([
      ...blob,
      '--trusted-root',
      TRUSTED_ROOT,
      '--certificate-identity',
      'someone@evil.test',
      '--certificate-oidc-issuer',
      'https://accounts.example.test',
    ])
    assert.equal(bad.status, 1)
    assert.equal(bad.json.problems[0]!.code, 'POLICY_DENIED')
  })

  it('the schemas refuse what the contract forbids', () => {
    const base = {
      schemaVersion: 1,
      airlock: {version: '0.1.0', commit: null},
      command: 'version',
      ok: false,
      startedAt: new Date().toISOString(),
      durationSeconds: 0,
      problems: [],
      error: {code: 'INTERNAL', message: 'x'},
    }
    assert.notDeepEqual(contractErrors(base), [], 'ok false needs a problem')
    assert.deepEqual(contractErrors({...base, problems: [{code: 'INTERNAL', message: 'x'}]}), [])
    assert.notDeepEqual(contractErrors({...base, problems: [{code: 'NOPE', message: 'x'}]}), [], 'unknown code')
    assert.notDeepEqual(contractErrors({...base, startedAt: 'yesterday'}), [], 'ISO-8601 times')
    const {error: _error, ...success} = base
    assert.notDeepEqual(contractErrors({...success, ok: true}), [], "version's own fields are required")
  })
})
