// Last step of `npm run build`: dist/airlock.cjs, airlock's npm start in one file (scripts/bundle/entry.ts, with
// src/, @oclif/core and the other dependencies inlined; plugins and data files stay in node_modules). bin/run.js
// requires it instead of the ~340 ES modules under dist/ and node_modules (see docs/DECISIONS.md, "bundled start").
//
// - Commands, the help class and the hooks named in package.json's `oclif` section are exported from the bundle
//   (generated module `airlock:targets`), each loaded on first use: the entry points oclif's lookups at them.
// - `import.meta.url` in src/ becomes the address the module has under dist/ (src/archive/hash-pool.ts ->
//   dist/archive/hash-pool.js), so files found relative to a module (package.json, the hash worker, node_modules)
//   are the ones dist/ finds: the bundle never sets src/embedded.ts's values, it is not the single-file executable.
// - Same options as the executable's bundle (scripts/esbuild-common.ts); CommonJS, so Node's compile cache keeps
//   its compiled code like any other module's.
import {readFileSync, writeFileSync} from 'node:fs'
import {join, relative} from 'node:path'
import {build, type Plugin} from 'esbuild'
import {commandModules, esbuildCommon, ROOT} from './esbuild-common.ts'

/** Where the bundle is written, relative to the package root (bin/run.js and test/support/built.ts know it too). */
export const BUNDLE = 'dist/airlock.cjs'

type HookSpec = string | {target: string; identifier?: string}

/** `./dist/cli/help.js` -> `./src/cli/help.ts`: the source of a file package.json names under dist/. */
function sourceOf(target: string): string {
  const m = /^\.\/dist\/(.+)\.js$/.exec(target)
  if (!m) throw new Error(`package.json oclif target ${target} is not a file under ./dist/`)
  return `./src/${m[1]}.ts`
}

/** The `airlock:targets` module: COMMANDS (one getter per command), the help class, the hooks, and OCLIF_TARGETS. */
function targetsModule(): string {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    oclif: {helpClass?: string; hooks?: Record<string, HookSpec | HookSpec[]>}
  }
  const lines: string[] = []
  const commands = commandModules().map(
    c =>
      `${JSON.stringify(c.id)}: {enumerable: true, get: () => require(${JSON.stringify('./' + relative(ROOT, c.file))}).default}`,
  )
  lines.push(`export const COMMANDS = Object.defineProperties({}, {${commands.join(', ')}})`)
  const targets: Record<string, unknown> = {
    commands: {strategy: 'explicit', target: `./${BUNDLE}`, identifier: 'COMMANDS'},
  }
  if (pkg.oclif.helpClass) {
    // oclif takes the class from the export's `default`
    lines.push(
      `export const HELP_CLASS = {get default() { return require(${JSON.stringify(sourceOf(pkg.oclif.helpClass))}).default }}`,
    )
    targets.helpClass = {target: `./${BUNDLE}`, identifier: 'HELP_CLASS'}
  }
  const hooks: Record<string, {target: string; identifier: string}[]> = {}
  let n = 0
  for (const [event, specs] of Object.entries(pkg.oclif.hooks ?? {}))
    hooks[event] = [specs].flat().map(spec => {
      const {target, identifier = 'default'} = typeof spec === 'string' ? {target: spec} : spec
      const name = `HOOK_${n++}`
      lines.push(
        `export const ${name} = function (options) { return require(${JSON.stringify(sourceOf(target))})[${JSON.stringify(identifier)}].call(this, options) }`,
      )
      return {target: `./${BUNDLE}`, identifier: name}
    })
  targets.hooks = hooks
  lines.push(`export const OCLIF_TARGETS = ${JSON.stringify(targets)}`)
  return lines.join('\n')
}

const plugin: Plugin = {
  name: 'airlock-npm-bundle',
  setup(b) {
    b.onResolve({filter: /^airlock:targets$/}, args => ({path: args.path, namespace: 'airlock'}))
    b.onLoad({filter: /.*/, namespace: 'airlock'}, () => ({contents: targetsModule(), loader: 'js', resolveDir: ROOT}))
    // each src module's import.meta.url: its dist/ address, computed from where the bundle is at run time
    b.onLoad({filter: /\/src\/.+\.ts$/}, args => {
      const source = readFileSync(args.path, 'utf8')
      if (!source.includes('import.meta.url')) return undefined
      const asDist = relative(join(ROOT, 'src'), args.path).replace(/\.ts$/, '.js')
      const url = `(new URL(${JSON.stringify(asDist)}, require('node:url').pathToFileURL(__filename)).href)`
      return {contents: source.replaceAll('import.meta.url', url), loader: 'ts'}
    })
  },
}

/** The bundle's bytes; `minify: false` only to read a CPU profile (function names as in the sources). */
export async function bundleForNpm(options: {minify?: boolean} = {}): Promise<Buffer> {
  const result = await build({
    ...esbuildCommon,
    minify: options.minify ?? esbuildCommon.minify,
    entryPoints: ['scripts/bundle/entry.ts'],
    format: 'cjs',
    // every import.meta.url in src/ is rewritten above; one anywhere else would be undefined here
    logOverride: {},
    plugins: [plugin],
  })
  if (result.warnings.length > 0)
    throw new Error(`bundling ${BUNDLE} warned ${result.warnings.length} time(s) (above): fix before it ships`)
  return Buffer.from(result.outputFiles![0]!.contents)
}

if (import.meta.main) writeFileSync(join(ROOT, BUNDLE), await bundleForNpm())
