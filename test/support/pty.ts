// Runs the built CLI on a real pseudo-terminal (util-linux `script`), for what only a terminal shows: the redrawn
// progress line, its width, Ctrl-C typed on the terminal.
import {spawn} from 'node:child_process'
import {BIN} from './cli.ts'

const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`

/** Everything the terminal received, and the exit status. `columns` 0 is a terminal that reports no width. */
export function onPty(
  args: string[],
  options: {columns?: number; signalAfter?: (out: string) => boolean} = {},
): Promise<{out: string; status: number | null}> {
  const cmd = `stty cols ${options.columns ?? 120}; exec ${quote(process.execPath)} ${quote(BIN)} ${args.map(quote).join(' ')}`
  return new Promise(resolve => {
    const child = spawn('script', ['-q', '-e', '-c', cmd, '/dev/null'], {stdio: ['pipe', 'pipe', 'pipe']})
    let out = ''
    let signalled = false
    child.stdout.on('data', d => {
      out += d
      if (!signalled && options.signalAfter?.(out)) {
        signalled = true
        // Ctrl-C typed on the terminal: the pty's line discipline sends SIGINT to the foreground process.
        child.stdin.write('\x03')
      }
    })
    child.stderr.resume()
    child.on('close', status => resolve({out, status}))
  })
}

/** How many redrawn frames (`\r\x1b[K`-separated) have a first line matching PATTERN. */
export const redraws = (out: string, pattern: RegExp): number =>
  out.split('\r\x1b[K').filter(frame => pattern.test(frame.split('\n')[0]!)).length
