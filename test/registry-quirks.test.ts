// Real registries we cannot run here (issue 18): export and push through the CLI against a front that answers the
// way each registry and version does (test/support/quirks-front.ts, one cited source per mode), with the real
// Distribution registry behind it holding the content. The source holds a legacy-signed image (.sig/.att tags,
// SET-only: export fetches proofs from the test Rekor) and a bundle-signed multi-platform index (bundles listed in
// the fallback tag). Export must carry the signatures; push must leave them reachable on the mirror, which
// `verify --registry` re-verifies through the same front, the way an in-cluster verifier finds them.
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {parseReference} from '../src/reference/index.ts'
import {RegistryClient} from '../src/registry/index.ts'
import {makeWorkDir} from './support/images.ts'
import {
  QUIRK_SOURCES,
  startQuirksFront,
  type QuirkMode,
  type QuirksFront,
  type QuirksFrontOptions,
} from './support/quirks-front.ts'
import {startRegistry, type StartedRegistry} from './support/registry.ts'
import {createTestSigstore, sampleImage, type TestSigstore} from './support/sigstore/index.ts'
import {pushBundleSignedIndex, putImage} from './support/sigstore/registry-images.ts'
import {type CliRun, runCli} from './support/cli.ts'
import {parseCliJson} from './support/json-contract.ts'

const ROOT = join(import.meta.dirname, '..')
const ID = 'release@airlock.test'
const ISSUER = 'https://accounts.airlock.test'

function cli(args: string[], input = ''): Promise<CliRun> {
  return runCli(args, {input})
}

