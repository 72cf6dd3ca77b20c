// The TUF rollback memory in process (issue 13 item 5): src/trust/state.ts. The file is the only thing that stops a
// replayed older archive, so a corrupt floor must never read as 0: every field is checked, the refusal names the
// file and the field, and writing is atomic (a killed run's temporary is removed only once its owner is gone).
import assert from 'node:assert/strict'
import {mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {homedir, tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'
import {
  defaultStateDir,
  legacyStateFilePath,
  readLegacyTufState,
  readTufState,
  removeStaleStateFiles,
  stateFilePath,
  type TufState,
  writeTufState,
} from '../src/trust/state.ts'

const FP = 'ab'.repeat(32)
const OTHER = 'cd'.repeat(32)
const top = mkdtempSync(join(tmpdir(), 'airlock-tuf-state-'))
after(() => rmSync(top, {recursive: true, force: true}))
let n = 0
const freshDir = () => join(top, `d${n++}`)

const STATE: TufState = {
  format: 2,
  pinnedRoot: FP,
  mirror: 'tuf.example.com',
  root: 3,
  timestamp: 40,
  timestampSha256: 'ee'.repeat(32),
  snapshot: 30,
  targets: 20,
  delegated: {'registry.npmjs.org': 2},
  timestampKeys: ['spki:1'],
  snapshotKeys: ['spki:2', 'spki:3'],
  updatedAt: '2026-06-01T00:00:00.000Z',
}
const HINT =
  'the rollback memory is never reset silently: restore the file from a backup, or remove it only if you know why it is corrupt'

/** Writes raw state content for FP and expects readTufState to refuse it with `what`. */
function refusedState(content: string | object, what: string) {
  const dir = freshDir()
  mkdirSync(join(dir, 'tuf'), {recursive: true})
  const file = stateFilePath(dir, FP)
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content))
  assert.throws(() => readTufState(dir, FP), {
    code: 'TRUST_INVALID',
    message: `TUF state file ${file} ${what}`,
    hint: HINT,
  })
}

