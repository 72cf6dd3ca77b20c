// All sigstore-conformance bundle-verify cases, read from the shared corpora at test time, in both artifact and
// sha256:<hex> forms: in-process through verifyBlob, and a handful through the built CLI.
import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import {existsSync, readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, it} from 'node:test'
import {isAirlockError} from '../src/errors.ts'
import {loadTrustedRoot, verifyBlob, type ArtifactInput, type SignerRequirement} from '../src/sigstore/index.ts'
import {runCliJson} from './support/cli.ts'

const CORPORA = '/work/shared/corpora'
const BASE = join(CORPORA, 'sigstore+sigstore-conformance/test/assets/bundle-verify')
const PROD_ROOT = join(CORPORA, 'sigstore+root-signing/targets/trusted_root.json')
const DEFAULT_IDENTITY =
  'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main'
const DEFAULT_ISSUER = 'https://token.actions.githubusercontent.com'

interface Case {
  name: string
  expectPass: boolean
  bundle: string
  artifact: string
  trustedRoot: string
  key?: string
  identity: string
  issuer: string
}

function loadCases(): Case[] {
  return readdirSync(BASE, {withFileTypes: true})
    .filter(d => d.isDirectory())
    .map(d => {
      const dir = join(BASE, d.name)
      const read = (f: string) => readFileSync(join(dir, f), 'utf8').trim()
      const c: Case = {
        name: d.name,
        expectPass: !d.name.endsWith('_fail'),
        bundle: join(dir, 'bundle.sigstore.json'),
        artifact: existsSync(join(dir, 'artifact')) ? join(dir, 'artifact') : join(BASE, 'a.txt'),
        trustedRoot: existsSync(join(dir, 'trusted_root.json')) ? join(dir, 'trusted_root.json') : PROD_ROOT,
        identity: existsSync(join(dir, 'identity')) ? read('identity') : DEFAULT_IDENTITY,
        issuer: existsSync(join(dir, 'issuer')) ? read('issuer') : DEFAULT_ISSUER,
      }
      if (existsSync(join(dir, 'key.pub'))) c.key = read('key.pub')
      return c
    })
    .sort((a, b) => a.name.localeCompare(b.name))
}

/** Mirrors the harness: a throw (e.g. a malformed trusted root) is a failed verification. */
function runInProcess(c: Case, form: 'artifact' | 'digest'): {ok: boolean; why: string} {
  const bytes = readFileSync(c.artifact)
  const artifact: ArtifactInput =
    form === 'artifact'
      ? {kind: 'bytes', bytes}
      : {kind: 'digest', algorithm: 'sha256', digest: createHash('sha256').update(bytes).digest()}
  const signer: SignerRequirement = c.key
    ? {kind: 'public-key'}
    : {kind: 'keyless', identities: [{subject: c.identity, issuer: c.issuer}]}
  try {
    const trustedRoots = [loadTrustedRoot(c.trustedRoot)]
    const report = verifyBlob({
      bundle: readFileSync(c.bundle),
      artifact,
      trust: c.key ? {trustedRoots, publicKeyPem: c.key} : {trustedRoots},
      signer,
    })
    return {ok: report.ok, why: report.failure ? `${report.failure.check}: ${report.failure.reason}` : 'ok'}
  } catch (error) {
    assert.ok(isAirlockError(error), `unexpected non-coded error in ${c.name}: ${String(error)}`)
    return {ok: false, why: `${error.code}: ${error.message}`}
  }
}

const cases = loadCases()

describe('sigstore-conformance bundle-verify (in-process)', () => {
  it('has all 70 cases (21 pass, 49 fail)', () => {
    assert.equal(cases.length, 70)
    assert.equal(cases.filter(c => c.expectPass).length, 21)
  })
  for (const form of ['artifact', 'digest'] as const) {
    describe(`${form} form`, () => {
      for (const c of cases) {
        it(`${c.name} ${c.expectPass ? 'passes' : 'fails'}`, () => {
          const {ok, why} = runInProcess(c, form)
          assert.equal(ok, c.expectPass, `${c.name} (${form}): ${why}`)
        })
      }
    })
  }
})

describe('sigstore-conformance bundle-verify (CLI)', () => {
  const picked = [
    'happy-path-v0.1',
    'happy-path-v0.3-new-mediaType',
    'managed-key-happy-path',
    'rekor2-happy-path',
    'signature-mismatch_fail',
    'checkpoint-wrong-roothash_fail',
    'managed-key-no-key_fail',
    'trust-root-tlog-missing-validity-start_fail',
  ]
  for (const name of picked) {
    for (const form of ['artifact', 'digest'] as const) {
      it(`${name} (${form})`, async () => {
        const c = cases.find(x => x.name === name)
        assert.ok(c, name)
        const subject =
          form === 'artifact'
            ? c.artifact
            : `sha256:${createHash('sha256').update(readFileSync(c.artifact)).digest('hex')}`
        const args = ['verify-blob', '--bundle', c.bundle, '--trusted-root', c.trustedRoot]
        if (c.key) args.push('--key', join(BASE, c.name, 'key.pub'))
        else args.push('--certificate-identity', c.identity, '--certificate-oidc-issuer', c.issuer)
        args.push(subject)
        const run = await runCliJson<{ok?: boolean; error?: {code: string; details?: {report?: {ok: boolean}}}}>(args)
        assert.equal(run.status, c.expectPass ? 0 : 1, `${name}: ${run.stdout}${run.stderr}`)
        const out = run.json
        if (c.expectPass) assert.equal(out.ok, true)
        else
          assert.ok(
            out.error?.code && (out.error.code === 'TRUST_INVALID' || out.error.details?.report?.ok === false),
            'a failure names its error code and carries the report',
          )
      })
    }
  }
})
