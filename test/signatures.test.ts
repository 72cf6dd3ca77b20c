// Signatures end to end against a real registry (Distribution, which lacks the referrers API: bundles go through
// the fallback tag) and the test Sigstore instance (Rekor API on loopback): sign images in both formats, export
// with discovery and proofs, verify offline against an identity policy, and the attacks of issue 3.
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {TrustedRoot} from '@sigstore/protobuf-specs'
import {exportImages} from '../src/export/export.ts'
import type {Descriptor} from '../src/oci/descriptor.ts'
import {loadPolicy, type Policy} from '../src/policy/index.ts'
import {parseMirrorTarget, pushArchive} from '../src/push/index.ts'
import {parseReference} from '../src/reference/index.ts'
import {RegistryClient} from '../src/registry/index.ts'
import type {ImageJudgement} from '../src/sigstore/judge.ts'
import {signatureExportHooks} from '../src/export/signature-hook.ts'
import {parseSignaturesSection} from '../src/sigstore/section.ts'
import {signatureCheck} from '../src/verify/signatures.ts'
import {verifyArchive} from '../src/verify/verify.ts'
import type {VerifyReport} from '../src/verify/report-model.ts'
import {makeWorkDir} from './support/images.ts'
import {startRegistry, type StartedRegistry} from './support/registry.ts'
import {denyAllPolicy, keylessFlags} from './support/policies.ts'
import {createTestSigstore, referrersIndex, sampleImage, type TestSigstore} from './support/sigstore/index.ts'
import {pushBundleSignedIndex, putImage} from './support/sigstore/registry-images.ts'
import {runCli, runCliJson} from './support/cli.ts'
import {registryOpener} from './support/open-registry.ts'

const ID = 'release@airlock.test'
const ISSUER = 'https://accounts.airlock.test'
const id = {identity: ID, issuer: ISSUER}

