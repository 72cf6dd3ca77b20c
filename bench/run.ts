// airlock benchmark (issue 7): `node bench/run.ts [--scale N] [--quick] [--runs R] [--only export,verify,push,sigs,report]`
//
// Generates a workload in a local Distribution registry (bench/lib/workload.ts), then measures on that same data,
// each step R times (default 3, median reported, tools interleaved run by run):
//   export   airlock export                      vs skopeo copy --all to oci: and to oci-archive:
//            and airlock export --since an inventory lacking 10% of the bytes (bench/delta.ts; goal <= 15% of full),
//            and --since the full inventory (nothing changed: the fixed cost of an export)
//   verify   airlock verify                      vs a Node sha256 pass (1 MiB reads) and openssl dgst -sha256
//   push     airlock push (into a fresh registry) vs skopeo copy --all oci: -> registry (fresh registry per run)
//            and a second airlock push of the same archive into the same registry
//   sigs     offline verification of 1,000 legacy signatures through src/sigstore (signatures per second)
//   report   verify --report for 1,000 images: writing the HTML report, and loading + laying it out in Chromium
//            (bench/report.ts; goal under 2 s each)
// Peak RSS of every process comes from GNU time (-f %M). Prints a table and writes bench/RESULTS.md (machine,
// workload, results, target ratios, cost growth over every scale measured so far, profiles of missed targets).
import {execFileSync, spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync, readdirSync} from 'node:fs'
import {availableParallelism, cpus, loadavg, totalmem} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import {startRegistry, type StartedRegistry} from '../test/support/registry.ts'
import {generateWorkload, planWorkload, type Workload} from './lib/workload.ts'
import {median, step, timed, type RunResult} from './lib/measure.ts'
import {summarizeProfiles, type ProfileSummary} from './lib/cpuprofile.ts'
import {renderResults, type BenchResults, type Measurement, type Target} from './lib/report.ts'
import {setupSigstore, type BenchSigstore} from './lib/sigstore.ts'
import {benchDelta} from './delta.ts'

const BENCH = dirname(fileURLToPath(import.meta.url))
const ROOT = resolve(BENCH, '..')
const WORK = join(BENCH, 'work')
const NODE = process.execPath

// ---- arguments ----
function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name)
  return i > 0 ? process.argv[i + 1] : undefined
}
const scale = Number(argValue('--scale') ?? 1)
const quick = process.argv.includes('--quick')
const runs = Number(argValue('--runs') ?? 3)
const only = new Set((argValue('--only') ?? 'export,verify,push,sigs,report').split(','))
const keep = process.argv.includes('--keep') // keep bench/work/out (the archives and layouts) to look at
const forceProfile = process.argv.includes('--profile')
const noProfile = process.argv.includes('--no-profile')
const sigCount = Number(argValue('--signatures') ?? 1000)
if (!(scale >= 1) || !Number.isInteger(scale) || !(runs >= 1)) {
  process.stderr.write(
    'usage: node bench/run.ts [--scale N] [--quick] [--runs R] [--only export,verify,push,sigs,report] [--keep] [--profile|--no-profile] [--baseline REV]\n',
  )
  process.exit(2)
}
const allSteps = ['export', 'verify', 'push', 'sigs', 'report']
const partial = allSteps.some(x => !only.has(x))
// a partial run (--only) is saved under its own name, so it never replaces a full run in the growth table
const label = `scale-${scale}${quick ? '-quick' : ''}${partial ? `-only-${[...only].join('-')}` : ''}`

/** Volume size for the volume-set export (issue 17): several volumes at scale 1, and the 520 MiB layer split. */
const VOLUME_SIZE = quick ? '40M' : '400M'
const log = (line: string) => process.stdout.write(`${line}\n`)
const LOG = join(WORK, 'commands.log')

