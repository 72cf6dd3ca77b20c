// Policy files: YAML or JSON, the shape of Talos's ImageVerificationConfig (one file serves both), validated
// strictly with every problem reported at once.
//
//   apiVersion: v1alpha1                 # optional
//   kind: ImageVerificationConfig        # optional; picks this document out of a multi-document Talos config
//   rules:
//     - image: ghcr.io/siderolabs/*
//       keyless: {issuer: https://accounts.google.com, subjectRegex: '@siderolabs\.com$'}
//     - image: registry.example.com/*
//       publicKey: {certificate: "-----BEGIN PUBLIC KEY-----..."}
//     - image: "index.docker.io/library/*"   # Docker Hub as Talos matches it
//       skip: true
//     - image: "*"
//       deny: true
//
// keyless takes issuer or issuerRegex (airlock extension), and subject or subjectRegex; regexps are unanchored
// searches in Go syntax, as in cosign and Talos.
import {createHash} from 'node:crypto'
import {readFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {AirlockError} from '../errors.ts'
import {compileGoRegExp} from './go-regexp.ts'
import {validateGlob} from './glob.ts'
import {validateIdentity, type KeylessIdentity} from './identity.ts'
import type {PolicyRule, RuleSpec} from './types.ts'

const KIND = 'ImageVerificationConfig'
const RULE_KEYS = new Set(['image', 'keyless', 'publicKey', 'skip', 'deny'])
const KEYLESS_KEYS = new Set(['issuer', 'issuerRegex', 'subject', 'subjectRegex'])

export function readPolicyFile(path: string): PolicyRule[] {
  return readPolicyDocument(path).rules
}

/** The rules of a policy file and the sha256 of the bytes they were parsed from (reports name the exact policy). */
export function readPolicyDocument(path: string): {rules: PolicyRule[]; sha256: string} {
  let bytes: Buffer
  try {
    bytes = readFileSync(path)
  } catch (error) {
    throw new AirlockError('USAGE', `cannot read policy file ${path}: ${(error as Error).message}`, {cause: error})
  }
  return {rules: parsePolicy(bytes.toString('utf8'), path), sha256: createHash('sha256').update(bytes).digest('hex')}
}

/** Parses policy text (YAML, of which JSON is a subset). Throws USAGE listing every problem. */
export function parsePolicy(text: string, source = 'policy'): PolicyRule[] {
  const docs = yaml().parseAllDocuments(text)
  if (!Array.isArray(docs)) throw new AirlockError('USAGE', `${source}: empty policy file`)
  const syntax = docs.flatMap(d => d.errors.map(e => e.message.split('\n')[0]))
  if (syntax.length > 0) throw problemsError(source, syntax.map(String))
  const values = docs.map(d => d.toJS() as unknown).filter(v => v !== null && v !== undefined)
  const chosen = values.length === 1 ? values[0] : values.find(v => (v as {kind?: unknown})?.kind === KIND)
  if (chosen === undefined) throw new AirlockError('USAGE', `${source}: no ${KIND} document found`)
  const problems: string[] = []
  const rules = validateDocument(chosen, problems)
  if (problems.length > 0) throw problemsError(source, problems)
  return rules.map((r, i) => ({...r, origin: `${source} rules[${i}]`}) as PolicyRule)
}

function validateDocument(value: unknown, problems: string[]): RuleSpec[] {
  if (!isObject(value)) {
    problems.push('the document must be a mapping with a "rules" list')
    return []
  }
  for (const key of Object.keys(value))
    if (!['apiVersion', 'kind', 'rules'].includes(key)) problems.push(`unknown top-level field "${key}"`)
  if (value['kind'] !== undefined && value['kind'] !== KIND)
    problems.push(`kind must be ${KIND} (got ${JSON.stringify(value['kind'])})`)
  if (value['apiVersion'] !== undefined && value['apiVersion'] !== 'v1alpha1')
    problems.push(`apiVersion must be v1alpha1 (got ${JSON.stringify(value['apiVersion'])})`)
  const rules = value['rules']
  if (!Array.isArray(rules) || rules.length === 0) {
    problems.push('"rules" must be a non-empty list')
    return []
  }
  const out: RuleSpec[] = []
  rules.forEach((rule, i) => {
    const parsed = validateRule(rule, `rules[${i}]`, problems)
    if (parsed) out.push(parsed)
  })
  return out
}

function validateRule(rule: unknown, where: string, problems: string[]): RuleSpec | undefined {
  if (!isObject(rule)) {
    problems.push(`${where}: must be a mapping`)
    return undefined
  }
  const before = problems.length
  for (const key of Object.keys(rule)) if (!RULE_KEYS.has(key)) problems.push(`${where}: unknown field "${key}"`)
  const image = rule['image']
  if (typeof image !== 'string' || image.length === 0)
    problems.push(`${where}.image: required, a glob over registry/repository`)
  else
    try {
      validateGlob(image)
    } catch (error) {
      const hint = (error as AirlockError).hint
      problems.push(`${where}.image: ${(error as Error).message}${hint ? ` (${hint})` : ''}`)
    }
  const actions = ['keyless', 'publicKey', 'skip', 'deny'].filter(k => rule[k] !== undefined && rule[k] !== false)
  if (actions.length !== 1)
    problems.push(
      `${where}: exactly one of keyless, publicKey, skip: true, deny: true is required${actions.length > 1 ? ` (got ${actions.join(', ')})` : ''}`,
    )
  for (const flag of ['skip', 'deny'])
    if (rule[flag] !== undefined && typeof rule[flag] !== 'boolean')
      problems.push(`${where}.${flag}: must be true or false`)
  let result: RuleSpec | undefined
  const action = actions[0]
  if (action === 'keyless') {
    const identity = validateKeyless(rule['keyless'], `${where}.keyless`, problems)
    if (identity) result = {image: String(image), action: 'keyless', identities: [identity]}
  } else if (action === 'publicKey') {
    const pk = rule['publicKey']
    if (!isObject(pk) || typeof pk['certificate'] !== 'string' || !pk['certificate'].includes('-----BEGIN '))
      problems.push(`${where}.publicKey.certificate: required, a PEM public key or certificate`)
    else {
      for (const key of Object.keys(pk))
        if (key !== 'certificate') problems.push(`${where}.publicKey: unknown field "${key}"`)
      result = {image: String(image), action: 'public-key', publicKeyPem: pk['certificate']}
    }
  } else if (action === 'skip') result = {image: String(image), action: 'skip'}
  else if (action === 'deny') result = {image: String(image), action: 'deny'}
  return problems.length === before ? result : undefined
}

function validateKeyless(value: unknown, where: string, problems: string[]): KeylessIdentity | undefined {
  if (!isObject(value)) {
    problems.push(`${where}: must be a mapping with issuer and subject or subjectRegex`)
    return undefined
  }
  const before = problems.length
  const identity: KeylessIdentity = {}
  for (const [key, v] of Object.entries(value)) {
    if (!KEYLESS_KEYS.has(key)) {
      problems.push(`${where}: unknown field "${key}"`)
      continue
    }
    if (typeof v !== 'string' || v.length === 0) {
      problems.push(`${where}.${key}: must be a non-empty string`)
      continue
    }
    if (key === 'subject') identity.subject = v
    if (key === 'issuer') identity.issuer = v
    if (key === 'subjectRegex' || key === 'issuerRegex') {
      try {
        compileGoRegExp(v, `${where}.${key}`)
      } catch (error) {
        problems.push((error as Error).message)
        continue
      }
      if (key === 'subjectRegex') identity.subjectRegExp = v
      else identity.issuerRegExp = v
    }
  }
  if (problems.length > before) return undefined
  try {
    validateIdentity(identity, where)
  } catch (error) {
    problems.push((error as Error).message)
    return undefined
  }
  return identity
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function problemsError(source: string, problems: string[]): AirlockError {
  const message =
    problems.length === 1
      ? `${source}: ${problems[0]}`
      : `${source}: ${problems.length} problems: ${problems.join('; ')}`
  return new AirlockError('USAGE', message, {
    details: {problems},
    hint: 'each rule is {image: GLOB} plus one of keyless: {issuer, subject or subjectRegex}, publicKey: {certificate: PEM}, skip: true, deny: true',
  })
}

/** The YAML parser (72 modules), loaded the first time a policy file is read: flag policies never need it. */
let yamlModule: typeof import('yaml') | undefined
function yaml(): typeof import('yaml') {
  yamlModule ??= createRequire(import.meta.url)('yaml') as typeof import('yaml')
  return yamlModule
}
