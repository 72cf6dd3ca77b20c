// Issue 12 item 12: hostile-input leftovers. `inspect` of an archive whose content graph is broken says so and exits
// non-zero (it used to print a tree without the missing platform and exit 0), still printing what it could read; a
// verify report with tens of thousands of problems prints the first ones and a count, not 50,000 lines.
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {fileURLToPath} from 'node:url'
import {exportImages} from '../src/export/export.ts'
import {MAX_PROBLEM_LINES, renderVerify} from '../src/report/text.ts'
import {verifyArchive} from '../src/verify/verify.ts'
import {tempDir} from './support/layouts.ts'
import {type CliRun, runCli} from './support/cli.ts'
import {parseCliJson} from './support/json-contract.ts'

const root = fileURLToPath(new URL('..', import.meta.url))
function airlock(...args: string[]): Promise<CliRun> {
  return runCli(args, {})
}

describe('hostile-input leftovers', () => {
  let dir: string
  let cleanup: () => Promise<void>
  let archive: string
  before(async () => {
    ;({dir, cleanup} = await tempDir('airlock-leftovers-'))
    archive = join(dir, 'multi.tar')
    await exportImages({sources: [`oci:${join(root, 'fixtures/example')}:example.com/demo/multi:1.0`], output: archive})
  })
  after(async () => cleanup())

  it('inspect of an archive missing a platform manifest: prints what it read, names the missing blob, exits 1', async () => {
    const json = parseCliJson((await airlock('inspect', archive, '--json')).stdout) as {
      images: Array<{platforms: Array<{manifest: {digest: string}}>}>
    }
    const victim = json.images[0]!.platforms[0]!.manifest.digest
    const broken = join(dir, 'broken.tar')
    execFileSync('cp', [archive, broken])
    execFileSync('tar', ['--delete', '-f', broken, `blobs/sha256/${victim.slice('sha256:'.length)}`])
    const r = await airlock('inspect', broken)
    assert.equal(r.status, 1, r.stdout + r.stderr)
    assert.match(r.stdout, /example\.com\/demo\/multi:1\.0/)
    assert.match(r.stdout, new RegExp(`^FAIL .*${victim.slice(7)} is missing`, 'm'))
    const errors = r.stderr.trimEnd().split('\n')
    assert.equal(errors.length, 1, r.stderr)
    assert.match(errors[0]!, /^airlock: error: the archive's content graph is broken \(1 problem\(s\)\): .* is missing/)
    const j = await airlock('inspect', broken, '--json')
    assert.equal(j.status, 1)
    assert.equal((parseCliJson(j.stdout) as {problems: unknown[]}).problems.length, 1)
  })

  it('a verify report with 50,000 problems prints the first ones and a count', async () => {
    const report = await verifyArchive(archive, {})
    for (let i = 0; i < 50_000; i++)
      report.problems.push({message: `unexpected entry "junk/${i}"`} as (typeof report.problems)[number])
    report.ok = false
    const lines = renderVerify(report)
    assert.ok(lines.length < MAX_PROBLEM_LINES + 20, `${lines.length} lines`)
    assert.equal(lines.filter(l => l.startsWith('FAIL  unexpected entry')).length, MAX_PROBLEM_LINES)
    assert.ok(
      lines.includes(`FAIL  ... and ${50_000 - MAX_PROBLEM_LINES} more problem(s) (--json lists them all)`),
      lines.join('\n'),
    )
  })
})
