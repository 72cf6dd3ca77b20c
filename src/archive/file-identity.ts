// The identity of a file the reader holds open (device, inode, size, mtime): checked again after hashing and around
// push, so an archive replaced or rewritten between its verification and its use is refused.
import type {Stats} from 'node:fs'
import type {FileHandle} from 'node:fs/promises'
import {stat} from 'node:fs/promises'
import {AirlockError, toAirlockError} from '../errors.ts'

/** What identifies the archive file: the same device, inode, size and modification time, or it is another file. */
export interface FileIdentity {
  dev: number
  ino: number
  size: number
  mtimeMs: number
}

/** One file the reader reads: the archive, or one volume of a set. */
export interface OpenFile {
  path: string
  fh: FileHandle
  /** The file as it was when opened. */
  identity: FileIdentity
}

export function identityOf(st: Stats): FileIdentity {
  return {dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs}
}

function sameIdentity(a: FileIdentity, b: FileIdentity): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs
}

export async function checkIdentity(path: string, fh: FileHandle, identity: FileIdentity): Promise<void> {
  let held: FileIdentity
  let named: FileIdentity
  try {
    held = identityOf(await fh.stat())
    named = identityOf(await stat(path))
  } catch (error) {
    throw new AirlockError(
      'ARCHIVE_INVALID',
      `${path}: the archive can no longer be read (${toAirlockError(error).message})`,
      {cause: error},
    )
  }
  if (!sameIdentity(held, identity) || !sameIdentity(named, identity))
    throw new AirlockError(
      'ARCHIVE_INVALID',
      `${path}: the archive file changed while airlock was reading it (size, modification time or inode differ)`,
      {
        hint: 'copy the archive to local storage that nothing else writes to, then run again',
      },
    )
}
