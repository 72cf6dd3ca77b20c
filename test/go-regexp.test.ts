// Identity regexps mean what they mean in Go (issue 10 finding 10). Every pattern of fixtures/go-regexp/cases.json
// is compiled by airlock and matched against every subject; fixtures/go-regexp/expected.json holds what Go's own
// regexp package answered (generate.go). airlock must agree on every subject, or refuse patterns marked `refuse`,
// and refuse every pattern Go refuses.
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, it} from 'node:test'
import {compileGoRegExp} from '../src/policy/index.ts'

const DIR = join(import.meta.dirname, '..', 'fixtures', 'go-regexp')
const {subjects, patterns: cases} = JSON.parse(readFileSync(join(DIR, 'cases.json'), 'utf8')) as {
  subjects: string[]
  patterns: {pattern: string; refuse?: string}[]
}
const expected = JSON.parse(readFileSync(join(DIR, 'expected.json'), 'utf8')) as {
  go: string
  results: {pattern: string; error?: string; matches?: boolean[]}[]
}
/** Syntax newer Go accepts that the Go of expected.json (1.19) did not: Go 1.22 added (?<name>re). */
const NEWER_GO = new Set(['(?<user>[a-z.]+)@'])

describe(`identity regexps agree with Go's regexp (${expected.go})`, () => {
  assert.equal(cases.length, expected.results.length)
  for (const [n, c] of cases.entries()) {
    const go = expected.results[n]!
    assert.equal(go.pattern, c.pattern)
    it(JSON.stringify(c.pattern), () => {
      let compiled: RegExp | undefined
      let refusal: (Error & {code?: string}) | undefined
      try {
        compiled = compileGoRegExp(c.pattern)
      } catch (error) {
        refusal = error as Error & {code?: string}
      }
      if (go.error !== undefined && !NEWER_GO.has(c.pattern)) {
        assert.ok(refusal, `Go refuses it (${go.error}); airlock compiled it`)
        assert.equal(refusal.code, 'USAGE')
        return
      }
      if (c.refuse !== undefined) {
        assert.ok(refusal, 'marked refuse: valid Go without an exact JavaScript spelling')
        assert.equal(refusal.code, 'USAGE')
        assert.match(refusal.message, /unsupported regexp|invalid regexp/)
        return
      }
      assert.ok(compiled, `refused: ${refusal?.message}`)
      if (NEWER_GO.has(c.pattern)) return
      const disagreements = subjects.flatMap((s, i) =>
        compiled!.test(s) === go.matches![i]
          ? []
          : [`${JSON.stringify(s)}: Go ${go.matches![i]}, airlock ${!go.matches![i]}`],
      )
      assert.deepEqual(disagreements, [])
    })
  }
  it('the named group Go 1.22 added matches as (?P<name>re) does', () => {
    const reference = expected.results.find(r => r.pattern === '(?P<user>[a-z.]+)@')!
    assert.deepEqual(
      subjects.map(s => compileGoRegExp('(?<user>[a-z.]+)@').test(s)),
      reference.matches,
    )
  })
})
