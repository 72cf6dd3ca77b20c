#!/usr/bin/env node
// airlock needs Node.js 22+. When started by an older system Node, hand over to the Node 22 that
// the project's own devDependency `node` installed, so a fresh clone works with no manual setup.
//
// The wrapper stays as thin as a shell `exec`: signals it receives (Ctrl-C, `kill`, a dropped ssh session) are
// forwarded to the real process, the wrapper exits the way the real process did (128+n after a signal), and the
// real process stops by itself if the wrapper disappears (SIGKILL), so no airlock keeps running unseen.
import {spawn} from 'node:child_process'
import {existsSync} from 'node:fs'
// a namespace import: the older Node this file may first run on has no enableCompileCache, and a named import of
// a missing export fails before any line runs
import * as nodeModule from 'node:module'
import {constants} from 'node:os'
import {isAbsolute} from 'node:path'
import {fileURLToPath} from 'node:url'

const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP']
const major = Number(process.versions.node.split('.')[0])

if (major < 22) {
  const local = fileURLToPath(new URL('../node_modules/node/bin/node', import.meta.url))
  if (!existsSync(local)) {
    process.stderr.write(
      `airlock: error: Node.js >= 22 is required (this is ${process.version})\nairlock: hint: run "npm ci" in the project to install it\n`,
    )
    process.exit(2)
  }
  const child = spawn(local, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: {...process.env, AIRLOCK_WRAPPER_PID: String(process.pid)},
  })
  for (const signal of FORWARDED)
    process.on(signal, () => {
      // A terminal's Ctrl-C already reached the child (same process group); a second SIGINT is harmless.
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
    })
  child.on('error', error => {
    process.stderr.write(`airlock: error: cannot start ${local}: ${error.message}\n`)
    process.exit(2)
  })
  child.on('exit', (code, signal) => {
    process.exit(signal ? 128 + (constants.signals[signal] ?? 0) : (code ?? 1))
  })
} else {
  const wrapper = Number(process.env.AIRLOCK_WRAPPER_PID)
  delete process.env.AIRLOCK_WRAPPER_PID
  if (wrapper > 0) {
    // Started by the wrapper: if it dies without forwarding a signal (SIGKILL), stop as if told to.
    const timer = setInterval(() => {
      if (process.ppid !== wrapper) {
        clearInterval(timer)
        process.kill(process.pid, 'SIGTERM')
      }
    }, 500)
    timer.unref()
  }
  startCompileCache()
  // `npm run build` bundles airlock, oclif and the other dependencies into dist/airlock.cjs (scripts/bundle.ts): one
  // file to read and compile instead of ~340 modules. It is the canonical start; the dist/ modules are the fallback
  // when only tsc ran (no bundle), and what bin/dev.js runs.
  const bundle = fileURLToPath(new URL('../dist/airlock.cjs', import.meta.url))
  const useBundle = existsSync(bundle)
  // oclif checks the Node version against its own engines range with semver (47 modules) at import; the check above
  // already holds airlock to Node 22+. Set for the import only, so no child process inherits it.
  const engineWarning = process.env.OCLIF_DISABLE_ENGINE_WARNING
  process.env.OCLIF_DISABLE_ENGINE_WARNING = '1'
  // oclif requires the bundle again for its commands, help class and hooks: the same require cache, the same module
  const bundled = useBundle ? nodeModule.createRequire(import.meta.url)(bundle) : undefined
  const {execute} = bundled ? {} : await import('@oclif/core')
  if (engineWarning === undefined) delete process.env.OCLIF_DISABLE_ENGINE_WARNING
  else process.env.OCLIF_DISABLE_ENGINE_WARNING = engineWarning
  if (bundled) await bundled.run(fileURLToPath(new URL('..', import.meta.url)))
  else await execute({dir: import.meta.url})
}

/**
 * Node 22's module compile cache: V8 keeps the compiled code of every module (the bundle's top level; without it,
 * oclif and airlock's own ~100 modules) in the installation's own node_modules/.cache, so later starts skip compiling them. Entries are keyed by the
 * source's hash (a changed file is compiled again). Not under the user's home: airlock writes nothing there that
 * the user did not ask for (the hostile-archive suite checks it), and code is cached where the code itself lives,
 * writable by whoever can change airlock anyway. Anything that stops the cache (a read-only installation,
 * NODE_DISABLE_COMPILE_CACHE, AIRLOCK_COMPILE_CACHE=off; AIRLOCK_COMPILE_CACHE=/DIR moves it) only costs the speed-up: airlock starts the same way.
 */
function startCompileCache() {
  const chosen = process.env.AIRLOCK_COMPILE_CACHE // a directory, or "off"
  if (chosen === 'off') return
  try {
    const own = fileURLToPath(new URL('../node_modules/.cache/airlock-compile-cache', import.meta.url))
    nodeModule.enableCompileCache?.(chosen && isAbsolute(chosen) ? chosen : own)
  } catch {
    // no cache: compile as usual
  }
}
