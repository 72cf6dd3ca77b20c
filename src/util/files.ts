// Temporary files that become real only when complete: write to `<target>.partial-<random>` in the same
// directory (so rename is atomic on one file system), fsync, then rename. Anything left behind by a failure or a
// signal is removed by the cleanup registry below.
import {randomBytes} from 'node:crypto'
import {readdirSync, readlinkSync, realpathSync, rmSync} from 'node:fs'
import {constants as osConstants} from 'node:os'
import {mkdir, open, rename, rm, stat} from 'node:fs/promises'
import {dirname, basename, join} from 'node:path'
import {AirlockError, toAirlockError} from '../errors.ts'

export function partialName(target: string): string {
  return join(dirname(target), `.${basename(target)}.partial-${randomBytes(6).toString('hex')}`)
}

export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path)
    return true
  } catch {
    return false
  }
}

/** fsyncs a directory so a rename inside it survives a crash (best effort: not every file system allows it). */
export async function fsyncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r')
    try {
      await fh.sync()
    } finally {
      await fh.close()
    }
  } catch {
    // Some file systems refuse to open or sync directories; the data itself is already synced.
  }
}

/** Renames `from` to `to`, refusing to replace an existing `to` unless `force`. */
export async function commitFile(from: string, to: string, force: boolean): Promise<void> {
  if (!force && (await exists(to)))
    throw new AirlockError('IO_ERROR', `${to} already exists`, {
      hint: 'choose another output path or pass --force to overwrite it',
    })
  try {
    await rename(from, to)
  } catch (error) {
    throw toAirlockError(error, 'IO_ERROR')
  }
  await fsyncDir(dirname(to))
}

export async function ensureDir(dir: string): Promise<void> {
  await mkdir(dir, {recursive: true})
}

// Paths to delete if the process is interrupted. SIGINT/SIGTERM/SIGHUP handlers are installed once, lazily, and only
// while something is registered, so library users that never write files see no handlers.
const pending = new Set<string>()
const INTERRUPTS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const
let handlersInstalled = false

function onSignal(signal: NodeJS.Signals): void {
  for (const path of pending) {
    try {
      // Synchronous on purpose: we are about to exit and async work would not finish.
      rmSync(path, {force: true, recursive: true})
    } catch {
      // keep going: remove what we can
    }
  }
  pending.clear()
  process.exitCode = 128 + (osConstants.signals[signal] ?? 0)
  // Start on a new line: a progress line may be drawn without its newline.
  process.stderr.write(
    `${process.stderr.isTTY ? '\r\x1b[K' : ''}airlock: error: interrupted (${signal}); temporary files removed\n`,
  )
  process.exit()
}

/** Registers a temporary path for removal on SIGINT/SIGTERM/SIGHUP; returns a function that unregisters it. */
export function removeOnSignal(path: string): () => void {
  if (!handlersInstalled) {
    for (const signal of INTERRUPTS) process.once(signal, onSignal)
    handlersInstalled = true
  }
  pending.add(path)
  return () => {
    pending.delete(path)
    if (pending.size === 0 && handlersInstalled) {
      for (const signal of INTERRUPTS) process.removeListener(signal, onSignal)
      handlersInstalled = false
    }
  }
}

export async function removeQuiet(path: string): Promise<void> {
  await rm(path, {force: true, recursive: true}).catch(() => undefined)
}

/**
 * Removes `.NAME.partial-*` files next to TARGET that no live process holds open: what an export killed by SIGKILL
 * or a power loss left behind (its signal handler never ran). A partial file some process still writes is left
 * alone. Returns the paths removed. Without /proc (not Linux) nothing is removed: liveness cannot be told.
 */
export function removeStalePartials(target: string): string[] {
  const dir = dirname(target)
  const prefix = `.${basename(target)}.partial-`
  let names: string[]
  try {
    names = readdirSync(dir).filter(n => n.startsWith(prefix) && /^[0-9a-f]+$/.test(n.slice(prefix.length)))
  } catch {
    return []
  }
  if (names.length === 0) return []
  const held = openFiles()
  if (!held) return []
  const removed: string[] = []
  for (const name of names) {
    const path = join(dir, name)
    let absolute: string
    try {
      absolute = realpathSync(path)
    } catch {
      continue
    }
    if (held.has(absolute)) continue
    try {
      rmSync(path, {force: true})
      removed.push(path)
    } catch {
      // not ours to remove (permissions): leave it
    }
  }
  return removed
}

/** Every file some process has open, from /proc/<pid>/fd; undefined where /proc is not available. */
function openFiles(): Set<string> | undefined {
  let pids: string[]
  try {
    pids = readdirSync('/proc').filter(p => /^\d+$/.test(p))
  } catch {
    return undefined
  }
  const files = new Set<string>()
  for (const pid of pids) {
    let fds: string[]
    try {
      fds = readdirSync(`/proc/${pid}/fd`)
    } catch {
      continue
    }
    for (const fd of fds) {
      try {
        files.add(readlinkSync(`/proc/${pid}/fd/${fd}`))
      } catch {
        // closed meanwhile
      }
    }
  }
  return files
}
