// Trusted roots as data, in process (issue 13 item 5): src/sigstore/trust.ts (the one shape check of a
// trusted_root.json, merging, --key parsing, trust material) and src/trust/trusted-root-file.ts (--trusted-root FILE),
// on the public-good trusted_root.json (/work/shared/corpora/sigstore+root-signing/targets, sigstore/root-signing at
// 60cf2ce) and the test Sigstore instance's.
import assert from 'node:assert/strict'
import {createHash, generateKeyPairSync} from 'node:crypto'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'
import {
  buildTrustMaterial,
  EMPTY_TRUSTED_ROOT,
  loadTrustedRoot,
  mergeTrustedRoots,
  parsePublicKeyPem,
  parseTrustedRoot,
  validateTrustedRoot,
} from '../src/sigstore/trust.ts'
import {loadTrustedRootFile} from '../src/trust/trusted-root-file.ts'
import {createTestSigstore} from './support/sigstore/index.ts'

const PUBLIC_GOOD = '/work/shared/corpora/sigstore+root-signing/targets/trusted_root.json'
const bytes = readFileSync(PUBLIC_GOOD)
const doc = () => JSON.parse(bytes.toString('utf8')) as Record<string, any>
const dir = mkdtempSync(join(tmpdir(), 'airlock-trusted-root-'))
after(() => rmSync(dir, {recursive: true, force: true}))
const invalid = (value: unknown, message: string | RegExp) =>
  assert.throws(() => parseTrustedRoot(JSON.stringify(value), 'the root'), {code: 'TRUST_INVALID', message})

