/**
 * The house rules, checked by dependency-cruiser (test/architecture.test.ts runs them in `npm test`;
 * `npx depcruise src --config .dependency-cruiser.cjs` prints the same report). Type-only imports count:
 * `tsPreCompilationDeps` sees `import type` too.
 *
 * Layers:
 * - src/platform/   knows no domain: HTTP plumbing, the database driver, the outbox, ids, money.
 * - src/modules/<m>/ a module. Another module reaches it only through its PUBLIC PORT: its `index.ts` or
 *   a file named `*.port.ts` directly in the module's folder (narrow interfaces and the functions that
 *   answer them; see docs/architecture.md). Files directly in src/modules/ (module.ts) are contracts every
 *   module shares and import no module.
 * - src/database.ts  the whole database type, composed from each module's `<module>.tables.ts`.
 * - src/app.ts, src/server.ts, src/cli.ts  assemble the modules (they may import anything in src/).
 * - src/sim/         the market simulator: drives the real engine; only src/cli.ts imports it.
 * Known violations that other changes are removing are listed in test/architecture.known-violations.ts.
 */
const MODULE_PORT = '^src/modules/[^/]+/(index|[^/]+[.]port)[.]ts$';

module.exports = {
  forbidden: [
    {
      name: 'platform-knows-no-domain',
      comment: 'src/platform imports nothing of src/ outside the platform (no module, no app, no database composition).',
      severity: 'error',
      from: { path: '^src/platform/' },
      to: { path: '^src/', pathNot: '^src/platform/' },
    },
    {
      name: 'module-through-port',
      comment: 'A module imports another module only through its public port: src/modules/<m>/index.ts or src/modules/<m>/*.port.ts.',
      severity: 'error',
      from: { path: '^src/modules/([^/]+)/' },
      to: { path: '^src/modules/[^/]+/', pathNot: ['^src/modules/$1/', MODULE_PORT] },
    },
    {
      name: 'module-sees-no-assembly',
      comment: 'Modules import the platform, the database type (src/database.ts), shared contracts (src/modules/*.ts) and other modules\' ports; never the app, the server, the CLI, config or the simulator.',
      severity: 'error',
      from: { path: '^src/modules/' },
      to: { path: '^src/', pathNot: ['^src/platform/', '^src/modules/', '^src/database[.]ts$'] },
    },
    {
      name: 'shared-contracts-import-no-module',
      comment: 'Files directly in src/modules/ are shared by every module and so depend on none.',
      severity: 'error',
      from: { path: '^src/modules/[^/]+[.]ts$' },
      to: { path: '^src/modules/[^/]+/' },
    },
    {
      name: 'database-type-from-src-database',
      comment: 'Outside the platform, the database type comes from src/database.ts (the composed table map), not from src/platform/db/database.ts (generic, untyped by default).',
      severity: 'error',
      from: { path: '^src/', pathNot: ['^src/platform/', '^src/database[.]ts$'] },
      to: { path: '^src/platform/db/database[.]ts$' },
    },
    {
      name: 'src-not-sim-bench-test',
      comment: 'Nothing in src/ imports the simulator (except src/cli.ts), the benchmarks or the tests.',
      severity: 'error',
      from: { path: '^src/', pathNot: ['^src/sim/', '^src/cli[.]ts$'] },
      to: { path: ['^src/sim/', '^bench/', '^test/'] },
    },
    {
      name: 'src-not-bench-test',
      comment: 'The simulator and the CLI do not import the benchmarks or the tests either.',
      severity: 'error',
      from: { path: ['^src/sim/', '^src/cli[.]ts$'] },
      to: { path: ['^bench/', '^test/'] },
    },
    {
      name: 'no-circular',
      comment: 'No import cycles (type-only imports included).',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: ['^node_modules/', '^dist/'] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.json'],
    },
    moduleSystems: ['es6', 'cjs'],
  },
};
