// Terminal-safe one-line text (also used by hooks that run before any command).
const MAX_MESSAGE = 400

/** Escapes control characters and shortens over-long text (keeping its start and end, where names and causes are). */
export function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, c =>
    c === '\n' ? ' ' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  )
  if (clean.length <= MAX_MESSAGE) return clean
  return `${clean.slice(0, MAX_MESSAGE / 2)}...(${clean.length - MAX_MESSAGE} characters elided)...${clean.slice(-MAX_MESSAGE / 2 + 40)}`
}
