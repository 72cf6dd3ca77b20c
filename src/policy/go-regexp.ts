// Identity regexps are written for cosign, i.e. in Go's RE2 syntax, and matched as unanchored searches (Go's
// regexp.MatchString). JavaScript's RegExp agrees on the common subset; this module translates the few RE2 forms
// JS spells differently and rejects what JS would read differently or RE2 does not allow, so a pattern never means
// something other than what the operator wrote.
import {AirlockError} from '../errors.ts'

const FLAG_PREFIX = /^\(\?([imsU]+)\)/

/** Compiles a Go/RE2 pattern to an equivalent JS RegExp (unanchored; use ^...$ to anchor, as with cosign). */
export function compileGoRegExp(pattern: string, what = 'regexp'): RegExp {
  let source = pattern
  let flags = ''
  const prefix = FLAG_PREFIX.exec(source)
  if (prefix?.[1]) {
    if (prefix[1].includes('U')) reject(pattern, what, 'the U (ungreedy) flag has no JavaScript equivalent')
    flags = [...new Set(prefix[1])].join('')
    source = source.slice(prefix[0].length)
  }
  source = translate(source, pattern, what)
  try {
    return new RegExp(source, flags)
  } catch (error) {
    throw new AirlockError('USAGE', `invalid ${what} ${JSON.stringify(pattern)}: ${(error as Error).message}`, {cause: error})
  }
}

function translate(source: string, pattern: string, what: string): string {
  let out = ''
  let inClass = false
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!
    const next = source[i + 1]
    if (c === '\\') {
      if (next === undefined) reject(pattern, what, 'trailing backslash')
      if (/[1-9]/.test(next!)) reject(pattern, what, 'backreferences are not RE2 syntax')
      if (next === 'A' && !inClass) {
        out += '^'
        i++
        continue
      }
      if (next === 'z' && !inClass) {
        out += '$(?![\\s\\S])'
        i++
        continue
      }
      if (next === 'Q' || next === 'E' || next === 'C' || next === 'p' || next === 'P' || next === 'k' || next === 'c' || next === 'u')
        reject(pattern, what, `\\${next} is read differently by JavaScript`)
      out += c + next
      i++
      continue
    }
    if (inClass) {
      if (c === '[' && next === ':') reject(pattern, what, 'POSIX classes like [[:alpha:]] are not supported; spell the class out')
      if (c === ']') inClass = false
      out += c
      continue
    }
    if (c === '[') {
      inClass = true
      out += c
      if (next === '^') {
        out += next
        i++
      }
      if (source[i + 1] === ']') {
        out += '\\]'
        i++
      }
      continue
    }
    if (c === '(' && next === '?') {
      const rest = source.slice(i + 2)
      if (rest.startsWith(':')) {
        out += '(?:'
        i += 2
        continue
      }
      if (rest.startsWith('P<')) {
        out += '(?<'
        i += 3
        continue
      }
      if (rest.startsWith('<') && !rest.startsWith('<=') && !rest.startsWith('<!')) {
        out += '(?<'
        i += 2
        continue
      }
      reject(pattern, what, 'lookaround and inline flags other than a leading (?i), (?m) or (?s) are not RE2 syntax or have no JavaScript equivalent')
    }
    out += c
  }
  return out
}

function reject(pattern: string, what: string, why: string): never {
  throw new AirlockError('USAGE', `unsupported ${what} ${JSON.stringify(pattern)}: ${why}`)
}
