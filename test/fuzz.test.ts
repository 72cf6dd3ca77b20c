// Bounded property-based fuzzing (issue 6) of everything that parses archive bytes: the tar reader, the strict
// JSON parser, the manifest parser, airlock.json, and (once it exists) the whole streaming verifier.
//
// Property, for every input: the code returns, or throws an AirlockError whose message is one line. Any other
// exception type (TypeError, RangeError from a recursion, a tar library error leaking through) is a bug, and so is
// not answering within HANG_MS.
//
// Runs under a minute in CI with a fixed seed, printed so a failure can be replayed: FUZZ_SEED=<n> node --test
// test/fuzz.test.ts. scripts/fuzz-long.sh runs the same properties with FUZZ_SCALE=50 and a random seed.
import assert from 'node:assert/strict'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'
import fc from 'fast-check'
import {AirlockError} from '../src/errors.ts'
import {parseJsonStrict, parseManifest} from '../src/oci/manifest.ts'
import {parseAirlockJson} from '../src/archive/schema.ts'
import {scanTar} from '../src/archive/tar.ts'
import {firstFailure, verifyArchive} from '../src/verify/verify.ts'
import {Archive, buildSourceLayout, craftArchive} from './support/hostile/base.ts'
import {BLOCK, readTar} from './support/hostile/tar.ts'

const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed)
const SCALE = Number(process.env.FUZZ_SCALE ?? 1)
const HANG_MS = Number(process.env.FUZZ_HANG_MS ?? 5000)
const runs = (n: number) => Math.max(1, Math.round(n * SCALE))
process.stderr.write(`fuzz: seed ${SEED} scale ${SCALE} (replay with FUZZ_SEED=${SEED})\n`)

const dir = mkdtempSync(join(tmpdir(), 'airlock-fuzz-'))
after(() => rmSync(dir, {recursive: true, force: true}))

// The crafted base is used (not the real export) so the fuzz test runs without a build and does not change when
// the writer does; its structure (ustar headers, blobs, index.json, airlock.json) is the same.
const layout = buildSourceLayout()
const validTar = craftArchive(layout, 'example.test/fuzz')
writeFileSync(join(dir, 'valid.tar'), validTar)
const structure = readTar(validTar)
const headerOffsets = structure.entries.map(e => e.headerOffset)
const validArchive = Archive.parse(validTar)
const validManifest = validArchive.get(`blobs/sha256/${layout.parts.manifestA.digest.slice(7)}`)
const validIndex = validArchive.get(`blobs/sha256/${layout.parts.index.digest.slice(7)}`)
const validAirlock = Buffer.from(
  JSON.stringify({
    formatVersion: 1,
    tool: {name: 'airlock', version: '0.1.0'},
    images: [
      {
        reference: 'r/a:1',
        source: 'oci:x:a',
        digest: layout.parts.manifestA.digest,
        mediaType: layout.parts.manifestA.mediaType,
        size: layout.parts.manifestA.size,
        platforms: [{platform: 'linux/amd64', digest: layout.parts.manifestA.digest}],
      },
    ],
    files: {'sigstore/x.json': {digest: layout.parts.configA.digest, size: 3}},
  }),
)

