// Temporary files that become real only when complete: write to `.<target>.partial-<pid>-<random>` in the same
// directory (so rename is atomic on one file system), fsync, then rename. Anything left behind by a failure or a
// signal is removed by the cleanup registry below; what a SIGKILL or a power loss left is recognised by its name
// (the owner's pid) and removed by the next run to the same place (removeStaleTemporaries).
import {randomBytes} from 'node:crypto'
import {
  closeSync,
  fsyncSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs'
import {constants as osConstants} from 'node:os'
import {mkdir, open, rename, rm, stat} from 'node:fs/promises'
import {dirname, basename, join} from 'node:path'
import {AirlockError, toAirlockError} from '../errors.ts'

/** The temporary name for TARGET: `.NAME.partial-<pid>-<random>` beside it (the pid tells a stale one apart). */
export function partialName(target: string): string {
  return join(dirname(target), `.${basename(target)}.partial-${process.pid}-${randomBytes(6).toString('hex')}`)
}

/** A new temporary directory `PARENT/STEM.partial-<pid>-XXXXXX` (removeStaleTemporaries knows the naming). */
export function makePartialDir(parent: string, stem: string): string {
  return mkdtempSync(join(parent, `${stem}.partial-${process.pid}-`))
}

/**
 * Writes PATH whole or not at all (temporary name, fsync, rename): a crash leaves the old file or none, plus at worst
 * a temporary the next run removes. Returns the stale temporaries of the same naming it removed first.
 */
export function writeFileAtomicSync(path: string, data: string | Buffer, options: {mode?: number} = {}): string[] {
  const stale = removeStalePartials(path)
  const temp = partialName(path)
  try {
    const fd = openSync(temp, 'wx', options.mode ?? 0o644)
    try {
      const bytes = typeof data === 'string' ? Buffer.from(data) : data
      for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at)
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    renameSync(temp, path)
  } catch (error) {
    rmSync(temp, {force: true})
    throw toAirlockError(error, 'IO_ERROR')
  }
  return stale
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
  await renameInto(from, to, force)
  await fsyncDir(dirname(to))
}

/**
 * commitFile without the directory's fsync: for several files into one directory (a volume set's), synced once
 * after the last.
 */
export async function renameInto(from: string, to: string, force: boolean): Promise<void> {
  if (!force && (await exists(to)))
    throw new AirlockError('IO_ERROR', `${to} already exists`, {
      hint: 'choose another output path or pass --force to overwrite it',
    })
  try {
    await rename(from, to)
  } catch (error) {
    throw toAirlockError(error, 'IO_ERROR')
  }
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
 * Removes `.NAME.partial-*` files next to TARGET that no live process owns: what a run killed by SIGKILL or a power
 * loss left behind (its signal handler never ran). Returns the paths removed.
 */
export function removeStalePartials(target: string): string[] {
  return removeStaleTemporaries(dirname(target), `.${basename(target)}`)
}

/**
 * Removes the entries of DIR named `STEM.partial-<pid>-<suffix>` (any stem when STEM is undefined, the stems it
 * accepts when STEM is a predicate; also the older
 * `STEM.partial-<hex>` without a pid) whose owner is gone: its pid is not a live process and no live process holds
 * the file, or anything under the directory, open. A temporary some process still writes is left alone, so two runs
 * sharing a directory never remove each other's work. Returns the paths removed. Without /proc (not Linux) nothing
 * is removed: liveness cannot be told.
 */
export function removeStaleTemporaries(dir: string, stem?: string | ((stem: string) => boolean)): string[] {
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch {
    return []
  }
  const candidates: Array<{name: string; pid: number | undefined}> = []
  for (const name of names) {
    const at = name.lastIndexOf('.partial-')
    const own = stem === undefined || (typeof stem === 'string' ? name.slice(0, at) === stem : stem(name.slice(0, at)))
    if (at <= 0 || !own) continue
    const owner = /^(?:(\d+)-[0-9A-Za-z]+|[0-9a-f]+)$/.exec(name.slice(at + '.partial-'.length))
    if (!owner) continue
    candidates.push({name, pid: owner[1] === undefined ? undefined : Number(owner[1])})
  }
  if (candidates.length === 0) return []
  const held = openFiles()
  if (!held) return []
  const removed: string[] = []
  for (const {name, pid} of candidates) {
    if (pid !== undefined && isAlive(pid)) continue
    const path = join(dir, name)
    let absolute: string
    try {
      absolute = realpathSync(path)
    } catch {
      continue
    }
    if (held.has(absolute) || [...held].some(file => file.startsWith(`${absolute}/`))) continue
    try {
      rmSync(path, {force: true, recursive: true})
      removed.push(path)
    } catch {
      // not ours to remove (permissions): leave it
    }
  }
  return removed
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return true
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
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
