// Proves the test Sigstore instance is real: everything it makes verifies with @sigstore/verify (SCT, SET,
// inclusion proof, checkpoint, identity), every tampered variant fails, and its Rekor API serves proofs that verify.
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import crypto from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {after, before, describe, it} from 'node:test'
import {X509Certificate} from '@sigstore/core'
import {TrustedRoot} from '@sigstore/protobuf-specs'
import {
  ANNOTATION,
  EMPTY_CONFIG,
  MEDIA,
  COSIGN_SIGN_PREDICATE_TYPE,
  cosignSimpleSigningPayload,
  createTestSigstore,
  digestOf,
  generateKeyPair,
  sampleImage,
  toPem,
  verifyInclusion,
  type TestSigstore,
} from './support/sigstore/index.ts'

const IDENTITY = 'release@airlock.test'
const ISSUER = 'https://accounts.airlock.test'
const PAYLOAD = Buffer.from('hello, airlock\n')

let ss: TestSigstore
before(async () => {
  ss = await createTestSigstore()
})
after(async () => {
  await ss?.stop()
})

const policy = {subjectAlternativeName: IDENTITY, extensions: {issuer: ISSUER}}

function rejects(fn: () => unknown, code: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    const c = (err as {code?: string}).code ?? ''
    assert.match(c, code, `unexpected error ${c}: ${(err as Error).message}`)
    return true
  })
}

