// Delta export (issue 17 item 5): a workload where 10% of the bytes changed, exported with --since against an
// inventory of what the other side holds, vs the full export. The "changed" 10% are the layers left out of the
// inventory of the full archive (chosen in a fixed order until they reach 10% of the blob bytes): the delta export
// then downloads exactly those bytes, and reads every manifest and signature as a real delta does.
// Each run also exports a delta against the full inventory (nothing changed: every layer is in the base), which
// is the fixed cost of any export (start-up, manifests, configs, signature discovery, proofs and judgement, the
// archive's commit): the 10% delta is that plus its bytes, so the report shows which part misses the goal.
import {readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {median, timed, type RunResult} from './lib/measure.ts'

export interface DeltaBenchOptions {
  /** argv of the airlock CLI with these arguments */
  airlock: (args: string[]) => string[]
  /** the export arguments writing to `out` (the same as the full export) */
  exportArgs: (out: string) => string[]
  /** the full export's archive */
  archive: string
  workDir: string
  runs: number
  log: string
  say: (line: string) => void
}

export interface DeltaBenchResult {
  results: RunResult[]
  /** the same export against the full inventory: nothing to carry but manifests, configs and signatures */
  unchanged: RunResult[]
  /** bytes the delta carries vs left out */
  changedBytes: number
  totalBlobBytes: number
  inventoryBytes: number
  inventoryBlobs: number
}

export async function benchDelta(options: DeltaBenchOptions): Promise<DeltaBenchResult> {
  const inventory = join(options.workDir, 'inventory.json')
  rmSync(inventory, {force: true})
  const made = await timed(options.airlock(['inventory', options.archive, '-o', inventory, '--no-state']), {
    log: options.log,
  })
  void made
  const full = JSON.parse(readFileSync(inventory, 'utf8')) as {
    repositories: Array<{blobs: Array<[string, number]>}>
  }
  const blobs = new Map<string, number>()
  for (const repo of full.repositories) for (const [digest, size] of repo.blobs) blobs.set(digest, size)
  const total = [...blobs.values()].reduce((n, s) => n + s, 0)
  // Fixed order (by digest): the "changed" layers are a deterministic pick, each taken while it keeps the changed
  // bytes within 10% of the total (a layer that would overshoot is skipped, so the share stays close to 10%).
  const changed = new Set<string>()
  let changedBytes = 0
  for (const [digest, size] of [...blobs].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (changedBytes + size > total * 0.1) continue
    changed.add(digest)
    changedBytes += size
  }
  for (const repo of full.repositories) repo.blobs = repo.blobs.filter(([d]) => !changed.has(d))
  const since = join(options.workDir, 'inventory-90.json')
  writeFileSync(since, JSON.stringify(full))
  const results: RunResult[] = []
  const unchanged: RunResult[] = []
  for (let i = 0; i < options.runs; i++) {
    const out = join(options.workDir, 'delta.tar')
    rmSync(out, {force: true})
    options.say(`  delta export run ${i + 1}/${options.runs}`)
    results.push(await timed(options.airlock([...options.exportArgs(out), '--since', since]), {log: options.log}))
    rmSync(out, {force: true})
    unchanged.push(await timed(options.airlock([...options.exportArgs(out), '--since', inventory]), {log: options.log}))
    rmSync(out, {force: true})
  }
  options.say(
    `  delta export: ${(changedBytes / 1e6).toFixed(1)} of ${(total / 1e6).toFixed(1)} MB changed, median ${median(results.map(r => r.seconds)).toFixed(2)} s; nothing changed ${median(unchanged.map(r => r.seconds)).toFixed(2)} s`,
  )
  return {
    results,
    unchanged,
    changedBytes,
    totalBlobBytes: total,
    inventoryBytes: readFileSync(inventory).length,
    inventoryBlobs: blobs.size,
  }
}
