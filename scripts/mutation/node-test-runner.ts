// A StrykerJS test runner for this project's node:test files that keeps them in one process (docs/MUTATION.md).
// `node:test` imports are resolved to node-test-shim.ts, each run imports fresh copies of the test files (a query
// string makes a new module; the source under test stays loaded and is switched between mutants at run time, which
// is how Stryker's instrumented code works), and coverage is kept per test, so a mutant runs only the tests that
// reached it. Code that runs when a module loads is reported as static: Stryker then restarts this worker and runs
// that mutant with the project's modules loaded anew under a new URL query, in the same process.
import {existsSync, globSync, readFileSync, writeFileSync} from 'node:fs'
import {registerHooks} from 'node:module'
import {resolve} from 'node:path'
import {pathToFileURL} from 'node:url'
import {commonTokens, declareClassPlugin, PluginKind, tokens} from '@stryker-mutator/api/plugin'
import {DryRunStatus, determineHitLimitReached, TestStatus, toMutantRunResult} from '@stryker-mutator/api/test-runner'
import {collect, LOAD_ID, type ShimSuite, type ShimTest} from './node-test-shim.ts'

const SHIM_URL = new URL('./node-test-shim.ts', import.meta.url).href
const ENV_MUTANT = '__STRYKER_ACTIVE_MUTANT__'
/** Per test file time of the dry run (import, hooks and tests), in the sandbox, for every worker to read. */
const FILE_TIMES = '.node-test-file-times.json'

interface StrykerNamespace {
  activeMutant?: string
  currentTestId?: string
  hitCount?: number
  hitLimit?: number
  mutantCoverage?: {static: Record<string, number>; perTest: Record<string, Record<string, number>>}
}
interface TestResult {
  id: string
  name: string
  status: number
  timeSpentMs: number
  fileName: string
  failureMessage?: string
}

function ns(): StrykerNamespace {
  const g = globalThis as {__stryker__?: StrykerNamespace}
  g.__stryker__ ??= {}
  return g.__stryker__
}

/** Bumped to load the project's modules anew (a static mutant is active while they load). */
let generation = 0
let hooked = false
function redirectNodeTest(): void {
  if (hooked) return
  hooked = true
  const project = pathToFileURL(`${process.cwd()}/`).href
  registerHooks({
    resolve(specifier, context, next) {
      if (specifier === 'node:test' || specifier === 'test') return {url: SHIM_URL, shortCircuit: true}
      const resolved = next(specifier, context)
      const url = resolved.url
      if (generation === 0 || !url.startsWith(project) || url.includes('/node_modules/') || url.includes('?'))
        return resolved
      return {...resolved, url: `${url}?stryker-generation=${generation}`}
    },
  })
}

/** Errors thrown outside any awaited test code (a stream 'error', a rejected promise nobody awaited). */
let strayError: unknown
const recordStray = (error: unknown) => {
  strayError ??= error
}

function message(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error)
}

const fileLevelId = (file: string) => `${file} (file)`

class NodeTestRunner {
  static inject = tokens(commonTokens.options, commonTokens.logger)
  private readonly testFiles: string[]
  private run = 0
  /** dry-run time per test file: mutant runs take the fastest files first, so a killed mutant stops early */
  private readonly fileMs = new Map<string, number>()
  private loaded = false
  private readonly log: {debug(m: string): void}

  constructor(options: {nodeTest?: {testFiles?: string[]}}, log: {debug(m: string): void}) {
    const patterns = options.nodeTest?.testFiles ?? ['test/**/*.test.ts']
    this.testFiles = [...new Set(patterns.flatMap(p => globSync(p)))].sort()
    this.log = log
  }

  capabilities() {
    return {reloadEnvironment: true}
  }

  async init(): Promise<void> {
    redirectNodeTest()
    process.on('uncaughtException', recordStray)
    process.on('unhandledRejection', recordStray)
  }

  /** Imports every test file once with no mutant active, so later runs switch mutants in loaded code. */
  private async loadAll(): Promise<void> {
    if (this.loaded) return
    this.loaded = true
    for (const file of this.testFiles) await this.importFresh(file)
  }

  private async importFresh(file: string): Promise<ShimSuite> {
    const url = `${pathToFileURL(resolve(file)).href}?stryker-run=${this.run++}`
    return collect(file, fileLevelId(file), () => import(url))
  }

