// Summarizes V8 .cpuprofile files (from `node --cpu-prof`): self time per function and per file, all threads of
// one run merged, so RESULTS.md can say where an airlock command spends its time.
import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

interface ProfileNode {
  id: number
  callFrame: {functionName: string; url: string; lineNumber: number}
  hitCount?: number
  children?: number[]
}
interface Profile {
  nodes: ProfileNode[]
  samples?: number[]
  timeDeltas?: number[]
  startTime: number
  endTime: number
}

export interface ProfileSummary {
  files: number
  totalMs: number
  byFunction: {name: string; ms: number; pct: number}[]
  byFile: {name: string; ms: number; pct: number}[]
  /** Inclusive (total) time per function: itself and everything it called. */
  inclusive: {name: string; ms: number; pct: number}[]
}

function shortUrl(url: string): string {
  if (!url) return '(native/V8)'
  const u = url.replace(/^file:\/\//, '')
  const nm = u.lastIndexOf('node_modules/')
  if (nm >= 0) return u.slice(nm)
  const root = u.indexOf('/main/')
  return root >= 0 ? u.slice(root + 6) : u
}

export function summarizeProfiles(dir: string, top = 15): ProfileSummary {
  const fnMs = new Map<string, number>()
  const fileMs = new Map<string, number>()
  const inclMs = new Map<string, number>()
  let totalMs = 0
  let files = 0
  for (const f of readdirSync(dir).filter(n => n.endsWith('.cpuprofile'))) {
    files++
    const p = JSON.parse(readFileSync(join(dir, f), 'utf8')) as Profile
    const byId = new Map(p.nodes.map(n => [n.id, n]))
    const parent = new Map<number, number>()
    for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
    const key = (n: ProfileNode) => {
      const cf = n.callFrame
      return `${cf.functionName || '(anonymous)'} ${cf.url ? `${shortUrl(cf.url)}:${cf.lineNumber + 1}` : ''}`.trim()
    }
    const selfMs = new Map<number, number>()
    if (p.samples && p.timeDeltas) {
      for (let i = 0; i < p.samples.length; i++) {
        const id = p.samples[i]!
        selfMs.set(id, (selfMs.get(id) ?? 0) + (p.timeDeltas[i] ?? 0) / 1000)
      }
    }
    for (const [id, ms] of selfMs) {
      const n = byId.get(id)
      if (!n) continue
      const cf = n.callFrame
      if (cf.functionName === '(idle)') continue
      totalMs += ms
      const file = cf.url ? shortUrl(cf.url) : cf.functionName.startsWith('(') ? cf.functionName : '(native/V8)'
      const fn = `${cf.functionName || '(anonymous)'} ${cf.url ? `${file}:${cf.lineNumber + 1}` : ''}`.trim()
      fnMs.set(fn, (fnMs.get(fn) ?? 0) + ms)
      fileMs.set(file, (fileMs.get(file) ?? 0) + ms)
      const seen = new Set<string>()
      for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
        const node = byId.get(at)
        if (!node || node.callFrame.functionName === '(root)') break
        const k = key(node)
        if (seen.has(k)) continue
        seen.add(k)
        inclMs.set(k, (inclMs.get(k) ?? 0) + ms)
      }
    }
  }
  const rank = (m: Map<string, number>, n = top) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, ms]) => ({name, ms: Math.round(ms), pct: totalMs ? Math.round((1000 * ms) / totalMs) / 10 : 0}))
  return {
    files,
    totalMs: Math.round(totalMs),
    byFunction: rank(fnMs),
    byFile: rank(fileMs),
    inclusive: rank(inclMs, 40),
  }
}
