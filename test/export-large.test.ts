// A 300 MB layer goes through export and verify with the CLI's peak RSS under 200 MB: blobs are streamed, never
// held in memory. The layer is generated straight to disk in 1 MiB chunks. Peak RSS is measured in the child CLI
// process itself (process.resourceUsage().maxRSS at exit, via a preload module), so it is the CLI's, not the test's.
import assert from 'node:assert/strict'
import {readFile} from 'node:fs/promises'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {runCli} from './support/cli.ts'
import {LayoutBuilder, tempDir} from './support/layouts.ts'

const LAYER = 300 * 1024 * 1024
const RSS_LIMIT_KB = 200 * 1024

describe('a 300 MB layer', () => {
  let dir: string
  let cleanup: () => Promise<void>
  before(async () => {
    ;({dir, cleanup} = await tempDir('airlock-large-'))
    const b = await LayoutBuilder.create(join(dir, 'layout'))
    const big = await b.randomLayer(LAYER)
    await b.tag(await b.image([big]), 'example.com/test/big:1.0')
  })
  after(() => cleanup())

  async function run(
    ...args: string[]
  ): Promise<{status: number | null; stderr: string; rssKb: number; seconds: number}> {
    const rssFile = join(dir, `${args[0]}.rss`)
    const hook = `import {writeFileSync} from 'node:fs'; process.on('exit', () => writeFileSync(${JSON.stringify(rssFile)}, String(process.resourceUsage().maxRSS)))`
    const started = performance.now()
    const r = await runCli(args, {nodeArgs: ['--import', `data:text/javascript,${encodeURIComponent(hook)}`]})
    const seconds = (performance.now() - started) / 1000
    return {
      status: r.status,
      stderr: r.stderr,
      seconds,
      rssKb: Number(await readFile(rssFile, 'utf8').catch(() => 'NaN')),
    }
  }

  it('exports and verifies with peak RSS under 200 MB', async () => {
    const out = join(dir, 'big.tar')
    const e = await run(
      'export',
      '--no-tuf',
      '--signatures',
      'optional',
      '-o',
      out,
      `oci:${dir}/layout:example.com/test/big:1.0`,
    )
    assert.equal(e.status, 0, e.stderr)
    const exportRss = e.rssKb
    const v = await run('verify', '--signatures', 'skip', out)
    assert.equal(v.status, 0, v.stderr)
    const verifyRss = v.rssKb
    const mb = LAYER / 1e6
    process.stderr.write(
      `# export: ${(mb / e.seconds).toFixed(0)} MB/s, peak RSS ${(exportRss / 1024).toFixed(0)} MiB; verify: ${(mb / v.seconds).toFixed(0)} MB/s, peak RSS ${(verifyRss / 1024).toFixed(0)} MiB\n`,
    )
    assert.ok(exportRss < RSS_LIMIT_KB, `export peak RSS ${exportRss} KiB`)
    assert.ok(verifyRss < RSS_LIMIT_KB, `verify peak RSS ${verifyRss} KiB`)
  })
})
