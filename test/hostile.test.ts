// Issue 6: the archive is attacker-controlled. Every case of the generated corpus (test/support/hostile/corpus.ts)
// is run through the real CLI (`npm run build` output): `verify` must refuse it with exit 1 and one line naming the
// problem and the entry; `inspect` may show it or refuse it but must keep the same safety properties; `push` must
// refuse it before anything reaches the registry. Nothing may be written outside the per-run sandbox, which is
// removed, and every run is bounded in time and memory.
import assert from 'node:assert/strict'
import {existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {Archive, makeBaseArchive} from './support/hostile/base.ts'
import {buildCases, type CaseContext, type HostileCase} from './support/hostile/corpus.ts'
import {HAVE_TIME, runCase, safetyProblems, verdictProblems} from './support/hostile/run.ts'
import {assertFreshBuild} from './support/built.ts'

// dist/ must be the current source: fail (never skip, never test old code) when it is not
assertFreshBuild()
const ESCAPE_TARGET = '/tmp/airlock-hostile-escape'

// The base archive and the case list are built at load time: node:test needs the list of `it`s up front.
const top = mkdtempSync(join(tmpdir(), 'airlock-hostile-'))
const work = join(top, 'a', 'b') // two levels down, so "../../x" escapes still land inside `top` where we look
mkdirSync(work, {recursive: true})
const base = makeBaseArchive(join(top, 'base'))
const ctx: CaseContext = {
  base: Archive.parse(base.bytes),
  bytes: base.bytes,
  layout: base.layout,
  escapeTarget: ESCAPE_TARGET,
}
// HOSTILE_ONLY=<regexp> runs a subset (while debugging one case).
const cases = buildCases(base.bytes).filter(
  c => !process.env.HOSTILE_ONLY || new RegExp(process.env.HOSTILE_ONLY).test(c.id),
)
if (!HAVE_TIME) process.stderr.write('hostile: /usr/bin/time not found, peak-RSS assertions are skipped\n')

/** Anything named like a traversal target anywhere under `top`, or at the absolute target. */
function escapes(): string[] {
  const found: string[] = []
  const walk = (d: string) => {
    for (const name of readdirSync(d, {withFileTypes: true})) {
      if (/escape|pwned/.test(name.name)) found.push(join(d, name.name))
      if (name.isDirectory()) walk(join(d, name.name))
    }
  }
  walk(top)
  if (existsSync(ESCAPE_TARGET)) found.push(ESCAPE_TARGET)
  return found
}

before(() => rmSync(ESCAPE_TARGET, {force: true}))
after(() => {
  const left = escapes()
  rmSync(top, {recursive: true, force: true})
  assert.deepEqual(left, [], 'a traversal entry was written outside the sandbox')
})

describe(`hostile corpus (${cases.length} archives, base from ${base.origin})`, () => {
  it('has at least 40 cases, each with a distinct id and an expectation', () => {
    if (!process.env.HOSTILE_ONLY) assert.ok(cases.length >= 40, `only ${cases.length} cases`)
    assert.equal(new Set(cases.map(c => c.id)).size, cases.length)
    for (const c of cases) if (c.expect.exit === 1) assert.ok(c.expect.problem, `${c.id} has no expected problem`)
  })
})

const verifyCase = async (c: HostileCase) => {
  const o = await runCase(work, c, ctx, 'verify')
  const problems = [...safetyProblems(o, c.expect.maxMs), ...verdictProblems(c, o)]
  assert.deepEqual(problems, [], `${c.id}: ${c.attack}\nstderr: ${o.stderr.trim()}`)
}

describe('verify refuses every hostile archive', {concurrency: 2}, () => {
  for (const c of cases) it(`${c.id}: ${c.attack}`, () => verifyCase(c))
})

// inspect reads what verify reads, but it may legitimately show an archive whose blobs it does not hash (a flipped
// layer byte); what it must never do is crash, hang, write, or print a stack trace. Truncations are sampled (one
// per kind) to keep the corpus under the time budget; verify runs all of them.
const sampled = cases.filter(c => !/@\d+$/.test(c.id) || /@[13]$/.test(c.id))
describe('inspect stays safe on every hostile archive', {concurrency: 2}, () => {
  for (const c of sampled)
    it(`${c.id}`, async () => {
      const o = await runCase(work, c, ctx, 'inspect')
      assert.deepEqual(safetyProblems(o, c.expect.maxMs), [], `${c.id}: ${c.attack}\nstderr: ${o.stderr.trim()}`)
      if (c.expect.exit === 0) assert.equal(o.exit, 0, o.stderr)
    })
})
