#!/usr/bin/env node
// airlock needs Node.js 22+. When started by an older system Node, hand over to the Node 22 that
// the project's own devDependency `node` installed, so a fresh clone works with no manual setup.
import {spawnSync} from 'node:child_process'
import {existsSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

const major = Number(process.versions.node.split('.')[0])
if (major < 22) {
  const local = fileURLToPath(new URL('../node_modules/node/bin/node', import.meta.url))
  if (!existsSync(local)) {
    process.stderr.write(`airlock: Node.js >= 22 is required (this is ${process.version}); run "npm ci" in the project to install it\n`)
    process.exit(2)
  }
  const result = spawnSync(local, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], {stdio: 'inherit'})
  process.exit(result.status ?? 1)
}

const {execute} = await import('@oclif/core')
await execute({dir: import.meta.url})
