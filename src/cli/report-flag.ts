// `--report FILE.html|FILE.md` for verify and diff: the flag, the checks made before any work starts, and the
// facts an auditor's report names besides the result (the archive's own sha256, where and when, which policy).
import {Flags} from '@oclif/core'
import {statSync} from 'node:fs'
import {hostname} from 'node:os'
import {embedded} from '../embedded.ts'
import {POLICY_FLAG_NAMES} from '../policy/index.ts'
import type {PolicySource} from '../report/evidence.ts'
import {reportFormat} from '../report/write.ts'
import {fileSha256} from '../util/file-sha256.ts'
import {TOOL_VERSION} from '../version.ts'
import {checkOutputFile} from './output-path.ts'

export const reportFlag = {
  report: Flags.string({
    summary:
      'Also write a report to FILE: .html (a self-contained page that prints on A4) or .md (Markdown for a change ticket).',
  }),
}

/** Refuses an unknown extension or an unwritable place before anything is read (an older report is replaced). */
export function checkReportFile(file: string | undefined): void {
  if (file === undefined) return
  reportFormat(file)
  checkOutputFile(file, '--report', {force: true})
}

export function whereAndWhen(): {verifiedAt: string; host: string; airlock: {version: string; commit?: string}} {
  const commit = embedded()?.commit
  return {
    verifiedAt: new Date().toISOString(),
    host: hostname(),
    airlock: {version: TOOL_VERSION, ...(commit ? {commit} : {})},
  }
}

/**
 * The archive file's sha256 and size; undefined fields when it cannot be read. `knownSha256`: the one verify computed
 * while it read the file (the file is then not read again).
 */
export async function archiveFacts(
  path: string,
  knownSha256?: string,
): Promise<{path: string; sha256?: string; size?: number}> {
  const [sha256, size] = await Promise.all([
    knownSha256 ?? fileSha256(path).catch(() => undefined),
    Promise.resolve().then(() => {
      try {
        return statSync(path).size
      } catch {
        return undefined
      }
    }),
  ])
  return {path, ...(sha256 ? {sha256} : {}), ...(size !== undefined ? {size} : {})}
}

const MORE_POLICY_FLAGS = ['attestation-type', 'require-container-identity', 'insecure-ignore-tlog'] as const

/** What the policy was: the file and its sha256, or the flags as given. */
export async function policySource(flags: Record<string, unknown>, signaturesSkipped: boolean): Promise<PolicySource> {
  if (signaturesSkipped) return {kind: 'none', reason: '--signatures skip: no policy applied, signatures NOT checked'}
  if (typeof flags['policy'] === 'string') {
    const file = flags['policy']
    const sha256 = await fileSha256(file).catch(() => 'unreadable')
    return {kind: 'file', file, sha256}
  }
  const given: string[] = []
  for (const name of [...POLICY_FLAG_NAMES, ...MORE_POLICY_FLAGS]) {
    const value = flags[name]
    if (value === undefined || value === false) continue
    given.push(value === true ? `--${name}` : `--${name} ${String(value)}`)
  }
  return given.length ? {kind: 'flags', flags: given} : {kind: 'none', reason: 'no policy given'}
}