function machine(): Record<string, string> {
  const sh = (cmd: string, args: string[]) => {
    try {
      return execFileSync(cmd, args, {encoding: 'utf8'}).trim()
    } catch {
      return '?'
    }
  }
  const df = sh('df', ['-h', '--output=source,fstype,size,avail', WORK]).split('\n').pop() ?? '?'
  const dev = df.split(/\s+/)[0]?.replace('/dev/', '') ?? ''
  const rota = dev ? sh('cat', [`/sys/block/${dev}/queue/rotational`]) : '?'
  return {
    cpu: `${cpus()[0]?.model ?? '?'}, nproc ${sh('nproc', [])}`,
    memory: `${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    disk: `${df.split(/\s+/).join(' ')} (device, fs, size, free; rotational=${rota}; fdatasync'd writes ~640 MB/s, see the write floor)`,
    kernel: sh('uname', ['-sr']),
    node: process.version,
    skopeo: sh('skopeo', ['--version']),
    openssl: sh('openssl', ['version']),
    registry: sh('/usr/bin/docker-registry', ['--version']),
  }
}

// ---- airlock command lines (the one place that knows airlock's flags) ----
// airlock is measured from a private build of the committed tree (git HEAD, or the working tree with
// --worktree): dist/ is shared with everyone building in this checkout, so a run could otherwise measure
// someone's half-finished change, or see dist/ rebuilt under it.
const SNAP = join(WORK, 'airlock')
// `--baseline REV`: a second build (of REV) whose export, volume export, start-up and second push are measured in
// the same runs, interleaved: an A/B of a change on a loaded machine (rows marked "baseline", not targets).
const baseline = argValue('--baseline')
const BASE_SNAP = join(WORK, 'airlock-baseline')
let airlockCommit = 'working tree'
function buildSnapshot(snap = SNAP, rev?: string): void {
  const SNAP = snap
  rmSync(SNAP, {recursive: true, force: true})
  mkdirSync(SNAP, {recursive: true})
  // the bundle's build (scripts/bundle.ts, as `npm run build` makes it) only where the tree has it: an older
  // --baseline REV measures what it shipped, dist/ modules
  const bundler = ['scripts/bundle.ts', 'scripts/bundle', 'scripts/esbuild-common.ts']
  const inTree = (path: string) =>
    rev
      ? spawnSync('git', ['cat-file', '-e', `${rev}:${path}`], {cwd: ROOT}).status === 0
      : existsSync(join(ROOT, path))
  const paths = ['bin', 'src', 'scripts/manifest.js', 'package.json', 'tsconfig.json', ...bundler.filter(inTree)]
  if (rev) execFileSync('sh', ['-c', `git archive ${rev} ${paths.join(' ')} | tar -x -C '${SNAP}'`], {cwd: ROOT})
  else if (process.argv.includes('--worktree')) {
    for (const p of paths) {
      mkdirSync(dirname(join(SNAP, p)), {recursive: true})
      execFileSync('cp', ['-r', join(ROOT, p), join(SNAP, p)], {stdio: 'ignore'})
    }
  } else {
    airlockCommit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {cwd: ROOT, encoding: 'utf8'}).trim()
    execFileSync('sh', ['-c', `git archive HEAD ${paths.join(' ')} | tar -x -C '${SNAP}'`], {cwd: ROOT})
  }
  execFileSync('ln', ['-s', join(ROOT, 'node_modules'), join(SNAP, 'node_modules')])
  execFileSync(NODE, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(SNAP, 'tsconfig.json')], {
    cwd: SNAP,
    stdio: 'inherit',
  })
  execFileSync(NODE, [join(SNAP, 'scripts', 'manifest.js')], {cwd: SNAP, stdio: 'inherit'})
  if (existsSync(join(SNAP, 'scripts', 'bundle.ts')))
    execFileSync(NODE, [join(SNAP, 'scripts', 'bundle.ts')], {cwd: SNAP, stdio: 'inherit'})
}
function airlock(args: string[], profileDir?: string, snap = SNAP): string[] {
  const prof = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []
  return [NODE, ...prof, join(snap, 'bin', 'run.js'), ...args]
}
function baselineAirlock(args: string[]): string[] {
  return [NODE, join(BASE_SNAP, 'bin', 'run.js'), ...args]
}
function airlockAvailable(command: string): boolean {
  return existsSync(join(SNAP, 'dist', 'commands', `${command}.js`))
}

interface Ctx {
  workload: Workload
  source: StartedRegistry
  sigstore: BenchSigstore
  imagesFile: string
}

function exportArgs(ctx: Ctx, out: string): string[] {
  return [
    'export',
    '-f',
    ctx.imagesFile,
    '-o',
    out,
    '--insecure-registry',
    ctx.source.host,
    ...(ctx.sigstore.exportFlags ?? []),
  ]
}
function verifyArgs(ctx: Ctx, archive: string): string[] {
  return ['verify', archive, ...(ctx.sigstore.verifyFlags ?? [])]
}
function pushArgs(ctx: Ctx, archive: string, target: string): string[] {
  return ['push', archive, `${target}/mirror`, '--insecure-registry', target, ...(ctx.sigstore.pushFlags ?? [])]
}

// ---- steps ----
function measurement(name: string, tool: string, bytes: number, results: RunResult[], note = ''): Measurement {
  const seconds = median(results.map(r => r.seconds))
  return {
    name,
    tool,
    bytes,
    runs: results.map(r => r.seconds),
    seconds,
    mbps: bytes / 1e6 / seconds,
    maxRssKiB: Math.max(...results.map(r => r.maxRssKiB)),
    note,
  }
}

function fresh(path: string): string {
  rmSync(path, {recursive: true, force: true})
  mkdirSync(dirname(path), {recursive: true})
  return path
}

function sync(): void {
  execFileSync('sync')
}

