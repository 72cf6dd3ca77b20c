// Baseline: one sha256 pass over a file in Node, 1 MiB positional reads, one stream (the hashing limit verify is
// measured against). Usage: node bench/sha256.ts FILE [--chunk BYTES]
import {createHash} from 'node:crypto'
import {open} from 'node:fs/promises'

const file = process.argv[2]
if (!file) {
  process.stderr.write('usage: node bench/sha256.ts FILE [--chunk BYTES]\n')
  process.exit(2)
}
const at = process.argv.indexOf('--chunk')
const chunk = at > 0 ? Number(process.argv[at + 1]) : 1024 * 1024
const fh = await open(file, 'r')
const hash = createHash('sha256')
const buf = Buffer.allocUnsafe(chunk)
let position = 0
for (;;) {
  const {bytesRead} = await fh.read(buf, 0, chunk, position)
  if (bytesRead === 0) break
  hash.update(bytesRead === chunk ? buf : buf.subarray(0, bytesRead))
  position += bytesRead
}
await fh.close()
process.stdout.write(`${hash.digest('hex')}  ${file} (${position} bytes)\n`)
