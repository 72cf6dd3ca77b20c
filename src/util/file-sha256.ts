import {createHash} from 'node:crypto'
import {createReadStream} from 'node:fs'
import {pipeline} from 'node:stream/promises'
import {AirlockError} from '../errors.ts'

/** sha256 (hex) of a file, streamed. */
export async function fileSha256(path: string): Promise<string> {
  const hash = createHash('sha256')
  try {
    await pipeline(createReadStream(path), hash)
  } catch (error) {
    throw new AirlockError('IO_ERROR', `cannot read ${path}: ${(error as Error).message}`, {cause: error})
  }
  return hash.digest('hex')
}
