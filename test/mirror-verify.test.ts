// `airlock verify --registry` / `push --check` (issue 5): signatures re-verified from what the MIRROR serves, the way
// an in-cluster verifier finds them. A plain-HTTP source registry and a Basic-auth + TLS mirror (Distribution 2.8:
// no referrers API, so bundles travel through the fallback tag), the test Sigstore instance (Rekor on loopback).
// Export signed images -> push --check -> verify --registry passes and names the signer; then the mirror is
// attacked through the raw registry API and each attack fails with one line naming the image and the problem.
import assert from 'node:assert/strict'
import {readFileSync, writeFileSync} from 'node:fs'
import https from 'node:https'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {TrustedRoot} from '@sigstore/protobuf-specs'
import {exportImages} from '../src/export/export.ts'
import {loadPolicy} from '../src/policy/index.ts'
import {mirrorCheckError, type MirrorCheckResult} from '../src/verify/mirror-check.ts'
import {parseMirrorTarget, pushArchive} from '../src/push/index.ts'
import {parseReference} from '../src/reference/index.ts'
import {RegistryClient} from '../src/registry/index.ts'
import {signatureExportHooks} from '../src/export/signature-hook.ts'
import {makeWorkDir} from './support/images.ts'
import {startRegistry, type StartedRegistry} from './support/registry.ts'
import {checkMirrorOf} from './support/mirror-check.ts'
import {keylessFlags} from './support/policies.ts'
import {createTestSigstore, sampleImage, type TestSigstore} from './support/sigstore/index.ts'
import {pushBundleSignedIndex, putImage} from './support/sigstore/registry-images.ts'
import {runCli, runCliJson} from './support/cli.ts'
import {registryOpener} from './support/open-registry.ts'

const ID = 'release@airlock.test'
const ISSUER = 'https://accounts.airlock.test'
const id = {identity: ID, issuer: ISSUER}

