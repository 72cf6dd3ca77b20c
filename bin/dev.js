#!/usr/bin/env node
// Development entry: builds nothing, runs the compiled dist/ like run.js but in oclif's development mode
// (no manifest cache, full error output).
import {execute} from '@oclif/core'
await execute({development: true, dir: import.meta.url})