async function benchExport(ctx: Ctx, out: Measurement[]): Promise<string | undefined> {
  const bytes = ctx.workload.imageBytes
  const refs = ctx.workload.images.map(i => i.reference)
  const skopeoOci = join(WORK, 'out', 'skopeo-oci')
  const airlockTar = join(WORK, 'out', 'airlock.tar')
  const have = airlockAvailable('export')
  const r: Record<string, RunResult[]> = {
    airlock: [],
    volumes: [],
    baseline: [],
    baselineVolumes: [],
    oci: [],
    ociSync: [],
    ociArchive: [],
    get: [],
    write: [],
  }
  // The same export written as a volume set (issue 17): the 520 MiB layer is split, the rest packed whole.
  const airlockVolumes = join(WORK, 'out', 'volumes', 'airlock.tar')
  const repos = [...new Set(ctx.workload.images.map(i => i.repo))]
  for (let i = 0; i < runs; i++) {
    log(`  export run ${i + 1}/${runs} (load ${loadavg()[0]!.toFixed(2)})`)
    if (have) {
      fresh(airlockTar)
      r.airlock!.push(await timed(airlock(exportArgs(ctx, airlockTar)), {log: LOG}))
      sync()
      fresh(dirname(airlockVolumes))
      mkdirSync(dirname(airlockVolumes), {recursive: true})
      r.volumes!.push(
        await timed(airlock([...exportArgs(ctx, airlockVolumes), '--volume-size', VOLUME_SIZE]), {log: LOG}),
      )
      rmSync(dirname(airlockVolumes), {recursive: true, force: true})
      sync()
      if (baseline) {
        fresh(airlockTar)
        r.baseline!.push(await timed(airlock(exportArgs(ctx, airlockTar), undefined, BASE_SNAP), {log: LOG}))
        sync()
        fresh(dirname(airlockVolumes))
        mkdirSync(dirname(airlockVolumes), {recursive: true})
        // The baseline may fail where the change fixed it (main's volume writer: "short read back" under load).
        await timed(airlock([...exportArgs(ctx, airlockVolumes), '--volume-size', VOLUME_SIZE], undefined, BASE_SNAP), {
          log: LOG,
        }).then(
          x => r.baselineVolumes!.push(x),
          (error: Error) => log(`  baseline volume export failed: ${error.message.split('\n').at(-2) ?? ''}`),
        )
        rmSync(dirname(airlockVolumes), {recursive: true, force: true})
        sync()
      }
    }
    fresh(skopeoOci)
    r.oci!.push(
      await step(
        refs.map(ref => [
          'skopeo',
          'copy',
          '-q',
          '--all',
          '--preserve-digests',
          '--src-tls-verify=false',
          `docker://${ref}`,
          `oci:${skopeoOci}:${ref}`,
        ]),
        {log: LOG},
      ),
    )
    // skopeo leaves its layout in the page cache (no fsync), airlock fsyncs its archive before the rename: the
    // informative row "+ fsync" adds what making that layout durable costs (coreutils `sync FILE...` fsyncs each
    // of its files, nothing else on the machine), timed right after the copy. The target row keeps skopeo's own time.
    const layoutFiles = readdirSync(skopeoOci, {recursive: true, withFileTypes: true})
      .filter(e => e.isFile())
      .map(e => join(e.parentPath, e.name))
    const fsynced = await timed(['sync', ...layoutFiles], {log: LOG})
    const last = r.oci!.at(-1)!
    r.ociSync!.push({seconds: last.seconds + fsynced.seconds, maxRssKiB: last.maxRssKiB, stdout: ''})
    sync()
    // floors: the registry read side (4 streams, no hashing) and the disk (one file, 1 MiB writes, fsync)
    r.get!.push(
      await timed([NODE, join(BENCH, 'floor.ts'), 'get', skopeoOci, ctx.source.url, ...repos, '--streams', '4'], {
        log: LOG,
      }),
    )
    const floorFile = join(WORK, 'out', 'floor.bin')
    r.write!.push(await timed([NODE, join(BENCH, 'floor.ts'), 'write', skopeoOci, floorFile], {log: LOG}))
    rmSync(floorFile, {force: true})
    const arch = fresh(join(WORK, 'out', 'skopeo-archives'))
    mkdirSync(arch, {recursive: true})
    // one archive per image (oci-archive: holds one image); each is removed after its run (untimed) to bound disk use
    const archiveRun: RunResult = {seconds: 0, maxRssKiB: 0, stdout: ''}
    for (const [n, ref] of refs.entries()) {
      const file = `${arch}/${n}.tar`
      const x = await timed(
        [
          'skopeo',
          'copy',
          '-q',
          '--all',
          '--preserve-digests',
          '--src-tls-verify=false',
          `docker://${ref}`,
          `oci-archive:${file}`,
        ],
        {log: LOG},
      )
      archiveRun.seconds += x.seconds
      archiveRun.maxRssKiB = Math.max(archiveRun.maxRssKiB, x.maxRssKiB)
      rmSync(file, {force: true})
    }
    r.ociArchive!.push(archiveRun)
    rmSync(arch, {recursive: true, force: true})
    sync()
  }
  if (have) {
    out.push(measurement('export', 'airlock export', bytes, r.airlock!, 'registry -> one archive, with signatures'))
    if (baseline) {
      out.push(measurement('export', `airlock export (baseline ${baseline})`, bytes, r.baseline!, 'A/B, same runs'))
      out.push(
        measurement('export', `airlock export --volume-size (baseline ${baseline})`, bytes, r.baselineVolumes!, 'A/B'),
      )
    }
    out.push(
      measurement(
        'export',
        `airlock export --volume-size ${VOLUME_SIZE}`,
        bytes,
        r.volumes!,
        'the same export as a volume set (each volume hashed, volumes.json)',
      ),
    )
  }
  out.push(
    measurement('export', 'skopeo copy --all -> oci:', bytes, r.oci!, `${refs.length} invocations, one layout dir`),
  )
  out.push(
    measurement(
      'export',
      'skopeo copy --all -> oci: + fsync',
      bytes,
      r.ociSync!,
      "the same, plus fsync of every file of the layout (`sync FILE...`, timed): durable, as airlock's archive is",
    ),
  )
  out.push(
    measurement(
      'export',
      'skopeo copy --all -> oci-archive:',
      bytes,
      r.ociArchive!,
      `${refs.length} invocations, one archive each`,
    ),
  )
  out.push(
    measurement(
      'export',
      'floor: raw GET x4, discarded',
      bytes,
      r.get!,
      'registry read side, no hashing, no disk (bench/floor.ts)',
    ),
  )
  out.push(
    measurement(
      'export',
      'floor: write 1 file + fsync',
      bytes,
      r.write!,
      'disk: the same bytes from page cache to one file (bench/floor.ts)',
    ),
  )
  return have ? airlockTar : undefined
}

