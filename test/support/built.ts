// Tests that run the built CLI (bin/run.js -> dist/airlock.cjs) must never test old code or quietly skip: this
// check fails the test when dist/ or its bundle is missing or older than what it is built from (npm test builds
// first; a single file run after editing src/ needs `npm run build`).
import {existsSync, readdirSync, statSync} from 'node:fs'
import {join, relative} from 'node:path'

const ROOT = new URL('../../', import.meta.url).pathname

/** The one file bin/run.js starts from (scripts/bundle.ts): it inlines src/ and the dependencies. */
export const BUNDLE = join(ROOT, 'dist/airlock.cjs')

/** What the bundle is built from besides src/: its build scripts and the dependencies it inlines. */
const BUNDLE_INPUTS = [
  'scripts/bundle.ts',
  'scripts/bundle/entry.ts',
  'scripts/esbuild-common.ts',
  'package.json',
  'package-lock.json',
]

/** Why dist/ cannot be trusted to be the current source, or undefined when it can. */
export function staleBuild(): string | undefined {
  const src = join(ROOT, 'src')
  // tsc's output (oclif.manifest.json is made from it, the hash worker and bin/dev.js run it) and the bundle
  const bundle = existsSync(BUNDLE) ? statSync(BUNDLE).mtimeMs : undefined
  if (bundle === undefined) return `${relative(ROOT, BUNDLE)} is missing`
  for (const entry of readdirSync(src, {withFileTypes: true, recursive: true})) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue
    const file = join(entry.parentPath, entry.name)
    const out = join(ROOT, 'dist', relative(src, file).replace(/\.ts$/, '.js'))
    if (!existsSync(out)) return `${relative(ROOT, out)} is missing`
    const source = statSync(file).mtimeMs
    if (statSync(out).mtimeMs < source) return `${relative(ROOT, out)} is older than ${relative(ROOT, file)}`
    if (bundle < source) return `${relative(ROOT, BUNDLE)} is older than ${relative(ROOT, file)}`
  }
  for (const input of BUNDLE_INPUTS)
    if (bundle < statSync(join(ROOT, input)).mtimeMs) return `${relative(ROOT, BUNDLE)} is older than ${input}`
  return undefined
}

/** Throws (failing the test) unless dist/ and its bundle are built from the current src/. */
export function assertFreshBuild(): void {
  const problem = staleBuild()
  if (problem)
    throw new Error(`the built CLI is stale or missing (${problem}): run \`npm run build\` first (npm test does)`)
}
