// src/trust: the Sigstore trust root, carried as a TUF repository and verified offline from a root pinned outside
// the archive (GUIDE section 2).
//
// Decisions
// - Archive layout, per mirror, under `sigstore/tuf/<mirrorId>/` (mirrorId = host[_port][_path] of the mirror URL,
//   see mirrorIdFor): `metadata/<N>.root.json` for every root after the exporter's pinned one up to the newest,
//   `metadata/timestamp.json`, `metadata/snapshot.json`, `metadata/targets.json`, `metadata/<encodeURIComponent(role)>.json`
//   for delegated targets roles, and `targets/<target path>` (e.g. `targets/trusted_root.json`,
//   `targets/registry.npmjs.org/keys.json`). Names are plain, not the repository's consistent-snapshot names
//   (`165.snapshot.json`, `<sha256>.trusted_root.json`): the versions and hashes those names carry are checked
//   from the signed content itself (snapshot and targets versions against the signed snapshot/timestamp meta,
//   target length and every listed hash against the signed targets entry), so a file name is never trusted and
//   one name per role keeps the archive to exactly one copy of each. Root files must be named by their own version.
// - Roots in the archive at or below the verifier's pinned version are ignored (the exporter may have pinned an
//   older root), except that the pinned version itself must match and the newest root may not be older than the
//   pinned one (rollback). The chain from the pinned root must not skip a version; each new root must be signed
//   by a threshold of the previous root's keys and of its own.
// - Grace (`--tuf-grace`, default 30 days): offline, the wall clock cannot tell whether metadata that was fresh at
//   export is stale. The grace covers the short-lived online roles only: timestamp and snapshot are accepted if their
//   signed `expires` lies less than `grace` before the reference time; the final root and every targets role
//   (delegated ones included) are judged strictly, so an archive cannot keep a revoked key alive by leaving out the
//   newer root. `expires == now` is expired; `expires` must be UTC (`Z`). 'unlimited' is refused without a rollback
//   state for the pinned root, and reported with a WARNING. The reference time is the later of the clock and the
//   state's last import. The report names every role that needed the grace (`graceRoles`). Intermediate roots may
//   be expired (normal for a chain). No creation or export time written in the archive is ever read.
// - Signatures, thresholds (distinct key material, src/trust/keys.ts), versions (safe integers >= 1), lengths and
//   hashes fail outright, whatever the grace.
// - Rollback across imports: verify records the newest versions it accepted in `<state dir>/tuf/root-<fingerprint of
//   the pinned root>.json` (default `$XDG_STATE_HOME/airlock`, else `~/.local/state/airlock`), never under a name
//   from the archive, and refuses older ones later (a replayed old archive), a different timestamp under the same
//   version, and a snapshot from which a role listed before vanished. After a rotation of the timestamp or snapshot
//   keys (by key material) the timestamp, snapshot and targets floors are forgotten (TUF 5.3.11, fast-forward attack
//   recovery). A corrupt state file is an error naming it. Written only on success.
// - Every file under `targets/` must be a target of the verified metadata (found by the TUF preorder search
//   through delegations, path patterns and terminating flags); an unlisted file fails verification. Only a verified
//   `trusted_root.json` target is ever returned as the trusted root.
// - `--trusted-root FILE` is the manual alternative: its shape is checked, it is reported as "not verified through
//   TUF", and when it is given, broken or unpinned TUF data is skipped (and reported) instead of failing.
// - Export runs tuf-js's Updater (the client @sigstore/tuf uses) from a fresh cache holding only the pinned root,
//   so it walks every root version; delegated roles go through the Updater's own loader; then the collected files
//   are verified with verifyTufOffline (strict expiry) before they are returned.

export {exportTufRepository, type TufExport, type TufExportOptions} from './export.ts'
export {assertMirrorId, mirrorIdFor, pinnedPublicGoodRoot, PUBLIC_GOOD_MIRROR} from './pinned.ts'
export {selectTrustedRoots, type SelectTrustOptions, type TrustSelection, type TrustSource} from './select.ts'
export {
  defaultStateDir,
  legacyStateFilePath,
  readTufState,
  stateFilePath,
  type TufState,
  writeTufState,
} from './state.ts'
export {keyFingerprint, pinnedRootFingerprint} from './keys.ts'
export {loadTrustedRootFile, type TrustedRootFileReport} from './trusted-root-file.ts'
export {
  DEFAULT_GRACE_MS,
  formatDuration,
  type Grace,
  parseGrace,
  type TufReport,
  type TufVerifyOptions,
  type TufVerifyResult,
  verifyTufOffline,
} from './verify.ts'
export {exportTrustFlags, type TrustFlagValues, trustFlags} from './flags.ts'