async function benchVerify(ctx: Ctx, archive: string | undefined, out: Measurement[]): Promise<void> {
  // the hashing baselines run over the airlock archive; without one (export not landed yet), over a tar of the
  // skopeo layout of the same images
  let file = archive
  if (!file || !existsSync(file)) {
    file = join(WORK, 'out', 'skopeo-oci.tar')
    if (!existsSync(file)) execFileSync('tar', ['-cf', file, '-C', join(WORK, 'out', 'skopeo-oci'), '.'])
  }
  const bytes = statSync(file).size
  const have = archive !== undefined && airlockAvailable('verify')
  const r: Record<string, RunResult[]> = {airlock: [], node: [], openssl: [], parallel: []}
  for (let i = 0; i < runs; i++) {
    log(`  verify run ${i + 1}/${runs} (load ${loadavg()[0]!.toFixed(2)})`)
    if (have) r.airlock!.push(await timed(airlock(verifyArgs(ctx, archive)), {log: LOG}))
    r.node!.push(await timed([NODE, join(BENCH, 'sha256.ts'), file], {log: LOG}))
    r.openssl!.push(await timed(['openssl', 'dgst', '-sha256', file], {log: LOG}))
    r.parallel!.push(
      await timed([NODE, join(BENCH, 'sha256-parallel.ts'), file, '--workers', String(availableParallelism())], {
        log: LOG,
      }),
    )
  }
  if (have) out.push(measurement('verify', 'airlock verify', bytes, r.airlock!, 'archive on disk (page cache warm)'))
  out.push(measurement('verify', 'node sha256, 1 MiB reads', bytes, r.node!, 'one stream'))
  out.push(measurement('verify', 'openssl dgst -sha256', bytes, r.openssl!, 'one stream'))
  out.push(
    measurement(
      'verify',
      `node sha256, ${availableParallelism()} workers`,
      bytes,
      r.parallel!,
      'tar header pass + entries hashed by worker threads (bench/sha256-parallel.ts)',
    ),
  )
}

