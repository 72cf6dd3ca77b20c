// What the single-file executable carries inside itself. scripts/package.ts bundles airlock into one JavaScript file
// and injects it into a Node binary; the executable's loader checks that file's sha256 and then publishes these
// values on globalThis before the code runs. When airlock runs from dist/ or its sources this is undefined and
// every caller falls back to reading files from node_modules (see docs/DECISIONS.md, "single-file executable").

export interface Embedded {
  /** airlock's version (package.json at build time) */
  version: string
  /** the git commit the executable was built from */
  commit: string
  /** sha256 of the embedded JavaScript, as recorded at build time and checked by the loader at every start */
  codeSha256: string
  /** @sigstore/tuf's seeds.json (the pinned public-good TUF root), as text */
  tufSeeds: string
  /** src/archive/hash-worker.ts bundled as one ES module, started from a data: URL */
  hashWorker: string
}

export function embedded(): Embedded | undefined {
  return (globalThis as {__airlockEmbedded?: Embedded}).__airlockEmbedded
}

/** The running single-file executable's path, or undefined when airlock runs on a separate Node. */
export function packagedExecutable(): string | undefined {
  return embedded() ? process.execPath : undefined
}
