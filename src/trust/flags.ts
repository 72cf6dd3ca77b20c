// Trust-root flags shared by export, verify and push (GUIDE section 2). Commands spread them into their flags and
// hand the parsed values to src/export/trust.ts or src/verify/trust.ts; nothing here does any work.
//
// Pairing of pinned roots with mirrors (`--tuf-root [MIRROR=]FILE`): MIRROR is a mirror URL
// (`https://tuf.example.com`) or its name in the archive (`tuf.example.com`, see mirrorIdFor). A bare FILE belongs
// to the only mirror other than the Sigstore public good one (or to the only mirror, when there is just one). The
// public-good mirror needs no --tuf-root: its root ships inside airlock; giving one overrides the shipped root.
import {Flags} from '@oclif/core'

/** Values of the trust flags as oclif parses them (any subset; commands only declare the ones they take). */
export interface TrustFlagValues {
  'tuf-mirror'?: string[] | undefined
  'tuf-root'?: string[] | undefined
  'trusted-root'?: string[] | undefined
  'tuf-grace'?: string | undefined
  state?: string | undefined
  'no-state'?: boolean | undefined
  'no-tuf'?: boolean | undefined
}

const tufRoot = Flags.string({
  multiple: true,
  multipleNonGreedy: true,
  helpGroup: 'TRUST',
  summary:
    'Pinned TUF root.json of a private Sigstore instance: [MIRROR=]FILE, MIRROR = mirror URL or its archive name; a bare FILE goes to the only mirror that is not the public good one. Repeatable.',
})

const trustedRoot = Flags.string({
  multiple: true,
  multipleNonGreedy: true,
  helpGroup: 'TRUST',
  summary:
    'trusted_root.json managed by hand (no TUF: reported as not verified through TUF). Repeatable; merged with the TUF roots.',
})

/** verify and push: how the archive's TUF data is judged and which extra roots are trusted. */
export const trustFlags = {
  'tuf-root': tufRoot,
  'trusted-root': trustedRoot,
  'tuf-grace': Flags.string({
    helpGroup: 'TRUST',
    summary:
      'Accept TUF timestamp and snapshot metadata up to this long after their signed expiry (e.g. 30d, 12h; 0 = strict; unlimited, which needs a rollback state). Root and targets metadata are always judged strictly.',
    default: '30d',
  }),
  state: Flags.string({
    helpGroup: 'TRUST',
    summary: 'Directory of the TUF rollback memory (default $XDG_STATE_HOME/airlock, else ~/.local/state/airlock).',
  }),
  'no-state': Flags.boolean({
    helpGroup: 'TRUST',
    summary: 'Neither read nor write the TUF rollback memory (a replayed older archive is then not detected).',
    default: false,
  }),
}

/** export: which TUF repositories to carry into the archive. */
export const exportTrustFlags = {
  'tuf-mirror': Flags.string({
    helpGroup: 'TRUST',
    multiple: true,
    multipleNonGreedy: true,
    summary:
      'TUF repository to carry (metadata base URL). Repeatable. Default: the Sigstore public good one (https://tuf-repo-cdn.sigstore.dev).',
  }),
  'tuf-root': tufRoot,
  'trusted-root': Flags.string({
    multiple: true,
    multipleNonGreedy: true,
    summary:
      'trusted_root.json managed by hand: checks a keyless policy at export, and is copied into the archive (sigstore/trusted_root/) for convenience only: verify trusts it only if given --trusted-root again. Repeatable.',
    helpGroup: 'TRUST',
  }),
  'no-tuf': Flags.boolean({
    helpGroup: 'TRUST',
    summary:
      'Do not carry a TUF repository (key-signed images, or the mirror is unreachable here); verify then needs --trusted-root or --key.',
    default: false,
  }),
}