async function benchPush(ctx: Ctx, archive: string | undefined, out: Measurement[]): Promise<void> {
  const bytes = ctx.workload.imageBytes
  const skopeoOci = join(WORK, 'out', 'skopeo-oci')
  const have = archive !== undefined && airlockAvailable('push')
  const r: Record<string, RunResult[]> = {
    airlock: [],
    again: [],
    againSkip: [],
    skopeo: [],
    put: [],
    node: [],
    version: [],
    help: [],
    baseVersion: [],
    baseHelp: [],
    baseAgain: [],
    baseAgainSkip: [],
  }
  for (let i = 0; i < runs; i++) {
    log(`  push run ${i + 1}/${runs} (load ${loadavg()[0]!.toFixed(2)})`)
    // Where a second push's fixed cost goes: starting node, then oclif (--version loads no command), then the push
    // command's modules (--help loads them, does nothing); the rest of a second push is its own work.
    if (have) {
      r.node!.push(await timed([NODE, '-e', '0'], {log: LOG}))
      r.version!.push(await timed(airlock(['--version']), {log: LOG}))
      r.help!.push(await timed(airlock(['push', '--help']), {log: LOG}))
      if (baseline) {
        r.baseVersion!.push(await timed(baselineAirlock(['--version']), {log: LOG}))
        r.baseHelp!.push(await timed(baselineAirlock(['push', '--help']), {log: LOG}))
      }
    }
    if (have) {
      const reg = await startRegistry({auth: 'none'})
      try {
        r.airlock!.push(await timed(airlock(pushArgs(ctx, archive, reg.host)), {log: LOG}))
        sync()
        r.again!.push(await timed(airlock(pushArgs(ctx, archive, reg.host)), {log: LOG}))
        // the same, without the verification pass push makes first: what skipping by HEAD alone costs
        r.againSkip!.push(await timed(airlock([...pushArgs(ctx, archive, reg.host), '--skip-verify']), {log: LOG}))
        if (baseline) {
          // the same second pushes by the baseline build, into the same registry
          r.baseAgain!.push(await timed(baselineAirlock(pushArgs(ctx, archive, reg.host)), {log: LOG}))
          const skip = [...pushArgs(ctx, archive, reg.host), '--skip-verify']
          r.baseAgainSkip!.push(await timed(baselineAirlock(skip), {log: LOG}))
        }
      } finally {
        await reg.stop()
      }
    }
    const reg = await startRegistry({auth: 'none'})
    try {
      r.skopeo!.push(
        await step(
          ctx.workload.images.map(img => [
            'skopeo',
            'copy',
            '-q',
            '--all',
            '--preserve-digests',
            '--dest-tls-verify=false',
            `oci:${skopeoOci}:${img.reference}`,
            `docker://${reg.host}/mirror/${img.repo}:${img.tag}`,
          ]),
          {log: LOG},
        ),
      )
      sync()
    } finally {
      await reg.stop()
    }
    const floorReg = await startRegistry({auth: 'none'})
    try {
      r.put!.push(
        await timed([NODE, join(BENCH, 'floor.ts'), 'put', skopeoOci, floorReg.url, '--streams', '4'], {log: LOG}),
      )
      sync()
    } finally {
      await floorReg.stop()
    }
  }
  if (have) {
    out.push(measurement('push', 'airlock push', bytes, r.airlock!, 'archive -> empty registry, verify pass included'))
    out.push(measurement('push', 'airlock push (again)', bytes, r.again!, 'same archive, same registry'))
    out.push(
      measurement(
        'push',
        'airlock push (again, --skip-verify)',
        bytes,
        r.againSkip!,
        'the same without the verify pass',
      ),
    )
    out.push(measurement('push', 'start-up: node -e 0', 0, r.node!, 'the Node 22 process alone'))
    out.push(measurement('push', 'start-up: airlock --version', 0, r.version!, 'node + oclif, no command module'))
    out.push(measurement('push', 'start-up: airlock push --help', 0, r.help!, "node + oclif + push's modules"))
    if (baseline) {
      const note = `baseline build ${baseline}, interleaved`
      out.push(measurement('push', 'baseline: airlock push (again)', bytes, r.baseAgain!, note))
      out.push(measurement('push', 'baseline: airlock push (again, --skip-verify)', bytes, r.baseAgainSkip!, note))
      out.push(measurement('push', 'baseline: start-up: airlock --version', 0, r.baseVersion!, note))
      out.push(measurement('push', 'baseline: start-up: airlock push --help', 0, r.baseHelp!, note))
    }
  }
  out.push(
    measurement(
      'push',
      'skopeo copy --all oci: -> registry',
      bytes,
      r.skopeo!,
      `${ctx.workload.images.length} invocations, from the skopeo layout`,
    ),
  )
  out.push(
    measurement(
      'push',
      'floor: raw PUT x4',
      bytes,
      r.put!,
      'registry write side: monolithic streamed PUTs, no client hashing (bench/floor.ts)',
    ),
  )
}

async function benchSignatures(ctx: Ctx, out: Measurement[]): Promise<void> {
  const r: RunResult[] = []
  for (let i = 0; i < runs; i++) {
    log(`  signatures run ${i + 1}/${runs} (load ${loadavg()[0]!.toFixed(2)})`)
    r.push(
      await timed([NODE, join(BENCH, 'sigverify.ts'), ...ctx.sigstore.sigverifyArgs, '--count', String(sigCount)], {
        log: LOG,
      }),
    )
  }
  // sigverify.ts prints the seconds spent verifying (excluding process start and signing) on its last line
  const verifySeconds = r.map(x => Number(x.stdout.trim().split('\n').pop()?.split(/\s+/)[0]))
  const m = measurement(
    'signatures',
    `verify ${sigCount} legacy signatures`,
    0,
    r,
    'src/sigstore, offline, one process',
  )
  m.sigsPerSecond = sigCount / median(verifySeconds)
  out.push(m)
}