describe('registries that cannot run here, replayed by a front over the real registry', () => {
  let source: StartedRegistry
  let mirror: StartedRegistry
  let ss: TestSigstore
  let work: {dir: string; cleanup(): void}
  let trustedRootFile: string
  const digests: Record<string, string> = {}
  const fronts: QuirksFront[] = []
  const policyArgs = () => [
    '--trusted-root',
    trustedRootFile,
    '--certificate-identity',
    ID,
    '--certificate-oidc-issuer',
    ISSUER,
  ]

  async function front(
    upstream: StartedRegistry,
    mode: QuirkMode,
    options: QuirksFrontOptions = {},
  ): Promise<QuirksFront> {
    const f = await startQuirksFront(upstream.host, mode, options)
    fronts.push(f)
    return f
  }

  async function exportThrough(f: QuirksFront, out: string, extra: string[] = []) {
    return cli([
      'export',
      '-o',
      out,
      '--insecure-registry',
      f.host,
      '--no-tuf',
      '--rekor-url',
      ss.url,
      ...policyArgs(),
      ...extra,
      `${f.host}/t/legacy:v1`,
      `${f.host}/t/multi:v1`,
      '--json',
    ])
  }

  before(async () => {
    ;[source, mirror, ss] = await Promise.all([startRegistry(), startRegistry(), createTestSigstore()])
    work = makeWorkDir('airlock-quirks-')
    trustedRootFile = join(work.dir, 'trusted_root.json')
    writeFileSync(trustedRootFile, ss.trustedRootJSON())
    const client = new RegistryClient({insecure: source.insecure})
    const open = (ref: string) => client.repository(parseReference(ref))
    const id = {identity: ID, issuer: ISSUER}
    {
      const ref = `${source.host}/t/legacy`
      const img = sampleImage('quirks-legacy')
      await putImage(open(ref), img, 'v1')
      const digest = img.manifestDescriptor.digest
      await putImage(open(ref), ss.signImageLegacy(ref, digest, id), `${digest.replace(':', '-')}.sig`)
      await putImage(open(ref), ss.attestImageLegacy(ref, digest, id), `${digest.replace(':', '-')}.att`)
      digests.legacy = digest
    }
    {
      const ref = `${source.host}/t/multi`
      const {index} = await pushBundleSignedIndex(open(ref), ss, ref, 'quirks', id)
      digests.multi = index.descriptor.digest
    }
    client.close()
    if (!existsSync(join(ROOT, 'dist/cli/registry-flags.js')))
      execFileSync('npm', ['run', 'build'], {cwd: ROOT, stdio: 'ignore'})
  })

  after(async () => {
    await Promise.all(fronts.map(f => f.stop()))
    await Promise.all([source?.stop(), mirror?.stop(), ss?.stop()])
    work?.cleanup()
  })

  /** The signature artifacts export recorded per image reference, from `--json`. */
  function carried(stdout: string): number {
    const json = parseCliJson(stdout) as {signatures?: {artifacts?: number}}
    return json.signatures?.artifacts ?? 0
  }

  // The plain registry first: what every mode must match.
  let baseline = 0
  let archive = ''
  it('baseline: export from Distribution itself carries the legacy and bundle signatures', async () => {
    archive = join(work.dir, 'baseline.tar')
    const r = await cli([
      'export',
      '-o',
      archive,
      '--insecure-registry',
      source.host,
      '--no-tuf',
      '--rekor-url',
      ss.url,
      ...policyArgs(),
      `${source.host}/t/legacy:v1`,
      `${source.host}/t/multi:v1`,
      '--json',
    ])
    assert.equal(r.status, 0, r.stderr)
    baseline = carried(r.stdout)
    assert.ok(baseline >= 3, `legacy .sig + .att and the bundle: ${r.stdout}`)
  })

  const exportModes: QuirkMode[] = [
    'registry.k8s.io',
    'ghcr',
    'docker-hub-429',
    'quay-3.11',
    'quay-3.12',
    'harbor-2.7',
    'harbor-2.10',
    'harbor-2.11',
    'ecr',
    'slow-commit',
  ]
  for (const mode of exportModes) {
    it(`export through ${mode} carries every signature (${QUIRK_SOURCES[mode].slice(0, 60)}...)`, async () => {
      const f = await front(source, mode)
      const r = await exportThrough(f, join(work.dir, `export-${mode}.tar`))
      assert.equal(r.status, 0, `${mode}: ${r.stderr}`)
      assert.equal(carried(r.stdout), baseline, `${mode}: ${r.stdout}`)
      if (mode === 'registry.k8s.io') {
        // The signature tag is read by name, its bytes kept (one GET): the regional backends' gap by digest is
        // never met (the fallback for when it is: the next test).
        assert.ok(f.count(/GET \/v2\/t\/legacy\/manifests\/sha256-[a-f0-9]{64}\.sig -> 200/) >= 1, f.log.join('\n'))
        assert.equal(f.count(/\/v2\/t\/legacy\/manifests\/sha256:[a-f0-9]{64} -> 404/), 0, f.log.join('\n'))
      }
      if (mode === 'ghcr')
        assert.ok(f.count(/referrers\/sha256:[a-f0-9]{64} -> 303/) >= 1, 'the referrers redirect was met')
      if (mode === 'docker-hub-429') assert.equal(f.count(/-> 429/), 2, 'two 429s waited out')
    })
  }

  it('registry.k8s.io: a manifest missing by digest is fetched again by the tag that named it (HEAD-resolved, as push and staged exports do)', async () => {
    const f = await front(source, 'registry.k8s.io')
    const client = new RegistryClient({insecure: [f.host]})
    try {
      const repo = client.repository(parseReference(`${f.host}/t/legacy`))
      // HEAD (no read): the tag's digest is known, its bytes are not; the canonical backend answered the tag.
      const sig = await repo.resolve(`${digests.legacy!.replace(':', '-')}.sig`)
      const chunks: Buffer[] = []
      for await (const chunk of await repo.fetch(sig)) chunks.push(chunk as Buffer)
      assert.equal(Buffer.concat(chunks).length, sig.size)
      assert.ok(f.count(/GET \/v2\/t\/legacy\/manifests\/sha256:[a-f0-9]{64} -> 404/) >= 1, f.log.join('\n'))
      assert.ok(f.count(/GET \/v2\/t\/legacy\/manifests\/sha256-[a-f0-9]{64}\.sig -> 200/) >= 1, f.log.join('\n'))
    } finally {
      client.close()
    }
  })

  it('docker-hub-429: a limit that does not lift fails with the limit, what is left and when it resets', async () => {
    const f = await front(source, 'docker-hub-429', {rateLimited: Number.POSITIVE_INFINITY})
    const r = await cli([
      'export',
      '-o',
      join(work.dir, 'limited.tar'),
      '--insecure-registry',
      f.host,
      '--no-tuf',
      '--signatures',
      'skip',
      `${f.host}/t/legacy:v1`,
    ])
    assert.notEqual(r.status, 0)
    assert.match(r.stderr, /HTTP 429/)
    assert.match(
      r.stderr,
      /rate limiting \(limit 100 per 6 h, 0 left, counted for 203\.0\.113\.7, resets at \d{4}-\d\d-\d\dT[\d:]+Z\)/,
    )
    assert.equal(
      r.stderr
        .trim()
        .split('\n')
        .filter(l => /error/.test(l)).length,
      1,
      r.stderr,
    )
  })

  const pushModes: QuirkMode[] = [
    'quay-3.12',
    'harbor-2.7',
    'harbor-2.10',
    'harbor-2.11',
    'ghcr',
    'ecr',
    'slow-commit',
    'registry.k8s.io',
    'docker-hub-429',
  ]
  for (const mode of pushModes) {
    it(`push through ${mode} lands images and signatures where verifiers find them`, async () => {
      const f = await front(mirror, mode, mode.startsWith('harbor-') ? {harborPullPolicy: true} : {})
      const prefix = `m-${mode}`
      const extra = mode === 'slow-commit' ? ['--timeout', '1'] : []
      const r = await cli([
        'push',
        archive,
        `${f.host}/${prefix}`,
        '--insecure-registry',
        f.host,
        ...policyArgs(),
        ...extra,
        '--json',
      ])
      assert.equal(r.status, 0, `${mode}: ${r.stderr}`)
      const result = parseCliJson(r.stdout) as {capabilities: {referrersApi?: boolean}}
      const api = mode === 'quay-3.12' || mode === 'harbor-2.11'
      assert.equal(
        result.capabilities.referrersApi,
        api,
        `${mode}: referrers API detected only on a real 200 index listing what was pushed`,
      )
      // Without a usable API the bundles are in the fallback tag on the real registry behind the front.
      const direct = new RegistryClient({insecure: mirror.insecure})
      const fallback = `sha256-${digests.multi!.slice('sha256:'.length)}`
      const tags = await direct.repository(parseReference(`${mirror.host}/${prefix}/t/multi`)).tags()
      direct.close()
      assert.equal(
        tags.includes(fallback),
        !api,
        `${mode}: fallback tag ${api ? 'not needed' : 'written'}: ${tags.join(' ')}`,
      )
      if (mode === 'ecr') assert.ok(f.count(/PATCH .* -> 201/) >= 1, 'chunks answered 201')
      if (mode === 'slow-commit')
        assert.equal(f.count(/PUT .*digest=sha256.* -> 201/), f.count(/PUT .*digest=sha256/), 'each commit sent once')
      // Read back through the front as a verifier would (Harbor's pull policy off: it blocks pulls, not checks).
      f.options.harborPullPolicy = false
      const v = await cli([
        'verify',
        archive,
        '--registry',
        `${f.host}/${prefix}`,
        '--insecure-registry',
        f.host,
        ...policyArgs(),
      ])
      assert.equal(v.status, 0, `${mode}: ${v.stderr}\n${v.stdout}`)
    })
  }

  it('quay-3.11: a bundle manifest refused says which Quay setting allows it, in one line', async () => {
    const f = await front(mirror, 'quay-3.11')
    const r = await cli(['push', archive, `${f.host}/m-quay-3.11`, '--insecure-registry', f.host, ...policyArgs()])
    assert.notEqual(r.status, 0)
    assert.match(r.stderr, /does not accept Sigstore bundle manifests/)
    assert.match(r.stderr, /ALLOWED_OCI_ARTIFACT_TYPES/)
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace')
  })

  it('every mode names its source', () => {
    for (const [mode, source] of Object.entries(QUIRK_SOURCES))
      assert.match(source, /[a-z-]+\/[a-z.-]+#\d+|docs\.docker\.com|issue 18/, mode)
    assert.ok(
      readFileSync(join(ROOT, 'docs/REGISTRIES.md'), 'utf8').includes('quirks-front'),
      'docs/REGISTRIES.md lists the modes',
    )
  })
})
