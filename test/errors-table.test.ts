// docs/ERRORS.md is the one table of error codes (issue 16 item 1): every code src/ produces is in it, every code in
// it is produced somewhere in src/, and the JSON Schema's list (schema/envelope.schema.json) is the same list.
import assert from 'node:assert/strict'
import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, it} from 'node:test'
import {ROOT} from './support/cli.ts'

function sources(dir: string): string[] {
  return readdirSync(dir, {withFileTypes: true, recursive: true})
    .filter(e => e.isFile() && e.name.endsWith('.ts'))
    .map(e => join(e.parentPath, e.name))
}

/** Codes in the table: the first column of docs/ERRORS.md. */
function tableCodes(): string[] {
  const text = readFileSync(join(ROOT, 'docs/ERRORS.md'), 'utf8')
  return [...text.matchAll(/^\| `([A-Z_]+)` \|/gm)].map(m => m[1] as string)
}

/** The ErrorCode union of src/errors.ts. */
function unionCodes(): string[] {
  const text = readFileSync(join(ROOT, 'src/errors.ts'), 'utf8')
  const union = /export type ErrorCode =([\s\S]*?)\n\n/.exec(text)?.[1] ?? ''
  return [...union.matchAll(/\| '([A-Z_]+)'/g)].map(m => m[1] as string)
}

/**
 * Codes src/ produces: the first argument of AirlockError / toAirlockError's fallback, and `code:` / `errorCode:` /
 * `?? 'X'` literals in the places that build problems. Codes of other libraries read in src/ (node's errno codes,
 * sigstore-js's error codes) are not airlock's and are named here so a new one is a decision, not an accident.
 */
const FOREIGN = new Set(['ECONNRESET', 'ETIMEDOUT', 'PUBLIC_KEY_ERROR'])
function producedCodes(): Map<string, string> {
  const found = new Map<string, string>()
  const patterns = [
    /AirlockError\(\s*'([A-Z_]+)'/g,
    /toAirlockError\([^()]*?,\s*'([A-Z_]+)'\)/g,
    /\b(?:code|errorCode)\??:\s*'([A-Z_]+)'/g,
    /\?\?\s*'([A-Z_]+)'/g,
  ]
  for (const file of sources(join(ROOT, 'src'))) {
    if (file.endsWith(join('src', 'errors.ts'))) continue
    const text = readFileSync(file, 'utf8')
    for (const pattern of patterns)
      for (const m of text.matchAll(pattern)) {
        const code = m[1] as string
        if (!FOREIGN.has(code) && !found.has(code)) found.set(code, file.slice(ROOT.length))
      }
  }
  return found
}

describe('docs/ERRORS.md', () => {
  it('lists exactly the ErrorCode union of src/errors.ts, once each', () => {
    const table = tableCodes()
    assert.equal(new Set(table).size, table.length, 'a code is listed twice')
    assert.deepEqual([...table].sort(), [...unionCodes()].sort())
  })

  it('every code src/ produces is in the table, and every code in the table is produced', () => {
    const table = new Set(tableCodes())
    const produced = producedCodes()
    const missing = [...produced].filter(([code]) => !table.has(code)).map(([code, file]) => `${code} (${file})`)
    assert.deepEqual(missing, [], 'add these codes to docs/ERRORS.md and src/errors.ts')
    assert.deepEqual(
      [...table].filter(code => !produced.has(code)),
      [],
      'codes in docs/ERRORS.md that nothing in src/ produces',
    )
  })

  it('the JSON Schema knows the same codes', () => {
    const envelope = JSON.parse(readFileSync(join(ROOT, 'schema/envelope.schema.json'), 'utf8')) as {
      $defs: {errorCode: {enum: string[]}}
    }
    assert.deepEqual([...envelope.$defs.errorCode.enum].sort(), [...tableCodes()].sort())
  })
})