/** bench/report.ts R times: the seconds it reports for writing the 1,000-image HTML report and rendering it. */
async function benchReport(out: Measurement[]): Promise<void> {
  const r: RunResult[] = []
  for (let i = 0; i < runs; i++) {
    log(`  report run ${i + 1}/${runs} (load ${loadavg()[0]!.toFixed(2)})`)
    r.push(await timed([NODE, join(BENCH, 'report.ts'), '--images', '1000'], {log: LOG}))
  }
  const parsed = r.map(
    x =>
      JSON.parse(x.stdout.trim().split('\n').pop() ?? '{}') as {
        htmlBytes: number
        writeHtmlSeconds: number
        writeMarkdownSeconds: number
        renderSeconds: number
      },
  )
  const step = (tool: string, key: 'writeHtmlSeconds' | 'writeMarkdownSeconds' | 'renderSeconds', note: string) => {
    const m = measurement('report', tool, parsed[0]?.htmlBytes ?? 0, r, note)
    m.runs = parsed.map(p => p[key])
    m.seconds = median(m.runs)
    m.mbps = m.bytes / 1e6 / m.seconds
    out.push(m)
  }
  step('verify --report, 1,000 images: write HTML', 'writeHtmlSeconds', 'model -> document -> HTML, atomic write')
  step('verify --report, 1,000 images: write Markdown', 'writeMarkdownSeconds', 'model -> document -> Markdown')
  step(
    'verify --report, 1,000 images: render in Chromium',
    'renderSeconds',
    'load + full layout, browser start excluded',
  )
}

// ---- targets ----
function find(ms: Measurement[], tool: string): Measurement | undefined {
  return ms.find(m => m.tool === tool)
}

function targets(ms: Measurement[]): Target[] {
  const t: Target[] = []
  // min undefined: shown for information, not a target of issue 7
  const ratio = (name: string, a: string, b: string, min?: number) => {
    const x = find(ms, a)
    const y = find(ms, b)
    if (x && y) {
      const value = y.seconds / x.seconds
      t.push({
        name,
        value,
        unit: 'x',
        goal: min === undefined ? '(info)' : `>= ${min}x`,
        pass: min === undefined ? undefined : value >= min,
        command: x.name,
      })
    }
  }
  ratio('export vs skopeo -> oci:', 'airlock export', 'skopeo copy --all -> oci:', 1.5)
  ratio('export vs skopeo -> oci: + fsync', 'airlock export', 'skopeo copy --all -> oci: + fsync')
  ratio('export vs skopeo -> oci-archive:', 'airlock export', 'skopeo copy --all -> oci-archive:')
  const full = find(ms, 'airlock export')
  const delta = find(ms, 'airlock export --since (10% changed)')
  if (full && delta)
    t.push({
      name: 'delta export (10% changed) / full export',
      value: (100 * delta.seconds) / full.seconds,
      unit: '%',
      goal: '<= 15%',
      pass: delta.seconds / full.seconds <= 0.15,
      command: 'export',
    })
  // The delta's two parts: what any export costs whatever it carries (start-up, manifests, configs, signatures,
  // commit), measured as a delta where nothing changed, and what its 10% of the bytes add on top.
  const unchanged = find(ms, 'airlock export --since (nothing changed)')
  if (full && unchanged) {
    t.push({
      name: 'delta export (nothing changed: fixed cost) / full export',
      value: (100 * unchanged.seconds) / full.seconds,
      unit: '%',
      goal: '(info)',
      pass: undefined,
      command: 'export',
    })
    if (delta)
      t.push({
        name: 'delta export (10% changed) minus nothing changed / full export',
        value: (100 * (delta.seconds - unchanged.seconds)) / full.seconds,
        unit: '%',
        goal: '(info)',
        pass: undefined,
        command: 'export',
      })
  }
  ratio('verify vs node sha256 (1 stream)', 'airlock verify', 'node sha256, 1 MiB reads', 1.0)
  ratio('verify vs openssl dgst -sha256', 'airlock verify', 'openssl dgst -sha256')
  ratio(
    `verify vs node sha256, ${availableParallelism()} workers`,
    'airlock verify',
    `node sha256, ${availableParallelism()} workers`,
  )
  ratio('push vs skopeo', 'airlock push', 'skopeo copy --all oci: -> registry', 1.5)
  const single = find(ms, 'airlock export')
  const volumes = find(ms, `airlock export --volume-size ${VOLUME_SIZE}`)
  if (single && volumes)
    t.push({
      name: 'export as volumes / export as one archive',
      value: (100 * volumes.seconds) / single.seconds,
      unit: '%',
      goal: '<= 105%',
      pass: volumes.seconds / single.seconds <= 1.05,
      command: 'export',
    })
  for (const [name, tool] of [
    ['report write (1,000 images, HTML)', 'verify --report, 1,000 images: write HTML'],
    ['report render in Chromium (1,000 images)', 'verify --report, 1,000 images: render in Chromium'],
  ] as const) {
    const m = find(ms, tool)
    if (m) t.push({name, value: m.seconds, unit: 's', goal: '< 2 s', pass: m.seconds < 2, command: 'report'})
  }
  const p1 = find(ms, 'airlock push')
  const p2 = find(ms, 'airlock push (again)')
  if (p1 && p2)
    t.push({
      name: 'second push / first push',
      value: (100 * p2.seconds) / p1.seconds,
      unit: '%',
      goal: '< 5%',
      pass: p2.seconds / p1.seconds < 0.05,
      command: 'push',
    })
  const p3 = find(ms, 'airlock push (again, --skip-verify)')
  if (p1 && p3)
    t.push({
      name: 'second push --skip-verify / first push',
      value: (100 * p3.seconds) / p1.seconds,
      unit: '%',
      goal: '(info)',
      pass: undefined,
      command: 'push',
    })
  for (const m of ms.filter(x => x.tool.startsWith('airlock') && !x.tool.includes('skip-verify'))) {
    t.push({
      name: `peak RSS ${m.tool}`,
      value: m.maxRssKiB / 1024,
      unit: 'MiB',
      goal: '< 200 MiB',
      pass: m.maxRssKiB < 200 * 1024,
      command: m.name,
    })
  }
  // How far each tool is from what this machine allows any client (the floors of bench/floor.ts): 1.00x is the floor.
  const floor = (tool: string, floorTool: string, what: string) => {
    const x = find(ms, tool)
    const f = find(ms, floorTool)
    if (x && f)
      t.push({
        name: `${tool}: distance to the ${what} floor`,
        value: x.seconds / f.seconds,
        unit: 'x',
        goal: '(info)',
        pass: undefined,
        command: x.name,
      })
  }
  for (const tool of ['airlock export', 'skopeo copy --all -> oci:', 'skopeo copy --all -> oci: + fsync']) {
    floor(tool, 'floor: raw GET x4, discarded', 'raw GET')
    floor(tool, 'floor: write 1 file + fsync', 'write+fsync')
  }
  for (const tool of ['airlock push', 'skopeo copy --all oci: -> registry']) floor(tool, 'floor: raw PUT x4', 'raw PUT')
  const s = ms.find(m => m.sigsPerSecond !== undefined)
  if (s)
    t.push({
      name: 'legacy signature verification',
      value: s.sigsPerSecond!,
      unit: 'sig/s',
      goal: '>= 200 sig/s',
      pass: s.sigsPerSecond! >= 200,
      command: 'signatures',
    })
  return t
}