  async dryRun(options: {disableBail: boolean}) {
    const state = ns()
    state.mutantCoverage = {static: {}, perTest: {}}
    // the load pass: what it reaches and no test run reaches again is module-level (static) code
    state.currentTestId = LOAD_ID
    await this.loadAll()
    state.currentTestId = undefined
    const result = await this.runFiles(this.testFiles, undefined, options.disableBail)
    writeFileSync(FILE_TIMES, JSON.stringify(Object.fromEntries(result.fileMs)))
    const coverage = state.mutantCoverage
    const atLoad = coverage.perTest[LOAD_ID] ?? {}
    delete coverage.perTest[LOAD_ID]
    const reachedByTests = new Set(Object.values(coverage.perTest).flatMap(c => Object.keys(c)))
    for (const id of Object.keys(atLoad)) if (!reachedByTests.has(id)) coverage.static[id] = atLoad[id]!
    // what a file's top level, a describe body or a suite hook reaches serves each test under it
    for (const root of result.roots)
      for (const test of selectedTests(root, () => true)) {
        const own = coverage.perTest[test.id] ?? {}
        for (const s of chain(test.parent)) {
          Object.assign(own, coverage.perTest[s.coverageId])
        }
        coverage.perTest[test.id] = own
      }
    const testIds = new Set(result.tests.map(t => t.id))
    for (const id of Object.keys(coverage.perTest)) if (!testIds.has(id)) delete coverage.perTest[id]
    this.log.debug(`node-test dry run: ${result.tests.length} tests`)
    return {status: DryRunStatus.Complete, tests: result.tests, mutantCoverage: coverage}
  }

  async mutantRun(options: {
    activeMutant: {id: string}
    testFilter?: string[]
    hitLimit?: number
    disableBail: boolean
    mutantActivation: 'static' | 'runtime'
    reloadEnvironment: boolean
  }) {
    const state = ns()
    delete state.mutantCoverage
    const reload = options.reloadEnvironment || options.mutantActivation === 'static'
    if (reload) {
      // a new generation of modules loads with the mutant active; the one after it loads clean again
      generation++
      this.loaded = false
    }
    if (options.mutantActivation === 'runtime') await this.loadAll()
    state.activeMutant = options.activeMutant.id
    process.env[ENV_MUTANT] = options.activeMutant.id
    state.hitLimit = options.hitLimit
    state.hitCount = options.hitLimit === undefined ? undefined : 0
    try {
      if (options.mutantActivation === 'static') await this.loadAll()
      const filter = options.testFilter ? new Set(options.testFilter) : undefined
      if (this.fileMs.size === 0 && existsSync(FILE_TIMES))
        for (const [f, ms] of Object.entries(JSON.parse(readFileSync(FILE_TIMES, 'utf8')) as Record<string, number>))
          this.fileMs.set(f, ms)
      const files = (
        filter ? this.testFiles.filter(f => [...filter].some(id => id.startsWith(`${f} > `))) : [...this.testFiles]
      ).sort((a, b) => (this.fileMs.get(a) ?? 0) - (this.fileMs.get(b) ?? 0))
      const result = await this.runFiles(files, filter, options.disableBail)
      const hitLimit = determineHitLimitReached(state.hitCount, state.hitLimit)
      if (hitLimit) return toMutantRunResult(hitLimit)
      return toMutantRunResult({status: DryRunStatus.Complete, tests: result.tests})
    } finally {
      if (reload) {
        generation++
        this.loaded = false
      }
      state.activeMutant = undefined
      delete process.env[ENV_MUTANT]
      state.hitLimit = undefined
      state.hitCount = undefined
    }
  }

  private async runFiles(files: string[], filter: Set<string> | undefined, disableBail: boolean) {
    const tests: TestResult[] = []
    const roots: ShimSuite[] = []
    const fileMs = new Map<string, number>()
    const bail = {stop: false}
    for (const file of files) {
      if (bail.stop) break
      const started = Date.now()
      ns().currentTestId = fileLevelId(file)
      strayError = undefined
      let root: ShimSuite
      try {
        root = await this.importFresh(file)
      } catch (error) {
        // a test file that throws while loading fails as a whole (node:test reports it as one failed test)
        tests.push({
          id: `${file} > (load)`,
          name: `${file} (load)`,
          status: TestStatus.Failed,
          timeSpentMs: 0,
          fileName: file,
          failureMessage: message(error),
        })
        if (!disableBail) bail.stop = true
        continue
      }
      assignIds(root, file)
      roots.push(root)
      const selected = (t: ShimTest) => !filter || filter.has(t.id)
      await runSuite(root, selected, tests, bail, disableBail, file)
      ns().currentTestId = undefined
      fileMs.set(file, Date.now() - started)
    }
    return {tests, roots, fileMs}
  }
}