/** What airlock's legacy adapter has to do: cosign annotations -> a bundle (v0.1 SET only, or v0.3 with a proof). */
function legacyToBundle(
  annotations: Record<string, string>,
  content: {messageDigest?: Buffer; signature?: string; dsseEnvelope?: object},
  proof?: {logIndex: number; rootHash: string; treeSize: number; hashes: string[]; checkpoint: string},
): object {
  const rekor = JSON.parse(annotations[ANNOTATION.bundle]!) as {
    SignedEntryTimestamp: string
    Payload: {body: string; integratedTime: number; logIndex: number; logID: string}
  }
  const body = JSON.parse(Buffer.from(rekor.Payload.body, 'base64').toString()) as {kind: string; apiVersion: string}
  const certPem = annotations[ANNOTATION.certificate]
  const der = certPem ? Buffer.from(certPem.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64') : undefined
  const entry = {
    logIndex: String(rekor.Payload.logIndex),
    logId: {keyId: Buffer.from(rekor.Payload.logID, 'hex').toString('base64')},
    kindVersion: {kind: body.kind, version: body.apiVersion},
    integratedTime: String(rekor.Payload.integratedTime),
    inclusionPromise: {signedEntryTimestamp: rekor.SignedEntryTimestamp},
    canonicalizedBody: rekor.Payload.body,
    ...(proof
      ? {
          inclusionProof: {
            logIndex: String(proof.logIndex),
            rootHash: Buffer.from(proof.rootHash, 'hex').toString('base64'),
            treeSize: String(proof.treeSize),
            hashes: proof.hashes.map(h => Buffer.from(h, 'hex').toString('base64')),
            checkpoint: {envelope: proof.checkpoint},
          },
        }
      : {}),
  }
  const key = der
    ? proof
      ? {certificate: {rawBytes: der.toString('base64')}}
      : {x509CertificateChain: {certificates: [{rawBytes: der.toString('base64')}]}}
    : {publicKey: {hint: ss.staticKeyHint}}
  return {
    mediaType: proof
      ? 'application/vnd.dev.sigstore.bundle.v0.3+json'
      : 'application/vnd.dev.sigstore.bundle+json;version=0.1',
    verificationMaterial: {...key, tlogEntries: [entry]},
    ...(content.dsseEnvelope
      ? {dsseEnvelope: content.dsseEnvelope}
      : {
          messageSignature: {
            messageDigest: {algorithm: 'SHA2_256', digest: content.messageDigest!.toString('base64')},
            signature: content.signature,
          },
        }),
  }
}

async function getJson(url: string, init?: RequestInit): Promise<{status: number; body: any}> {
  const res = await fetch(url, init)
  return {status: res.status, body: await res.json()}
}
const postJson = (url: string, body: unknown) =>
  getJson(url, {method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify(body)})

describe('test Sigstore instance', () => {
  it('issues a Fulcio-style leaf: chain, 10 min validity, SAN, issuer .1.1 and .1.8, EKU, embedded SCT', () => {
    const leaf = ss.issueLeaf({identity: IDENTITY, issuer: ISSUER})
    const cert = X509Certificate.parse(Buffer.from(leaf.der))
    assert.equal(cert.subjectAltName, IDENTITY)
    assert.equal(cert.notAfter.getTime() - cert.notBefore.getTime(), 600_000)
    assert.equal(cert.extension('1.3.6.1.4.1.57264.1.1')?.value.toString(), ISSUER)
    assert.equal(cert.extension('1.3.6.1.4.1.57264.1.8')?.valueObj.subs[0]?.value.toString(), ISSUER)
    assert.ok(cert.extKeyUsage?.digitalSignature)
    assert.ok(cert.extSCT && cert.extSCT.signedCertificateTimestamps.length === 1)
    assert.ok(cert.verify(X509Certificate.parse(Buffer.from(ss.ca.intermediate.der))))
    const uri = X509Certificate.parse(
      Buffer.from(
        ss.issueLeaf({identity: 'https://github.com/o/r/.github/workflows/release.yml@refs/tags/v1', issuer: ISSUER})
          .der,
      ),
    )
    assert.equal(uri.subjectAltName, 'https://github.com/o/r/.github/workflows/release.yml@refs/tags/v1')
    // Independent cross-check with OpenSSL (test/preflight.ts requires it: never skipped): chain and code-signing purpose.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'airlock-ca-'))
    try {
      fs.writeFileSync(path.join(dir, 'root.pem'), toPem(ss.ca.root.der))
      fs.writeFileSync(path.join(dir, 'int.pem'), toPem(ss.ca.intermediate.der))
      fs.writeFileSync(path.join(dir, 'leaf.pem'), toPem(leaf.der))
      const out = execFileSync(
        'openssl',
        ['verify', '-x509_strict', '-CAfile', 'root.pem', '-untrusted', 'int.pem', 'leaf.pem'],
        {
          cwd: dir,
          encoding: 'utf8',
        },
      )
      assert.match(out, /leaf\.pem: OK/)
    } finally {
      fs.rmSync(dir, {recursive: true, force: true})
    }
  })

  it('trustedRoot() is a protobuf-specs TrustedRoot with the CA chain, tlog and CT log', () => {
    const json = ss.trustedRoot()
    assert.equal(json.mediaType, 'application/vnd.dev.sigstore.trustedroot+json;version=0.1')
    const root = TrustedRoot.fromJSON(json)
    assert.equal(root.certificateAuthorities[0]!.certChain!.certificates.length, 2)
    assert.deepEqual(Buffer.from(root.tlogs[0]!.logId!.keyId), ss.tlog.logId)
    assert.deepEqual(Buffer.from(root.ctlogs[0]!.logId!.keyId), ss.ctlog.logId)
    assert.equal(root.tlogs[0]!.baseUrl, ss.url)
    assert.ok(root.tlogs[0]!.publicKey!.validFor!.start! < new Date())
  })

  it('message-signature bundle verifies (SCT, SET, inclusion proof, checkpoint) with identity and issuer', () => {
    const {bundle, artifact} = ss.signBlob(PAYLOAD, {identity: IDENTITY, issuer: ISSUER})
    const e = bundle.verificationMaterial['tlogEntries'] as any[]
    assert.ok(e[0].inclusionPromise && e[0].inclusionProof.checkpoint.envelope && e[0].inclusionProof.hashes.length > 0)
    const signer = ss.verify(bundle, artifact, policy)
    assert.equal(signer.identity?.subjectAlternativeName, IDENTITY)
    assert.equal(signer.identity?.extensions?.issuer, ISSUER)
    rejects(() => ss.verify(bundle, artifact, {subjectAlternativeName: '^other@airlock\\.test$'}), /UNTRUSTED_SIGNER/)
    rejects(() => ss.verify(bundle, artifact, {extensions: {issuer: 'https://evil.test'}}), /UNTRUSTED_SIGNER/)
    // legacy-only issuer extension still yields the issuer
    const legacy = ss.signBlob(PAYLOAD, {identity: IDENTITY, issuer: ISSUER, legacyIssuerOnly: true})
    assert.equal(ss.verify(legacy.bundle, PAYLOAD).identity?.extensions?.issuer, ISSUER)
  })

  it('DSSE bundles verify, logged as dsse/0.0.1 and as intoto/0.0.2', () => {
    const statement = Buffer.from(
      JSON.stringify({_type: 'https://in-toto.io/Statement/v1', subject: [], predicateType: 'x', predicate: {}}),
    )
    for (const tlogKind of ['dsse', 'intoto'] as const) {
      const d = ss.signDsse(statement, 'application/vnd.in-toto+json', {identity: IDENTITY, issuer: ISSUER, tlogKind})
      const e = (d.bundle.verificationMaterial['tlogEntries'] as any[])[0]
      assert.equal(e.kindVersion.kind, tlogKind)
      assert.equal(ss.verify(d.bundle, undefined, policy).identity?.subjectAlternativeName, IDENTITY)
    }
  })

  it('key-signed bundles verify against the static key', () => {
    const b = ss.signBlob(PAYLOAD, {key: true})
    assert.ok(ss.verify(b.bundle, PAYLOAD))
    const d = ss.signDsse('{}', 'application/vnd.in-toto+json', {key: true})
    assert.ok(ss.verify(d.bundle))
    // a key the verifier does not know
    const other = ss.signBlob(PAYLOAD, {key: generateKeyPair()})
    rejects(() => ss.verify(other.bundle, PAYLOAD), /PUBLIC_KEY_ERROR/)
  })

  it('rejects: expired at log time, untrusted CA, untrusted CT log, missing SCT', () => {
    const opts = {identity: IDENTITY, issuer: ISSUER}
    rejects(
      () => ss.verify(ss.signBlob(PAYLOAD, {...opts, expiredAtLogTime: true}).bundle, PAYLOAD),
      /CERTIFICATE_ERROR/,
    )
    rejects(() => ss.verify(ss.signBlob(PAYLOAD, {...opts, untrustedCa: true}).bundle, PAYLOAD), /CERTIFICATE_ERROR/)
    rejects(() => ss.verify(ss.signBlob(PAYLOAD, {...opts, untrustedCtLog: true}).bundle, PAYLOAD), /CERTIFICATE_ERROR/)
    rejects(() => ss.verify(ss.signBlob(PAYLOAD, {...opts, noSct: true}).bundle, PAYLOAD), /CERTIFICATE_ERROR/)
  })

  it('rejects every tampered bundle', () => {
    const cases = {
      set: /TLOG_INCLUSION_PROMISE_ERROR/,
      proof: /TLOG_INCLUSION_PROOF_ERROR/,
      checkpoint: /TLOG_INCLUSION_PROOF_ERROR/,
      body: /TLOG_INCLUSION_PROMISE_ERROR|TLOG_BODY_ERROR/,
      signature: /TLOG_BODY_ERROR|SIGNATURE_ERROR/,
      payload: /SIGNATURE_ERROR|TLOG_BODY_ERROR/,
    } as const
    for (const [tamper, code] of Object.entries(cases)) {
      const b = ss.signBlob(PAYLOAD, {identity: IDENTITY, issuer: ISSUER, tamper: tamper as keyof typeof cases})
      rejects(() => ss.verify(b.bundle, b.artifact), code)
      const d = ss.signDsse('{"a":1}', 'application/vnd.in-toto+json', {
        identity: IDENTITY,
        tamper: tamper as keyof typeof cases,
      })
      rejects(() => ss.verify(d.bundle), code)
    }
    // the proof alone is checked too: SET intact, proof tampered
    const p = ss.signBlob(PAYLOAD, {tamper: 'proof'})
    assert.ok((p.bundle.verificationMaterial['tlogEntries'] as any[])[0].inclusionPromise)
    rejects(() => ss.verify(p.bundle, PAYLOAD), /TLOG_INCLUSION_PROOF_ERROR/)
  })

  it('legacy cosign signature: exact payload, annotations, SET-only bundle verifies; proof fetched over HTTP verifies', async () => {
    const digest = 'sha256:' + 'ab'.repeat(32)
    const payload = cosignSimpleSigningPayload('registry.example/app', digest)
    assert.equal(
      payload.toString(),
      `{"critical":{"identity":{"docker-reference":"registry.example/app"},"image":{"docker-manifest-digest":"${digest}"},"type":"cosign container image signature"},"optional":null}`,
    )
    const sig = ss.signCosignLegacy(payload, {identity: IDENTITY, issuer: ISSUER})
    const a = sig.annotations
    assert.deepEqual(
      Object.keys(a).sort(),
      [ANNOTATION.signature, ANNOTATION.bundle, ANNOTATION.certificate, ANNOTATION.chain].sort(),
    )
    assert.match(a[ANNOTATION.certificate]!, /^-----BEGIN CERTIFICATE-----\n/)
    assert.equal(a[ANNOTATION.chain]!.match(/BEGIN CERTIFICATE/g)!.length, 2)
    const rekor = JSON.parse(a[ANNOTATION.bundle]!)
    assert.deepEqual(Object.keys(rekor), ['SignedEntryTimestamp', 'Payload'])
    assert.deepEqual(Object.keys(rekor.Payload), ['body', 'integratedTime', 'logIndex', 'logID'])
    assert.equal(rekor.Payload.logID, ss.tlog.logId.toString('hex'))
    const content = {
      messageDigest: crypto.createHash('sha256').update(payload).digest(),
      signature: a[ANNOTATION.signature]!,
    }
    const setOnly = legacyToBundle(a, content)
    assert.equal(ss.verify(setOnly, payload, policy).identity?.subjectAlternativeName, IDENTITY)

    // export-time lookup: UUID = RFC 6962 leaf hash of the body; GET by UUID, by logIndex, and retrieve
    const body = Buffer.from(rekor.Payload.body, 'base64')
    const uuid = crypto
      .createHash('sha256')
      .update(Buffer.concat([Buffer.from([0]), body]))
      .digest('hex')
    const byUuid = await getJson(`${ss.url}/api/v1/log/entries/${uuid}`)
    assert.equal(byUuid.status, 200)
    const [entryId, entry] = Object.entries(byUuid.body)[0] as [string, any]
    assert.equal(entryId.length, 80)
    assert.ok(entryId.endsWith(uuid))
    assert.equal(entry.body, rekor.Payload.body)
    assert.equal(entry.verification.signedEntryTimestamp, rekor.SignedEntryTimestamp)
    const sameEntry = (got: any) => {
      const [k, v] = Object.entries(got)[0] as [string, any]
      assert.equal(k, entryId)
      assert.deepEqual({...v, verification: undefined}, {...entry, verification: undefined})
    }
    sameEntry((await getJson(`${ss.url}/api/v1/log/entries?logIndex=${rekor.Payload.logIndex}`)).body)
    sameEntry((await getJson(`${ss.url}/api/v1/log/entries/${entryId}`)).body)
    const retrieved = await postJson(`${ss.url}/api/v1/log/entries/retrieve`, {
      entryUUIDs: [uuid],
      logIndexes: [rekor.Payload.logIndex],
    })
    assert.equal(retrieved.body.length, 2)
    const proof = entry.verification.inclusionProof
    assert.ok(
      verifyInclusion(
        body,
        proof.logIndex,
        proof.treeSize,
        proof.hashes.map((h: string) => Buffer.from(h, 'hex')),
        Buffer.from(proof.rootHash, 'hex'),
      ),
    )
    const withProof = legacyToBundle(a, content, proof)
    assert.ok(ss.verify(withProof, payload, policy))
    // a proof with a forged hash is rejected even though the SET is fine
    const forged = {
      ...proof,
      hashes: [proof.hashes[0].replace(/^./, (c: string) => (c === '0' ? '1' : '0')), ...proof.hashes.slice(1)],
    }
    rejects(() => ss.verify(legacyToBundle(a, content, forged), payload), /TLOG_INCLUSION_PROOF_ERROR/)
    const missing = await getJson(`${ss.url}/api/v1/log/entries/${'0'.repeat(64)}`)
    assert.equal(missing.status, 404)
    assert.equal(missing.body.code, 404)
  })

  it('legacy tampering: SET, payload, signature, body; key-signed legacy verifies', () => {
    const digest = 'sha256:' + 'cd'.repeat(32)
    const payload = cosignSimpleSigningPayload('registry.example/app', digest)
    const bundleOf = (s: ReturnType<TestSigstore['signCosignLegacy']>) =>
      legacyToBundle(s.annotations, {
        messageDigest: crypto.createHash('sha256').update(s.payload).digest(),
        signature: s.annotations[ANNOTATION.signature]!,
      })
    const cases = {
      set: /TLOG_INCLUSION_PROMISE_ERROR/,
      payload: /TLOG_BODY_ERROR|SIGNATURE_ERROR/,
      signature: /TLOG_BODY_ERROR|SIGNATURE_ERROR/,
      body: /TLOG_INCLUSION_PROMISE_ERROR/,
    } as const
    for (const [tamper, code] of Object.entries(cases)) {
      const s = ss.signCosignLegacy(payload, {tamper: tamper as keyof typeof cases})
      rejects(() => ss.verify(bundleOf(s), s.payload), code)
    }
    const tp = ss.signCosignLegacy(payload, {tamper: 'payload'})
    assert.notEqual(tp.payload.toString(), payload.toString())
    assert.equal(tp.payload.length, payload.length)
    const keyed = ss.signCosignLegacy(payload, {key: true})
    assert.deepEqual(Object.keys(keyed.annotations).sort(), [ANNOTATION.signature, ANNOTATION.bundle].sort())
    assert.ok(ss.verify(bundleOf(keyed), payload))
  })

  it('OCI content: .sig image, .att image, v0.3 bundle referrer', () => {
    const image = sampleImage('app')
    const digest = image.manifestDescriptor.digest
    const hex = digest.slice(7)

    const sig = ss.signImageLegacy('registry.example/app', digest, {identity: IDENTITY, issuer: ISSUER})
    assert.equal(sig.tag, `sha256-${hex}.sig`)
    const sm = JSON.parse(sig.manifest.toString())
    assert.equal(sm.mediaType, MEDIA.ociManifest)
    assert.equal(sm.layers[0].mediaType, MEDIA.simpleSigning)
    assert.equal(sm.layers[0].digest, digestOf(sig.layers[0]!.bytes))
    assert.deepEqual(sm.layers[0].annotations, sig.signature.annotations)
    assert.deepEqual(JSON.parse(sig.config.bytes.toString()).rootfs.diff_ids, [sm.layers[0].digest])
    assert.equal(sig.manifestDescriptor.digest, digestOf(sig.manifest))
    assert.match(sig.layers[0]!.bytes.toString(), new RegExp(`"docker-manifest-digest":"${digest}"`))

    const att = ss.attestImageLegacy('registry.example/app', digest, {identity: IDENTITY, issuer: ISSUER})
    assert.equal(att.tag, `sha256-${hex}.att`)
    const al = JSON.parse(att.manifest.toString()).layers[0]
    assert.equal(al.mediaType, MEDIA.dsseEnvelope)
    assert.equal(al.annotations[ANNOTATION.signature], '')
    assert.equal(al.annotations.predicateType, 'https://slsa.dev/provenance/v0.2')
    const env = JSON.parse(att.layers[0]!.bytes.toString())
    const statement = JSON.parse(Buffer.from(env.payload, 'base64').toString())
    assert.equal(statement.subject[0].digest.sha256, hex)
    assert.equal(
      ss.verify(legacyToBundle(al.annotations, {dsseEnvelope: env}), undefined, policy).identity
        ?.subjectAlternativeName,
      IDENTITY,
    )

    for (const messageSignature of [false, true]) {
      const ref = ss.signImageBundle(image.manifestDescriptor, 'registry.example/app', {
        identity: IDENTITY,
        issuer: ISSUER,
        messageSignature,
      })
      const m = JSON.parse(ref.manifest.toString())
      assert.equal(m.artifactType, MEDIA.sigstoreBundleV03)
      assert.equal(ref.manifestDescriptor.artifactType, MEDIA.sigstoreBundleV03)
      assert.deepEqual(m.config, {
        mediaType: MEDIA.ociEmpty,
        digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
        size: 2,
      })
      assert.equal(EMPTY_CONFIG.bytes.toString(), '{}')
      assert.deepEqual(m.subject, image.manifestDescriptor)
      assert.equal(m.layers[0].mediaType, MEDIA.sigstoreBundleV03)
      assert.equal(ref.tag, `sha256-${hex}`)
      const bundle = ref.layers[0]!.bytes
      if (messageSignature) {
        assert.equal(m.annotations['dev.sigstore.bundle.content'], 'message-signature')
        assert.ok(ss.verify(bundle, cosignSimpleSigningPayload('registry.example/app', digest), policy))
      } else {
        assert.equal(m.annotations['dev.sigstore.bundle.content'], 'dsse-envelope')
        assert.equal(m.annotations['dev.sigstore.bundle.predicateType'], COSIGN_SIGN_PREDICATE_TYPE)
        assert.ok(ss.verify(bundle, undefined, policy))
      }
    }
    const prov = ss.attestImageBundle(image.manifestDescriptor, 'registry.example/app', {
      identity: IDENTITY,
      issuer: ISSUER,
    })
    assert.ok(ss.verify(prov.layers[0]!.bytes, undefined, policy))
  })

  it('Rekor API: log info with a valid checkpoint, POST entries, duplicates, consistency proofs', async () => {
    const info = await getJson(`${ss.url}/api/v1/log`)
    assert.equal(info.status, 200)
    assert.equal(info.body.treeSize, ss.tlog.size)
    assert.equal(info.body.treeID, ss.tlog.treeId)
    const note = info.body.signedTreeHead as string
    const [head, sigLine] = note.split('\n\n') as [string, string]
    assert.equal(head.split('\n')[1], String(info.body.treeSize))
    assert.equal(Buffer.from(head.split('\n')[2]!, 'base64').toString('hex'), info.body.rootHash)
    const sigBytes = Buffer.from(sigLine.split(' ')[2]!.trim(), 'base64')
    assert.deepEqual(sigBytes.subarray(0, 4), ss.tlog.logId.subarray(0, 4))
    assert.ok(crypto.verify('sha256', Buffer.from(head + '\n'), ss.tlog.key.publicKey, sigBytes.subarray(4)))
    const pem = await (await fetch(`${ss.url}/api/v1/log/publicKey`)).text()
    assert.equal(pem, ss.tlog.key.publicKeyPem)

    // a client-side hashedrekord upload, as cosign does it
    const {privateKey, publicKey} = crypto.generateKeyPairSync('ec', {namedCurve: 'P-256'})
    const data = Buffer.from('uploaded artifact')
    const signature = crypto.sign('sha256', data, privateKey)
    const proposed = {
      apiVersion: '0.0.1',
      kind: 'hashedrekord',
      spec: {
        data: {hash: {algorithm: 'sha256', value: crypto.createHash('sha256').update(data).digest('hex')}},
        signature: {
          content: signature.toString('base64'),
          publicKey: {content: Buffer.from(publicKey.export({type: 'spki', format: 'pem'})).toString('base64')},
        },
      },
    }
    const created = await postJson(`${ss.url}/api/v1/log/entries`, proposed)
    assert.equal(created.status, 201)
    const [id, e] = Object.entries(created.body)[0] as [string, any]
    const p = e.verification.inclusionProof
    assert.ok(
      verifyInclusion(
        Buffer.from(e.body, 'base64'),
        p.logIndex,
        p.treeSize,
        p.hashes.map((h: string) => Buffer.from(h, 'hex')),
        Buffer.from(p.rootHash, 'hex'),
      ),
    )
    assert.equal((await postJson(`${ss.url}/api/v1/log/entries`, proposed)).status, 409)
    const found = await postJson(`${ss.url}/api/v1/index/retrieve`, {hash: `sha256:${proposed.spec.data.hash.value}`})
    assert.deepEqual(found.body, [id])
    const byEntries = await postJson(`${ss.url}/api/v1/log/entries/retrieve`, {entries: [proposed]})
    assert.deepEqual(Object.keys(byEntries.body[0]), [id])

    // DSSE upload with a bad signature is refused
    const env = {
      payload: Buffer.from('{}').toString('base64'),
      payloadType: 'application/vnd.in-toto+json',
      signatures: [{sig: signature.toString('base64'), keyid: ''}],
    }
    const bad = await postJson(`${ss.url}/api/v1/log/entries`, {
      apiVersion: '0.0.1',
      kind: 'dsse',
      spec: {proposedContent: {envelope: JSON.stringify(env), verifiers: [proposed.spec.signature.publicKey.content]}},
    })
    assert.equal(bad.status, 400)

    const cons = await getJson(`${ss.url}/api/v1/log/proof?firstSize=2&lastSize=${ss.tlog.size}`)
    assert.equal(cons.status, 200)
    assert.equal(cons.body.rootHash, ss.tlog.tree.root().toString('hex'))
    assert.ok(ss.requests.some(r => r.startsWith('POST /api/v1/log/entries')))
  })

  it('Merkle tree: every inclusion proof verifies for every tree size up to 33', () => {
    const t = new (ss.tlog.tree.constructor as new () => typeof ss.tlog.tree)()
    const leaves = Array.from({length: 33}, (_, i) => Buffer.from(`leaf ${i}`))
    for (const l of leaves) t.append(l)
    for (let size = 1; size <= 33; size++) {
      for (let i = 0; i < size; i++) {
        assert.ok(verifyInclusion(leaves[i]!, i, size, t.inclusionProof(i, size), t.root(size)), `${i}/${size}`)
      }
    }
    // known-answer: RFC 6962 empty tree hash and single leaf
    assert.equal(
      new (ss.tlog.tree.constructor as new () => typeof ss.tlog.tree)().root().toString('hex'),
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    )
  })
})

describe('fixtures/example-signatures (generated by test/support/sigstore/make-fixtures.ts)', () => {
  const dir = path.join(import.meta.dirname, '..', 'fixtures', 'example-signatures')
  const read = (f: string) => fs.readFileSync(path.join(dir, f))
  const exists = fs.existsSync(path.join(dir, 'trusted_root.json'))

  it('verify offline against their own trusted root, with the documented identity only', {skip: !exists}, async () => {
    const {Verifier, toTrustMaterial, toSignedEntity} = await import('@sigstore/verify')
    const {bundleFromJSON} = await import('@sigstore/bundle')
    const root = TrustedRoot.fromJSON(JSON.parse(read('trusted_root.json').toString()))
    const pub = crypto.createPublicKey(read('cosign.pub').toString())
    const keyBundle = JSON.parse(read('hello.txt.key.sigstore.json').toString())
    const hint = keyBundle.verificationMaterial.publicKey.hint
    const keys = {
      [hint]: {rawBytes: pub.export({type: 'spki', format: 'der'}), keyDetails: 11, validFor: {start: new Date(0)}},
    }
    const verifier = new Verifier(toTrustMaterial(root, keys as never))
    const verify = (bundle: unknown, artifact?: Buffer, pol?: object) =>
      verifier.verify(toSignedEntity(bundleFromJSON(bundle), artifact), pol as never)
    const good = {subjectAlternativeName: 'release@example.test', extensions: {issuer: 'https://accounts.example.test'}}
    const blob = JSON.parse(read('hello.txt.sigstore.json').toString())
    assert.equal(verify(blob, read('hello.txt'), good).identity?.subjectAlternativeName, 'release@example.test')
    rejects(() => verify(blob, read('hello.txt'), {subjectAlternativeName: 'someone@evil.test'}), /UNTRUSTED_SIGNER/)
    assert.ok(verify(keyBundle, read('hello.txt')))
    // the image's bundle referrer, found through the fallback tag's index in the layout
    const index = JSON.parse(read('oci-layout/index.json').toString())
    const blobOf = (d: string) => read(`oci-layout/blobs/sha256/${d.slice(7)}`)
    const fallback = index.manifests.find((m: any) =>
      /:sha256-[0-9a-f]{64}$/.test(m.annotations['org.opencontainers.image.ref.name']),
    )
    const refManifest = JSON.parse(
      blobOf(JSON.parse(blobOf(fallback.digest).toString()).manifests[0].digest).toString(),
    )
    assert.ok(verify(JSON.parse(blobOf(refManifest.layers[0].digest).toString()), undefined, good))
  })
})
