// How many mutants Stryker makes in each file of a folder, with the same instrumenter as `npm run mutate`, without a
// dry run: `node scripts/mutation/count.mjs archive`. The total is the `--instrumented N` of summary.ts (the whole
// folder's count: a run narrowed by MUTATE_FILES never adds the new mutants of the other files to its report).
import {readdirSync, readFileSync} from 'node:fs'
import {Instrumenter} from '@stryker-mutator/instrumenter'

const folder = process.argv[2]
if (!folder) throw new Error('usage: count.mjs <folder>')
const quiet = () => undefined
const logger = {
  isTraceEnabled: () => false,
  isDebugEnabled: () => false,
  trace: quiet,
  debug: quiet,
  info: quiet,
  warn: console.warn,
  error: console.error,
  fatal: console.error,
}
const instrumenter = new Instrumenter(logger)
const files = readdirSync(`src/${folder}`, {recursive: true})
  .filter(f => f.endsWith('.ts'))
  .sort()
let total = 0
for (const f of files) {
  const name = `src/${folder}/${f}`
  const {mutants} = await instrumenter.instrument([{name, content: readFileSync(name, 'utf8'), mutate: true}], {
    plugins: null,
    excludedMutations: [],
    ignorers: [],
    noHeader: false,
  })
  console.log(`${name} ${mutants.length}`)
  total += mutants.length
}
console.log(`total ${total}`)
