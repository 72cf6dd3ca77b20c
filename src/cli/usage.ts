// oclif's parse errors are several lines ("Missing 1 required arg:" / "archive  description" / "See more help");
// only the first used to survive the one-line error format. This turns each kind into one complete line that names
// the flag or argument and the reason, plus structured details for --json.
import {AirlockError} from '../errors.ts'

interface FlagInfo {
  summary?: string
  description?: string
  char?: string
}
interface ArgInfo {
  name: string
  description?: string
}
type ParseError = Error & {
  args?: Array<{name?: string; description?: string}>
  failed?: Array<{name?: string; reason?: string; status?: string}>
  flags?: string[]
}

const SEE_MORE = /^See more help with --help$/

function meaningfulLines(message: string): string[] {
  return message
    .split('\n')
    .map(l => l.trim())
    .filter(l => l.length > 0 && !SEE_MORE.test(l))
}

function describeFlag(name: string, flags: Record<string, FlagInfo>): string {
  const flag = flags[name]
  const summary = flag?.summary ?? flag?.description
  return `--${name}${flag?.char ? ` (-${flag.char})` : ''}${summary ? `: ${summary.replace(/\.$/, '')}` : ''}`
}

/** One AirlockError('USAGE') naming what is wrong, from any oclif parse error. */
export function usageError(
  error: ParseError,
  command: {id: string; flags: Record<string, FlagInfo>; args: Record<string, ArgInfo>},
): AirlockError {
  const hint = `see: airlock help ${command.id}`.trimEnd()
  const name = error.constructor?.name ?? error.name
  const lines = meaningfulLines(error.message ?? String(error))

  if (name === 'RequiredArgsError' && error.args?.length) {
    const missing = error.args.map(a => ({
      name: (a.name ?? '?').toUpperCase(),
      description: a.description ?? command.args[a.name ?? '']?.description,
    }))
    const text = missing.map(a => `${a.name}${a.description ? ` (${a.description})` : ''}`).join(', ')
    return new AirlockError('USAGE', `missing required argument${missing.length > 1 ? 's' : ''}: ${text}`, {
      hint,
      details: {usage: {kind: 'missing-argument', arguments: missing}},
    })
  }
  if (name === 'FailedFlagValidationError') {
    const reasons = lines.slice(1).map(l => {
      const required = /^Missing required flag:? (?:--)?([\w-]+)$/.exec(l)
      return required ? `missing required flag ${describeFlag(required[1]!, command.flags)}` : l
    })
    return new AirlockError('USAGE', reasons.join('; ') || lines.join(' '), {
      hint,
      details: {usage: {kind: 'flag-validation', reasons}},
    })
  }
  const parsing = /^Parsing --([\w-]+)$/.exec(lines[0] ?? '')
  if (parsing) {
    const reason = lines.slice(1).join(' ')
    return new AirlockError('USAGE', `invalid value for --${parsing[1]}: ${reason}`, {
      hint,
      details: {usage: {kind: 'invalid-value', flag: parsing[1], reason}},
    })
  }
  if (name === 'NonExistentFlagsError') {
    return new AirlockError(
      'USAGE',
      `unknown flag${(error.flags?.length ?? 0) > 1 ? 's' : ''}: ${(error.flags ?? []).join(', ') || lines[0]}`,
      {hint, details: {usage: {kind: 'unknown-flag', flags: error.flags}}},
    )
  }
  if (name === 'UnexpectedArgsError') {
    return new AirlockError(
      'USAGE',
      `${lines.join(' ')} (this command takes ${Object.keys(command.args).length} argument(s): ${
        Object.keys(command.args)
          .map(a => a.toUpperCase())
          .join(' ') || 'none'
      })`,
      {hint, details: {usage: {kind: 'unexpected-argument'}}},
    )
  }
  return new AirlockError('USAGE', lines.join(': ').replace(/:: /g, ': ') || 'invalid usage', {
    hint,
    details: {usage: {kind: 'other'}},
  })
}
