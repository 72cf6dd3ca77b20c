// The countersign flags as oclif flag objects (definitions only: commands spread them at load time, and the
// countersign library, which pulls in sigstore-js, is imported only when one of them is used).
import {Flags} from '@oclif/core'

export const keyPasswordFlag = {
  'key-password-stdin': Flags.boolean({
    summary: 'Read the signing key password from stdin (else COSIGN_PASSWORD; never from the command line).',
    default: false,
    helpGroup: 'COUNTERSIGN',
  }),
}

export const clusterConfigFlags = {
  'emit-policy-controller': Flags.string({
    summary: 'With countersigning: write a sigstore policy-controller ClusterImagePolicy for the key to FILE.',
    helpGroup: 'COUNTERSIGN',
  }),
}

export const talosKeyFlag = {
  'talos-key': Flags.string({
    summary:
      "Check the mirror as a Talos node with a publicKey rule for this PUBLIC KEY (cosign.pub) would: each digest's signatures looked up in Talos's order with its short-circuit, the form that satisfied the rule named, the receipt shown.",
    helpGroup: 'COUNTERSIGN',
  }),
}
