// Online half: refresh a TUF client (tuf-js's Updater, the same code path @sigstore/tuf uses) against a mirror,
// starting from the pinned root, and collect everything the offline verifier needs.
import {mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {Metadata, MetadataKind, type Root, type Targets} from '@tufjs/models'
import {BaseFetcher, Updater} from 'tuf-js'
import {DownloadHTTPError} from 'tuf-js/dist/error.js'
import {AirlockError, toAirlockError} from '../errors.ts'
import {proxiedFetch} from '../registry/proxy.ts'
import {mirrorIdFor, pinnedPublicGoodRoot, PUBLIC_GOOD_MIRROR} from './pinned.ts'
import {type TufReport, verifyTufOffline} from './verify.ts'
import {makePartialDir} from '../util/files.ts'

export interface TufExportOptions {
  /** metadata base URL of the mirror (targets are fetched from `<mirrorUrl>/targets/`); default the public good */
  mirrorUrl?: string
  /** root.json to start from (`--tuf-root`); default the public-good root shipped in @sigstore/tuf */
  pinnedRoot?: Buffer
  /** target paths to carry; default `trusted_root.json` plus every top-level `signing_config*.json` target */
  targets?: string[]
  /** scratch directory for the client's cache; a fresh subdirectory is used and removed every time */
  cacheDir: string
  /** per-request timeout in ms (default 30 s) */
  fetchTimeout?: number
  /** reference time for the self-check of the collected files (default: now) */
  now?: Date
}

export interface TufExport {
  mirrorId: string
  mirrorUrl: string
  /** paths relative to `sigstore/tuf/<mirrorId>/`: `metadata/<N>.root.json`, `metadata/timestamp.json`,
   * `metadata/snapshot.json`, `metadata/targets.json`, `metadata/<urlencoded role>.json`, `targets/<target path>` */
  files: Map<string, Buffer>
  /** the offline verification of exactly these files, run at export as a self-check (strict expiry, no state) */
  report: TufReport
}

/** Fetcher that remembers every body it handed to the Updater, by URL, so the intermediate roots can be kept. */
class RecordingFetcher extends BaseFetcher {
  readonly bodies = new Map<string, Buffer>()
  private readonly timeout: number
  constructor(timeout: number) {
    super()
    this.timeout = timeout
  }
  override async fetch(url: string): Promise<ReadableStream<Uint8Array<ArrayBuffer>>> {
    let response: Awaited<ReturnType<typeof proxiedFetch>>
    try {
      response = await proxiedFetch(url, {
        signal: AbortSignal.timeout(this.timeout),
        headers: {'user-agent': 'airlock'},
      })
    } catch (error) {
      throw new AirlockError('NETWORK_ERROR', `GET ${url}: ${(error as Error).message}`, {cause: error})
    }
    if (!response.ok || !response.body) {
      // tuf-js stops the root walk on a DownloadHTTPError 403/404; build one the way its DefaultFetcher does.
      throw new DownloadHTTPError('Failed to download', response.status)
    }
    return response.body as ReadableStream<Uint8Array<ArrayBuffer>>
  }
  override async downloadBytes(url: string, maxLength: number): Promise<Buffer> {
    const bytes = await super.downloadBytes(url, maxLength)
    this.bodies.set(url, bytes)
    return bytes
  }
}

function defaultTargets(targets: Metadata<Targets>): string[] {
  const names = Object.keys(targets.signed.targets)
    .filter(n => /^signing_config[^/]*\.json$/.test(n))
    .sort()
  return ['trusted_root.json', ...names]
}

/** Exports one mirror. Call it once per mirror; several mirrors may run at once (separate scratch directories). */
export async function exportTufRepository(options: TufExportOptions): Promise<TufExport> {
  const mirrorUrl = (options.mirrorUrl ?? PUBLIC_GOOD_MIRROR).replace(/\/+$/, '')
  const mirrorId = mirrorIdFor(mirrorUrl)
  const pinnedRoot = options.pinnedRoot ?? pinnedPublicGoodRoot()
  let pinned: Metadata<Root>
  try {
    pinned = Metadata.fromJSON(MetadataKind.Root, JSON.parse(pinnedRoot.toString('utf8')))
  } catch (error) {
    throw new AirlockError(
      'TRUST_INVALID',
      `pinned TUF root for ${mirrorId} is not valid root metadata: ${(error as Error).message}`,
      {cause: error},
    )
  }
  const pinnedVersion = pinned.signed.version

  mkdirSync(options.cacheDir, {recursive: true})
  const work = makePartialDir(options.cacheDir, `.tuf-${mirrorId}`)
  try {
    const metadataDir = join(work, 'metadata')
    const targetDir = join(work, 'targets')
    mkdirSync(metadataDir)
    mkdirSync(targetDir)
    // A fresh cache holding only the pinned root: the Updater then walks every root version after it.
    writeFileSync(join(metadataDir, 'root.json'), pinnedRoot)
    const fetcher = new RecordingFetcher(options.fetchTimeout ?? 30_000)
    const updater = new Updater({
      metadataDir,
      metadataBaseUrl: mirrorUrl,
      targetDir,
      targetBaseUrl: `${mirrorUrl}/targets`,
      fetcher,
    })
    const step = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
      try {
        return await fn()
      } catch (error) {
        const base = error instanceof AirlockError ? error : undefined
        if (base && base.code !== 'INTERNAL')
          throw new AirlockError(base.code, `TUF ${mirrorId}: ${what}: ${base.message}`, {cause: error})
        const name = (error as Error)?.constructor?.name ?? ''
        const status = (error as {statusCode?: number}).statusCode
        const message = `TUF ${mirrorId}: ${what}: ${name ? name + ': ' : ''}${(error as Error).message ?? error}${status ? ` (HTTP ${status})` : ''}`
        const code = /Download|Fetch/i.test(name) || status !== undefined ? 'NETWORK_ERROR' : 'TRUST_INVALID'
        throw new AirlockError(code, message.split('\n')[0] as string, {cause: error})
      }
    }
    await step(`refresh from ${mirrorUrl}`, () => updater.refresh())

    const files = new Map<string, Buffer>()
    const read = (name: string) => readFileSync(join(metadataDir, name))
    // Every root after the pinned one, exactly as downloaded (the Updater persists only the newest as root.json).
    const finalRoot = Metadata.fromJSON(MetadataKind.Root, JSON.parse(read('root.json').toString('utf8')))
    for (let v = pinnedVersion + 1; v <= finalRoot.signed.version; v++) {
      const url = [...fetcher.bodies.keys()].find(u => new URL(u).pathname.endsWith(`/${v}.root.json`))
      if (!url) throw new AirlockError('INTERNAL', `TUF ${mirrorId}: root v${v} was accepted but not recorded`)
      files.set(`metadata/${v}.root.json`, fetcher.bodies.get(url) as Buffer)
    }
    files.set('metadata/timestamp.json', read('timestamp.json'))
    files.set('metadata/snapshot.json', read('snapshot.json'))
    const targetsBytes = read('targets.json')
    files.set('metadata/targets.json', targetsBytes)
    const targets = Metadata.fromJSON(MetadataKind.Targets, JSON.parse(targetsBytes.toString('utf8')))

    // Delegated targets roles, through the Updater's own loader (verified and persisted by it), breadth first.
    const loader = updater as unknown as {
      loadTargets(role: string, parent: string): Promise<Metadata<Targets> | undefined>
    }
    const queue: Array<{role: string; md: Metadata<Targets>}> = [{role: MetadataKind.Targets, md: targets}]
    const seen = new Set<string>([MetadataKind.Targets])
    while (queue.length) {
      const {role: parent, md} = queue.shift() as {role: string; md: Metadata<Targets>}
      for (const role of Object.keys(md.signed.delegations?.roles ?? {})) {
        if (seen.has(role)) continue
        seen.add(role)
        if (seen.size > 33) throw new AirlockError('TRUST_INVALID', `TUF ${mirrorId}: too many delegated roles`)
        const child = await step(`delegated role ${role}`, () => loader.loadTargets(role, parent))
        if (!child) continue
        const name = `${encodeURIComponent(role)}.json`
        files.set(`metadata/${name}`, read(name))
        queue.push({role, md: child})
      }
    }

    // Target files, located and downloaded by the Updater (hash-prefixed URLs under consistent snapshots).
    const wanted = options.targets ?? defaultTargets(targets)
    for (const path of wanted) {
      const info = await step(`target ${path}`, () => updater.getTargetInfo(path))
      if (!info)
        throw new AirlockError(
          path === 'trusted_root.json' ? 'TRUST_INVALID' : 'NOT_FOUND',
          `TUF ${mirrorId}: the repository has no target ${path}`,
        )
      const file = await step(`download target ${path}`, () => updater.downloadTarget(info))
      files.set(`targets/${path}`, readFileSync(file))
    }
    if (!files.has('targets/trusted_root.json'))
      throw new AirlockError('USAGE', `TUF ${mirrorId}: the targets to export must include trusted_root.json`)

    // Self-check: the archive must carry exactly what the offline verifier needs.
    const {report} = verifyTufOffline({
      files,
      pinnedRoot,
      mirrorId,
      grace: 0,
      now: options.now ?? new Date(),
      state: false,
    })
    return {mirrorId, mirrorUrl, files, report}
  } catch (error) {
    throw toAirlockError(error, 'TRUST_INVALID')
  } finally {
    rmSync(work, {recursive: true, force: true})
  }
}
