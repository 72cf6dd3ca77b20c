// Issue 11: policy decides, sigstore verifies. sigstore may read policy types; policy never imports sigstore (nor
// anything above it), so the two folders no longer form a cycle.
import assert from 'node:assert/strict'
import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {it} from 'node:test'

const POLICY = join(import.meta.dirname, '..', 'src', 'policy')
const ALLOWED = /^\.\.\/(errors|reference\/index|oci\/[\w-]+)\.ts$|^\.\/[\w-]+\.ts$/

it('src/policy imports only itself, errors, reference and oci (never sigstore)', () => {
  const offending: string[] = []
  for (const file of readdirSync(POLICY).filter(f => f.endsWith('.ts'))) {
    const text = readFileSync(join(POLICY, file), 'utf8')
    for (const match of text.matchAll(/from '(\.[^']+)'/g))
      if (!ALLOWED.test(match[1]!)) offending.push(`${file} -> ${match[1]}`)
  }
  assert.deepEqual(offending, [])
})
