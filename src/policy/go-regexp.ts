// Identity regexps are written for cosign, i.e. in Go's RE2 syntax (regexp/syntax), and matched as unanchored
// searches (Go's regexp.MatchString). This module parses the Go pattern and writes a JavaScript RegExp (`u` mode,
// code points as Go's runes) that means exactly the same, spelling out what the two read differently:
//   `.`            Go excludes only \n (JS also \r, U+2028, U+2029)        -> [^\n], or any code point under (?s)
//   `^` `$` (?m)   Go lines end at \n only (JS also at \r, U+2028/9)       -> (?<![^\n]) and (?![^\n])
//   `\A`           start of text even under (?m)                          -> (?<![\s\S])
//   `\z`           end of text                                             -> (?![\s\S])
//   `\s` `\S`      Go: [\t\n\f\r ] (JS adds \v, U+00A0, U+FEFF, Unicode spaces)
//   `\x{10FFFF}` `\123` `\a` `\Q..\E` `[[:alpha:]]` `\@` (any escaped punctuation), lone `{` `}` `]`
// and refuses, with the reason, what has no exact JavaScript equivalent or is not RE2 at all: \p{..} (Unicode table
// versions differ), \C, (?U), inline flags other than one leading group, lookaround, backreferences, \Z, repeat
// counts over 1000, [[:^class:]] and \S or \b inside a class, \b under (?i). A pattern therefore never means
// something other than what the operator wrote. test/go-regexp.test.ts checks this against Go's own answers
// (fixtures/go-regexp/).
import {AirlockError} from '../errors.ts'

const POSIX_CLASSES: Record<string, string> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  ascii: '\\u{0}-\\u{7f}',
  blank: '\\t ',
  cntrl: '\\u{0}-\\u{1f}\\u{7f}',
  digit: '0-9',
  graph: '!-~',
  lower: 'a-z',
  print: ' -~',
  punct: '!-\\/:-@\\[-`\\{-~',
  space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
}
const GO_SPACE = '\\t\\n\\f\\r '
const SIMPLE_ESCAPES: Record<string, string> = {a: '\\u{7}', f: '\\f', t: '\\t', n: '\\n', r: '\\r', v: '\\v'}
const PERL_CLASSES: Record<string, string> = {d: '\\d', D: '\\D', w: '\\w', W: '\\W'}
const MAX_REPEAT = 1000

/** Compiles a Go/RE2 pattern to an equivalent JS RegExp (unanchored; use ^...$ to anchor, as with cosign). */
export function compileGoRegExp(pattern: string, what = 'regexp'): RegExp {
  const reject = (why: string): never => {
    throw new AirlockError('USAGE', `unsupported ${what} ${JSON.stringify(pattern)}: ${why}`, {
      hint: 'identity regexps are Go RE2 syntax (cosign, Talos)',
    })
  }
  let source = pattern
  const flags = {i: false, m: false, s: false}
  const prefix = /^\(\?([a-zA-Z]*)\)/.exec(source)
  if (prefix) {
    for (const f of prefix[1]!) {
      if (f === 'U') reject('the U (ungreedy) flag has no JavaScript equivalent')
      if (f !== 'i' && f !== 'm' && f !== 's') reject(`unknown flag ${f} (Go knows i, m, s, U)`)
      flags[f as 'i' | 'm' | 's'] = true
    }
    source = source.slice(prefix[0].length)
  }
  const translated = translate(source, flags, reject)
  try {
    return new RegExp(translated, flags.i ? 'iu' : 'u')
  } catch (error) {
    throw new AirlockError('USAGE', `invalid ${what} ${JSON.stringify(pattern)}: ${(error as Error).message}`, {
      cause: error,
    })
  }
}