describe('verify --registry / push --check: signatures verified from the mirror', () => {
  let source: StartedRegistry
  let mirror: StartedRegistry
  let ss: TestSigstore
  let sourceClient: RegistryClient
  let mirrorClient: RegistryClient
  let work: {dir: string; cleanup(): void}
  let archive: string
  let trustedRootFile: string
  let trustedRoots: TrustedRoot[]
  const digests: Record<string, string> = {}
  const policy = () => loadPolicy({'certificate-identity': ID, 'certificate-oidc-issuer': ISSUER})
  const target = () => parseMirrorTarget(`${mirror.host}/dc`)
  const mirrorRepo = (name: string) => mirrorClient.repository(parseReference(`${mirror.host}/dc/t/${name}`))
  const legacyTarget = () => `${mirror.host}/dc/t/legacy:v1`
  const multiTarget = () => `${mirror.host}/dc/t/multi:v1`
  const check = (): Promise<MirrorCheckResult> =>
    checkMirrorOf(archive, {target: target(), client: mirrorClient, signatures: {policy: policy(), trustedRoots}})
  // Repairing a mirror whose tags were moved is an explicit --force (issue 10, finding 1: tags never move silently).
  const repush = () => pushArchive({archive, target: target(), client: mirrorClient, skipVerify: true, force: true})
  const cli = (args: string[], input?: string) => runCli(args, input === undefined ? {} : {input})
  const mirrorArgs = () => ['--ca-file', mirror.caFile!, '--username', mirror.username!, '--password-stdin']
  const policyArgs = () => keylessFlags(trustedRootFile, id)

  /** The raw Distribution API: DELETE a manifest by digest (storage delete is enabled in test registries). */
  function deleteManifest(repository: string, digest: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const req = https.request(
        `${mirror.url}/v2/${repository}/manifests/${digest}`,
        {
          method: 'DELETE',
          ca: readFileSync(mirror.caFile!),
          agent: false,
          auth: `${mirror.username}:${mirror.password}`,
        },
        res => {
          res.resume()
          res.on('end', () => resolve(res.statusCode ?? 0))
        },
      )
      req.on('error', reject)
      req.end()
    })
  }

  before(async () => {
    ;[source, mirror, ss] = await Promise.all([
      startRegistry(),
      startRegistry({auth: 'basic-tls'}),
      createTestSigstore(),
    ])
    sourceClient = new RegistryClient({insecure: source.insecure})
    mirrorClient = new RegistryClient({caFile: mirror.caFile!, username: mirror.username!, password: mirror.password!})
    work = makeWorkDir('airlock-mirror-verify-')
    trustedRootFile = join(work.dir, 'trusted_root.json')
    writeFileSync(trustedRootFile, ss.trustedRootJSON())
    trustedRoots = [TrustedRoot.fromJSON(JSON.parse(ss.trustedRootJSON()))]
    const open = (ref: string) => sourceClient.repository(parseReference(ref))

    // A single-platform image signed the legacy way (.sig + .att tags; SET-only, so export fetches proofs).
    {
      const ref = `${source.host}/t/legacy`
      const img = sampleImage('mirror-legacy')
      await putImage(open(ref), img, 'v1')
      const digest = img.manifestDescriptor.digest
      await putImage(open(ref), ss.signImageLegacy(ref, digest, id), `${digest.replace(':', '-')}.sig`)
      await putImage(open(ref), ss.attestImageLegacy(ref, digest, id), `${digest.replace(':', '-')}.att`)
      digests['legacy'] = digest
    }
    // A multi-platform index signed with bundles, listed in the fallback tag (no referrers API here).
    {
      const ref = `${source.host}/t/multi`
      const repo = open(ref)
      const {index, att} = await pushBundleSignedIndex(repo, ss, ref, 'mirror', id)
      digests['multi'] = index.descriptor.digest
      digests['multi-att'] = att.manifestDescriptor.digest
      digests['multi-att-size'] = String(att.manifest.length)
      digests['multi-att-type'] = att.manifestDescriptor.mediaType
    }

    archive = join(work.dir, 'signed.tar')
    await exportImages({
      sources: [`${source.host}/t/legacy:v1`, `${source.host}/t/multi:v1`],
      output: archive,
      openRegistry: registryOpener(sourceClient),
      hooks: signatureExportHooks({mode: 'required', rekorUrl: ss.url, trustedRoots, policy: policy()}).hooks,
    })
  })

  after(async () => {
    sourceClient?.close()
    mirrorClient?.close()
    await Promise.all([source?.stop(), mirror?.stop(), ss?.stop()])
    work?.cleanup()
  })

  it('push --check pushes and verifies the signatures from the mirror, naming the signer', async () => {
    const r = await cli(
      ['push', archive, `${mirror.host}/dc`, '--check', ...policyArgs(), ...mirrorArgs()],
      mirror.password!,
    )
    assert.equal(r.status, 0, r.stderr)
    assert.match(
      r.stderr,
      new RegExp(
        `check: ok +${source.host.replace(/\./g, '\\.')}/t/legacy:v1 -> ${mirror.host.replace(/\./g, '\\.')}/dc/t/legacy:v1: tag ok; .*signature artifact\\(s\\) found on the mirror; signed by release@airlock\\.test \\(issuer https://accounts\\.airlock\\.test\\)`,
      ),
    )
    assert.match(r.stderr, /check: mirror: ok: 2\/2 image\(s\) intact on .*, signatures verified from the mirror/)
  })

  it('verify --registry runs the archive verify, then the mirror check; --json has per-image mirror results', async () => {
    const text = await cli(
      ['verify', archive, ...policyArgs(), '--registry', `${mirror.host}/dc`, ...mirrorArgs()],
      mirror.password!,
    )
    assert.equal(text.status, 0, text.stderr)
    assert.match(text.stdout, /signatures: +ok/) // the archive part
    assert.match(
      text.stdout,
      /ok +.*\/t\/multi:v1 -> .*\/dc\/t\/multi:v1: tag ok; 3 manifest\(s\).*signed by release@airlock\.test/,
    )
    assert.match(text.stdout, /mirror: ok: 2\/2 image\(s\) intact/)

    const json = await runCliJson<{ok: boolean; images: unknown[]; mirror: MirrorCheckResult}>(
      ['verify', archive, ...policyArgs(), '--registry', `${mirror.host}/dc`, ...mirrorArgs()],
      {input: mirror.password!},
    )
    assert.equal(json.status, 0, json.stderr)
    const report = json.json
    assert.equal(report.ok, true)
    assert.equal(report.images.length, 2)
    assert.equal(report.mirror.passed, true)
    assert.equal(report.mirror.signaturesVerified, true)
    for (const image of report.mirror.images) {
      assert.equal(image.tag?.ok, true)
      assert.equal(image.verification?.ok, true)
      assert.equal(image.verification?.signer?.identity, ID)
      assert.equal(image.verification?.signer?.issuer, ISSUER)
      assert.ok(
        image.verification!.found.some(f => f.role === 'signature'),
        JSON.stringify(image.verification!.found),
      )
      assert.deepEqual(image.problems, [])
    }
    const legacy = report.mirror.images.find(i => i.source.endsWith('/t/legacy:v1'))!
    assert.deepEqual(legacy.verification!.found.map(f => f.tag).sort(), [
      `${digests['legacy']!.replace(':', '-')}.att`,
      `${digests['legacy']!.replace(':', '-')}.sig`,
    ])
    // The legacy signature's inclusion proof (fetched at export, carried in the archive) was checked.
    assert.ok(
      legacy.verification!.lines.some(l => /ok +signature .*checks: .*inclusion-proof, checkpoint/.test(l)),
      legacy.verification!.lines.join('\n'),
    )

    // A usage error: mirror flags without --registry.
    const usage = await cli(['verify', archive, ...policyArgs(), '--keep-host'])
    assert.equal(usage.status, 2)
    assert.match(usage.stderr, /--keep-host needs --registry/)
  })

  it('the .sig tag deleted from the mirror (raw DELETE): fails naming the image; a re-push repairs it', async () => {
    const sigTag = `${digests['legacy']!.replace(':', '-')}.sig`
    const sig = await mirrorRepo('legacy').resolve(sigTag)
    assert.equal(await deleteManifest('dc/t/legacy', sig.digest), 202)
    const result = await check()
    assert.equal(result.passed, false)
    const image = result.images.find(i => i.target === legacyTarget())!
    assert.deepEqual(image.problems, [
      `${legacyTarget()}: signature tag ${sigTag} is missing`,
      `${legacyTarget()}: signatures: no signature found for this image`,
    ])
    assert.equal(image.verification?.errorCode, 'SIGNATURE_MISSING')
    assert.equal(
      result.images.find(i => i.target === multiTarget())!.problems.length,
      0,
      'the other image is not affected',
    )
    assert.equal(mirrorCheckError(result).message.includes('\n'), false)
    assert.equal(mirrorCheckError(result).code, 'SIGNATURE_MISSING')

    // The CLI says it in one line on stderr, exit 1.
    const r = await cli(
      ['verify', archive, ...policyArgs(), '--registry', `${mirror.host}/dc`, ...mirrorArgs()],
      mirror.password!,
    )
    assert.equal(r.status, 1)
    const errors = r.stderr.split('\n').filter(l => l.startsWith('airlock: error:'))
    assert.deepEqual(errors, [
      `airlock: error: mirror check failed: ${legacyTarget()}: signature tag ${sigTag} is missing`,
    ])

    await repush()
    assert.equal((await check()).passed, true)
  })

  it('the fallback tag overwritten with an index lacking the signature bundle: fails naming the image', async () => {
    const fallbackTag = digests['multi']!.replace(':', '-')
    const before = await mirrorRepo('multi').fetchManifest(fallbackTag)
    assert.equal(before.parsed.kind, 'index')
    // Only the attestation stays listed: a verifier finds no signature for the index (nor for its platforms).
    const index = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests:
        before.parsed.kind === 'index' ? before.parsed.manifests.filter(d => d.digest === digests['multi-att']) : [],
    }
    assert.equal(index.manifests.length, 1)
    await mirrorRepo('multi').pushManifest(Buffer.from(JSON.stringify(index)), index.mediaType, fallbackTag)
    const result = await check()
    assert.equal(result.passed, false)
    const image = result.images.find(i => i.target === multiTarget())!
    assert.match(
      image.problems.join('\n'),
      new RegExp(`^${multiTarget()}: referrer sha256:[0-9a-f]{64} of ${digests['multi']} is not listed$`, 'm'),
    )
    assert.match(
      image.problems.join('\n'),
      new RegExp(`^${multiTarget()}: signatures: no signature found for this image$`, 'm'),
    )
    assert.deepEqual(
      image.verification!.found.map(f => f.role),
      ['attestation'],
    )
    await repush()
    assert.equal((await check()).passed, true, 'push merges the missing referrer back into the fallback tag')
  })

  it('the image retagged to another digest on the mirror: fails naming the tag and both digests', async () => {
    const other = sampleImage('mirror-impostor')
    await putImage(mirrorRepo('legacy'), other, 'v1')
    const result = await check()
    assert.equal(result.passed, false)
    const image = result.images.find(i => i.target === legacyTarget())!
    assert.deepEqual(image.problems, [
      `${legacyTarget()}: tag v1 points at ${other.manifestDescriptor.digest}, the archive has ${digests['legacy']}`,
    ])
    assert.deepEqual(image.tag, {name: 'v1', digest: other.manifestDescriptor.digest, ok: false})
    await repush()
    assert.equal((await check()).passed, true)
  })

  it('the .sig replaced with one signed by the wrong identity: fails with the identity policy reason', async () => {
    const sigTag = `${digests['legacy']!.replace(':', '-')}.sig`
    const forged = ss.signImageLegacy(`${mirror.host}/dc/t/legacy`, digests['legacy']!, {
      identity: 'mallory@evil.test',
      issuer: ISSUER,
    })
    await putImage(mirrorRepo('legacy'), forged, sigTag)
    const result = await check()
    assert.equal(result.passed, false)
    const image = result.images.find(i => i.target === legacyTarget())!
    assert.equal(image.problems.length, 2, image.problems.join('\n'))
    assert.match(
      image.problems[0]!,
      new RegExp(
        `^${legacyTarget()}: signature tag ${sigTag} points at ${forged.manifestDescriptor.digest}, the archive has sha256:`,
      ),
    )
    assert.match(
      image.problems[1]!,
      new RegExp(
        `^${legacyTarget()}: signatures: valid signatures, but none satisfies .*identity-policy: .*mallory@evil\\.test`,
      ),
    )
    assert.equal(image.verification?.errorCode, 'POLICY_DENIED')
    assert.equal(mirrorCheckError(result).code, 'POLICY_DENIED')

    // Without a policy (integrity-only push) the check still sees the swapped tag, and says signatures were not judged.
    const presence = await checkMirrorOf(archive, {target: target(), client: mirrorClient})
    assert.equal(presence.passed, false)
    assert.equal(presence.signaturesVerified, false)
    assert.match(presence.summary, /signature presence only/)
    await repush()
    assert.equal((await check()).passed, true)
  })

  it('--keep-host: the check maps repositories exactly as push did', async () => {
    const kh = parseMirrorTarget(`${mirror.host}/kh`)
    await pushArchive({archive, target: kh, client: mirrorClient, keepHost: true, skipVerify: true})
    const ok = await checkMirrorOf(archive, {
      target: kh,
      client: mirrorClient,
      keepHost: true,
      signatures: {policy: policy(), trustedRoots},
    })
    assert.equal(ok.passed, true, ok.problems.join('\n'))
    assert.equal(ok.images[0]!.target, `${mirror.host}/kh/${source.host.replace(':', '_')}/t/legacy:v1`)
    const unmapped = await checkMirrorOf(archive, {
      target: kh,
      client: mirrorClient,
      signatures: {policy: policy(), trustedRoots},
    })
    assert.equal(unmapped.passed, false)
    assert.match(unmapped.problems[0]!, new RegExp(`^${mirror.host}/kh/t/legacy:v1: tag v1 is missing$`))
  })
})
