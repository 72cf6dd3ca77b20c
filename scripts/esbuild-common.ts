// What the two esbuild bundles of airlock share: the single-file executable's (scripts/package.ts) and the npm
// installation's dist/airlock.cjs (scripts/bundle.ts). One set of options, one list of commands.
import {readdirSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import type {BuildOptions} from 'esbuild'

export const ROOT = fileURLToPath(new URL('..', import.meta.url))

export const esbuildCommon = {
  absWorkingDir: ROOT,
  bundle: true,
  platform: 'node',
  target: 'node22',
  write: false,
  minify: true,
  // oclif and the error mapping look at class names (BaseCommand.catch): keep them
  keepNames: true,
  legalComments: 'none',
  charset: 'utf8',
  logLevel: 'warning',
  // import.meta.url is only read where src/embedded.ts is absent (see src/version.ts, src/archive/hash-pool.ts)
  logOverride: {'empty-import-meta': 'silent'},
  // oclif reads tsconfig.json with `typescript` only when it runs from TypeScript sources (never from a bundle);
  // bundling it would add 4 MB of code to compile at every start
  external: ['typescript'],
} satisfies BuildOptions

/** Every command module under src/commands, sorted, with its oclif id (`a/b.ts` -> `a:b`). */
export function commandModules(): {id: string; file: string}[] {
  const dir = join(ROOT, 'src/commands')
  const out: {id: string; file: string}[] = []
  const walk = (sub: string) => {
    for (const name of readdirSync(join(dir, sub)).sort()) {
      const rel = sub ? `${sub}/${name}` : name
      if (statSync(join(dir, rel)).isDirectory()) walk(rel)
      else if (name.endsWith('.ts') && !name.endsWith('.d.ts'))
        out.push({
          id: rel
            .slice(0, -3)
            .replace(/\/index$/, '')
            .split('/')
            .join(':'),
          file: join(dir, rel),
        })
    }
  }
  walk('')
  return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
}
