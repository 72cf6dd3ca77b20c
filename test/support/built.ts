// Tests that run the built CLI (bin/run.js -> dist/) must never test old code or quietly skip: this check fails
// the test when dist/ is missing or older than the source it is compiled from (npm test builds first; a single
// file run after editing src/ needs `npm run build`).
import {existsSync, readdirSync, statSync} from 'node:fs'
import {join, relative} from 'node:path'

const ROOT = new URL('../../', import.meta.url).pathname

/** Why dist/ cannot be trusted to be the current source, or undefined when it can. */
export function staleBuild(): string | undefined {
  const src = join(ROOT, 'src')
  for (const entry of readdirSync(src, {withFileTypes: true, recursive: true})) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue
    const file = join(entry.parentPath, entry.name)
    const out = join(ROOT, 'dist', relative(src, file).replace(/\.ts$/, '.js'))
    if (!existsSync(out)) return `${relative(ROOT, out)} is missing`
    if (statSync(out).mtimeMs < statSync(file).mtimeMs)
      return `${relative(ROOT, out)} is older than ${relative(ROOT, file)}`
  }
  return undefined
}

/** Throws (failing the test) unless dist/ is built from the current src/. */
export function assertFreshBuild(): void {
  const problem = staleBuild()
  if (problem)
    throw new Error(`the built CLI is stale or missing (${problem}): run \`npm run build\` first (npm test does)`)
}