describe('signatures: export, verify, push with a real registry and the test Sigstore instance', () => {
  let registry: StartedRegistry
  let ss: TestSigstore
  let client: RegistryClient
  let work: {dir: string; cleanup(): void}
  let trustedRoots: TrustedRoot[]
  let trustedRootFile: string
  let archive: string
  const refs: Record<string, string> = {}
  const digests: Record<string, string> = {}
  const open = (ref: string) => client.repository(parseReference(ref))
  const openRegistry = (reference: string) => registryOpener(client)(reference)
  const policy = (flags: Record<string, string>): Policy => loadPolicy(flags)
  const good = () => policy({'certificate-identity': ID, 'certificate-oidc-issuer': ISSUER})
  const verifyWith = (path: string, p: Policy): Promise<VerifyReport> =>
    verifyArchive(path, {imageChecks: [signatureCheck({policy: p, trustedRoots})]})
  const judgement = (report: VerifyReport, name: string): {ok: boolean; details: ImageJudgement; reasons: string[]} => {
    const image = report.images.find(i => i.reference === refs[name])
    assert.ok(image, `no image ${name} in report`)
    const check = image.checks.find(c => c.name === 'signatures')!
    return {ok: image.ok, details: check.details as ImageJudgement, reasons: check.reasons}
  }

  /** Single-platform image with legacy .sig (+ optionally .att) tags signed with `opts`. */
  async function legacyImage(
    name: string,
    opts: Parameters<TestSigstore['signImageLegacy']>[2] = id,
    attest = false,
  ): Promise<void> {
    const ref = `${registry.host}/t/${name}:v1`
    const repo = open(ref)
    const img = sampleImage(name)
    await putImage(repo, img, 'v1')
    const digest = img.manifestDescriptor.digest
    await putImage(repo, ss.signImageLegacy(ref.replace(/:v1$/, ''), digest, opts), `${digest.replace(':', '-')}.sig`)
    if (attest)
      await putImage(repo, ss.attestImageLegacy(ref.replace(/:v1$/, ''), digest, id), `${digest.replace(':', '-')}.att`)
    refs[name] = ref
    digests[name] = digest
  }

  before(async () => {
    ;[registry, ss] = await Promise.all([startRegistry(), createTestSigstore()])
    client = new RegistryClient({insecure: registry.insecure})
    work = makeWorkDir('airlock-sig-')
    trustedRootFile = join(work.dir, 'trusted_root.json')
    writeFileSync(trustedRootFile, ss.trustedRootJSON())
    trustedRoots = [TrustedRoot.fromJSON(JSON.parse(ss.trustedRootJSON()))]

    await legacyImage('legacy', id, true)
    await legacyImage('wrongid', {identity: 'mallory@evil.test', issuer: ISSUER})
    await legacyImage('expired', {...id, expiredAtLogTime: true})
    await legacyImage('untrusted', {...id, untrustedCa: true})
    await legacyImage('badset', {...id, tamper: 'set'})
    await legacyImage('badpayload', {...id, tamper: 'payload'})

    // A signature copied from another image: legacy's .sig manifest under copied's .sig tag.
    {
      const ref = `${registry.host}/t/copied:v1`
      const repo = open(ref)
      const img = sampleImage('copied')
      await putImage(repo, img, 'v1')
      const stolen = ss.signImageLegacy(refs['legacy']!.replace(/:v1$/, ''), digests['legacy']!, id)
      await putImage(repo, stolen, `${img.manifestDescriptor.digest.replace(':', '-')}.sig`)
      refs['copied'] = ref
    }

    // Multi-platform index signed with v0.3 bundles (signature + SLSA attestation) under the fallback tag.
    {
      const ref = `${registry.host}/t/multi:v1`
      const repo = open(ref)
      const {index} = await pushBundleSignedIndex(repo, ss, ref.replace(/:v1$/, ''), 'multi', id)
      refs['multi'] = ref
      digests['multi'] = index.descriptor.digest
    }

    // A bundle referrer whose inclusion proof was tampered with.
    {
      const ref = `${registry.host}/t/badproof:v1`
      const repo = open(ref)
      const img = sampleImage('badproof')
      await putImage(repo, img, 'v1')
      const sig = ss.signImageBundle(img.manifestDescriptor, ref.replace(/:v1$/, ''), {...id, tamper: 'proof'})
      await putImage(repo, sig)
      const fallback = referrersIndex([sig])
      await repo.pushManifest(
        fallback.bytes,
        fallback.descriptor.mediaType,
        img.manifestDescriptor.digest.replace(':', '-'),
      )
      refs['badproof'] = ref
    }

    const unsigned = sampleImage('unsigned')
    await putImage(open(`${registry.host}/t/unsigned:v1`), unsigned, 'v1')
    refs['unsigned'] = `${registry.host}/t/unsigned:v1`

    archive = join(work.dir, 'all.tar')
    const {hooks} = signatureExportHooks({mode: 'optional', rekorUrl: ss.url, trustedRoots})
    await exportImages({
      sources: Object.keys(refs)
        .filter(n => n !== 'unsigned')
        .map(n => refs[n]!),
      output: archive,
      openRegistry,
      hooks,
    })
  })

  after(async () => {
    client?.close()
    await Promise.all([registry?.stop(), ss?.stop()])
    work?.cleanup()
  })

  it('export records legacy tags and fallback-tag referrers per subject, and stores Rekor proofs for SET-only entries', async () => {
    const listing = execFileSync('tar', ['-tf', archive], {encoding: 'utf8'}).split('\n')
    const airlock = JSON.parse(execFileSync('tar', ['-xOf', archive, 'airlock.json'], {encoding: 'utf8'})) as Record<
      string,
      unknown
    >
    const section = parseSignaturesSection(airlock['signatures'])!
    const legacy = section.subjects.find(s => s.image === refs['legacy'])!
    assert.deepEqual(legacy.entries.map(e => [e.kind, e.role, e.tag]).sort(), [
      ['legacy-tag', 'attestation', `${digests['legacy']!.replace(':', '-')}.att`],
      ['legacy-tag', 'signature', `${digests['legacy']!.replace(':', '-')}.sig`],
    ])
    const multi = section.subjects.find(s => s.image === refs['multi'] && s.digest === digests['multi'])!
    assert.deepEqual(multi.entries.map(e => [e.kind, e.role]).sort(), [
      ['referrer', 'attestation'],
      ['referrer', 'signature'],
    ])
    const proofs = listing.filter(n => n.startsWith('sigstore/proofs/'))
    assert.ok(proofs.length >= 2, `proofs stored: ${proofs.join(', ')}`)
    assert.deepEqual(Object.values(section.proofs ?? {}).sort(), proofs.sort())
    assert.ok(ss.requests.some(r => r.startsWith('GET /api/v1/log/entries?logIndex=')))
  })

  it('verify passes for good signatures (legacy with the fetched proof checked, bundles on an index) and fails each attack', async () => {
    const report = await verifyWith(archive, good())
    const legacy = judgement(report, 'legacy')
    assert.equal(legacy.ok, true, legacy.reasons.join('\n'))
    const sig = legacy.details.subjects[0]!.results.find(r => r.kind === 'cosign-signature')!
    assert.equal(sig.checks.find(c => c.name === 'inclusion-proof')?.status, 'pass', JSON.stringify(sig.checks))
    assert.equal(sig.checks.find(c => c.name === 'checkpoint')?.status, 'pass')
    assert.equal(judgement(report, 'multi').ok, true, judgement(report, 'multi').reasons.join('\n'))

    const expect = (name: string, pattern: RegExp) => {
      const j = judgement(report, name)
      assert.equal(j.ok, false, `${name} should fail`)
      assert.match(j.reasons.join('\n'), pattern, name)
    }
    expect('copied', /payload names sha256:[0-9a-f]+, not this image/)
    expect('wrongid', /identity-policy.*mallory@evil\.test/)
    expect('expired', /certificate-chain|expired|valid/i)
    expect('untrusted', /certificate-chain/)
    expect('badset', /\bset\b/)
    expect('badpayload', /signature|tlog-body/)
    expect('badproof', /inclusion-proof|checkpoint/)
    assert.equal(report.ok, false)
  })

  it('wrong issuer fails; a policy file applies the first matching rule', async () => {
    const wrongIssuer = await verifyWith(
      archive,
      policy({'certificate-identity': ID, 'certificate-oidc-issuer': 'https://evil.test'}),
    )
    assert.equal(judgement(wrongIssuer, 'legacy').ok, false)
    assert.match(judgement(wrongIssuer, 'legacy').reasons[0]!, /issuer/)

    const file = join(work.dir, 'policy.yaml')
    writeFileSync(
      file,
      [
        'rules:',
        "  - image: '**/t/legacy'",
        `    keyless: {issuer: '${ISSUER}', subject: 'someone-else@airlock.test'}`,
        "  - image: '**/t/legacy'",
        `    keyless: {issuer: '${ISSUER}', subject: '${ID}'}`,
        "  - image: '**/t/multi'",
        `    keyless: {issuer: '${ISSUER}', subjectRegex: '@airlock\\.test$'}`,
        "  - image: '**/t/wrongid'",
        '    skip: true',
        "  - image: '**'",
        '    deny: true',
      ].join('\n') + '\n',
    )
    const r = await verifyWith(archive, policy({policy: file}))
    assert.equal(judgement(r, 'legacy').ok, false, 'the first matching rule decides, not the second')
    assert.match(judgement(r, 'legacy').reasons[0]!, /someone-else/)
    assert.equal(judgement(r, 'multi').ok, true)
    assert.equal(judgement(r, 'wrongid').ok, true, 'skip rule')
    assert.equal(judgement(r, 'copied').ok, false)
    assert.match(judgement(r, 'copied').reasons[0]!, /denied/)
  })

  it('--attestation-type: slsaprovenance passes (legacy .att and bundle), cyclonedx fails', async () => {
    const slsa = await verifyWith(
      archive,
      policy({'certificate-identity': ID, 'certificate-oidc-issuer': ISSUER, 'attestation-type': 'slsaprovenance'}),
    )
    assert.equal(judgement(slsa, 'legacy').ok, true, judgement(slsa, 'legacy').reasons.join('\n'))
    assert.equal(judgement(slsa, 'multi').ok, true, judgement(slsa, 'multi').reasons.join('\n'))
    const cdx = await verifyWith(
      archive,
      policy({'certificate-identity': ID, 'certificate-oidc-issuer': ISSUER, 'attestation-type': 'cyclonedx'}),
    )
    assert.equal(judgement(cdx, 'legacy').ok, false)
    assert.match(judgement(cdx, 'legacy').reasons[0]!, /attestation/)
  })

  it('an index with a platform manifest swapped in the archive fails verify, with or without fixed names', async () => {
    const good1 = join(work.dir, 'multi.tar')
    await exportImages({
      sources: [refs['multi']!],
      output: good1,
      openRegistry,
      hooks: signatureExportHooks({mode: 'required', trustedRoots}).hooks,
    })
    assert.equal((await verifyWith(good1, good())).ok, true)
    const index = JSON.parse(
      execFileSync('tar', ['-xOf', good1, `blobs/sha256/${digests['multi']!.slice(7)}`], {encoding: 'utf8'}),
    ) as {manifests: Descriptor[]}
    const child = index.manifests[1]!.digest.slice(7)
    const evil = sampleImage('evil', {architecture: 'arm64', os: 'linux'})
    for (const fixNames of [false, true]) {
      const dir = join(work.dir, `swap-${fixNames}`)
      mkdirSync(dir)
      execFileSync('tar', ['-xf', good1, '-C', dir])
      const blobs = join(dir, 'blobs', 'sha256')
      for (const b of [evil.config, ...evil.layers]) writeFileSync(join(blobs, b.descriptor.digest.slice(7)), b.bytes)
      if (fixNames) {
        execFileSync('rm', [join(blobs, child)])
        writeFileSync(join(blobs, evil.manifestDescriptor.digest.slice(7)), evil.manifest)
      } else writeFileSync(join(blobs, child), evil.manifest)
      const out = join(work.dir, `swap-${fixNames}.tar`)
      execFileSync('tar', ['-cf', out, '-C', dir, ...readdirSync(dir)])
      const report = await verifyWith(out, good())
      assert.equal(report.ok, false)
      const image = report.images[0]!
      const integrity = image.checks.find(c => c.name === 'integrity')!
      const text = [...report.problems.map(p => p.message), ...integrity.reasons].join('\n')
      assert.match(
        text,
        new RegExp(fixNames ? `${child.slice(0, 12)}|missing|not in the archive|unexpected` : 'hashes to'),
        text,
      )
      assert.equal(image.checks.find(c => c.name === 'signatures')?.skipped, 'integrity failed')
    }
  })

  it('export --signatures required fails on an unsigned image, naming it, and writes nothing; a bad bundle is caught by the export policy', async () => {
    const out = join(work.dir, 'unsigned.tar')
    await assert.rejects(
      exportImages({
        sources: [refs['unsigned']!],
        output: out,
        openRegistry,
        hooks: signatureExportHooks({mode: 'required'}).hooks,
      }),
      (e: Error & {code?: string}) => e.code === 'SIGNATURE_MISSING' && e.message.includes(refs['unsigned']!),
    )
    assert.equal(existsSync(out), false)
    const out2 = join(work.dir, 'badset.tar')
    await assert.rejects(
      exportImages({
        sources: [refs['badset']!],
        output: out2,
        openRegistry,
        hooks: signatureExportHooks({mode: 'required', policy: good(), trustedRoots, rekorUrl: ss.url}).hooks,
      }),
      (e: Error) => /badset.*signature policy not met/.test(e.message),
    )
    assert.equal(existsSync(out2), false)
  })

  it('CLI: export with policy + Rekor, verify exit 0 / 1, --json report', async () => {
    const out = join(work.dir, 'cli.tar')
    const policyArgs = keylessFlags(trustedRootFile, {identity: ID, issuer: ISSUER})
    const exported = await runCli([
      'export',
      '-o',
      out,
      '--no-tuf',
      '--insecure-registry',
      registry.host,
      '--rekor-url',
      ss.url,
      ...policyArgs,
      refs['legacy']!,
      refs['multi']!,
    ])
    assert.equal(exported.status, 0, exported.stderr)
    const text = await runCli(['verify', out, ...policyArgs])
    assert.equal(text.status, 0, text.stderr)
    assert.match(
      text.stdout,
      /signatures: +ok +signature .*identity release@airlock\.test, issuer https:\/\/accounts\.airlock\.test, log index \d+, integrated /,
    )
    const json = await runCliJson<VerifyReport>(['verify', out, ...policyArgs])
    assert.equal(json.status, 0, json.stderr)
    assert.equal(json.json.ok, true)
    const failed = await runCli([
      'verify',
      out,
      ...keylessFlags(trustedRootFile, {identity: 'x@evil.test', issuer: ISSUER}),
    ])
    assert.equal(failed.status, 1)
    assert.match(failed.stdout, /FAIL/)
  })

  it('push carries the .sig tag and the fallback-tag referrers; re-export from the mirror verifies', async () => {
    const out = join(work.dir, 'push.tar')
    await exportImages({
      sources: [refs['legacy']!, refs['multi']!],
      output: out,
      openRegistry,
      hooks: signatureExportHooks({mode: 'required', rekorUrl: ss.url, trustedRoots}).hooks,
    })
    const target = parseMirrorTarget(`${registry.host}/mirror`)
    const result = await pushArchive({
      archive: out,
      target,
      client,
      policy: good(),
      trust: {'trusted-root': [trustedRootFile]},
    })
    assert.ok(result.signatures.legacyTags >= 2 && result.signatures.referrers >= 2, JSON.stringify(result.signatures))
    const mirrored = open(`${registry.host}/mirror/t/legacy:v1`)
    const tags = await mirrored.tags()
    assert.ok(tags.includes(`${digests['legacy']!.replace(':', '-')}.sig`), tags.join(','))
    const mirroredMulti = open(`${registry.host}/mirror/t/multi:v1`)
    assert.ok((await mirroredMulti.tags()).includes(digests['multi']!.replace(':', '-')))
    const again = join(work.dir, 'from-mirror.tar')
    await exportImages({
      sources: [`${registry.host}/mirror/t/legacy:v1`, `${registry.host}/mirror/t/multi:v1`],
      output: again,
      openRegistry,
      hooks: signatureExportHooks({mode: 'required', fetchProofs: false}).hooks,
    })
    const report = await verifyWith(again, good())
    assert.equal(report.ok, true, JSON.stringify(report.images.map(i => i.checks)))
    // Pushing an archive whose verification fails pushes nothing.
    await assert.rejects(
      pushArchive({archive: out, target: parseMirrorTarget(`${registry.host}/never`), client, policy: denyAllPolicy()}),
      /nothing was pushed/,
    )
    assert.equal(readFileSync(out).length > 0, true)
  })
})
