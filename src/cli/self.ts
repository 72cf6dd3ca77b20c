// What airlock knows about itself: version, build commit, Node inside, and, when it runs as the single-file
// executable (scripts/package.ts), that executable's path and sha256, so an operator can compare it with the value
// they carried on paper. The sha256 is computed from the file on disk, streamed.
import {createHash} from 'node:crypto'
import {embedded, packagedExecutable} from '../embedded.ts'
import {pinnedPublicGoodRoot} from '../trust/pinned.ts'
import {fileSha256} from '../util/file-sha256.ts'
import {TOOL_VERSION} from '../version.ts'

export interface SelfDescription {
  version: string
  /** git commit of the build; null when running from the sources or dist/ */
  commit: string | null
  node: string
  platform: string
  /** true when this is the single-file executable */
  packaged: boolean
  /** the executable file and its sha256 (null when not packaged: then the "executable" is Node itself) */
  executable: {path: string; sha256: string} | null
  /** sha256 of the embedded JavaScript, checked against the build's record at every start (null when not packaged) */
  embeddedCodeSha256: string | null
  /** the public-good TUF root this airlock pins (verify's trust anchor for the public-good mirror) */
  publicGoodTufRoot: {version: number; sha256: string}
}

export async function describeSelf(): Promise<SelfDescription> {
  const build = embedded()
  const root = pinnedPublicGoodRoot()
  const exe = packagedExecutable()
  return {
    version: TOOL_VERSION,
    commit: build?.commit ?? null,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    packaged: build !== undefined,
    executable: exe ? {path: exe, sha256: await fileSha256(exe)} : null,
    embeddedCodeSha256: build?.codeSha256 ?? null,
    publicGoodTufRoot: {
      version: (JSON.parse(root.toString('utf8')) as {signed: {version: number}}).signed.version,
      sha256: createHash('sha256').update(root).digest('hex'),
    },
  }
}
