// Issue 12 item 13, beyond the archive itself: every temporary file airlock writes is named
// `STEM.partial-<owner pid>-<random>`, and a run killed by SIGKILL (no handler runs) leaves it; the next run to the
// same place removes the ones no live process owns and says so in one line. Covered here: a blob being downloaded
// into --cache, the TUF client's scratch directory, the TUF rollback state, key files (generate-key-pair). The
// archive's own `.NAME.partial-*` is test/cli-stale-partials.test.ts.
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {existsSync, mkdirSync, readdirSync, writeFileSync} from 'node:fs'
import {createServer, type Server, type Socket} from 'node:net'
import {basename, join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {exportImages} from '../src/export/export.ts'
import {parseReference} from '../src/reference/index.ts'
import {RegistryClient} from '../src/registry/index.ts'
import {BIN, runCli} from './support/cli.ts'
import {startFaultProxy, type FaultProxy} from './support/fault-proxy.ts'
import {buildImage, pushImage} from './support/images.ts'
import {LayoutBuilder, tempDir} from './support/layouts.ts'
import {startRegistry, type StartedRegistry} from './support/registry.ts'
import {TestTufRepo} from './support/tuf-repo.ts'

/** Starts the CLI, waits until `appeared()` is true, then SIGKILLs it (nothing of airlock's own runs after that). */
async function killWhen(args: string[], appeared: () => boolean, env: NodeJS.ProcessEnv = {}): Promise<void> {
  const child = spawn(process.execPath, [BIN, ...args], {stdio: 'ignore', env: {...process.env, ...env}})
  const deadline = Date.now() + 60_000
  while (!appeared() && Date.now() < deadline && child.exitCode === null) await new Promise(r => setTimeout(r, 10))
  const seen = appeared()
  child.kill('SIGKILL')
  await new Promise(r => child.once('exit', r))
  assert.ok(seen, `airlock ${args.join(' ')} ended (exit ${child.exitCode}) before its temporary file appeared`)
}

/**
 * A process that writes PATH (with `PID` replaced by its own pid), as airlock does mid-write, and is then SIGKILLed:
 * for the temporaries written in one synchronous call, which no timing can catch half-written. Returns the path.
 */
async function leftByKilledProcess(path: string): Promise<string> {
  const code = `const f=${JSON.stringify(path)}.replace('PID', process.pid); require('fs').writeFileSync(f, 'half'); console.log(f); process.kill(process.pid, 'SIGKILL')`
  const child = spawn(process.execPath, ['-e', code], {stdio: ['ignore', 'pipe', 'inherit']})
  let out = ''
  child.stdout.on('data', d => (out += d))
  const signal = await new Promise(r => child.once('close', (_status, s) => r(s)))
  assert.equal(signal, 'SIGKILL')
  const file = out.trim()
  assert.ok(existsSync(file), file)
  return file
}

const partials = (dir: string): string[] =>
  existsSync(dir)
    ? readdirSync(dir, {recursive: true})
        .map(String)
        .filter(n => n.includes('.partial-'))
    : []

describe('stale temporary files after SIGKILL', () => {
  let dir: string
  let cleanup: () => Promise<void>
  let layoutSource: string
  let archive: string
  before(async () => {
    ;({dir, cleanup} = await tempDir('airlock-stale-tmp-'))
    const b = await LayoutBuilder.create(join(dir, 'layout'))
    await b.tag(await b.image([await b.randomLayer(64 * 1024)]), 'example.com/small/app:1')
    layoutSource = `oci:${join(dir, 'layout')}:example.com/small/app:1`
    archive = join(dir, 'small.tar')
    await exportImages({sources: [layoutSource], output: archive})
  })
  after(() => cleanup())

  describe('--cache: a blob killed mid-download', () => {
    let registry: StartedRegistry
    let proxy: FaultProxy
    let layer: string
    before(async () => {
      registry = await startRegistry()
      const image = await buildImage(dir, {layerSizes: [8 * 1024 * 1024]})
      layer = image.layers[0]!.descriptor.digest
      await pushImage(
        new RegistryClient({insecure: [registry.host]}).repository(parseReference(`${registry.host}/stale/app`)),
        image,
        '1',
      )
      proxy = await startFaultProxy(registry.host)
    })
    after(async () => {
      await proxy?.stop()
      await registry?.stop()
    })

    it('the next export with the same cache removes the partial blob, keeps a live one, and says so', async () => {
      const cache = join(dir, 'cache')
      const blobs = join(cache, 'blobs', 'sha256')
      // The layer's connection is cut after 1 MB again and again: the download retries with its partial file open.
      proxy.add({
        match: r => r.method === 'GET' && r.path.endsWith(`/blobs/${layer}`),
        times: 1000,
        cutAfterBytes: 1024 * 1024,
      })
      const args = (out: string) => [
        'export',
        '--no-tuf',
        '--signatures',
        'skip',
        '--insecure-registry',
        proxy.host,
        '--cache',
        cache,
        '-o',
        out,
        `${proxy.host}/stale/app:1`,
      ]
      const ofLayer = () => partials(blobs).filter(n => n.startsWith(`.${layer.slice(7)}.partial-`))
      await killWhen(args(join(dir, 'cached-1.tar')), () => ofLayer().length > 0)
      const left = ofLayer()
      assert.equal(left.length, 1, partials(blobs).join(', '))
      assert.match(left[0]!, /\.partial-\d+-[0-9a-f]+$/)
      // One owned by a live process (this test) that has just closed it before its rename must survive.
      const live = join(blobs, `.${'0'.repeat(64)}.partial-${process.pid}-abcdef`)
      writeFileSync(live, 'between close and rename')

      proxy.clearFaults()
      const r = await runCli(args(join(dir, 'cached-2.tar')))
      assert.equal(r.status, 0, r.stderr)
      // The layer's partial file, and any other blob's the kill interrupted, in one line.
      assert.match(
        r.stderr,
        /^removed (stale temporary file \S+|\d+ stale temporary files) in cache \S+cache \(left by an interrupted export; no live process held (it|them)\)$/m,
      )
      assert.deepEqual(partials(blobs), [`.${'0'.repeat(64)}.partial-${process.pid}-abcdef`])
    })
  })

  it("the TUF client's scratch directory, killed mid-refresh, is removed by the next export", async () => {
    const tmp = join(dir, 'tmp-tuf')
    mkdirSync(tmp)
    // A TUF mirror that accepts connections and never answers: the refresh waits with its scratch directory made.
    const sockets: Socket[] = []
    const stalled: Server = createServer(s => sockets.push(s))
    await new Promise<void>(r => stalled.listen(0, '127.0.0.1', r))
    const port = (stalled.address() as {port: number}).port
    const rootFile = join(dir, 'root.json')
    writeFileSync(rootFile, new TestTufRepo({rootVersions: 1}).pinnedRoot())
    try {
      await killWhen(
        [
          'export',
          '--tuf-mirror',
          `http://127.0.0.1:${port}`,
          '--tuf-root',
          rootFile,
          '--signatures',
          'skip',
          '-o',
          join(dir, 'tuf-1.tar'),
          layoutSource,
        ],
        () => readdirSync(tmp).some(n => n.startsWith('airlock-tuf.partial-')),
        {TMPDIR: tmp},
      )
    } finally {
      for (const s of sockets) s.destroy()
      stalled.close()
    }
    const left = readdirSync(tmp).filter(n => n.startsWith('airlock-tuf.partial-'))
    assert.equal(left.length, 1, left.join(', '))
    const r = await runCli(['export', '--no-tuf', '--signatures', 'skip', '-o', join(dir, 'tuf-2.tar'), layoutSource], {
      env: {TMPDIR: tmp},
    })
    assert.equal(r.status, 0, r.stderr)
    assert.match(
      r.stderr,
      new RegExp(
        `removed stale temporary file .*${left[0]!.replace(/[.]/g, '\\.')} in the temporary directory \\(TUF scratch left by an interrupted export; no live process held it\\)`,
      ),
    )
    assert.deepEqual(readdirSync(tmp), [])
  })

  it('a TUF state file killed mid-write is removed by the next verify that uses the state directory', async () => {
    const state = join(dir, 'state')
    mkdirSync(join(state, 'tuf'), {recursive: true})
    const left = await leftByKilledProcess(join(state, 'tuf', `.root-${'a'.repeat(64)}.json.partial-PID-0a1b2c`))
    const r = await runCli(['verify', '--state', state, '--signatures', 'skip', archive])
    assert.equal(r.status, 0, r.stderr)
    assert.ok(
      r.stderr.includes(
        `removed stale temporary file ${left} in TUF state ${state} (left by an interrupted verify or push; no live process held it)`,
      ),
      r.stderr,
    )
    assert.deepEqual(readdirSync(join(state, 'tuf')), [])
  })

  it('a key file killed mid-write is removed by the next generate-key-pair there, and the keys are complete', async () => {
    const keys = join(dir, 'keys')
    mkdirSync(keys)
    const left = await leftByKilledProcess(join(keys, '.cosign.key.partial-PID-3d4e5f'))
    const r = await runCli(['generate-key-pair'], {cwd: keys, env: {COSIGN_PASSWORD: 'pw'}})
    assert.equal(r.status, 0, r.stderr)
    assert.match(r.stderr, /removed stale temporary file .*\.cosign\.key\.partial-\d+-3d4e5f in the key directory/)
    assert.ok(r.stderr.includes(basename(left)), r.stderr)
    assert.deepEqual(readdirSync(keys).sort(), ['cosign.key', 'cosign.pub'])
  })
})
