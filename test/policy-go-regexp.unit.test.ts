// Go regexp translation in process (issue 13 item 5): test/go-regexp.test.ts checks answers against Go's; this pins
// the reason a refused identity regexp is refused (the line an operator reads to fix it), and what accepted escapes
// and class spellings match.
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {compileGoRegExp} from '../src/policy/index.ts'

describe('refused regexps say why', () => {
  const refused: Array<[string, string]> = [
    ['(?U)a', 'the U (ungreedy) flag has no JavaScript equivalent'],
    ['(?x)a', 'unknown flag x (Go knows i, m, s, U)'],
    ['(?i)\\bA', '\\b and \\B under (?i): Go keeps word boundaries ASCII, JavaScript folds them (U+017F, U+212A)'],
    ['(?P<1a>x)', 'group name 1a does not start with a letter or _ (JavaScript needs an identifier)'],
    ['a{1001}', 'repeat count over 1000 (Go refuses it)'],
    ['a{1,1001}', 'repeat count over 1000 (Go refuses it)'],
    ['a{2}{3}', 'missing argument to repetition operator, or a nested repetition (Go refuses it)'],
    ['x\\', 'trailing backslash'],
    ['\\x{110000}', '\\x{110000} is not a code point'],
    ['\\xZ1', '\\x needs two hex digits or {hex}'],
    ['\\1', 'backreferences are not RE2 syntax'],
    ['\\8', 'backreferences are not RE2 syntax'],
    ['\\9', 'backreferences are not RE2 syntax'],
    ['[\\S]', '\\S inside a class has no exact JavaScript spelling; write the class out'],
    ['\\pL', 'Unicode classes (\\p, \\P) are refused: Go and JavaScript ship different Unicode versions'],
    ['\\PL', 'Unicode classes (\\p, \\P) are refused: Go and JavaScript ship different Unicode versions'],
    ['\\C', '\\C (any byte) has no JavaScript equivalent'],
    ['\\Z', '\\Z is not RE2 syntax (Go has \\z for end of text)'],
    ['\\y', '\\y is not RE2 syntax'],
    ['[\\b]', '\\b is not RE2 syntax inside a class'],
    ['[\\Q]', '\\Q is not RE2 syntax inside a class'],
    ['[\\y]', '\\y is not RE2 syntax'],
    ['\\é', '\\é is not RE2 syntax (only ASCII punctuation may be escaped)'],
    [
      '[[:^alpha:]]',
      'negated POSIX classes ([[:^name:]]) have no exact JavaScript spelling inside a class; write the class out',
    ],
    ['[[:foo:]]', 'unknown POSIX class [:foo:]'],
    ['[a', 'missing closing ]'],
    [
      'a(?i)b',
      'lookaround, comments, backreferences and inline flags other than one leading (?i), (?m), (?s) are not RE2 syntax or have no JavaScript equivalent',
    ],
    ['\\\u0080', '\\\u0080 is not RE2 syntax (only ASCII punctuation may be escaped)'],
  ]
  for (const [pattern, why] of refused)
    it(pattern, () =>
      assert.throws(() => compileGoRegExp(pattern, 'subject regexp'), {
        code: 'USAGE',
        message: `unsupported subject regexp ${JSON.stringify(pattern)}: ${why}`,
        hint: 'identity regexps are Go RE2 syntax (cosign, Talos)',
      }),
    )
  it('what JavaScript itself cannot compile is refused as invalid', () =>
    assert.throws(() => compileGoRegExp('a**', 'subject regexp'), {
      code: 'USAGE',
      message: /^invalid subject regexp "a\*\*": .*Nothing to repeat/,
    }))
})

describe('accepted spellings match what Go matches', () => {
  const cases: Array<[string, string[], string[]]> = [
    ['^\\x{41}$', ['A'], ['x{41}', 'a']],
    ['^\\x41$', ['A'], ['x41']],
    ['^\\101$', ['A'], ['101']],
    ['^\\0$', ['\0'], ['0']],
    ['^\\@$', ['@'], ['\\@']],
    ['^\\QA.B\\E$', ['A.B'], ['AxB']],
    ['^\\Qa.b$', ['a.b$'], ['a.b', 'axb$']],
    ['^\\Qa.b\\Ec+$', ['a.bcc'], ['a.b', 'axbc']],
    ['^[]a]+$', [']a]'], ['b']],
    ['^[^]a]$', ['b'], [']', 'a']],
    ['^[a-]+$', ['a-'], ['b']],
    ['^[[]$', ['['], ['x']],
    ['^[a^]+$', ['^a'], ['b']],
    ['^[[:digit:]x]+$', ['1x2'], ['a']],
    ['^[\\s]$', [' ', '\t'], ['\v', '\u00a0']],
    ['^\\S+$', ['ab'], ['a b', 'a\fb']],
    ['^a{,2}$', ['a{,2}'], ['aa']],
    ['^a{2}?$', ['aa'], ['a', 'aaa']],
    ['^a{2,}$', ['aaa'], ['a']],
    ['^(?:ab)*?c$', ['ababc', 'c'], ['abc ']],
    ['\\Ab', ['bc'], ['ab']],
    ['a\\z', ['ba'], ['ab', 'a\n']],
    ['(?is)^a.b$', ['A\nB'], ['A\n\nB']],
    ['^(a)(?P<n>b)$', ['ab'], ['a']],
    ['^(?<n>x)$', ['x'], ['y']],
    // an escaped character is one atom: a repeat count may follow it
    ['^\\x41{2}$', ['AA'], ['A']],
    ['^\\x{41}{2}$', ['AA'], ['A']],
    ['^\\101{2}$', ['AA'], ['A']],
    ['^\\t{2}$', ['\t\t'], ['\t']],
    ['^\\d{2}$', ['12'], ['1']],
    ['^\\s{2}$', [' \t'], [' ']],
    ['^\\S{2}$', ['ab'], ['a']],
    ['^\\@{2}$', ['@@'], ['@']],
    ['^\\Qa.\\E{2}$', ['a..'], ['a.']],
    ['^x\\.?y$', ['xy', 'x.y'], ['x..y']],
    ['^[[:alpha:]]{2}$', ['ab'], ['a1']],
    ['^(ab){2}$', ['abab'], ['ab']],
    ['^a{1000}$', ['a'.repeat(1000)], ['a'.repeat(999)]],
    ['^\\x{10FFFF}$', ['\u{10FFFF}'], ['x']],
    // Go's parseEscape (regexp/syntax/parse.go, `c < utf8.RuneSelf && !isalnum(c)`) takes a backslash before ANY
    // non-alphanumeric ASCII character, control characters and DEL (0x7f) included, as that character; from U+0080 on
    // it refuses ("invalid escape sequence", above). Checked with go1.19: `^a\\\x7fb$` matches "a\x7fb" only.
    ['^a\\\x7fb$', ['a\x7fb'], ['ab', 'a\\\x7fb', 'a\\b']],
    ['^[\\\x7f]$', ['\x7f'], ['\\', 'x']],
    ['^a\\\x01b$', ['a\x01b'], ['ab', 'a\\\x01b']],
    ['^a\\ b$', ['a b'], ['ab', 'a\\ b']],
  ]
  for (const [pattern, yes, no] of cases)
    it(pattern, () => {
      const re = compileGoRegExp(pattern)
      for (const s of yes) assert.equal(re.test(s), true, `${pattern} should match ${JSON.stringify(s)}`)
      for (const s of no) assert.equal(re.test(s), false, `${pattern} should not match ${JSON.stringify(s)}`)
    })
})
