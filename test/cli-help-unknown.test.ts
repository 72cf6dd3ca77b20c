// Issue 12 item 3, the help path: `airlock help nosuchcommand` printed oclif's own "›   Error: Command ... not found."
// instead of airlock's one-line error with a "did you mean", as an unknown command gets
// (src/cli/hooks/command-not-found.ts).
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {runCli} from './support/cli.ts'

describe('airlock help UNKNOWN', () => {
  it('a near miss: one error line, a hint with "did you mean", exit 2', async () => {
    const r = await runCli(['help', 'exprot'])
    assert.equal(r.status, 2, r.stderr)
    assert.equal(
      r.stderr,
      'airlock: error: unknown command "exprot"\nairlock: hint: did you mean "airlock help export"? run "airlock help" for the list of commands\n',
    )
    assert.equal(r.stdout, '')
  })

  it("nothing close: the same format without a suggestion; nothing of oclif's own format", async () => {
    const r = await runCli(['help', 'nosuchcommand'])
    assert.equal(r.status, 2, r.stderr)
    assert.equal(
      r.stderr,
      'airlock: error: unknown command "nosuchcommand"\nairlock: hint: run "airlock help" for the list of commands\n',
    )
    assert.doesNotMatch(r.stderr + r.stdout, /›|Error: Command/)
  })

  it('known commands and the root still get their help', async () => {
    const one = await runCli(['help', 'verify'])
    assert.equal(one.status, 0, one.stderr)
    assert.match(one.stdout, /USAGE\n\s+\$ airlock verify/)
    const all = await runCli(['help'])
    assert.equal(all.status, 0, all.stderr)
    assert.match(all.stdout, /COMMANDS/)
  })
})
