// `npm test` runs this first, in plain JavaScript so any Node can run it: on a clean clone (no `npm ci` yet) the
// system Node cannot load the TypeScript preflight and would print a stack trace; this says in one line what to run.
import {existsSync} from 'node:fs'

const major = Number(process.versions.node.split('.')[0])
const installed = existsSync(new URL('../node_modules/node/bin/node', import.meta.url))
if (!installed || major < 22) {
  process.stderr.write(
    `airlock: npm test needs the project's dependencies and its Node 22 (this is Node ${process.version}${installed ? '' : ', and node_modules is missing'}): run "npm ci" first\n`,
  )
  process.exit(1)
}
