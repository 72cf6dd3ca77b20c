import {createRequire} from 'node:module'
import {embedded} from './embedded.ts'

export const TOOL_VERSION: string =
  embedded()?.version ?? (createRequire(import.meta.url)('../package.json') as {version: string}).version
