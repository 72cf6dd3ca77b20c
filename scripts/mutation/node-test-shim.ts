// The part of `node:test` that the in-process test files use (describe/it/test, before/after, beforeEach/afterEach,
// skip/todo/only), for mutation testing only (node-test-runner.ts). node:test runs a process's tests once and cannot
// re-run them, so each mutant would cost a new process per test file (~0.7 s of CPU each, mostly loading src/); this
// keeps the loaded source in one process and re-runs the registered tests with node:test's order and hook semantics:
// describe bodies run when the file is imported, tests run one at a time in file order, a failing `before` fails the
// tests under it, `after` hooks always run. `npm test` never loads this file.
type Fn = (...args: unknown[]) => unknown
type Options = {skip?: unknown; todo?: unknown; only?: unknown}

export interface ShimTest {
  kind: 'test'
  name: string
  fn: Fn | undefined
  skip: boolean
  parent: ShimSuite
  id: string
}

export interface ShimSuite {
  kind: 'suite'
  name: string
  parent: ShimSuite | undefined
  children: Array<ShimTest | ShimSuite>
  before: Fn[]
  after: Fn[]
  beforeEach: Fn[]
  afterEach: Fn[]
  skip: boolean
  /** Stryker's currentTestId while the suite's body and hooks run: what they reach serves each test under it. */
  coverageId: string
}

export const LOAD_ID = 'load'
let suites = 0
function newSuite(name: string, parent: ShimSuite | undefined, skip: boolean, coverageId?: string): ShimSuite {
  const id = coverageId ?? `suite ${++suites}`
  return {
    kind: 'suite',
    name,
    parent,
    children: [],
    before: [],
    after: [],
    beforeEach: [],
    afterEach: [],
    skip,
    coverageId: id,
  }
}

const stryker = () => ((globalThis as {__stryker__?: {currentTestId?: string}}).__stryker__ ??= {})

let current: ShimSuite | undefined
const pending: Promise<unknown>[] = []

/** Imports a test file with its registrations collected into a fresh root suite. */
export async function collect(file: string, coverageId: string, load: () => Promise<unknown>): Promise<ShimSuite> {
  const root = newSuite(file, undefined, false, coverageId)
  current = root
  try {
    await load()
    while (pending.length > 0) await pending.shift()
  } finally {
    current = undefined
  }
  return root
}

function parseArgs(a: unknown, b: unknown, c: unknown): {name: string; options: Options; fn: Fn | undefined} {
  if (typeof a === 'function') return {name: a.name || '<anonymous>', options: {}, fn: a as Fn}
  if (typeof b === 'function') return {name: String(a), options: {}, fn: b as Fn}
  return {name: String(a), options: (b ?? {}) as Options, fn: c as Fn | undefined}
}

function registering(): ShimSuite {
  if (!current) throw new Error('node:test shim: a test was registered outside a collected file')
  return current
}

function suiteFn(forceSkip: boolean) {
  return (a: unknown, b?: unknown, c?: unknown): void => {
    const {name, options, fn} = parseArgs(a, b, c)
    const parent = registering()
    const suite = newSuite(name, parent, forceSkip || Boolean(options.skip) || Boolean(options.todo) || parent.skip)
    parent.children.push(suite)
    current = suite
    const state = stryker()
    const outer = state.currentTestId
    // the runner's load pass keeps one id for everything it reaches (LOAD_ID)
    if (outer !== undefined && outer !== LOAD_ID) state.currentTestId = suite.coverageId
    try {
      const result = fn?.()
      if (result instanceof Promise) pending.push(result)
    } finally {
      current = parent
      state.currentTestId = outer
    }
  }
}

function testFn(forceSkip: boolean) {
  return (a: unknown, b?: unknown, c?: unknown): void => {
    const {name, options, fn} = parseArgs(a, b, c)
    const parent = registering()
    const skip = forceSkip || Boolean(options.skip) || Boolean(options.todo) || parent.skip || fn === undefined
    parent.children.push({kind: 'test', name, fn, skip, parent, id: ''})
  }
}

function hook(kind: 'before' | 'after' | 'beforeEach' | 'afterEach') {
  return (fn: Fn): void => {
    registering()[kind].push(fn)
  }
}

type TestApi = ReturnType<typeof testFn> & {
  skip: ReturnType<typeof testFn>
  todo: ReturnType<typeof testFn>
  only: ReturnType<typeof testFn>
}
type SuiteApi = ReturnType<typeof suiteFn> & {
  skip: ReturnType<typeof suiteFn>
  todo: ReturnType<typeof suiteFn>
  only: ReturnType<typeof suiteFn>
}

export const it: TestApi = Object.assign(testFn(false), {skip: testFn(true), todo: testFn(true), only: testFn(false)})
export const test = it
export const describe: SuiteApi = Object.assign(suiteFn(false), {
  skip: suiteFn(true),
  todo: suiteFn(true),
  only: suiteFn(false),
})
export const suite = describe
export const before = hook('before')
export const after = hook('after')
export const beforeEach = hook('beforeEach')
export const afterEach = hook('afterEach')
export default it