describe('TUF state files', () => {
  it('live under $XDG_STATE_HOME/airlock (an absolute one), else ~/.local/state/airlock', () => {
    assert.equal(defaultStateDir({XDG_STATE_HOME: '/var/state'}), '/var/state/airlock')
    assert.equal(defaultStateDir({XDG_STATE_HOME: 'relative/state'}), join(homedir(), '.local', 'state', 'airlock'))
    assert.equal(defaultStateDir({}), join(homedir(), '.local', 'state', 'airlock'))
    assert.equal(stateFilePath('/s', FP), `/s/tuf/root-${FP}.json`)
    assert.equal(legacyStateFilePath('/s', 'tuf.example.com'), '/s/tuf/tuf.example.com.json')
    for (const bad of ['', FP.toUpperCase(), `${FP}0`, '../x'])
      assert.throws(() => stateFilePath('/s', bad), {
        code: 'INTERNAL',
        message: `not a pinned root fingerprint: ${bad}`,
      })
  })

  it('round trips a state, written private and atomically; no state is undefined', () => {
    const dir = freshDir()
    assert.equal(readTufState(dir, FP), undefined)
    const file = writeTufState(dir, STATE)
    assert.equal(file, stateFilePath(dir, FP))
    const back = readTufState(dir, FP)!
    assert.deepEqual({...back, delegated: {...back.delegated}}, STATE)
    // the role map has no prototype: a role named like an Object.prototype member is just a role
    assert.equal(Object.getPrototypeOf(back.delegated), null)
    assert.equal(statSync(file).mode & 0o777, 0o600)
    assert.equal(statSync(join(dir, 'tuf')).mode & 0o777, 0o700)
    assert.equal(readFileSync(file, 'utf8'), `${JSON.stringify(STATE, null, 2)}\n`)
    assert.deepEqual(readdirSync(join(dir, 'tuf')), [`root-${FP}.json`])
    // optional and defaulted fields
    const {timestampSha256: _, ...bare} = STATE
    writeTufState(dir, {...bare, delegated: {}, timestampKeys: [], snapshotKeys: []})
    const read = readTufState(dir, FP)!
    assert.equal('timestampSha256' in read, false)
    assert.deepEqual(Object.keys(read.delegated), [])
    // another pinned root has its own (absent) state
    assert.equal(readTufState(dir, OTHER), undefined)
  })

  it('0 is a valid floor (a fresh repository), not a corrupt one', () => {
    const dir = freshDir()
    writeTufState(dir, {...STATE, root: 0, timestamp: 0, snapshot: 0, targets: 0, delegated: {r: 0}})
    const read = readTufState(dir, FP)!
    assert.deepEqual([read.root, read.timestamp, read.snapshot, read.targets, read.delegated.r], [0, 0, 0, 0, 0])
  })

  it('missing lists and map default to empty', () => {
    const dir = freshDir()
    mkdirSync(join(dir, 'tuf'), {recursive: true})
    const {delegated: _d, timestampKeys: _t, snapshotKeys: _s, ...rest} = STATE
    writeFileSync(stateFilePath(dir, FP), JSON.stringify(rest))
    const read = readTufState(dir, FP)!
    assert.deepEqual([Object.keys(read.delegated), read.timestampKeys, read.snapshotKeys], [[], [], []])
  })

  it('refuses a corrupt state, naming the file and the field, never reading it as 0', () => {
    refusedState('{', 'is not valid JSON')
    refusedState('[]', 'is not a JSON object')
    refusedState('null', 'is not a JSON object')
    refusedState('7', 'is not a JSON object')
    refusedState({...STATE, format: 1}, 'has format 1, not 2')
    refusedState({...STATE, format: undefined}, 'has format undefined, not 2')
    refusedState({...STATE, pinnedRoot: OTHER}, 'belongs to another pinned root')
    refusedState({...STATE, pinnedRoot: 5}, 'has an invalid pinnedRoot 5')
    refusedState({...STATE, mirror: null}, 'has an invalid mirror null')
    refusedState({...STATE, timestampSha256: 5}, 'has an invalid timestampSha256 5')
    refusedState({...STATE, updatedAt: undefined}, 'has an invalid updatedAt undefined')
    for (const [field, value] of [
      ['root', '3'],
      ['timestamp', -1],
      ['snapshot', 1.5],
      ['targets', 2 ** 53],
      ['root', null],
    ] as const)
      refusedState(
        {...STATE, [field]: value},
        `has an invalid ${field} ${JSON.stringify(value)} (want a safe integer >= 0)`,
      )
    assert.doesNotThrow(() => refusedState({...STATE, root: 0, mirror: 9}, 'has an invalid mirror 9'))
    refusedState({...STATE, delegated: {a: -2}}, 'has an invalid delegated a -2 (want a safe integer >= 0)')
    refusedState({...STATE, delegated: []}, 'has an invalid delegated map')
    refusedState({...STATE, delegated: 'x'}, 'has an invalid delegated map')
    refusedState({...STATE, delegated: 0}, 'has an invalid delegated map')
    refusedState({...STATE, timestampKeys: 'spki:1'}, 'has an invalid timestampKeys')
    refusedState({...STATE, snapshotKeys: ['spki:1', 2]}, 'has an invalid snapshotKeys')
    // null is not "missing": read as empty it would reset the delegated floors and the key-rotation memory silently
    refusedState({...STATE, delegated: null}, 'has an invalid delegated map')
    refusedState({...STATE, timestampKeys: null}, 'has an invalid timestampKeys')
    refusedState({...STATE, snapshotKeys: null}, 'has an invalid snapshotKeys')
  })

  it('a state file that cannot be read is an I/O error naming it', () => {
    const dir = freshDir()
    mkdirSync(stateFilePath(dir, FP), {recursive: true}) // a directory where the file should be
    assert.throws(() => readTufState(dir, FP), {
      code: 'IO_ERROR',
      message: new RegExp(`^cannot read TUF state ${stateFilePath(dir, FP)}: EISDIR`),
    })
    // and cannot be written over
    assert.throws(() => writeTufState(dir, STATE), {
      code: 'IO_ERROR',
      message: new RegExp(`^cannot write TUF state ${stateFilePath(dir, FP)}: `),
    })
  })

  it('reads a format-1 state (keyed by mirror name) for migration, its floors intact', () => {
    const dir = freshDir()
    assert.equal(readLegacyTufState(dir, 'tuf.example.com'), undefined)
    mkdirSync(join(dir, 'tuf'), {recursive: true})
    const legacy = {
      format: 1,
      root: 2,
      timestamp: 9,
      snapshot: 8,
      targets: 7,
      delegated: {x: 1},
      timestampKeyids: ['k1'],
      snapshotKeyids: ['k2'],
    }
    writeFileSync(legacyStateFilePath(dir, 'tuf.example.com'), JSON.stringify(legacy))
    const read = readLegacyTufState(dir, 'tuf.example.com')!
    assert.deepEqual(
      {...read, delegated: {...read.delegated}},
      {
        ...legacy,
        pinnedRoot: '',
        mirror: 'tuf.example.com',
        updatedAt: '',
      },
    )
    writeFileSync(
      legacyStateFilePath(dir, 'tuf.example.com'),
      JSON.stringify({...legacy, mirror: 'named', updatedAt: '2026-01-01T00:00:00Z'}),
    )
    const named = readLegacyTufState(dir, 'tuf.example.com')!
    assert.equal(named.mirror, 'named')
    assert.equal(named.updatedAt, '2026-01-01T00:00:00Z')
    const file = legacyStateFilePath(dir, 'tuf.example.com')
    writeFileSync(file, JSON.stringify({...legacy, format: 2}))
    assert.throws(() => readLegacyTufState(dir, 'tuf.example.com'), {
      code: 'TRUST_INVALID',
      message: `TUF state file ${file} has format 2, not 1`,
    })
    writeFileSync(file, JSON.stringify({...legacy, snapshot: -1}))
    assert.throws(() => readLegacyTufState(dir, 'tuf.example.com'), {
      code: 'TRUST_INVALID',
      message: `TUF state file ${file} has an invalid snapshot -1 (want a safe integer >= 0)`,
    })
  })

  it("removes a killed run's temporary state file, and only that", () => {
    const dir = freshDir()
    assert.deepEqual(removeStaleStateFiles(dir), [])
    mkdirSync(join(dir, 'tuf'), {recursive: true})
    writeTufState(dir, STATE)
    // pid 2^22+1 is above Linux's pid_max: no such process
    const stale = join(dir, 'tuf', `.root-${FP}.json.partial-4194305-abc123`)
    const live = join(dir, 'tuf', `.root-${FP}.json.partial-${process.pid}-def456`)
    writeFileSync(stale, 'x')
    writeFileSync(live, 'y')
    assert.deepEqual(removeStaleStateFiles(dir), [stale])
    assert.deepEqual(readdirSync(join(dir, 'tuf')).sort(), [
      `.root-${FP}.json.partial-${process.pid}-def456`,
      `root-${FP}.json`,
    ])
  })
})
