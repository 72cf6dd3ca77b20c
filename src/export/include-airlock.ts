// export --include-airlock: carry airlock's own single-file executables (built by `npm run package`) inside the
// archive, under airlock/ (docs/DECISIONS.md), so the next version crosses the gap with the images. Everything is
// checked before any image is downloaded: each file exists, is an ELF executable for its platform, and matches the
// SHA256SUMS next to it when there is one. The files are then streamed into the archive and recorded in
// airlock.json like every extra file, so verify checks their bytes. Their Sigstore bundles (`<file>.sigstore.json`,
// written when the build was given a key) ride along: that, or the sha256 carried on paper, is what proves who built
// an executable; verify only proves it arrived as exported.
import {createReadStream} from 'node:fs'
import {open, readFile, stat} from 'node:fs/promises'
import {join} from 'node:path'
import type {ArchiveWriter} from '../archive/writer.ts'
import {AIRLOCK_EXECUTABLE_ENTRY} from '../archive/schema.ts'
import {AirlockError} from '../errors.ts'
import type {Digest} from '../oci/digest.ts'
import {sha256} from '../oci/digest.ts'
import {fileSha256} from '../util/file-sha256.ts'
import {TOOL_VERSION} from '../version.ts'
import type {ExportHooks} from './export.ts'

export const AIRLOCK_PLATFORMS = ['amd64', 'arm64'] as const
export type AirlockPlatform = (typeof AIRLOCK_PLATFORMS)[number]

/** ELF e_machine of each platform (x86-64, AArch64). */
const ELF_MACHINE: Record<AirlockPlatform, number> = {amd64: 62, arm64: 183}
/** A Sigstore bundle is a few KiB; anything this big is not one. */
const MAX_BUNDLE_BYTES = 1024 * 1024

export interface CarriedExecutable {
  platform: AirlockPlatform
  /** entry name in the archive: airlock/airlock-<version>-linux-<platform> */
  entry: string
  file: string
  digest: Digest
  size: number
  /** the build's Sigstore bundle for it, carried as `<entry>.sigstore.json` */
  bundle?: {entry: string; bytes: Buffer}
}

export function executableName(platform: AirlockPlatform, version = TOOL_VERSION): string {
  return `airlock-${version}-linux-${platform}`
}

async function elfMachine(file: string): Promise<number | undefined> {
  const fh = await open(file, 'r')
  try {
    const head = Buffer.alloc(20)
    const {bytesRead} = await fh.read(head, 0, 20, 0)
    if (bytesRead < 20 || !head.subarray(0, 4).equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46])) || head[5] !== 1)
      return undefined
    return head.readUInt16LE(18)
  } finally {
    await fh.close()
  }
}

/** Finds and checks the executables for `platforms` in `dir`. Throws a USAGE error naming the first problem. */
export async function locateExecutables(
  dir: string,
  platforms: readonly AirlockPlatform[],
): Promise<CarriedExecutable[]> {
  const hint = `build them with "npm run package" (it writes ${AIRLOCK_PLATFORMS.map(p => executableName(p)).join(' and ')} and SHA256SUMS), and keep them together`
  let sums: Map<string, string> | undefined
  try {
    const text = await readFile(join(dir, 'SHA256SUMS'), 'utf8')
    sums = new Map()
    for (const line of text.split('\n')) {
      const m = /^([0-9a-f]{64}) [ *](\S+)$/.exec(line.trim())
      if (m) sums.set(m[2]!, m[1]!)
    }
  } catch {
    sums = undefined
  }
  const carried: CarriedExecutable[] = []
  for (const platform of [...new Set(platforms)].sort()) {
    const name = executableName(platform)
    const file = join(dir, name)
    const entry = `airlock/${name}`
    if (!AIRLOCK_EXECUTABLE_ENTRY.test(entry))
      throw new AirlockError('USAGE', `--include-airlock: ${name} is not a name an archive may carry`)
    let size: number
    try {
      const st = await stat(file)
      if (!st.isFile()) throw new Error('not a regular file')
      size = st.size
    } catch (error) {
      throw new AirlockError(
        'USAGE',
        `--include-airlock: no ${platform} executable ${name} in ${dir} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
        {hint},
      )
    }
    if ((await elfMachine(file)) !== ELF_MACHINE[platform])
      throw new AirlockError('USAGE', `--include-airlock: ${file} is not a linux/${platform} ELF executable`, {hint})
    const hex = await fileSha256(file)
    const listed = sums?.get(name)
    if (sums && listed === undefined)
      throw new AirlockError('USAGE', `--include-airlock: ${name} is not listed in ${join(dir, 'SHA256SUMS')}`, {hint})
    if (listed !== undefined && listed !== hex)
      throw new AirlockError(
        'DIGEST_MISMATCH',
        `--include-airlock: ${file} has sha256 ${hex}, SHA256SUMS says ${listed} (a damaged copy?)`,
        {hint: 'copy the executable again from where it was built'},
      )
    const item: CarriedExecutable = {platform, entry, file, digest: `sha256:${hex}`, size}
    try {
      const bundleFile = `${file}.sigstore.json`
      if ((await stat(bundleFile)).size <= MAX_BUNDLE_BYTES)
        item.bundle = {entry: `${entry}.sigstore.json`, bytes: await readFile(bundleFile)}
    } catch {
      // no bundle: the build had no key
    }
    carried.push(item)
  }
  return carried
}

/** Adds the executables (streamed, checked again against the sha256 taken before the export started) before commit. */
export function withAirlockExecutables(hooks: ExportHooks, carried: readonly CarriedExecutable[]): ExportHooks {
  if (carried.length === 0) return hooks
  return {
    ...hooks,
    beforeCommit: async (writer: ArchiveWriter) => {
      await hooks.beforeCommit?.(writer)
      for (const item of carried) {
        await writer.addFileStream(item.entry, {digest: item.digest, size: item.size}, createReadStream(item.file))
        if (item.bundle) await writer.addFile(item.bundle.entry, item.bundle.bytes)
      }
    },
  }
}

/** One line per carried file for the export report. */
export function describeCarried(carried: readonly CarriedExecutable[]): string[] {
  return carried.map(
    c =>
      `airlock: carrying ${c.entry} (${c.size} bytes, ${c.digest})${c.bundle ? ` and its Sigstore bundle (sha256 ${sha256(c.bundle.bytes).slice(7, 19)}…)` : ', no Sigstore bundle'}`,
  )
}
