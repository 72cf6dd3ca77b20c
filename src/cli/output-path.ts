// Output paths are checked before any download or push, and errors name the path the user typed, not the hidden
// temporary name the writer would have used (`.NAME.partial-*`).
import {accessSync, constants, statSync} from 'node:fs'
import {dirname, resolve} from 'node:path'
import {AirlockError} from '../errors.ts'

/** Throws one clear line when FILE cannot be written as a new file (flag = how the user gave it, e.g. "-o"). */
export function checkOutputFile(file: string, flag: string, options: {force?: boolean} = {}): void {
  if (file.endsWith('/') || isDirectory(file))
    throw new AirlockError('USAGE', `${flag} ${file} is a directory`, {
      hint: `give a file name, e.g. ${flag} ${file.replace(/\/?$/, '/')}images.tar`,
    })
  const dir = dirname(resolve(file))
  if (!isDirectory(dir))
    throw new AirlockError('USAGE', `${flag} ${file}: directory ${dirname(file)} does not exist`, {
      hint: `create it first (mkdir -p ${dirname(file)}) or choose another path`,
    })
  try {
    accessSync(dir, constants.W_OK)
  } catch {
    throw new AirlockError('IO_ERROR', `${flag} ${file}: directory ${dirname(file)} is not writable`)
  }
  if (!options.force && exists(file))
    throw new AirlockError('IO_ERROR', `${file} already exists`, {
      hint: 'choose another output path or pass --force to overwrite it',
    })
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory()
  } catch {
    return false
  }
}

function exists(path: string): boolean {
  try {
    statSync(path)
    return true
  } catch {
    return false
  }
}
