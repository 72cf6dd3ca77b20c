// The one JSON contract of every command (issue 16 item 1): every `--json` output, success or failure, is this
// envelope with the command's own fields at the top level beside it. Published as JSON Schemas in schema/
// (envelope.schema.json plus one per command); the policy for schemaVersion is in docs/DECISIONS.md.
import type {AirlockError} from '../errors.ts'
import {embedded} from '../embedded.ts'
import {problemsOf, type EnvelopeProblem} from '../report/problems.ts'
import {TOOL_VERSION} from '../version.ts'

/** Bumped only when a field is removed, renamed or changes meaning; added fields keep it (docs/DECISIONS.md). */
export const SCHEMA_VERSION = 1

/** Top-level names the envelope owns: a command's result may not use them for anything else. */
export const ENVELOPE_FIELDS = [
  'schemaVersion',
  'airlock',
  'command',
  'ok',
  'startedAt',
  'durationSeconds',
  'problems',
] as const

export interface Envelope {
  schemaVersion: number
  airlock: {version: string; commit: string | null}
  command: string
  ok: boolean
  startedAt: string
  durationSeconds: number
  problems: EnvelopeProblem[]
  [field: string]: unknown
}

export interface RunFacts {
  /** the command id, e.g. `verify`, `verify-blob` */
  command: string
  startedAt: Date
  /** the exit status the process will have (commands set process.exitCode for a report that failed) */
  exitCode: number
}

function head(facts: RunFacts, ok: boolean, problems: EnvelopeProblem[]): Envelope {
  return {
    schemaVersion: SCHEMA_VERSION,
    airlock: {version: TOOL_VERSION, commit: embedded()?.commit ?? null},
    command: facts.command,
    ok,
    startedAt: facts.startedAt.toISOString(),
    durationSeconds: Math.round(((Date.now() - facts.startedAt.getTime()) / 1000) * 1000) / 1000,
    problems,
  }
}

/** A command's result in the envelope: its fields at the top level, `ok` and `problems` as the envelope says. */
export function successEnvelope(result: unknown, facts: RunFacts): Envelope {
  const fields = typeof result === 'object' && result !== null && !Array.isArray(result) ? result : {value: result}
  const problems = problemsOf(fields)
  const ok = facts.exitCode === 0 && (fields as {ok?: unknown}).ok !== false && problems.length === 0
  if (!ok && problems.length === 0)
    problems.push({code: 'INTERNAL', message: `${facts.command} failed (exit ${facts.exitCode || 1})`})
  const envelope = head(facts, ok, problems)
  // The envelope's keys come first and keep their values; the command's own fields follow in their order.
  for (const [key, value] of Object.entries(fields))
    if (!(ENVELOPE_FIELDS as readonly string[]).includes(key)) envelope[key] = value
  return envelope
}

/** A failure in the envelope: ok false, the error as the first problem, and the error itself under `error`. */
export function failureEnvelope(error: AirlockError, facts: RunFacts): Envelope {
  const problem: EnvelopeProblem = {code: error.code, message: error.message}
  if (error.hint !== undefined) problem.hint = error.hint
  const subject = error.details?.['subject']
  if (typeof subject === 'string') problem.subject = subject
  const envelope = head(facts, false, [problem])
  envelope['error'] = {code: error.code, message: error.message, hint: error.hint, details: error.details}
  return envelope
}
