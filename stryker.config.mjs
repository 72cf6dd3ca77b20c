// Mutation testing (issue 13, docs/MUTATION.md): `npm run mutate` runs StrykerJS over one folder at a time with this
// project's in-process node:test runner (scripts/mutation/node-test-runner.ts): the test files stay in one process,
// coverage is kept per test, and a mutant runs only the tests that reached it, fastest files first. CLI tests run
// dist/, which the sandbox does not rebuild, so they cannot kill mutants and are left out. Pick the folder with
// MUTATE=policy|archive|trust|sigstore (scripts/mutate.sh loops over them). Incremental: the committed report of the
// last run is the baseline, so a re-run only judges mutants whose code or covering tests changed.
const folders = {
  policy: ['test/policy.test.ts', 'test/policy-glob.test.ts', 'test/go-regexp.test.ts', 'test/policy-*.unit.test.ts'],
  archive: [
    'test/archive.test.ts',
    'test/verify.test.ts',
    'test/verify-parallel.test.ts',
    'test/fuzz.test.ts',
    'test/archive-*.unit.test.ts',
  ],
  trust: [
    'test/tuf-export.test.ts',
    'test/trust-archive.test.ts',
    'test/trust-select.test.ts',
    'test/trust-hardening.test.ts',
    'test/trust-public-good.test.ts',
    'test/forecast.test.ts',
    // --trusted-root FILE (src/trust/trusted-root-file.ts) is tested with the trusted-root parser it wraps
    'test/sigstore-trusted-root.unit.test.ts',
    'test/trust-*.unit.test.ts',
  ],
  sigstore: ['test/sigstore-corpora.test.ts', 'test/talos.test.ts', 'test/sigstore-*.unit.test.ts'],
}
const folder = process.env.MUTATE ?? 'policy'
if (!folders[folder]) throw new Error(`MUTATE=${folder}: expected one of ${Object.keys(folders).join(', ')}`)

export default {
  testRunner: 'node-test',
  plugins: ['./scripts/mutation/node-test-runner.ts'],
  // per-test coverage: a mutant runs only the tests that reached it in the dry run
  coverageAnalysis: 'perTest',
  // static mutants (module-level code) need every test run on a fresh load: not measured on this shared machine
  // (docs/MUTATION.md); MUTATE_STATIC=1 measures them too
  ignoreStatic: process.env.MUTATE_STATIC !== '1',
  nodeTest: {testFiles: folders[folder]},
  // MUTATE_FILES=a.ts,b.ts narrows a run to some files of the folder
  mutate: process.env.MUTATE_FILES
    ? process.env.MUTATE_FILES.split(',').map((f) => `src/${folder}/${f}`)
    : [`src/${folder}/**/*.ts`],
  concurrency: Number(process.env.MUTATE_CONCURRENCY ?? 1),
  // a fresh worker now and then: each run imports new copies of the test files
  maxTestRunnerReuse: 300,
  timeoutMS: 10_000,
  incremental: process.env.MUTATE_INCREMENTAL !== '0',
  incrementalFile: `reports/mutation/${folder}.incremental.json`,
  reporters: ['clear-text', 'json', 'progress-append-only'],
  jsonReporter: {fileName: process.env.MUTATE_REPORT ?? `reports/mutation/${folder}.json`},
  ignorePatterns: ['dist', 'reports', '.stryker-tmp', 'bench', 'docs', '.git'],
  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
}
