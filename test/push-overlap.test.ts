// Push overlaps the content hashing of the blobs it uploads with the uploads themselves (issue 11 item 6; the
// decision "push hashing overlapped with uploads" in docs/DECISIONS.md). Everything else is judged before the first
// write: manifests, signatures, policy, trust. So:
//  - a bad signature writes nothing at all, even when a blob is also corrupt (signatures are judged first);
//  - a corrupt blob in an otherwise validly signed archive is found while it uploads: it is never committed, no
//    manifest and no tag is written, the exit is non-zero with one error line naming the blob, and every blob
//    already committed is listed as unreferenced (text lines and `--json` error.details.unreferencedBlobs);
//  - a valid archive says in its report which blobs were hashed while uploading.
// Through the built CLI against a real registry (Distribution), with a key-signed archive from the test Sigstore.
import assert from 'node:assert/strict'
import {existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {scanTar} from '../src/archive/tar.ts'
import {runCli, runCliJson} from './support/cli.ts'
import {makeSignedBaseArchive} from './support/hostile/base.ts'
import {startRegistry, type StartedRegistry} from './support/registry.ts'
import {createTestSigstore, generateKeyPair} from './support/sigstore/index.ts'

const top = mkdtempSync(join(tmpdir(), 'airlock-push-overlap-'))
const ss = await createTestSigstore({listen: false})
const signed = makeSignedBaseArchive(join(top, 'signed'), digest =>
  ss.signImageLegacy('example.test/hostile', digest, {key: true}),
)
const archive = join(top, 'signed.tar')
writeFileSync(archive, signed.bytes)
const keyFile = join(top, 'cosign.pub')
writeFileSync(keyFile, ss.staticKeyPem)
const wrongKeyFile = join(top, 'other.pub')
writeFileSync(wrongKeyFile, generateKeyPair().publicKeyPem)
const trustedRootFile = join(top, 'trusted_root.json')
writeFileSync(trustedRootFile, ss.trustedRootJSON())
await ss.stop()

/** The archive with one byte of a blob's body changed (its name, size and everything naming it unchanged). */
async function corrupt(name: string, digest: string): Promise<string> {
  let offset: number | undefined
  await scanTar(archive, e => {
    if (e.name === `blobs/sha256/${digest.slice('sha256:'.length)}`) offset = e.dataOffset
    return undefined
  })
  assert.ok(offset !== undefined, `${digest} is not in the archive`)
  const bytes = Buffer.from(signed.bytes)
  bytes[offset] = bytes[offset]! ^ 0xff
  const file = join(top, name)
  writeFileSync(file, bytes)
  return file
}

/** What Distribution's storage holds under `prefix/`: blobs linked into a repository, manifests, tags. */
function stored(registry: StartedRegistry, prefix: string) {
  const v2 = join(registry.dir, 'storage', 'docker', 'registry', 'v2')
  const repositories = join(v2, 'repositories', prefix)
  const list = (dir: string) => (existsSync(dir) ? readdirSync(dir) : [])
  const repos: string[] = []
  const walk = (dir: string, name: string) => {
    if (existsSync(join(dir, '_layers')) || existsSync(join(dir, '_manifests')) || existsSync(join(dir, '_uploads')))
      repos.push(name)
    for (const child of list(dir))
      if (!child.startsWith('_') && statSync(join(dir, child)).isDirectory()) walk(join(dir, child), `${name}/${child}`)
  }
  walk(repositories, prefix)
  const linked: string[] = []
  const manifests: string[] = []
  const tags: string[] = []
  for (const repo of repos) {
    const dir = join(v2, 'repositories', repo)
    for (const hex of list(join(dir, '_layers', 'sha256')))
      if (existsSync(join(dir, '_layers', 'sha256', hex, 'link'))) linked.push(`${repo}@sha256:${hex}`)
    for (const hex of list(join(dir, '_manifests', 'revisions', 'sha256'))) manifests.push(`${repo}@sha256:${hex}`)
    for (const tag of list(join(dir, '_manifests', 'tags'))) tags.push(`${repo}:${tag}`)
  }
  // blob data anywhere in the registry (a committed blob lands under blobs/ whatever the repository)
  const data: string[] = []
  for (const two of list(join(v2, 'blobs', 'sha256')))
    for (const hex of list(join(v2, 'blobs', 'sha256', two)))
      if (existsSync(join(v2, 'blobs', 'sha256', two, hex, 'data'))) data.push(`sha256:${hex}`)
  return {repos, linked: linked.sort(), manifests, tags, data}
}

let registry: StartedRegistry
before(async () => {
  registry = await startRegistry({auth: 'none'})
})
after(async () => {
  await registry?.stop()
  rmSync(top, {recursive: true, force: true})
})

const push = (file: string, prefix: string, key: string, extra: string[] = []) => [
  'push',
  file,
  `${registry.host}/${prefix}`,
  '--insecure-registry',
  registry.host,
  '--key',
  key,
  '--trusted-root',
  trustedRootFile,
  ...extra,
]

describe('push overlaps hashing with uploads, and a failed check still tags nothing', () => {
  it('a corrupt blob in a validly signed archive: never committed, no manifest, no tag, one line naming it', async () => {
    // the smallest layer, so that a larger one is uploaded (largest first, one at a time) before it fails
    const {layerA, sharedLayer} = signed.layout.parts
    const victim = layerA.size <= sharedLayer.size ? layerA : sharedLayer
    const bad = await corrupt('corrupt-layer.tar', victim.digest)

    const text = await runCli(push(bad, 'corrupt', keyFile, ['--concurrency', '1']))
    assert.equal(text.status, 1, text.stderr)
    const errors = text.stderr.split('\n').filter(l => l.startsWith('airlock: error: '))
    assert.equal(errors.length, 1, text.stderr)
    assert.ok(errors[0]!.includes(victim.digest), errors[0])
    assert.match(errors[0]!, /no manifest or tag was pushed/)
    assert.doesNotMatch(text.stderr, /^\s+at /m, 'no stack trace')
    let s = stored(registry, 'corrupt')
    assert.deepEqual(s.manifests, [], 'no manifest was written')
    assert.deepEqual(s.tags, [], 'no tag was written')
    // (first test of the file: no earlier push stored the genuine blob under that digest)
    assert.ok(!s.data.includes(victim.digest), 'the corrupt blob was not committed')
    assert.ok(s.linked.length > 0, `the larger blobs uploaded before the failure are left: ${JSON.stringify(s)}`)
    // the text output lists every blob left behind, one line each
    const left = text.stderr
      .split('\n')
      .filter(l => l.startsWith('left unreferenced in the mirror: '))
      .map(l => l.slice('left unreferenced in the mirror: '.length).split(' ')[0]!.replace(`${registry.host}/`, ''))
      .sort()
    assert.deepEqual(left, s.linked, text.stderr)

    // --json: the same, as error.details.unreferencedBlobs (validated against schema/push.schema.json)
    const json = await runCliJson<{
      ok: boolean
      error: {
        code: string
        message: string
        details: {unreferencedBlobs: Array<{repository: string; digest: string; size: number}>}
      }
    }>(push(bad, 'corrupt-json', keyFile, ['--concurrency', '1']))
    assert.equal(json.status, 1)
    assert.equal(json.json.ok, false)
    assert.equal(json.json.error.code, 'DIGEST_MISMATCH')
    assert.ok(json.json.error.message.includes(victim.digest), json.json.error.message)
    s = stored(registry, 'corrupt-json')
    assert.deepEqual(s.manifests, [])
    assert.deepEqual(s.tags, [])
    const listed = json.json.error.details.unreferencedBlobs.map(b => `${b.repository}@${b.digest}`).sort()
    assert.deepEqual(listed, s.linked, JSON.stringify(json.json.error.details))
    for (const b of json.json.error.details.unreferencedBlobs) assert.ok(b.size > 0)
  })

  it('a bad signature writes nothing at all, even when a blob is corrupt too (signatures are judged first)', async () => {
    const bad = await corrupt('corrupt-and-unsigned.tar', signed.layout.parts.layerA.digest)
    for (const [file, prefix] of [
      [archive, 'wrongkey'],
      [bad, 'wrongkey-corrupt'],
    ] as const) {
      const run = await runCli(push(file, prefix, wrongKeyFile))
      assert.equal(run.status, 1, run.stderr)
      const errors = run.stderr.split('\n').filter(l => l.startsWith('airlock: error: '))
      assert.equal(errors.length, 1, run.stderr)
      assert.match(errors[0]!, /nothing was pushed/)
      assert.doesNotMatch(run.stderr, /left unreferenced/)
      const s = stored(registry, prefix)
      assert.deepEqual(s.repos, [], `${prefix}: something reached the registry: ${JSON.stringify(s)}`)
    }
  })

  it('a valid archive: pushed, its report says which blobs were hashed while uploading', async () => {
    const run = await runCliJson<{
      verification: {report: {hashDeferred?: {blobs: number; bytes: number}; blobs: number}}
      totals: {blobsPushed: number}
    }>(push(archive, 'valid', keyFile))
    assert.equal(run.status, 0, run.stderr)
    const deferred = run.json.verification.report.hashDeferred
    assert.ok(deferred, 'the report says which blobs were hashed while they uploaded')
    assert.equal(deferred.blobs, run.json.totals.blobsPushed, JSON.stringify(run.json.totals))
    assert.ok(deferred.bytes > 0)
    const s = stored(registry, 'valid')
    assert.ok(s.tags.length > 0 && s.manifests.length > 0, JSON.stringify(s))
  })
})