function translate(
  source: string,
  flags: {i: boolean; m: boolean; s: boolean},
  reject: (why: string) => never,
): string {
  let out = ''
  let i = 0
  let atomEnd = false // whether a repeat may follow (Go: "missing argument to repetition operator" otherwise)
  while (i < source.length) {
    const c = source[i]!
    if (c === '\\') {
      if (flags.i && (source[i + 1] === 'b' || source[i + 1] === 'B'))
        reject('\\b and \\B under (?i): Go keeps word boundaries ASCII, JavaScript folds them (U+017F, U+212A)')
      const [text, next, kind] = readEscape(source, i, false, reject)
      out += text
      i = next
      atomEnd = kind === 'atom'
      continue
    }
    if (c === '[') {
      const [text, next] = characterClass(source, i, reject)
      out += text
      i = next
      atomEnd = true
      continue
    }
    if (c === '(') {
      if (source[i + 1] === '?') {
        const rest = source.slice(i + 2)
        const named = /^P?<([A-Za-z0-9_]+)>/.exec(rest)
        if (rest.startsWith(':')) {
          out += '(?:'
          i += 3
        } else if (named) {
          if (!/^[A-Za-z_]/.test(named[1]!))
            reject(`group name ${named[1]} does not start with a letter or _ (JavaScript needs an identifier)`)
          out += `(?<${named[1]}>`
          i += 2 + named[0].length
        } else
          reject(
            'lookaround, comments, backreferences and inline flags other than one leading (?i), (?m), (?s) are not RE2 syntax or have no JavaScript equivalent',
          )
      } else {
        out += '('
        i++
      }
      atomEnd = false
      continue
    }
    if (c === '{') {
      const repeat = /^\{(\d+)(,(\d*))?\}/.exec(source.slice(i))
      // Go: a `{n}`, `{n,}` or `{n,m}` is always a repeat, an error after nothing or after another repeat.
      if (repeat && !atomEnd) reject('missing argument to repetition operator, or a nested repetition (Go refuses it)')
      if (repeat) {
        const low = Number(repeat[1])
        const high = repeat[3] ? Number(repeat[3]) : low
        if (low > MAX_REPEAT || high > MAX_REPEAT) reject(`repeat count over ${MAX_REPEAT} (Go refuses it)`)
        out += repeat[0]
        i += repeat[0].length
        if (source[i] === '?') {
          out += '?'
          i++
        }
        atomEnd = false
        continue
      }
      // Go reads a `{` that does not start a repeat as a literal.
      out += '\\{'
      i++
      atomEnd = true
      continue
    }
    if (c === '}' || c === ']') {
      out += `\\${c}`
      i++
      atomEnd = true
      continue
    }
    if (c === '.') out += flags.s ? '[\\s\\S]' : '[^\\n]'
    else if (c === '^') out += flags.m ? '(?<![^\\n])' : '^'
    else if (c === '$') out += flags.m ? '(?![^\\n])' : '$'
    else out += c
    atomEnd = !'|(^$'.includes(c)
    if ('*+?'.includes(c)) atomEnd = false
    i++
  }
  return out
}

