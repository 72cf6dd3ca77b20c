// Where a key password comes from: COSIGN_PASSWORD (as cosign), or one line on stdin with --key-password-stdin.
// Never argv (it would be visible in the process list and shell history).
import {readFileSync} from 'node:fs'

export interface PasswordSource {
  stdin?: boolean
  env?: NodeJS.ProcessEnv
}

/** A lazy password reader: asked for only when the key is encrypted; stdin is read once. */
export function keyPassword(source: PasswordSource): () => Buffer {
  let cached: Buffer | undefined
  return () => {
    if (cached) return cached
    if (source.stdin) cached = Buffer.from(readFileSync(0, 'utf8').replace(/\r?\n$/, ''), 'utf8')
    else cached = Buffer.from((source.env ?? process.env)['COSIGN_PASSWORD'] ?? '', 'utf8')
    return cached
  }
}
