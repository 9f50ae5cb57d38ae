/**
 * `npm run lint`: the one-way layers of ARCHITECTURE.md, checked by dependency-cruiser.
 *
 * Each folder directly under src/ is a component; a component imports only the components
 * below it in LAYERS (and itself). `cli` wires everything together and may import anything.
 * Tests (`*.test.ts`) and test support (`testing/` folders) may import anything, but product
 * code must never import test support. Type-only imports count: a type is a dependency too.
 */

/**
 * component → the components it may import (besides itself): what the code imports today, so the
 * table documents the real shape. Widening a row is a design decision: make it in ARCHITECTURE.md,
 * with the reason, in the same change. Keep the two in step.
 */
const LAYERS = {
  util: [],
  api: ['util'],
  store: ['util'],
  client: ['api', 'util'],
  image: ['util'],
  runtime: ['util'],
  builder: ['image', 'runtime', 'util'],
  network: ['api', 'client', 'util'],
  apiserver: ['api', 'store', 'client', 'util'],
  scheduler: ['api', 'client', 'util'],
  controllers: ['api', 'client', 'util'],
  sim: ['api', 'client', 'util'],
  agent: ['api', 'client', 'runtime', 'network', 'image', 'util'],
  docker: ['api', 'client', 'image', 'builder', 'util'],
  dashboard: ['api', 'client', 'util'],
};
const COMPONENTS = [...Object.keys(LAYERS), 'cli'];
/** A file under src/ outside every component folder. */
const UNKNOWN = `^src/(?!(${COMPONENTS.join('|')})/)`;
const UNKNOWN_COMMENT = `every folder under src/ is a component of the layer table (${COMPONENTS.join(', ')}); add a new one to LAYERS`;

/** Test support: never imported by product code. */
const TEST_SUPPORT = ['^src/.+/testing/', '^test/', '^bench/', '\\.test\\.ts$'];
/** Files the layer rules do not apply to: tests and test support may import anything. */
const TEST_CODE = ['\\.test\\.ts$', '^src/.+/testing/'];

const layerRules = Object.entries(LAYERS).map(([component, allowed]) => ({
  name: `layer-${component}`,
  comment: `src/${component}/ may import only ${allowed.length ? allowed.join(', ') : 'nothing else in src/'} (the layer table in ARCHITECTURE.md)`,
  severity: 'error',
  from: { path: `^src/${component}/`, pathNot: TEST_CODE },
  to: { path: '^src/', pathNot: `^src/(${[component, ...allowed].join('|')})/` },
}));

module.exports = {
  forbidden: [
    ...layerRules,
    // Every file under src/ belongs to a component of the table: one that imports, one that is
    // imported, and one that does neither (dependency-cruiser sees only edges and orphans).
    {
      name: 'unknown-component',
      comment: UNKNOWN_COMMENT,
      severity: 'error',
      from: { path: UNKNOWN },
      to: {},
    },
    {
      name: 'unknown-component-imported',
      comment: UNKNOWN_COMMENT,
      severity: 'error',
      from: {},
      to: { path: UNKNOWN },
    },
    {
      name: 'unknown-component-orphan',
      comment: UNKNOWN_COMMENT,
      severity: 'error',
      from: { path: UNKNOWN, orphan: true },
      to: {},
    },
    {
      // Checked on modules, not folders: a test beside the code may use another component's
      // test support (client tests run the real API server), which folds the folders into a
      // cycle that no product import makes. Tests are leaves, so no real cycle runs through one.
      name: 'no-component-cycles',
      comment: 'components depend one way: no import cycle through modules of different components',
      severity: 'error',
      from: { path: '^src/([^/]+)/', pathNot: TEST_CODE },
      to: { circular: true, via: { pathNot: '^src/$1/' } },
    },
    {
      name: 'no-test-support-in-product',
      comment: 'product code must not import test support (testing/ folders, test/, bench/, *.test.ts)',
      severity: 'error',
      from: { path: '^src/', pathNot: TEST_CODE },
      to: { path: TEST_SUPPORT },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'an import the linter cannot resolve is an import it cannot check',
      severity: 'error',
      from: { path: '^src/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    // Only src/ is checked; test/ and bench/ are followed from nowhere.
    includeOnly: '^(src|test|bench)/',
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '\\.d\\.ts$' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
    },
    cache: false,
  },
};
