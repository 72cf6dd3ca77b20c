// The JSON contract in the tests (issue 16 item 1): every `--json` output a test reads goes through parseCliJson,
// which validates it against schema/<command>.schema.json (the envelope's `command` picks the schema; a command
// without a schema of its own is held to schema/envelope.schema.json, and test/json-contract.test.ts fails until it
// has one). Draft 2020-12, ajv in strict mode, formats (date-time) checked.
import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {Ajv2020, type ValidateFunction} from 'ajv/dist/2020.js'
import addFormatsModule from 'ajv-formats'

export const SCHEMA_DIR = fileURLToPath(new URL('../../schema/', import.meta.url))
export const SCHEMA_BASE = 'https://airlock.example/schema/1/'

// ajv-formats is CommonJS: its default export arrives as the module object under some loaders
const addFormats = ((addFormatsModule as unknown as {default?: unknown}).default ?? addFormatsModule) as unknown as (
  ajv: Ajv2020,
) => Ajv2020

let ajv: Ajv2020 | undefined
const validators = new Map<string, ValidateFunction>()

/** Every schema file, loaded once (they reference each other by $id). */
export function schemaAjv(): Ajv2020 {
  if (ajv) return ajv
  ajv = new Ajv2020({allErrors: true, strict: true, strictTypes: false, strictRequired: false})
  addFormats(ajv)
  for (const file of readdirSync(SCHEMA_DIR).filter(f => f.endsWith('.schema.json')))
    ajv.addSchema(JSON.parse(readFileSync(join(SCHEMA_DIR, file), 'utf8')) as object)
  return ajv
}

/** The commands that have a schema of their own. */
export function commandSchemas(): string[] {
  return readdirSync(SCHEMA_DIR)
    .filter(f => f.endsWith('.schema.json') && f !== 'envelope.schema.json')
    .map(f => f.slice(0, -'.schema.json'.length))
}

function validatorFor(command: unknown): ValidateFunction {
  const id =
    typeof command === 'string' && commandSchemas().includes(command.replaceAll(':', '-'))
      ? `${SCHEMA_BASE}${command.replaceAll(':', '-')}.schema.json`
      : `${SCHEMA_BASE}envelope.schema.json`
  let validate = validators.get(id)
  if (!validate) {
    validate = schemaAjv().getSchema(id)
    if (!validate) throw new Error(`no schema ${id}`)
    validators.set(id, validate)
  }
  return validate
}

/** The schema errors of one --json output (empty when it conforms). */
export function contractErrors(json: unknown): string[] {
  const validate = validatorFor((json as {command?: unknown} | null)?.command)
  if (validate(json)) return []
  return (validate.errors ?? []).map(e => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`)
}

/** Throws naming every schema violation (and the schema) when `json` does not conform. */
export function assertContract(json: unknown, what = 'airlock --json'): void {
  const errors = contractErrors(json)
  if (errors.length)
    throw new Error(
      `${what}: output does not match schema/${(json as {command?: string}).command ?? 'envelope'}.schema.json:\n  ${errors.slice(0, 20).join('\n  ')}`,
    )
}

/** JSON.parse of a CLI's --json stdout, validated against its command's schema. */
export function parseCliJson<T = Record<string, unknown>>(stdout: string, what = 'airlock --json'): T {
  let json: unknown
  try {
    json = JSON.parse(stdout)
  } catch {
    throw new Error(`${what} did not print JSON:\n${stdout.slice(0, 2000)}`)
  }
  assertContract(json, what)
  return json as T
}
