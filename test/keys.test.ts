// cosign key compatibility: cosign's own key vectors (corpora/sigstore+cosign/keys, README there) load or are
// refused exactly as cosign says, a signature made with each loadable .key verifies with its .pub, and a key pair
// generated here is in cosign's format (PEM types, envelope fields, scrypt parameters) and loads by its rules.
import assert from 'node:assert/strict'
import {createPublicKey} from 'node:crypto'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, it} from 'node:test'
import {
  decodePem,
  decryptPrivateKey,
  generateKeyPair,
  parsePublicKey,
  parseSigningKey,
  signBytes,
  verifyBytes,
} from '../src/keys/index.ts'

const VECTORS = '/work/shared/corpora/sigstore+cosign/keys' // as test/sigstore-corpora.test.ts
const dir = VECTORS
const read = (name: string) => readFileSync(join(dir, name), 'utf8')
const hello = () => Buffer.from('hello')

describe('cosign key vectors (pkg/cosign/keys_test.go)', () => {
  const loadable: Array<[string, string]> = [
    ['encrypted-sigstore.key', 'ecdsa-p256'],
    ['encrypted-cosign-label.key', 'ecdsa-p256'],
    ['plain-ec-p256.key', 'ecdsa-p256'],
    ['plain-ec-pkcs8.key', 'ecdsa-p256'],
    ['plain-ed25519-pkcs8.key', 'ed25519'],
    ['plain-rsa-pkcs8.key', 'rsa'],
  ]
  for (const [file, algorithm] of loadable)
    it(`${file} loads as ${algorithm}; its signatures verify with the matching .pub`, async () => {
      const key = await parseSigningKey(read(file), file, hello)
      assert.equal(key.algorithm, algorithm)
      const pubFile = file.replace(/\.key$/, '.pub')
      let pub
      try {
        pub = parsePublicKey(read(pubFile), pubFile)
      } catch {
        // encrypted-sigstore.key's public half is encrypted-sigstore.pub; every loadable key has one (README).
        assert.fail(`${pubFile} missing`)
      }
      assert.equal(key.publicKeyPem.trim(), pub.export({format: 'pem', type: 'spki'}).toString().trim())
      const data = Buffer.from('payload to sign')
      const signature = signBytes(key, data)
      assert.ok(verifyBytes(pub, data, signature))
      assert.ok(!verifyBytes(pub, Buffer.from('other payload'), signature))
    })

  const refused: Array<[string, RegExp]> = [
    ['encrypted-cosign-ec-unparseable.key', /encrypted-cosign-ec-unparseable\.key: parsing private key/],
    ['invalid-ec-p224.key', /invalid-ec-p224\.key: ECDSA curve P-224 not allowed/],
    ['invalid-rsa-1024.key', /invalid-rsa-1024\.key: key size not supported: 1024/],
    ['plain-ec-p256.pub', /plain-ec-p256\.pub: this is a public key, not a private key/],
  ]
  for (const [file, message] of refused)
    it(`${file} is refused in one line naming the file and the reason`, async () => {
      await assert.rejects(parseSigningKey(read(file), file, hello), (error: Error) => {
        assert.match(error.message, message)
        assert.ok(!error.message.includes('\n'))
        return true
      })
    })

  it('a wrong password is refused (the secretbox tag does not open), as cosign "decrypt: decryption failed"', async () => {
    await assert.rejects(
      parseSigningKey(read('encrypted-sigstore.key'), 'encrypted-sigstore.key', () => Buffer.from('wrong')),
      /encrypted-sigstore\.key: decryption failed: wrong password/,
    )
  })

  it('a tampered ciphertext is refused like a wrong password', async () => {
    const block = decodePem(read('encrypted-sigstore.key'))!
    const envelope = JSON.parse(block.body.toString())
    const ct = Buffer.from(envelope.ciphertext, 'base64')
    ct[ct.length - 1]! ^= 1
    envelope.ciphertext = ct.toString('base64')
    await assert.rejects(decryptPrivateKey(Buffer.from(JSON.stringify(envelope)), hello()), /decryption failed/)
  })

  it('an envelope demanding an absurd scrypt cost is refused before any work', async () => {
    const block = decodePem(read('encrypted-sigstore.key'))!
    const envelope = JSON.parse(block.body.toString())
    envelope.kdf.params.N = 2 ** 30
    await assert.rejects(
      decryptPrivateKey(Buffer.from(JSON.stringify(envelope)), hello()),
      /scrypt N is 1073741824, outside/,
    )
  })
})

describe('generated key pairs are cosign key pairs', () => {
  it('cosign.key: ENCRYPTED SIGSTORE PRIVATE KEY, cosign envelope fields and scrypt cost, PKCS#8 inside; cosign.pub: PKIX PUBLIC KEY', async () => {
    const pair = await generateKeyPair(Buffer.from('s3cret'))
    const block = decodePem(pair.privatePem)!
    assert.equal(block.type, 'ENCRYPTED SIGSTORE PRIVATE KEY')
    const envelope = JSON.parse(block.body.toString())
    assert.deepEqual(Object.keys(envelope), ['kdf', 'cipher', 'ciphertext'])
    assert.deepEqual(Object.keys(envelope.kdf), ['name', 'params', 'salt'])
    assert.deepEqual(envelope.kdf.name, 'scrypt')
    assert.deepEqual(envelope.kdf.params, {N: 32768, r: 8, p: 1})
    assert.equal(Buffer.from(envelope.kdf.salt, 'base64').length, 32)
    assert.deepEqual(envelope.cipher.name, 'nacl/secretbox')
    assert.equal(Buffer.from(envelope.cipher.nonce, 'base64').length, 24)
    // cosign's LoadPrivateKey: decrypt, then x509.ParsePKCS8PrivateKey.
    const der = await decryptPrivateKey(block.body, Buffer.from('s3cret'))
    assert.equal(der[0], 0x30)
    const key = await parseSigningKey(pair.privatePem, 'cosign.key', () => Buffer.from('s3cret'))
    assert.equal(key.algorithm, 'ecdsa-p256')
    assert.match(pair.publicPem, /^-----BEGIN PUBLIC KEY-----\n/)
    assert.equal(createPublicKey(pair.publicPem).asymmetricKeyDetails?.namedCurve, 'prime256v1')
    assert.equal(key.hint, pair.hint)
  })

  for (const algorithm of ['ecdsa-p384', 'ecdsa-p521', 'ed25519', 'rsa'] as const)
    it(`${algorithm} round-trips`, async () => {
      const pair = await generateKeyPair(Buffer.from(''), algorithm, 2048)
      const key = await parseSigningKey(pair.privatePem, 'k', () => Buffer.from(''))
      assert.equal(key.algorithm, algorithm)
      const pub = parsePublicKey(pair.publicPem, 'k.pub')
      assert.ok(verifyBytes(pub, Buffer.from('x'), signBytes(key, Buffer.from('x'))))
    })
})