// ---- profiles of missed targets ----
async function profileMisses(
  ctx: Ctx,
  ts: Target[],
  archive: string | undefined,
): Promise<Record<string, ProfileSummary>> {
  const missed = new Set(noProfile ? [] : ts.filter(t => t.pass === false || forceProfile).map(t => t.command))
  const out: Record<string, ProfileSummary> = {}
  for (const command of ['export', 'verify', 'push']) {
    if (!missed.has(command) || !archive || !airlockAvailable(command)) continue
    const dir = fresh(join(WORK, 'prof', command))
    log(`  profiling airlock ${command}`)
    if (command === 'export') {
      const tmp = join(WORK, 'out', 'airlock-prof.tar')
      await timed(airlock(exportArgs(ctx, fresh(tmp)), dir), {log: LOG})
      rmSync(tmp, {force: true})
    } else if (command === 'verify') {
      await timed(airlock(verifyArgs(ctx, archive), dir), {log: LOG})
    } else {
      const reg = await startRegistry({auth: 'none'})
      try {
        await timed(airlock(pushArgs(ctx, archive, reg.host), dir), {log: LOG})
      } finally {
        await reg.stop()
      }
    }
    if (existsSync(dir)) out[command] = summarizeProfiles(dir)
  }
  if (missed.has('signatures')) {
    const dir = fresh(join(WORK, 'prof', 'signatures'))
    await timed(
      [
        NODE,
        '--cpu-prof',
        `--cpu-prof-dir=${dir}`,
        join(BENCH, 'sigverify.ts'),
        ...ctx.sigstore.sigverifyArgs,
        '--count',
        String(sigCount),
      ],
      {log: LOG},
    )
    out.signatures = summarizeProfiles(dir)
  }
  return out
}

