// Trust roots in the archive: what export carries under `sigstore/tuf/<mirrorId>/` (and the informational copies
// under `sigstore/trusted_root/`), and how verify turns those bytes plus roots pinned OUTSIDE the archive into the
// trusted_root.json documents signatures are checked against (GUIDE section 2).
//
// Decisions
// - Export fetches every mirror before any image is copied (fetchTrust), so an unreachable mirror fails in seconds,
//   and writes the files in the export's beforeCommit hook (writeTrust). The `trust` section of airlock.json is a
//   description for people and `inspect`; verify never reads it.
// - `--trusted-root FILE` at export copies the file to `sigstore/trusted_root/<n>.json` for convenience only: verify
//   lists those copies as "not trusted" and uses a hand-managed root only when the operator passes --trusted-root.
// - Verify resolves trust once per archive (ArchiveTrust, memoized per ArchiveReader): the 'trust' ArchiveCheck
//   reports it, the signatures ImageCheck asks for the roots through `trustedRootsFor(context)` (or the instance's
//   `trustedRoots(archive)`). An archive without TUF data is an error only when roots are needed (the signatures
//   check asks, or `required`), so key-signed archives exported with --no-tuf verify with --key alone.
// - The rollback memory (state file) is read and enforced during the check, but written only by `commitState`,
//   which the command calls after the whole verification passed.
//
// The code lives in three modules: pinned-roots.ts (the --tuf-root flag and pinned root files), archive-export.ts
// (fetch and write) and archive-verify.ts (resolve, check, state); this module is the seam the commands import.
export {PUBLIC_GOOD_ID, TRUSTED_ROOT_COPY_PREFIX, TUF_PREFIX, pairTufRoots, type PinnedRoot} from './pinned-roots.ts'
export * from './archive-export.ts'
export * from './archive-verify.ts'