/** The property itself: `fn` returns, or throws a one-line AirlockError, within HANG_MS. */
async function holds(what: string, fn: () => unknown): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${HANG_MS} ms (hang)`)), HANG_MS)
  })
  try {
    await Promise.race([Promise.resolve().then(fn), hang])
  } catch (error) {
    if (!(error instanceof AirlockError))
      throw new Error(`${what}: threw ${(error as Error)?.constructor?.name}: ${(error as Error)?.message ?? error}`, {
        cause: error,
      })
    if (error.message.includes('\n') || error.message.length === 0)
      throw new Error(`${what}: AirlockError message is not one line: ${JSON.stringify(error.message)}`)
  } finally {
    clearTimeout(timer)
  }
}

// ---------------------------------------------------------------------------------------------------------------
// byte mutations of a valid input

type Mutation =
  | {kind: 'flip'; at: number; xor: number}
  | {kind: 'truncate'; length: number}
  | {kind: 'insert'; at: number; bytes: Uint8Array}
  | {kind: 'delete'; at: number; length: number}
  | {kind: 'set'; at: number; value: number}

function mutationArb(size: number, hotspots: number[]): fc.Arbitrary<Mutation> {
  // Half of the positions land in or near a tar header (name, size, checksum, type fields), where a reader's
  // decisions are made; the rest anywhere.
  const position = fc.oneof(
    fc.nat({max: size - 1}),
    fc
      .tuple(
        fc.constantFrom(...hotspots),
        fc.constantFrom(0, 1, 99, 100, 124, 130, 135, 148, 155, 156, 157, 257, 345, 511),
      )
      .map(([h, o]) => Math.min(size - 1, h + o)),
  )
  return fc.oneof(
    fc.record({kind: fc.constant('flip' as const), at: position, xor: fc.integer({min: 1, max: 255})}),
    fc.record({
      kind: fc.constant('set' as const),
      at: position,
      value: fc.constantFrom(0, 0x20, 0x30, 0x37, 0x2f, 0x2e, 0xff, 0x80),
    }),
    fc.record({
      kind: fc.constant('truncate' as const),
      length: fc.oneof(
        fc.nat({max: size}),
        fc.constantFrom(...hotspots.flatMap(h => [h, h + 1, h + BLOCK - 1, h + BLOCK])),
      ),
    }),
    fc.record({
      kind: fc.constant('insert' as const),
      at: position,
      bytes: fc.uint8Array({minLength: 1, maxLength: 1024}),
    }),
    fc.record({kind: fc.constant('delete' as const), at: position, length: fc.integer({min: 1, max: 2048})}),
  )
}

function apply(input: Buffer, mutations: Mutation[]): Buffer {
  let b = Buffer.from(input)
  for (const m of mutations) {
    if (b.length === 0) break
    const at = 'at' in m ? Math.min(m.at, b.length - 1) : 0
    if (m.kind === 'flip') b[at] = b[at]! ^ m.xor
    else if (m.kind === 'set') b[at] = m.value
    else if (m.kind === 'truncate') b = b.subarray(0, Math.min(m.length, b.length))
    else if (m.kind === 'insert') b = Buffer.concat([b.subarray(0, at), m.bytes, b.subarray(at)])
    else b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.length)])
  }
  return b
}

const params = (numRuns: number) => ({seed: SEED, numRuns: runs(numRuns), endOnFailure: true})

describe(`fuzz (seed ${SEED})`, () => {
  it('scanTar: mutated archives are read or refused with a one-line AirlockError', async () => {
    let n = 0
    await fc.assert(
      fc.asyncProperty(
        fc.array(mutationArb(validTar.length, headerOffsets), {minLength: 1, maxLength: 4}),
        async mutations => {
          const path = join(dir, `scan-${n++ % 4}.tar`)
          writeFileSync(path, apply(validTar, mutations))
          await holds('scanTar', () =>
            scanTar(path, () => ({
              write() {},
              end() {},
            })),
          )
        },
      ),
      params(400),
    )
  })

  it('scanTar: arbitrary bytes are refused with a one-line AirlockError', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({maxLength: 4 * BLOCK}), async bytes => {
        const path = join(dir, 'random.tar')
        writeFileSync(path, bytes)
        await holds('scanTar', () => scanTar(path, () => undefined))
      }),
      params(200),
    )
  })

  it('parseJsonStrict: any bytes or string', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({unit: 'binary', maxLength: 300}),
          fc.uint8Array({maxLength: 300}).map(a => Buffer.from(a)),
          fc.json(),
        ),
        async input => {
          await holds('parseJsonStrict', () =>
            parseJsonStrict(typeof input === 'string' ? input : Buffer.from(input), 'fuzz input'),
          )
        },
      ),
      params(1000),
    )
  })

  it('parseJsonStrict: brackets, strings and escapes that confuse a depth counter', async () => {
    // The depth check is a hand-written scanner in front of JSON.parse: feed it the characters it tracks.
    const tokens = fc.constantFrom('[', ']', '{', '}', '"', '\\', '\\"', ':', ',', '1', 'null', '"a"', ' ')
    await fc.assert(
      fc.asyncProperty(fc.array(tokens, {maxLength: 200}), async parts => {
        await holds('parseJsonStrict', () => parseJsonStrict(Buffer.from(parts.join('')), 'fuzz input'))
      }),
      params(1000),
    )
  })

  it('parseManifest: mutated manifests and indexes, arbitrary JSON, wrong declared types', async () => {
    const declared = fc.option(
      fc.constantFrom(
        'application/vnd.oci.image.manifest.v1+json',
        'application/vnd.oci.image.index.v1+json',
        'application/vnd.docker.distribution.manifest.v2+json',
        'text/plain',
        '',
      ),
      {nil: undefined},
    )
    const mutatedJson = fc
      .tuple(
        fc.constantFrom(validManifest, validIndex),
        fc.array(mutationArb(validManifest.length, [0]), {minLength: 1, maxLength: 3}),
      )
      .map(([b, m]) => apply(b, m))
    // Structurally plausible objects: the right keys with values of any type, so the validators see every shape.
    const anything = fc.jsonValue({maxDepth: 4})
    const plausible = fc
      .record(
        {
          schemaVersion: fc.oneof(fc.constant(2), anything),
          mediaType: fc.oneof(declared, anything),
          config: fc.oneof(fc.constant(layout.parts.configA), anything),
          layers: fc.oneof(fc.array(fc.oneof(fc.constant(layout.parts.layerA), anything), {maxLength: 4}), anything),
          manifests: fc.oneof(
            fc.array(fc.oneof(fc.constant(layout.parts.manifestAmd64), anything), {maxLength: 4}),
            anything,
          ),
          subject: anything,
          annotations: fc.oneof(fc.dictionary(fc.string(), fc.string()), anything),
          artifactType: anything,
        },
        {requiredKeys: []},
      )
      .map(o => Buffer.from(JSON.stringify(o)))
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          mutatedJson,
          plausible,
          anything.map(v => Buffer.from(JSON.stringify(v) ?? 'null')),
        ),
        declared,
        async (bytes, type) => {
          await holds('parseManifest', () => parseManifest(bytes, type))
        },
      ),
      params(2000),
    )
  })

  it('parseAirlockJson: mutated and structurally plausible airlock.json', async () => {
    const anything = fc.jsonValue({maxDepth: 3})
    const plausible = fc
      .record(
        {
          formatVersion: fc.oneof(fc.constant(1), anything),
          tool: fc.oneof(fc.constant({name: 'airlock', version: '1'}), anything),
          images: fc.oneof(
            fc.array(
              fc.oneof(
                fc.constant(JSON.parse(validAirlock.toString()).images[0]),
                fc.dictionary(
                  fc.constantFrom('reference', 'source', 'digest', 'mediaType', 'size', 'platforms', 'tag', 'filtered'),
                  anything,
                ),
              ),
              {maxLength: 3},
            ),
            anything,
          ),
          files: fc.oneof(
            fc.dictionary(fc.string(), fc.oneof(fc.constant({digest: layout.parts.configA.digest, size: 1}), anything)),
            anything,
          ),
        },
        {requiredKeys: []},
      )
      .map(o => Buffer.from(JSON.stringify(o)))
    const mutated = fc
      .array(mutationArb(validAirlock.length, [0]), {minLength: 1, maxLength: 3})
      .map(m => apply(validAirlock, m))
    await fc.assert(
      fc.asyncProperty(fc.oneof(plausible, mutated), async bytes => {
        await holds('parseAirlockJson', () => parseAirlockJson(bytes))
      }),
      params(1500),
    )
  })
})

// The whole verifier, in-process, with an oracle: a mutated archive may verify only when the mutation landed in a
// byte no reader acts on (header mtime/uid/gid/uname/mode, padding, ...). The oracle reads the mutated archive with
// the test's own tar reader (node-tar's Header, test/support/hostile/tar.ts) and requires the same entries, in the
// same order, with the same names, types and bytes as the valid archive: any other mutation that verifies is a
// check the verifier is missing.
/** undefined when `mutated` holds exactly the valid archive's entries, else what differs. */
function contentDifference(mutated: Buffer): string | undefined {
  let got: ReturnType<typeof readTar>
  try {
    got = readTar(mutated)
  } catch (error) {
    return `the reference reader refuses it (${(error as Error).message})`
  }
  if (mutated.length > got.endOffset + 2 * BLOCK && mutated.subarray(got.endOffset).some(b => b !== 0))
    return `data after the end-of-archive marker at ${got.endOffset}`
  const want = structure.entries
  if (got.entries.length !== want.length) return `${got.entries.length} entries instead of ${want.length}`
  for (const [i, e] of got.entries.entries()) {
    const w = want[i]!
    if (e.name !== w.name) return `entry ${i} is named ${JSON.stringify(e.name)}, not ${JSON.stringify(w.name)}`
    if (e.type !== w.type) return `entry ${i} (${w.name}) has type ${e.type}, not ${w.type}`
    if (!e.body.equals(w.body)) return `entry ${i} (${w.name}) has other content`
    if ((e.linkpath ?? '') !== (w.linkpath ?? '')) return `entry ${i} (${w.name}) has a link target`
  }
  return undefined
}

describe('fuzz the streaming verifier', () => {
  it('verifyArchive: a mutated archive verifies only if its content is unchanged (ignored bytes); else a one-line AirlockError', async () => {
    assert.equal(
      (await verifyArchive(join(dir, 'valid.tar'))).ok,
      true,
      'the unmutated archive verifies (else the oracle proves nothing)',
    )
    let n = 0
    let verified = 0
    let refused = 0
    await fc.assert(
      fc.asyncProperty(
        fc.array(mutationArb(validTar.length, headerOffsets), {minLength: 1, maxLength: 3}),
        async mutations => {
          const path = join(dir, `verify-${n++ % 4}.tar`)
          const bytes = apply(validTar, mutations)
          writeFileSync(path, bytes)
          let ok = false
          await holds('verifyArchive', async () => {
            const report = await verifyArchive(path)
            ok = report.ok
            if (!report.ok) {
              const line = firstFailure(report)
              assert.ok(
                line && !line.includes('\n'),
                `failed report without a one-line reason: ${JSON.stringify(line)}`,
              )
            }
          })
          if (!ok) return void refused++
          verified++
          const difference = contentDifference(bytes)
          assert.equal(
            difference,
            undefined,
            `a mutated archive verified although ${difference} (mutations ${JSON.stringify(mutations)})`,
          )
        },
      ),
      params(300),
    )
    process.stderr.write(
      `fuzz: verifyArchive ${verified} mutated archive(s) verified (ignored bytes, content checked), ${refused} refused\n`,
    )
    assert.ok(refused > 0, 'no mutation was refused: the property was not exercised')
  })
})