// ---- main ----
async function main(): Promise<void> {
  mkdirSync(WORK, {recursive: true})
  writeFileSync(LOG, '')
  log(`airlock bench ${label}: ${runs} runs per step, work dir ${WORK}`)
  buildSnapshot()
  if (baseline) buildSnapshot(BASE_SNAP, baseline)
  log(`airlock built from ${airlockCommit} into ${SNAP}`)
  const loadStart = loadavg()

  // registries (test/support/registry.ts) keep their storage under os.tmpdir(): bench/work/tmp, removed on stop
  process.env.TMPDIR = join(WORK, 'tmp')
  mkdirSync(process.env.TMPDIR, {recursive: true})
  const source = await startRegistry({auth: 'none'})
  const sigstore = await setupSigstore(fresh(join(WORK, 'sigstore')))
  log(`generating the workload (${label}) in ${source.dir}`)
  const workload = await generateWorkload(
    source.url,
    source.host,
    planWorkload(scale, quick),
    sigstore.signer,
    () => {},
  )
  log(
    `  ${workload.images.length} images, ${workload.imageObjects} blobs+manifests, ${(workload.imageBytes / 1e9).toFixed(2)} GB, ${workload.signatures} signatures, ${workload.generateSeconds.toFixed(1)} s`,
  )
  sync()
  const imagesFile = join(WORK, 'images.txt')
  writeFileSync(imagesFile, workload.images.map(i => i.reference).join('\n') + '\n')
  const ctx: Ctx = {workload, source, sigstore, imagesFile}

  const measurements: Measurement[] = []
  let archive: string | undefined
  let profiles: Record<string, ProfileSummary> = {}
  try {
    if (only.has('export') || only.has('verify') || only.has('push')) {
      log('export')
      archive = await benchExport(ctx, measurements)
    }
    if (only.has('export') && archive && airlockAvailable('inventory')) {
      log('delta export (10% of the bytes changed)')
      const delta = await benchDelta({
        airlock: args => airlock(args),
        exportArgs: out => exportArgs(ctx, out),
        archive,
        workDir: join(WORK, 'out'),
        runs,
        log: LOG,
        say: log,
      })
      measurements.push(
        measurement(
          'export',
          'airlock export --since (10% changed)',
          delta.changedBytes,
          delta.results,
          `delta: ${(delta.changedBytes / 1e6).toFixed(1)} of ${(delta.totalBlobBytes / 1e6).toFixed(1)} MB carried; inventory ${delta.inventoryBytes} bytes for ${delta.inventoryBlobs} blobs (${Math.round(delta.inventoryBytes / Math.max(delta.inventoryBlobs, 1))} B/blob)`,
        ),
      )
      measurements.push(
        measurement(
          'export',
          'airlock export --since (nothing changed)',
          0,
          delta.unchanged,
          'the same export against the full inventory: no layer carried (manifests, configs, signatures only), the fixed cost of an export',
        ),
      )
    }
    if (only.has('verify')) {
      log('verify')
      await benchVerify(ctx, archive, measurements)
    }
    if (only.has('push')) {
      log('push')
      await benchPush(ctx, archive, measurements)
    }
    if (only.has('sigs')) {
      log('signatures')
      await benchSignatures(ctx, measurements)
    }
    if (only.has('report')) {
      log('report')
      await benchReport(measurements)
    }
    const ts = targets(measurements)
    profiles = await profileMisses(ctx, ts, archive)
    const results: BenchResults = {
      label,
      scale,
      quick,
      runs,
      date: new Date().toISOString(),
      airlockCommit,
      machine: machine(),
      load: {start: loadStart, end: loadavg()},
      workload: {
        images: workload.images.length,
        indexes: workload.images.filter(i => i.manifests > 1).length,
        manifests: workload.images.reduce((n, i) => n + i.manifests, 0),
        objects: workload.imageObjects,
        bytes: workload.imageBytes,
        signatures: workload.signatures,
        archiveBytes: archive && existsSync(archive) ? statSync(archive).size : 0,
      },
      measurements,
      targets: ts,
      profiles,
    }
    // only full runs (every step, full size) are the record: bench/results/<label>.json and bench/RESULTS.md;
    // a --quick or --only run writes its report under bench/work/
    const official = !quick && !partial
    const resultsDir = official ? join(BENCH, 'results') : WORK
    const resultsMd = official ? join(BENCH, 'RESULTS.md') : join(WORK, `RESULTS-${label}.md`)
    mkdirSync(resultsDir, {recursive: true})
    writeFileSync(join(resultsDir, `${label}.json`), JSON.stringify(results, null, 1) + '\n')
    const all = readdirSync(join(BENCH, 'results'))
      .filter(f => f.endsWith('.json'))
      .map(f => JSON.parse(readFileSync(join(BENCH, 'results', f), 'utf8')) as BenchResults)
    const previous = existsSync(join(BENCH, 'RESULTS.md')) ? readFileSync(join(BENCH, 'RESULTS.md'), 'utf8') : ''
    const {table, markdown} = renderResults(results, all, previous)
    log('')
    log(table)
    writeFileSync(resultsMd, markdown)
    log(`\nwrote ${resultsMd} and ${join(resultsDir, `${label}.json`)}`)
  } finally {
    await source.stop()
    await sigstore.close()
    if (!keep) rmSync(join(WORK, 'out'), {recursive: true, force: true})
  }
}

await main()
