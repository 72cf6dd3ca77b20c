// Image globs of policy rules, matched against the normalized repository name of a reference (registry and
// repository, never tag or digest), as Talos does: `docker.io/library/nginx*` matches `nginx:latest`.
import {parseReference} from '../reference/index.ts'
import {AirlockError} from '../errors.ts'

/** `registry/repository` of a reference, normalized (Docker Hub is always `docker.io`). */
export function repositoryName(imageReference: string): string {
  return parseReference(imageReference).name
}

/** Compiles a glob: `*` any run within a path segment, `**` any run across segments, `?` one char, `[...]` a class. */
export function compileGlob(glob: string): RegExp {
  let pattern = glob.replace(/^(index\.docker\.io|registry-1\.docker\.io)\//, 'docker.io/')
  if (pattern.length === 0) throw new AirlockError('USAGE', 'empty image glob')
  let out = '^'
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        out += '.*'
        i++
      } else out += '[^/]*'
    } else if (c === '?') out += '[^/]'
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 2)
      if (end === -1) throw new AirlockError('USAGE', `unterminated [ in image glob ${JSON.stringify(glob)}`)
      let body = pattern.slice(i + 1, end)
      if (body.startsWith('!')) body = '^' + body.slice(1)
      out += `[${body.replace(/\\/g, '\\\\')}]`
      i = end
    } else if (c === '\\') {
      const next = pattern[i + 1]
      if (next === undefined) throw new AirlockError('USAGE', `trailing backslash in image glob ${JSON.stringify(glob)}`)
      out += escape(next)
      i++
    } else out += escape(c)
  }
  pattern = out + '$'
  return new RegExp(pattern)
}

export function globMatches(glob: string, imageReference: string): boolean {
  return compileGlob(glob).test(repositoryName(imageReference))
}

function escape(c: string): string {
  return /[.*+?^${}()|[\]\\/]/.test(c) ? `\\${c}` : c
}