/** One escape at `source[i] === '\\'`: its JS text, the index after it, and whether it is an atom (repeatable). */
function readEscape(
  source: string,
  i: number,
  inClass: boolean,
  reject: (why: string) => never,
): [string, number, 'atom' | 'assertion'] {
  const next = source[i + 1]
  if (next === undefined) reject('trailing backslash')
  const n = next!
  if (n === 'x') {
    const braced = /^\{([0-9A-Fa-f]+)\}/.exec(source.slice(i + 2))
    if (braced) {
      const value = Number.parseInt(braced[1]!, 16)
      if (value > 0x10ffff) reject(`\\x{${braced[1]}} is not a code point`)
      return [codePoint(value), i + 2 + braced[0].length, 'atom']
    }
    const two = /^[0-9A-Fa-f]{2}/.exec(source.slice(i + 2))
    if (!two) reject('\\x needs two hex digits or {hex}')
    return [codePoint(Number.parseInt(two![0], 16)), i + 4, 'atom']
  }
  if (/[0-7]/.test(n)) {
    // Go: \1-\7 alone would be a backreference (refused); \0 or a digit followed by more octal is an octal code.
    const octal = /^[0-7]{1,3}/.exec(source.slice(i + 1))![0]
    if (n !== '0' && octal.length === 1) reject('backreferences are not RE2 syntax')
    return [codePoint(Number.parseInt(octal, 8)), i + 1 + octal.length, 'atom']
  }
  if (n === '8' || n === '9') reject('backreferences are not RE2 syntax')
  if (SIMPLE_ESCAPES[n]) return [SIMPLE_ESCAPES[n], i + 2, 'atom']
  if (PERL_CLASSES[n]) return [PERL_CLASSES[n], i + 2, 'atom']
  if (n === 's') return [inClass ? GO_SPACE : `[${GO_SPACE}]`, i + 2, 'atom']
  if (n === 'S') {
    if (inClass) reject('\\S inside a class has no exact JavaScript spelling; write the class out')
    return [`[^${GO_SPACE}]`, i + 2, 'atom']
  }
  if (!inClass) {
    if (n === 'A') return ['(?<![\\s\\S])', i + 2, 'assertion']
    if (n === 'z') return ['(?![\\s\\S])', i + 2, 'assertion']
    if (n === 'b' || n === 'B') return [`\\${n}`, i + 2, 'assertion']
    if (n === 'Q') {
      const end = source.indexOf('\\E', i + 2)
      const literal = source.slice(i + 2, end === -1 ? undefined : end)
      return [
        [...literal].map(ch => codePoint(ch.codePointAt(0)!)).join(''),
        end === -1 ? source.length : end + 2,
        'atom',
      ]
    }
  }
  if (n === 'p' || n === 'P')
    reject('Unicode classes (\\p, \\P) are refused: Go and JavaScript ship different Unicode versions')
  if (n === 'C') reject('\\C (any byte) has no JavaScript equivalent')
  if (n === 'Z') reject('\\Z is not RE2 syntax (Go has \\z for end of text)')
  if (/[A-Za-z0-9]/.test(n))
    reject(`\\${n} is not RE2 syntax${inClass && 'bBAzQ'.includes(n) ? ' inside a class' : ''}`)
  // Go: a backslash before any other punctuation is that character literally.
  const char = String.fromCodePoint(source.codePointAt(i + 1)!)
  if (char.codePointAt(0)! >= 0x80) reject(`\\${char} is not RE2 syntax (only ASCII punctuation may be escaped)`)
  return [codePoint(char.codePointAt(0)!), i + 1 + char.length, 'atom']
}

/** A character class at `source[i] === '['`, Go rules: `]` first is literal, `[:name:]` POSIX classes, escapes. */
function characterClass(source: string, start: number, reject: (why: string) => never): [string, number] {
  let i = start + 1
  let out = '['
  if (source[i] === '^') {
    out += '^'
    i++
  }
  let first = true
  while (i < source.length && (source[i] !== ']' || first)) {
    first = false
    const c = source[i]!
    if (c === '[' && source[i + 1] === ':') {
      const posix = /^\[:(\^?)([a-z]+):\]/.exec(source.slice(i))
      if (posix) {
        if (posix[1])
          reject(
            'negated POSIX classes ([[:^name:]]) have no exact JavaScript spelling inside a class; write the class out',
          )
        const body = POSIX_CLASSES[posix[2]!]
        if (!body) reject(`unknown POSIX class [:${posix[2]}:]`)
        out += body
        i += posix[0].length
        continue
      }
    }
    if (c === '\\') {
      const [text, next] = readEscape(source, i, true, reject)
      out += text
      i = next
      continue
    }
    const char = String.fromCodePoint(source.codePointAt(i)!)
    out += char === '-' ? '-' : '[]^'.includes(char) ? `\\${char}` : char
    i += char.length
  }
  if (i >= source.length) reject('missing closing ]')
  return [out + ']', i + 1]
}

function codePoint(value: number): string {
  return `\\u{${value.toString(16)}}`
}
