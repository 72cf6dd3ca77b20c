// Human lines for volume sets: what export wrote, and what verify-volume found.
import type {VolumeSetSummary} from '../archive/volume-output.ts'
import type {VolumeCheck} from '../archive/volume-check.ts'
import {formatBytes} from '../util/progress.ts'

export function describeVolumes(set: VolumeSetSummary): string[] {
  return [
    ...set.volumes.map(v => `wrote ${v.file}: ${formatBytes(v.size)}, sha256 ${v.sha256}`),
    `wrote ${set.manifest}: ${set.count} volume(s) of at most ${formatBytes(set.volumeSize)}, ${formatBytes(set.totalBytes)} in all${set.split ? `, ${set.split} entr${set.split === 1 ? 'y' : 'ies'} split across volumes` : ''}`,
    `volumes.json sha256 ${set.manifestSha256} (note it apart from the volumes: verify-volume and verify print it)`,
  ]
}

export function describeVolumeCheck(check: VolumeCheck): string[] {
  const lines = [
    `${check.file}: volume ${check.volume} of ${check.count} ok (${formatBytes(check.size)}, sha256 ${check.sha256})`,
    `set ${check.setId} (${check.manifest}, sha256 ${check.manifestSha256})`,
  ]
  if (check.missing.length === 0) lines.push(`all ${check.count} volumes are present`)
  else lines.push(`still missing (${check.missing.length} of ${check.count}): ${check.missing.join(', ')}`)
  return lines
}
