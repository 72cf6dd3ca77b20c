// Layering of src/ (docs/ARCHITECTURE.md). A folder may import only folders ranked below it, so lower layers never
// import upper ones and no two folders import each other. `npm run lint` checks it.
const layers = [
  ['errors.ts', 'embedded.ts'],
  ['util', 'version.ts'],
  ['oci'],
  ['reference'],
  ['content'],
  ['registry', 'archive'],
  ['keys', 'policy'],
  ['sigstore'],
  ['trust'],
  ['inventory'],
  ['store'],
  ['copy'],
  ['talos'],
  ['verify'],
  ['diff'],
  ['export'],
  ['push'],
  ['countersign'],
  ['report'],
  ['cli'],
  ['commands'],
]
const folder = (name) => (name.endsWith('.ts') ? `^src/${name.replace('.', '[.]')}$` : `^src/${name}/`)
const forbidden = []
layers.forEach((layer, rank) => {
  const above = layers.slice(rank + 1).flat()
  for (const name of layer) {
    const peers = layer.filter((other) => other !== name)
    const banned = [...above, ...peers]
    if (banned.length === 0) continue
    forbidden.push({
      name: `layer-${name.replace('.ts', '')}`,
      comment: `src/${name} may import only ${layers.slice(0, rank).flat().join(', ') || 'nothing in src'}`,
      severity: 'error',
      from: {path: folder(name)},
      to: {path: banned.map(folder)},
    })
  }
})
forbidden.push({
  name: 'no-circular',
  comment: 'modules must not import each other, even inside one folder',
  severity: 'error',
  from: {path: '^src/'},
  to: {circular: true},
})
module.exports = {
  forbidden,
  options: {
    doNotFollow: {path: 'node_modules'},
    tsPreCompilationDeps: true,
    tsConfig: {fileName: 'tsconfig.json'},
    enhancedResolveOptions: {extensions: ['.ts', '.js']},
  },
}