function assignIds(suite: ShimSuite, file: string, path: string[] = []): void {
  const seen = new Map<string, number>()
  for (const child of suite.children) {
    const n = (seen.get(child.name) ?? 0) + 1
    seen.set(child.name, n)
    const name = n === 1 ? child.name : `${child.name} #${n}`
    if (child.kind === 'suite') assignIds(child, file, [...path, name])
    else child.id = [file, ...path, name].join(' > ')
  }
}

function selectedTests(suite: ShimSuite, selected: (t: ShimTest) => boolean): ShimTest[] {
  return suite.children.flatMap(c => (c.kind === 'suite' ? selectedTests(c, selected) : selected(c) ? [c] : []))
}

function chain(suite: ShimSuite | undefined): ShimSuite[] {
  const out: ShimSuite[] = []
  for (let s = suite; s; s = s.parent) out.unshift(s)
  return out
}

async function runSuite(
  suite: ShimSuite,
  selected: (t: ShimTest) => boolean,
  results: TestResult[],
  bail: {stop: boolean},
  disableBail: boolean,
  file: string,
): Promise<void> {
  const mine = selectedTests(suite, selected)
  if (mine.length === 0 || bail.stop) return
  const fail = (test: ShimTest, reason: string, started: number) => {
    results.push({
      id: test.id,
      name: test.id,
      status: TestStatus.Failed,
      timeSpentMs: Date.now() - started,
      fileName: file,
      failureMessage: reason,
    })
    if (!disableBail) bail.stop = true
  }
  let setupError: string | undefined
  ns().currentTestId = suite.coverageId
  if (!suite.skip)
    for (const h of suite.before) {
      try {
        await h()
      } catch (error) {
        setupError = `before hook: ${message(error)}`
        break
      }
    }
  for (const child of suite.children) {
    if (bail.stop) break
    if (child.kind === 'suite') {
      if (setupError) for (const t of selectedTests(child, selected)) fail(t, setupError, Date.now())
      else await runSuite(child, selected, results, bail, disableBail, file)
      ns().currentTestId = suite.coverageId
      continue
    }
    if (!selected(child)) continue
    const started = Date.now()
    if (child.skip) {
      results.push({id: child.id, name: child.id, status: TestStatus.Skipped, timeSpentMs: 0, fileName: file})
      continue
    }
    if (setupError) {
      fail(child, setupError, started)
      continue
    }
    ns().currentTestId = child.id
    strayError = undefined
    let error: unknown
    try {
      for (const s of chain(suite)) for (const h of s.beforeEach) await h()
      await child.fn!({name: child.name, signal: AbortSignal.timeout(600_000), diagnostic() {}, skip() {}, todo() {}})
      for (const s of chain(suite).reverse()) for (const h of s.afterEach) await h()
      // let a stray rejection of this test surface before judging it
      await new Promise(r => setImmediate(r))
      if (strayError !== undefined) error = strayError
    } catch (thrown) {
      error = thrown
    }
    ns().currentTestId = suite.coverageId
    if (error !== undefined) fail(child, message(error), started)
    else
      results.push({
        id: child.id,
        name: child.id,
        status: TestStatus.Success,
        timeSpentMs: Date.now() - started,
        fileName: file,
      })
  }
  if (!suite.skip)
    for (const h of suite.after) {
      try {
        await h()
      } catch (error) {
        // node:test fails the suite when an after hook fails; count it against the suite's first test
        if (!bail.stop && mine[0]) fail(mine[0], `after hook: ${message(error)}`, Date.now())
      }
    }
}

export const strykerPlugins = [declareClassPlugin(PluginKind.TestRunner, 'node-test', NodeTestRunner)]
export const strykerValidationSchema = {
  $schema: 'http://json-schema.org/draft-07/schema',
  type: 'object',
  properties: {
    nodeTest: {
      type: 'object',
      properties: {testFiles: {type: 'array', items: {type: 'string'}}},
      additionalProperties: false,
    },
  },
}
