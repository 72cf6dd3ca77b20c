// The hostile archive corpus (test/support/hostile/corpus.ts) in process (issue 13 item 5): test/hostile.test.ts runs
// every case through the built CLI, which mutation testing cannot use (it runs dist/). Here each case goes through
// the library call under `verify --signatures skip` (verifyArchive: open, structure, integrity, bindings), and the
// refusal must carry the same specific reason and entry the corpus expects of the CLI's error line.
import assert from 'node:assert/strict'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'
import {firstFailure, verifyArchive} from '../src/verify/verify.ts'
import {Archive, buildSourceLayout, craftArchive} from './support/hostile/base.ts'
import {buildCases, type CaseContext} from './support/hostile/corpus.ts'

const layout = buildSourceLayout()
const bytes = craftArchive(layout, 'example.test/hostile')
const ctx: CaseContext = {
  base: Archive.parse(bytes),
  bytes,
  layout,
  escapeTarget: '/tmp/airlock-hostile-escape', // the name the corpus expects in messages; verify writes nothing
}
const work = mkdtempSync(join(tmpdir(), 'airlock-hostile-unit-'))
after(() => rmSync(work, {recursive: true, force: true}))

/** The verdict the CLI would print: the thrown error's message, the report's first failure, or undefined (passed). */
async function verdict(file: string): Promise<string | undefined> {
  try {
    const report = await verifyArchive(file)
    return report.ok ? undefined : (firstFailure(report) ?? 'failed without a problem line')
  } catch (error) {
    return error instanceof Error ? error.message : String(error)
  }
}

/**
 * Where the crafted base (the corpus's in-process base, HOSTILE_CRAFTED_BASE) changes which check answers: a header
 * claiming 1 KiB more swallows the next entry whole there (the exported base's next entry is longer, so its
 * body is read as a header); the refusal is then the swallowing entry's hash, naming it.
 */
const CRAFTED_BASE_PROBLEM: Record<string, RegExp> = {
  'size-header-bigger': /content hashes to sha256:[0-9a-f]{64}, not to its name/,
}

describe('hostile corpus in process: every case is refused for its own reason', () => {
  let n = 0
  for (const c of buildCases(bytes))
    it(`${c.id}: ${c.attack}`, async () => {
      const file = join(work, `case-${n++}.tar`)
      writeFileSync(file, c.build(ctx))
      const message = await verdict(file)
      if (c.expect.exit === 0) {
        assert.equal(message, undefined, `${c.id} should verify`)
        return
      }
      assert.ok(message !== undefined, `${c.id} verified, expected a refusal (${c.expect.problem})`)
      const line = message.split(file).join('<archive>')
      const problem = CRAFTED_BASE_PROBLEM[c.id] ?? c.expect.problem
      if (problem) assert.match(line, problem, c.id)
      if (c.expect.entry) assert.ok(line.includes(c.expect.entry), `${c.id}: ${line} does not name ${c.expect.entry}`)
    })
})
