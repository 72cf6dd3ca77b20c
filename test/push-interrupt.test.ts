// An interrupted push (the CLI killed mid-blob with a large layer) completes on rerun without re-sending what
// landed, and the CLI's --json output records --skip-verify. Runs the built CLI (npm run build) via bin/run.js.
import assert from 'node:assert/strict'
import {spawn, spawnSync} from 'node:child_process'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {fileURLToPath} from 'node:url'
import {exportImages} from '../src/export/export.ts'
import {parseReference} from '../src/reference/index.ts'
import {RegistryClient} from '../src/registry/index.ts'
import {makeWorkDir, pushMultiPlatformImage} from './support/images.ts'
import {startRegistry, type StartedRegistry} from './support/registry.ts'
import {parseCliJson} from './support/json-contract.ts'
import {registryOpener} from './support/open-registry.ts'

interface PushJson {
  verification: {status: string}
  images: Array<{tags: {written: string[]}}>
  totals: {blobsPushed: number; blobsSkipped: number; tagsWritten: number}
  megabytesPerSecond: number
}

const BIN = fileURLToPath(new URL('../bin/run.js', import.meta.url))

describe('push interrupted mid-blob', () => {
  let source: StartedRegistry
  let mirror: StartedRegistry
  let work: {dir: string; cleanup(): void}
  let archive: string

  before(async () => {
    ;[source, mirror] = await Promise.all([startRegistry(), startRegistry()])
    work = makeWorkDir()
    const client = new RegistryClient({insecure: source.insecure})
    await pushMultiPlatformImage(client.repository(parseReference(`${source.host}/big/app`)), work.dir, {
      tag: 'v1',
      platforms: [{os: 'linux', architecture: 'amd64'}],
      sharedLayerSize: 1024,
      layerSizes: [200_000_000],
    })
    archive = join(work.dir, 'big.tar')
    await exportImages({
      sources: [`${source.host}/big/app:v1`],
      output: archive,
      openRegistry: registryOpener(client),
    })
    client.close()
  })

  after(async () => {
    await Promise.all([source?.stop(), mirror?.stop()])
    work?.cleanup()
  })

  it('completes on rerun after a kill, and the rerun is then a no-op', async () => {
    const args = [
      BIN,
      'push',
      archive,
      `${mirror.host}/m`,
      '--insecure-registry',
      mirror.host,
      '--skip-verify',
      '--json',
    ]
    // Kill the CLI once the upload has started (it prints nothing before the tag, so wait on the registry's disk).
    const child = spawn(process.execPath, args, {stdio: ['ignore', 'pipe', 'pipe']})
    const uploads = join(
      mirror.dir,
      'storage',
      'docker',
      'registry',
      'v2',
      'repositories',
      'm',
      'big',
      'app',
      '_uploads',
    )
    const {existsSync, readdirSync} = await import('node:fs')
    const deadline = Date.now() + 60_000
    while (
      !(existsSync(uploads) && readdirSync(uploads).length > 0) &&
      Date.now() < deadline &&
      child.exitCode === null
    )
      await new Promise(r => setTimeout(r, 20))
    await new Promise(r => setTimeout(r, 150))
    const killedMidway = child.exitCode === null
    child.kill('SIGKILL')
    await new Promise(r => child.once('exit', r))
    assert.ok(killedMidway, 'the push was still running when killed')

    const tags = await fetch(`${mirror.url}/v2/m/big/app/tags/list`).then(r => r.status)
    assert.notEqual(tags, 200, 'no tag after an interrupted push')

    const rerun = spawnSync(process.execPath, args, {encoding: 'utf8'})
    assert.equal(rerun.status, 0, rerun.stderr)
    assert.match(rerun.stderr, /WARNING: --skip-verify/)
    const result = parseCliJson<PushJson>(rerun.stdout)
    assert.equal(result.verification.status, 'skipped')
    assert.deepEqual(result.images[0]!.tags.written, ['v1'])
    console.log(
      `rerun: ${result.totals.blobsPushed} blobs pushed, ${result.totals.blobsSkipped} skipped, ${result.megabytesPerSecond.toFixed(1)} MB/s`,
    )

    const again = parseCliJson<PushJson>(spawnSync(process.execPath, args, {encoding: 'utf8'}).stdout)
    assert.equal(again.totals.blobsPushed, 0)
    assert.equal(again.totals.tagsWritten, 0)
  })
})
