// push asks the mirror what it already holds before verifying, and verification hashes only the blobs that will
// be sent (issue 7: a second push of the same archive costs HEADs, not a hashing pass over gigabytes). Blobs the
// mirror holds are not re-hashed and the report counts them; a corrupt blob that would be sent still fails
// verification, and no manifest and no tag is pushed (issue 11: the blobs to send are hashed as they upload, so
// blobs committed before the corrupt one was reached may be left, each named in the error; never the corrupt one).
import assert from 'node:assert/strict'
import {existsSync, readdirSync} from 'node:fs'
import {copyFile, open} from 'node:fs/promises'
import {join} from 'node:path'
import {AirlockError} from '../src/errors.ts'
import {after, before, describe, it} from 'node:test'
import {scanTar} from '../src/archive/tar.ts'
import {parseMirrorTarget, pushArchive} from '../src/push/index.ts'
import {RegistryClient} from '../src/registry/index.ts'
import type {VerifyReport} from '../src/verify/report-model.ts'
import {skipAllPolicy} from './support/policies.ts'
import {standardArchive, tempDir} from './support/layouts.ts'
import {startRegistry, type StartedRegistry} from './support/registry.ts'

describe('push: verification hashes only what the mirror lacks', () => {
  let dir: string
  let cleanup: () => Promise<void>
  let archive: string
  let registry: StartedRegistry
  const policy = skipAllPolicy()

  before(async () => {
    ;({dir, cleanup} = await tempDir())
    archive = join(dir, 'bundle.tar')
    await standardArchive(dir, archive)
    registry = await startRegistry()
  })
  after(async () => {
    await registry?.stop()
    await cleanup()
  })

  const push = async (file: string, target: string, reports: VerifyReport[]) => {
    const client = new RegistryClient({insecure: [registry.host]})
    try {
      const result = await pushArchive({
        archive: file,
        target: parseMirrorTarget(target),
        client,
        policy,
      })
      reports.push(result.verification.report!)
      return result
    } finally {
      client.close()
    }
  }

  it('hashes everything into an empty mirror, nothing the second time, and says so', async () => {
    const reports: VerifyReport[] = []
    const first = await push(archive, `${registry.host}/m1`, reports)
    assert.ok(first.totals.blobsPushed > 0)
    assert.equal(reports[0]!.hashSkipped, undefined)
    const second = await push(archive, `${registry.host}/m1`, reports)
    assert.equal(second.totals.blobsPushed, 0)
    assert.equal(second.totals.manifestsPushed, 0)
    const skipped = reports[1]!.hashSkipped
    assert.ok(skipped && skipped.blobs >= first.totals.blobsPushed, JSON.stringify(skipped))
    assert.match(skipped.reason, /mirror already holds/)
  })

  it('a corrupt blob the mirror lacks fails verification and nothing is pushed', async () => {
    const layers: Array<{name: string; dataOffset: number; size: number}> = []
    await scanTar(archive, e => {
      if (e.name.startsWith('blobs/sha256/') && e.size > 1000) layers.push(e)
      return undefined
    })
    const layer = layers[0]!
    const bad = join(dir, 'bad.tar')
    await copyFile(archive, bad)
    const fh = await open(bad, 'r+')
    await fh.write(Buffer.from('!'), 0, 1, layer.dataOffset + 10)
    await fh.close()

    const reports: VerifyReport[] = []
    const digest = `sha256:${layer.name.slice('blobs/sha256/'.length)}`
    let left: Array<{repository: string; digest: string}> = []
    await assert.rejects(push(bad, `${registry.host}/fresh`, reports), (error: unknown) => {
      assert.ok(error instanceof AirlockError)
      assert.match(error.message, /verification failed while uploading, no manifest or tag was pushed/)
      assert.ok(error.message.includes(digest), error.message)
      left = error.details?.['unreferencedBlobs'] as typeof left
      return true
    })
    // no manifest, no tag under fresh/; the corrupt blob is in no repository; the blobs that are there are named
    const v2 = join(registry.dir, 'storage', 'docker', 'registry', 'v2', 'repositories')
    const ls = (dir: string) => (existsSync(dir) ? readdirSync(dir) : [])
    const linked: string[] = []
    const walk = (repo: string): void => {
      const dir = join(v2, repo)
      assert.deepEqual(ls(join(dir, '_manifests')), [], `${repo} has manifests or tags`)
      for (const hex of ls(join(dir, '_layers', 'sha256'))) linked.push(`${repo}@sha256:${hex}`)
      for (const child of ls(dir)) if (!child.startsWith('_')) walk(`${repo}/${child}`)
    }
    walk('fresh')
    assert.ok(!linked.some(l => l.endsWith(digest)), 'the corrupt blob was not committed')
    assert.deepEqual(linked.sort(), left.map(b => `${b.repository}@${b.digest}`).sort())

    // into the mirror that already holds that layer (m1), the archive's bad copy is never sent: push succeeds
    const again = await push(bad, `${registry.host}/m1`, reports)
    assert.equal(again.totals.blobsPushed, 0)
    assert.ok(reports.at(-1)!.hashSkipped!.blobs > 0)
  })
})
