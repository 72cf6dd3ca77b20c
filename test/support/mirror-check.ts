// The mirror check of an archive file, for library tests: the archive is verified (integrity only: the check's own
// signature verification, when asked, is the subject) and the mirror is checked against that verdict.
import {verifyMirror, type MirrorCheckOptions, type MirrorCheckResult} from '../../src/verify/mirror-check.ts'
import {openVerifiedArchive} from '../../src/verify/open.ts'

export async function checkMirrorOf(
  archive: string,
  options: Omit<MirrorCheckOptions, 'verdict' | 'archive'>,
): Promise<MirrorCheckResult> {
  const verified = await openVerifiedArchive(archive, {signatures: 'skip'})
  try {
    if (!verified.verdict) throw new Error(`${archive} does not verify`)
    return await verifyMirror({...options, verdict: verified.verdict, archive: verified.archive})
  } finally {
    await verified.close()
  }
}
