// A `.sig`/`.att` manifest in the mirror that countersigning (issue 14) extended: the archive's layers first, in
// order and with the same annotations, then the operator's. It still carries every upstream signature, so push
// leaves it in place (re-tagging the archive's manifest would drop the countersignature) and the mirror check
// accepts it. Anything else under that tag is other content.
import type {RawManifest} from '../oci/manifest.ts'

export function extendsSignatureManifest(mirrored: RawManifest, archived: RawManifest): boolean {
  if (mirrored.parsed.kind !== 'manifest' || archived.parsed.kind !== 'manifest') return false
  const theirs = mirrored.parsed.layers
  if (theirs.length <= archived.parsed.layers.length) return false
  return archived.parsed.layers.every(
    (layer, i) =>
      theirs[i]?.digest === layer.digest &&
      theirs[i]?.size === layer.size &&
      JSON.stringify(theirs[i]?.annotations ?? {}) === JSON.stringify(layer.annotations ?? {}),
  )
}
