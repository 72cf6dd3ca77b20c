// Issue 12 item 3: usage errors are complete (the missing flag or argument named with its reason, in text and
// --json), unknown commands get airlock's format and a "did you mean", `airlock help [command]` and shell completion
// work. Runs the built CLI (npm run build first).
import assert from 'node:assert/strict'
import {join} from 'node:path'
import {describe, it} from 'node:test'
import {type CliRun, ROOT, runCli} from './support/cli.ts'
import {parseCliJson} from './support/json-contract.ts'

function airlock(...args: string[]): Promise<CliRun> {
  return runCli(args, {env: {XDG_CACHE_HOME: join(ROOT, 'node_modules/.cache/airlock-test')}})
}

/** Text form: exactly one error line and one hint line, exit 2. */
async function usage(args: string[], message: RegExp): Promise<void> {
  const r = await airlock(...args)
  assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`)
  const lines = r.stderr.trimEnd().split('\n')
  assert.equal(lines.length, 2, r.stderr)
  assert.match(lines[0]!, message)
  assert.match(lines[1]!, /^airlock: hint: /)
  const json = await airlock(...args, '--json')
  assert.equal(json.status, 2, json.stderr)
  const error = parseCliJson<{error: {code: string; message: string; details?: {usage?: {kind?: string}}}}>(
    json.stdout,
  ).error
  assert.equal(error.code, 'USAGE')
  assert.match(`airlock: error: ${error.message}`, message)
  assert.ok(error.details?.usage?.kind, json.stdout)
}

describe('CLI: usage errors name what is wrong and why', () => {
  it('a missing argument is named with its description', async () => {
    await usage(
      ['verify'],
      /^airlock: error: missing required argument: ARCHIVE \(archive written by airlock export\)$/,
    )
    await usage(
      ['push', 'a.tar'],
      /^airlock: error: missing required argument: TARGET \(REGISTRY\[\/PREFIX\] of the mirror\)$/,
    )
  })
  it('a missing required flag is named with what it is for', async () => {
    await usage(['export', 'alpine'], /^airlock: error: missing required flag --output \(-o\): Archive to write$/)
  })
  it('a bad flag value says which flag and why', async () => {
    await usage(
      ['export', '-o', 'x.tar', '--concurrency', 'x', 'alpine'],
      /^airlock: error: invalid value for --concurrency: Expected an integer but received: x$/,
    )
    await usage(
      ['export', '-o', 'x.tar', '--concurrency', '0', 'alpine'],
      /^airlock: error: invalid value for --concurrency: Expected an integer greater than or equal to 1 but received: 0$/,
    )
    await usage(
      ['verify', 'a.tar', '--signatures', 'bogus'],
      /^airlock: error: Expected --signatures=bogus to be one of: required, skip$/,
    )
  })
  it('unknown flags and extra arguments are named', async () => {
    await usage(['verify', '--concurrency', '3', 'a.tar'], /^airlock: error: unknown flag: --concurrency$/)
    await usage(
      ['inspect', 'a.tar', 'b.tar'],
      /^airlock: error: Unexpected argument: b\.tar \(this command takes 1 argument\(s\): ARCHIVE\)$/,
    )
  })
  it("an unknown command: airlock's format, a suggestion, exit 2", async () => {
    await usage(['expor', '-o', 'x.tar', 'alpine'], /^airlock: error: unknown command "expor"$/)
    const r = await airlock('verfy', 'a.tar')
    assert.match(r.stderr, /^airlock: hint: did you mean "airlock verify"\?/m)
    const far = await airlock('zzzzzzzz')
    assert.equal(far.status, 2)
    assert.doesNotMatch(far.stderr, /did you mean/)
  })
  it('airlock help [command] and shell completion', async () => {
    const all = await airlock('help')
    assert.equal(all.status, 0, all.stderr)
    for (const command of ['export', 'verify', 'push', 'inspect', 'verify-blob', 'autocomplete'])
      assert.match(all.stdout, new RegExp(`^\\s+${command}\\s`, 'm'))
    const one = await airlock('help', 'verify')
    assert.equal(one.status, 0, one.stderr)
    assert.match(one.stdout, /USAGE\s+\$ airlock verify ARCHIVE/)
    assert.match(one.stdout, /EXAMPLES/)
    const script = await airlock('autocomplete', 'script', 'bash')
    assert.equal(script.status, 0, script.stderr)
    assert.match(script.stdout, /AIRLOCK_AC_BASH_SETUP_PATH/)
  })
})
