// Mutation testing (issue 13): `npm run mutate` runs StrykerJS over one folder at a time with the command runner
// (there is no node:test runner plugin): each mutant is judged by the narrow in-process test files of that folder
// (CLI tests run dist/, which the sandbox does not rebuild, so they cannot kill mutants). Pick the folder with
// MUTATE=policy|archive|trust|sigstore (scripts/mutate.sh runs all four and writes docs/MUTATION.md).
const folders = {
  policy: ['test/policy.test.ts'],
  archive: ['test/archive.test.ts'],
  trust: ['test/tuf-export.test.ts', 'test/trust-archive.test.ts', 'test/trust-select.test.ts'],
  sigstore: ['test/sigstore-corpora.test.ts', 'test/sigstore-instance.test.ts'],
}
const folder = process.env.MUTATE ?? 'policy'
if (!folders[folder]) throw new Error(`MUTATE=${folder}: expected one of ${Object.keys(folders).join(', ')}`)

export default {
  testRunner: 'command',
  commandRunner: {command: `node --test --test-concurrency=1 ${folders[folder].join(' ')}`},
  // MUTATE_FILES=a.ts,b.ts narrows the run to some files of the folder (the whole folder takes an hour here)
  mutate: process.env.MUTATE_FILES ? process.env.MUTATE_FILES.split(',').map((f) => `src/${folder}/${f}`) : [`src/${folder}/**/*.ts`],
  concurrency: Number(process.env.MUTATE_CONCURRENCY ?? 1),
  timeoutMS: 60_000,
  reporters: ['clear-text', 'json'],
  jsonReporter: {fileName: `reports/mutation/${folder}.json`},
  ignorePatterns: ['dist', 'reports', '.stryker-tmp', 'bench', 'docs'],
  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
}
