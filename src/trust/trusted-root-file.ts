// `--trusted-root FILE`: a Sigstore trusted_root.json managed by hand. No TUF; the report says so.
import {createHash} from 'node:crypto'
import {readFileSync} from 'node:fs'
import {toAirlockError} from '../errors.ts'
import {parseTrustedRoot} from '../sigstore/trust.ts'

export interface TrustedRootFileReport {
  source: 'file'
  path: string
  sha256: string
  tuf: false
  note: string
}

/** Reads and validates a hand-managed trusted_root.json (`--trusted-root FILE`). */
export function loadTrustedRootFile(path: string): {trustedRoot: Buffer; report: TrustedRootFileReport} {
  let bytes: Buffer
  try {
    bytes = readFileSync(path)
  } catch (error) {
    throw toAirlockError(error, 'IO_ERROR')
  }
  parseTrustedRoot(bytes, path) // the one shape check of a trusted root (src/sigstore/trust.ts)
  return {
    trustedRoot: bytes,
    report: {
      source: 'file',
      path,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      tuf: false,
      note: `trusted root supplied by hand (--trusted-root ${path}); not verified through TUF`,
    },
  }
}
