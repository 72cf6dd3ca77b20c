// oclif reads piped stdin as a missing positional argument (parser `tryStdin`, with a short timeout). airlock's
// stdin belongs to `-f -`, `--password-stdin` and `--key-password-stdin`: `echo "$PASSWORD" | airlock export -f
// images.txt --password-stdin` must never turn the password into an image reference. Found by the README examples
// test on a clean clone, where it failed one run in four.
import assert from 'node:assert/strict'
import {mkdtempSync, readdirSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, it} from 'node:test'
import {ROOT, runCli} from './support/cli.ts'

describe('stdin is never read as an argument', () => {
  it('every argument of every command has ignoreStdin', async () => {
    const files = readdirSync(join(ROOT, 'src/commands')).filter(f => f.endsWith('.ts'))
    assert.ok(files.length >= 8)
    for (const file of files) {
      const command = (await import(join(ROOT, 'src/commands', file))).default as {
        args?: Record<string, {ignoreStdin?: boolean}>
      }
      for (const [name, arg] of Object.entries(command.args ?? {}))
        assert.equal(arg.ignoreStdin, true, `${file}: argument ${name} would read piped stdin`)
    }
  })

  it('export -f FILE with piped stdin reads the file, not stdin (repeated: the race it closes is a timeout)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'airlock-stdin-'))
    writeFileSync(join(dir, 'images.txt'), 'bad reference from the file\n')
    for (let i = 0; i < 4; i++) {
      const r = await runCli(['export', '-f', 'images.txt', '-o', 'x.tar', '--no-tuf'], {
        cwd: dir,
        input: 'correct horse battery staple\n',
      })
      assert.equal(r.status, 1)
      assert.match(r.stderr, /"bad reference from the file"/)
      assert.doesNotMatch(r.stderr, /correct horse/)
    }
  })
})
