// Pinned roots, mirror names and TUF key identity in process (issue 13 item 5), on the real public-good TUF root
// history (/work/shared/corpora/sigstore+root-signing, sigstore/root-signing at 60cf2ce): mirror names derived from
// URLs and checked when they come from an archive, `--tuf-root [MIRROR=]FILE` pairing, and the key fingerprints the
// threshold and rotation checks count (one key under two ids counts once).
import assert from 'node:assert/strict'
import {createHash, createPublicKey, generateKeyPairSync} from 'node:crypto'
import {mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'
import {Key, Metadata, MetadataKind, type Root} from '@tufjs/models'
import {keyFingerprint, pinnedRootFingerprint, roleKeyFingerprints, validSigners} from '../src/trust/keys.ts'
import {pairTufRoots, PUBLIC_GOOD_ID, readRootFile, rootVersionOf, splitTufRoot} from '../src/trust/pinned-roots.ts'
import {assertMirrorId, mirrorIdFor, pinnedPublicGoodRoot, PUBLIC_GOOD_MIRROR} from '../src/trust/pinned.ts'

const METADATA = '/work/shared/corpora/sigstore+root-signing/metadata'
const rootBytes = (name: string) => readFileSync(join(METADATA, name))
const rootOf = (name: string): Metadata<Root> =>
  Metadata.fromJSON(MetadataKind.Root, JSON.parse(rootBytes(name).toString('utf8')))
const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex')

const dir = mkdtempSync(join(tmpdir(), 'airlock-trust-pinned-'))
after(() => rmSync(dir, {recursive: true, force: true}))

describe('mirror names', () => {
  it('host, port and path, lower-cased, other characters folded to _ and trimmed', () => {
    const table: Array<[string, string]> = [
      ['https://tuf-repo-cdn.sigstore.dev', 'tuf-repo-cdn.sigstore.dev'],
      ['http://127.0.0.1:8080/tuf/', '127.0.0.1_8080_tuf'],
      ['https://TUF.Example.COM/A//b~c/', 'tuf.example.com_a_b_c'],
      ['https://example.com/.well-known/', 'example.com_.well-known'],
    ]
    for (const [url, id] of table) assert.equal(mirrorIdFor(url), id, url)
    // every leading and trailing `_`/`.` goes, not only one
    assert.equal(mirrorIdFor('https://example.com/a./'), 'example.com_a')
    assert.equal(mirrorIdFor('http://._x.example/'), 'x.example')
    assert.throws(() => mirrorIdFor('http://./'), {
      code: 'USAGE',
      message: 'cannot derive a mirror name from http://./',
    })
    assert.equal(PUBLIC_GOOD_ID, 'tuf-repo-cdn.sigstore.dev')
    assert.equal(PUBLIC_GOOD_MIRROR, 'https://tuf-repo-cdn.sigstore.dev')
  })

  it('refuses what is not an http(s) URL, with the reason', () => {
    assert.throws(() => mirrorIdFor('tuf.example.com'), {
      code: 'USAGE',
      message: 'not a TUF mirror URL: tuf.example.com',
    })
    assert.throws(() => mirrorIdFor('file:///etc/tuf'), {
      code: 'USAGE',
      message: 'TUF mirror must be http(s): file:///etc/tuf',
    })
    assert.throws(() => mirrorIdFor('ftp://example.com'), {code: 'USAGE', message: /must be http\(s\)/})
  })

  it('a mirror name from an archive must be one safe path segment', () => {
    for (const ok of ['tuf-repo-cdn.sigstore.dev', '127.0.0.1_8080_tuf', 'a', '0mirror', 'a.b-c_d'])
      assert.doesNotThrow(() => assertMirrorId(ok), ok)
    for (const bad of ['', '.', '..', 'a..b', '.hidden', '_x', '-x', 'A', 'a/b', '../x', 'a b', 'x\n', 'é'])
      assert.throws(
        () => assertMirrorId(bad),
        {code: 'TRUST_INVALID', message: `invalid TUF mirror name in the archive: ${JSON.stringify(bad)}`},
        JSON.stringify(bad),
      )
  })
})

describe('the shipped public-good root', () => {
  it('is the root.json of @sigstore/tuf seeds.json, byte for byte valid TUF root metadata', () => {
    const bytes = pinnedPublicGoodRoot()
    const seeds = JSON.parse(
      readFileSync(new URL('../node_modules/@sigstore/tuf/seeds.json', import.meta.url), 'utf8'),
    ) as Record<string, {'root.json': string}>
    assert.deepEqual(bytes, Buffer.from(seeds[PUBLIC_GOOD_MIRROR]!['root.json'], 'base64'))
    const root = Metadata.fromJSON(MetadataKind.Root, JSON.parse(bytes.toString('utf8')))
    assert.equal(rootVersionOf(bytes, 'shipped root'), root.signed.version)
    assert.ok(root.signed.version >= 10)
  })
})

describe('--tuf-root values', () => {
  const root15 = join(dir, 'root.json')
  writeFileSync(root15, rootBytes('root.json'))
  const root14 = join(dir, '14.root.json')
  writeFileSync(root14, rootBytes('root_history/14.root.json'))
  const notRoot = join(dir, 'targets.json')
  writeFileSync(notRoot, readFileSync(join(METADATA, 'targets.json')))
  const withEq = join(dir, 'odd=name.json')
  writeFileSync(withEq, rootBytes('root.json'))

  it('splits MIRROR=FILE by URL or by name, and keeps a file whose own name holds "="', () => {
    assert.deepEqual(splitTufRoot('https://TUF.example.com/repo/=r.json'), {
      mirror: 'tuf.example.com_repo',
      file: 'r.json',
    })
    assert.deepEqual(splitTufRoot('http://127.0.0.1:8080=r.json'), {mirror: '127.0.0.1_8080', file: 'r.json'})
    assert.deepEqual(splitTufRoot('TUF.example.com=r.json'), {mirror: 'tuf.example.com', file: 'r.json'})
    assert.deepEqual(splitTufRoot('r.json'), {file: 'r.json'})
    // only http(s):// at the start makes a URL
    assert.deepEqual(splitTufRoot('xhttp://a=r.json'), {file: 'xhttp://a=r.json'})
    assert.deepEqual(splitTufRoot('=r.json'), {file: '=r.json'})
    assert.deepEqual(splitTufRoot('mirror='), {file: 'mirror='})
    assert.deepEqual(splitTufRoot('a b=r.json'), {file: 'a b=r.json'})
    // an existing file is a file, even if its name looks like MIRROR=FILE
    assert.deepEqual(splitTufRoot(withEq), {file: withEq})
  })

  it('pairs a bare FILE with the only mirror that is not the public good, or the only mirror', () => {
    const one = pairTufRoots([root15], [PUBLIC_GOOD_ID, 'tuf.example.com'])
    assert.deepEqual([...one.pinned.keys()], ['tuf.example.com'])
    assert.deepEqual(one.pinned.get('tuf.example.com'), {bytes: rootBytes('root.json'), origin: `--tuf-root ${root15}`})
    assert.deepEqual(one.unknown, [])
    assert.deepEqual([...pairTufRoots([root15], [PUBLIC_GOOD_ID]).pinned.keys()], [PUBLIC_GOOD_ID])
  })

  it('named mirrors: known ones pinned, others collected as unknown', () => {
    const {pinned, unknown} = pairTufRoots(
      [`${PUBLIC_GOOD_MIRROR}=${root15}`, `tuf.example.com=${root14}`, `other.example=${root14}`],
      [PUBLIC_GOOD_ID, 'tuf.example.com'],
    )
    assert.deepEqual([...pinned.keys()], [PUBLIC_GOOD_ID, 'tuf.example.com'])
    assert.deepEqual(pinned.get('tuf.example.com')!.bytes, rootBytes('root_history/14.root.json'))
    assert.deepEqual(unknown, ['other.example'])
  })

  it('refuses an ambiguous or pointless bare FILE, a mirror pinned twice, and a file that is not a root', () => {
    assert.throws(() => pairTufRoots([root15], ['a.example', 'b.example']), {
      code: 'USAGE',
      message: `--tuf-root ${root15}: which mirror? (a.example, b.example)`,
      hint: 'name the mirror: --tuf-root MIRROR=FILE, MIRROR = the mirror URL or its name under sigstore/tuf/',
    })
    assert.throws(() => pairTufRoots([root15], []), {
      code: 'USAGE',
      message: `--tuf-root ${root15}: there is no TUF mirror to pin it for`,
    })
    assert.throws(() => pairTufRoots([root15, `a.example=${root14}`], ['a.example']), {
      code: 'USAGE',
      message: '--tuf-root given twice for mirror a.example',
    })
    assert.throws(() => pairTufRoots([notRoot], ['a.example']), {
      code: 'TRUST_INVALID',
      message: new RegExp(`^--tuf-root ${notRoot} is not valid TUF root metadata: `),
    })
    assert.throws(() => pairTufRoots([join(dir, 'missing.json')], ['a.example']), {
      code: 'USAGE',
      message: new RegExp(`^cannot read --tuf-root ${join(dir, 'missing.json')}: ENOENT`),
    })
  })

  it('reads a root file, refusing one over 16 MiB before reading it', () => {
    assert.deepEqual(readRootFile(root15, 'x'), rootBytes('root.json'))
    const huge = join(dir, 'huge.json')
    writeFileSync(huge, '')
    // sparse: 16 MiB + 1 byte
    truncateSync(huge, 16 * 1024 * 1024 + 1)
    assert.throws(() => readRootFile(huge, '--tuf-root'), {
      code: 'USAGE',
      message: `cannot read --tuf-root ${huge}: file is too large`,
    })
    truncateSync(huge, 16 * 1024 * 1024)
    assert.equal(readRootFile(huge, '--tuf-root').length, 16 * 1024 * 1024)
  })

  it('reads the version of real roots', () => {
    assert.equal(rootVersionOf(rootBytes('root.json'), 'r'), 15)
    assert.equal(rootVersionOf(rootBytes('root_history/12.root.json'), 'r'), 12)
    assert.throws(() => rootVersionOf(Buffer.from('{'), 'the pinned root'), {
      code: 'TRUST_INVALID',
      message: /^the pinned root is not valid TUF root metadata: /,
    })
  })
})

describe('key identity', () => {
  const root15 = rootOf('root.json')
  const rootKeys = root15.signed.roles.root!.keyIDs

  it('a PEM key is the sha256 of its SPKI DER', () => {
    for (const id of rootKeys) {
      const key = root15.signed.keys[id]!
      const der = createPublicKey(key.keyVal.public!).export({type: 'spki', format: 'der'})
      assert.equal(keyFingerprint(key), `spki:${sha256(der)}`)
    }
  })

  it('the same ECDSA key as a hex point, or as hex SPKI DER, has the same fingerprint as its PEM', () => {
    const pemKey = root15.signed.keys[rootKeys[0]!]!
    const jwk = createPublicKey(pemKey.keyVal.public!).export({format: 'jwk'})
    const point = Buffer.concat([
      Buffer.from([4]),
      Buffer.from(jwk.x!, 'base64url'),
      Buffer.from(jwk.y!, 'base64url'),
    ]).toString('hex')
    const der = createPublicKey(pemKey.keyVal.public!).export({type: 'spki', format: 'der'}).toString('hex')
    const asPoint = new Key({keyID: 'p', keyType: 'ecdsa', scheme: 'ecdsa-sha2-nistp256', keyVal: {public: point}})
    const asDer = new Key({keyID: 'd', keyType: 'ecdsa', scheme: 'ecdsa-sha2-nistp256', keyVal: {public: der}})
    assert.equal(keyFingerprint(asPoint), keyFingerprint(pemKey))
    assert.equal(keyFingerprint(asDer), keyFingerprint(pemKey))
    // upper-case hex is the same key
    const upper = new Key({keyID: 'u', keyType: 'ecdsa', scheme: 'x', keyVal: {public: point.toUpperCase()}})
    assert.equal(keyFingerprint(upper), keyFingerprint(pemKey))
  })

  it('ed25519 and P-384 hex keys are read as such', () => {
    const ed = generateKeyPairSync('ed25519').publicKey
    const raw = Buffer.from(ed.export({format: 'jwk'}).x!, 'base64url').toString('hex')
    const edKey = new Key({keyID: 'e', keyType: 'ed25519', scheme: 'ed25519', keyVal: {public: raw}})
    assert.equal(keyFingerprint(edKey), `spki:${sha256(ed.export({type: 'spki', format: 'der'}))}`)
    const p384 = generateKeyPairSync('ec', {namedCurve: 'P-384'}).publicKey
    const j = p384.export({format: 'jwk'})
    const hex = Buffer.concat([Buffer.from([4]), Buffer.from(j.x!, 'base64url'), Buffer.from(j.y!, 'base64url')])
    const pKey = new Key({
      keyID: 'q',
      keyType: 'ecdsa',
      scheme: 'ecdsa-sha2-nistp384',
      keyVal: {public: hex.toString('hex')},
    })
    assert.equal(keyFingerprint(pKey), `spki:${sha256(p384.export({type: 'spki', format: 'der'}))}`)
  })

  it('key material Node cannot read falls back to the normalized keyval', () => {
    const odd = new Key({keyID: 'o', keyType: 'ecdsa', scheme: 'x', keyVal: {public: ' ABC '}})
    assert.equal(keyFingerprint(odd), 'keyval:ecdsa:abc')
    const badHex = new Key({keyID: 'b', keyType: 'rsa', scheme: 'x', keyVal: {public: 'AbCd'}})
    assert.equal(keyFingerprint(badHex), 'keyval:rsa:abcd')
    // real key material under another declared type is not read as that other type
    const edRaw = Buffer.from(generateKeyPairSync('ed25519').publicKey.export({format: 'jwk'}).x!, 'base64url')
    const ec = generateKeyPairSync('ec', {namedCurve: 'P-256'}).publicKey.export({format: 'jwk'})
    const ecPoint = Buffer.concat([Buffer.from([4]), Buffer.from(ec.x!, 'base64url'), Buffer.from(ec.y!, 'base64url')])
    for (const [keyType, raw] of [
      ['ecdsa', edRaw],
      ['rsa', ecPoint],
      ['ecdsa-sha2-nistp256', ecPoint.subarray(0, 64)],
      ['ecdsa-sha2-nistp256', Buffer.concat([Buffer.from([2]), ecPoint.subarray(1)])],
    ] as const)
      assert.equal(
        keyFingerprint(new Key({keyID: 'h', keyType, scheme: 'x', keyVal: {public: raw.toString('hex')}})),
        `keyval:${keyType}:${raw.toString('hex')}`,
        `${keyType} ${raw.length} bytes`,
      )
    const oddLength = new Key({keyID: 'l', keyType: 'ed25519', scheme: 'x', keyVal: {public: 'abc'}})
    assert.equal(keyFingerprint(oddLength), 'keyval:ed25519:abc')
  })

  it('counts the distinct keys whose signature verifies, as the real root history shows', () => {
    // v12 carries 5 signatures of which 3 verify with its own root keys, v14 4, v13 and v15 5 (sigstore/root-signing)
    const table: Array<[string, number]> = [
      ['root_history/12.root.json', 3],
      ['root_history/13.root.json', 5],
      ['root_history/14.root.json', 4],
      ['root.json', 5],
    ]
    for (const [file, n] of table) {
      const md = rootOf(file)
      const signers = validSigners(md.signed.keys, md.signed.roles.root!.keyIDs, md)
      assert.equal(signers.size, n, file)
      for (const s of signers) assert.match(s, /^spki:[0-9a-f]{64}$/)
    }
    // v15 signed by the keys of v14 (the rotation step a client checks)
    const v14 = rootOf('root_history/14.root.json')
    assert.equal(validSigners(v14.signed.keys, v14.signed.roles.root!.keyIDs, root15).size, 5)
  })

  it('one key under two ids, or an id listed twice, counts once; ids with no key and bad signatures count none', () => {
    const first = rootKeys[0]!
    const keys = {...root15.signed.keys, alias: root15.signed.keys[first]!}
    const signers = validSigners(keys, [first, 'alias', first, 'no-such-key'], root15)
    assert.equal(signers.size, 1)
    // the timestamp key signed nothing in root.json
    const ts = root15.signed.roles.timestamp!.keyIDs[0]!
    assert.equal(validSigners(root15.signed.keys, [ts], root15).size, 0)
    // an id inherited from Object.prototype is not a key
    assert.equal(validSigners(root15.signed.keys, ['constructor', 'toString'], root15).size, 0)
    // the signed part changed: nothing verifies
    const raw = JSON.parse(rootBytes('root.json').toString('utf8'))
    raw.signed.version = 99
    const changed = Metadata.fromJSON(MetadataKind.Root, raw)
    assert.equal(validSigners(changed.signed.keys, rootKeys, changed).size, 0)
  })

  it("a role's key fingerprints: distinct, sorted, ids without keys left out", () => {
    const fps = roleKeyFingerprints(root15.signed.keys, [...rootKeys, rootKeys[0]!, 'missing', 'constructor'])
    assert.equal(fps.length, 5)
    assert.deepEqual(fps, [...fps].sort())
    assert.deepEqual(fps, rootKeys.map(id => keyFingerprint(root15.signed.keys[id]!)).sort())
    assert.notDeepEqual(
      fps,
      rootKeys.map(id => keyFingerprint(root15.signed.keys[id]!)),
    )
  })

  it('a pinned root is identified by its signed part only', () => {
    const bytes = rootBytes('root.json')
    const fp = pinnedRootFingerprint(bytes)
    assert.match(fp, /^[0-9a-f]{64}$/)
    const doc = JSON.parse(bytes.toString('utf8'))
    const reformatted = Buffer.from(JSON.stringify({...doc, signatures: []}, null, 1))
    assert.equal(pinnedRootFingerprint(reformatted), fp)
    assert.equal(pinnedRootFingerprint(rootOf('root.json')), fp)
    assert.notEqual(pinnedRootFingerprint(rootBytes('root_history/14.root.json')), fp)
    assert.throws(() => pinnedRootFingerprint(Buffer.from('[]')))
  })
})
