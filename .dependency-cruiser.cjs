/**
 * Kiln's architecture as rules (`npm run check` runs them): no import cycles, and no module imports
 * from a layer above its own. Layers, bottom to top; folders on one line are peers and do not import
 * each other. `src/index.ts` (the public SDK) and the CLI are at the top.
 */
const LAYERS = [
  ['util', 'onnx'],
  ['config', 'stores'],
  ['data'],
  ['tasks'],
  ['features', 'evaluation'],
  ['models'],
  ['packaging', 'notifications'],
  ['registry'],
  ['training', 'scoring', 'monitoring'],
  ['serving'],
  ['orchestration', 'quickstart'],
  ['cli'],
];

const folder = (name) => `^src/${name}/`;
const rules = [];
LAYERS.forEach((layer, rank) => {
  const above = LAYERS.slice(rank + 1).flat();
  for (const name of layer) {
    const peers = layer.filter((other) => other !== name);
    const forbidden = [...above, ...peers];
    if (forbidden.length === 0) continue;
    rules.push({
      name: `layer-${name}`,
      comment: `src/${name} may import only from layers below it (${LAYERS.slice(0, rank).flat().join(', ') || 'none'})`,
      severity: 'error',
      from: { path: folder(name) },
      to: { path: `^src/(${forbidden.join('|')})/` },
    });
  }
});

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'modules import each other in a cycle (type-only imports included)',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'no-sdk-from-runtime',
      comment: 'the public SDK entry (src/index.ts) is for users; Kiln itself imports the modules',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/index\\.ts$' },
      to: { path: '^src/index\\.ts$' },
    },
    ...rules,
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    includeOnly: '^src/',
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
    },
  },
};