describe('trusted_root.json', () => {
  it('parses the public-good trusted root, bytes or text', () => {
    const root = parseTrustedRoot(bytes)
    assert.deepEqual(
      root.tlogs.map(t => t.baseUrl),
      ['https://rekor.sigstore.dev', 'https://log2025-1.rekor.sigstore.dev'],
    )
    assert.equal(root.certificateAuthorities.length, 2)
    assert.equal(root.ctlogs.length, 2)
    assert.equal(root.timestampAuthorities.length, 1)
    assert.deepEqual(parseTrustedRoot(bytes.toString('utf8')), root)
    assert.deepEqual(validateTrustedRoot(root), [])
  })

  it('accepts every spelling of the media type, refuses others', () => {
    for (const mediaType of [
      'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
      'application/vnd.dev.sigstore.trustedroot+json; version=0.2',
      'application/vnd.dev.sigstore.trustedroot.v0.2+json',
      'application/vnd.dev.sigstore.trustedroot+json',
    ])
      assert.doesNotThrow(() => parseTrustedRoot(JSON.stringify({...doc(), mediaType})), mediaType)
    for (const mediaType of [
      'application/vnd.dev.sigstore.trustedroot+json;version=x',
      'xapplication/vnd.dev.sigstore.trustedroot+json',
      'application/vnd.dev.sigstore.trustedroot+jsonx',
      'application/vnd.dev.sigstore.bundle+json;version=0.1',
    ])
      invalid(
        {...doc(), mediaType},
        `the root has no sigstore trusted root mediaType (got ${JSON.stringify(mediaType)})`,
      )
    invalid({...doc(), mediaType: undefined}, 'the root has no sigstore trusted root mediaType (got undefined)')
    invalid({...doc(), mediaType: 1}, 'the root has no sigstore trusted root mediaType (got 1)')
  })

  it('refuses what is not a trusted root, naming the source', () => {
    assert.throws(() => parseTrustedRoot('{', 'x.json'), {code: 'TRUST_INVALID', message: 'x.json is not valid JSON'})
    assert.throws(() => parseTrustedRoot('{'), {code: 'TRUST_INVALID', message: 'trusted root is not valid JSON'})
    for (const v of [[], null, 5]) invalid(v, 'the root is not a JSON object')
    const d = doc()
    d.tlogs[0].publicKey.keyDetails = 'NOPE'
    invalid(d, 'the root does not parse as a trusted root: Unrecognized enum value NOPE for enum PublicKeyDetails')
  })

  it('lists every problem that makes a root unusable, at once', () => {
    const d = doc()
    d.tlogs[0].publicKey.rawBytes = ''
    delete d.tlogs[1].publicKey.validFor.start
    delete d.tlogs[1].logId
    d.ctlogs[0].logId.keyId = ''
    delete d.ctlogs[1].publicKey
    d.certificateAuthorities[0].certChain.certificates = []
    delete d.certificateAuthorities[1].validFor
    delete d.timestampAuthorities[0].certChain
    d.timestampAuthorities[0].uri = ''
    const expected = [
      'tlog https://rekor.sigstore.dev has no public key',
      'tlog https://log2025-1.rekor.sigstore.dev public key validFor has no start',
      'tlog https://log2025-1.rekor.sigstore.dev has no log ID',
      `ctlog ${d.ctlogs[0].baseUrl} has no log ID`,
      `ctlog ${d.ctlogs[1].baseUrl} has no public key`,
      `ctlog ${d.ctlogs[1].baseUrl} public key validFor has no start`,
      'certificate authority https://fulcio.sigstore.dev has no certificates',
      'certificate authority https://fulcio.sigstore.dev validFor has no start',
      'timestamp authority 0 has no certificates',
    ]
    assert.throws(
      () => parseTrustedRoot(JSON.stringify(d), 'the root'),
      (error: Error & {code?: string; details?: unknown}) => {
        assert.equal(error.code, 'TRUST_INVALID')
        assert.equal(error.message, `the root is malformed: ${expected.join('; ')}`)
        assert.deepEqual(error.details, {problems: expected})
        return true
      },
    )
    const empty = {...doc(), tlogs: [], certificateAuthorities: [], ctlogs: [], timestampAuthorities: []}
    invalid(empty, 'the root is malformed: no tlogs, certificateAuthorities or timestampAuthorities')
    // one kind of authority is enough to be usable
    for (const only of ['tlogs', 'certificateAuthorities', 'timestampAuthorities'])
      assert.doesNotThrow(() => parseTrustedRoot(JSON.stringify({...empty, [only]: doc()[only]})), only)
    // a log without baseUrl is named by its position
    const d2 = doc()
    d2.tlogs[1].baseUrl = ''
    d2.tlogs[1].publicKey.rawBytes = ''
    invalid(d2, 'the root is malformed: tlog 1 has no public key')
  })

  it('loads a file; an unreadable one is "not found" naming it', () => {
    assert.deepEqual(loadTrustedRoot(PUBLIC_GOOD), parseTrustedRoot(bytes))
    const missing = join(dir, 'missing.json')
    assert.throws(() => loadTrustedRoot(missing), {
      code: 'NOT_FOUND',
      message: new RegExp(`^cannot read trusted root ${missing}: ENOENT`),
    })
    const bad = join(dir, 'bad.json')
    writeFileSync(bad, '[]')
    assert.throws(() => loadTrustedRoot(bad), {code: 'TRUST_INVALID', message: `${bad} is not a JSON object`})
  })

  it('--trusted-root FILE: the bytes, their sha256, and a report saying TUF did not vouch for them', () => {
    const {trustedRoot, report} = loadTrustedRootFile(PUBLIC_GOOD)
    assert.deepEqual(trustedRoot, bytes)
    assert.deepEqual(report, {
      source: 'file',
      path: PUBLIC_GOOD,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      tuf: false,
      note: `trusted root supplied by hand (--trusted-root ${PUBLIC_GOOD}); not verified through TUF`,
    })
    const missing = join(dir, 'nope.json')
    assert.throws(() => loadTrustedRootFile(missing), {code: 'NOT_FOUND', message: new RegExp(`ENOENT.*${missing}`)})
    assert.throws(() => loadTrustedRootFile(dir), {code: 'IO_ERROR', message: /EISDIR/})
    const bad = join(dir, 'bad2.json')
    writeFileSync(bad, '{"mediaType": "x"}')
    assert.throws(() => loadTrustedRootFile(bad), {
      code: 'TRUST_INVALID',
      message: `${bad} has no sigstore trusted root mediaType (got "x")`,
    })
  })

  it("merges roots: every log and authority of each, the first one's media type", async () => {
    const ss = await createTestSigstore({listen: false})
    try {
      const good = parseTrustedRoot(bytes)
      const test = parseTrustedRoot(ss.trustedRootJSON())
      const merged = mergeTrustedRoots([good, test])
      assert.equal(merged.mediaType, good.mediaType)
      assert.deepEqual(merged.tlogs, [...good.tlogs, ...test.tlogs])
      assert.deepEqual(merged.certificateAuthorities, [...good.certificateAuthorities, ...test.certificateAuthorities])
      assert.deepEqual(merged.ctlogs, [...good.ctlogs, ...test.ctlogs])
      assert.deepEqual(merged.timestampAuthorities, [...good.timestampAuthorities, ...test.timestampAuthorities])
      assert.deepEqual(mergeTrustedRoots([test]), test)
      assert.throws(() => mergeTrustedRoots([]), {code: 'TRUST_INVALID', message: 'no trusted root given'})
      assert.deepEqual(EMPTY_TRUSTED_ROOT, {
        mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
        tlogs: [],
        certificateAuthorities: [],
        ctlogs: [],
        timestampAuthorities: [],
      })

      // trust material: built once per roots array and key; a key hint without --key is a public-key failure
      const roots = [good, test]
      const a = buildTrustMaterial({trustedRoots: roots})
      assert.equal(buildTrustMaterial({trustedRoots: roots}), a)
      assert.notEqual(buildTrustMaterial({trustedRoots: [good, test]}), a)
      assert.equal(a.publicKey, undefined)
      assert.equal(a.material.certificateAuthorities.length, 3)
      assert.throws(() => a.material.publicKey('some-hint'), {
        code: 'PUBLIC_KEY_ERROR',
        message: 'signed with a public key (hint "some-hint") but no --key was given',
      })
      const withKey = buildTrustMaterial({trustedRoots: roots, publicKeyPem: ss.staticKeyPem})
      assert.notEqual(withKey, a)
      assert.equal(withKey.publicKey?.asymmetricKeyType, 'ec')
      const resolved = withKey.material.publicKey('any-hint')
      assert.equal(resolved.publicKey, withKey.publicKey)
      assert.equal(resolved.validFor(new Date(0)), true)
      const none = buildTrustMaterial({trustedRoots: []})
      assert.equal(none.material.certificateAuthorities.length, 0)
    } finally {
      await ss.stop()
    }
  })

  it('--key: a PEM public key; a private key or garbage is a usage error saying which', () => {
    const {publicKey, privateKey} = generateKeyPairSync('ec', {namedCurve: 'P-256'})
    const pub = publicKey.export({type: 'spki', format: 'pem'}).toString()
    assert.equal(parsePublicKeyPem(pub).asymmetricKeyType, 'ec')
    for (const priv of [
      privateKey.export({type: 'pkcs8', format: 'pem'}).toString(),
      privateKey.export({type: 'sec1', format: 'pem'}).toString(),
    ])
      assert.throws(() => parsePublicKeyPem(priv, 'cosign.pub'), {
        code: 'USAGE',
        message: 'cosign.pub is a private key; give the public key',
      })
    assert.throws(() => parsePublicKeyPem('not a key'), {
      code: 'USAGE',
      message: /^public key is not a PEM public key or certificate: /,
    })
  })
})
