/**
 * The house rules of .dependency-cruiser.cjs, checked over src/ with dependency-cruiser (type-only imports
 * included): the platform imports no module, a module reaches another only through its public port
 * (`index.ts` or `*.port.ts`), no import cycles, nothing in src/ imports the simulator, the benchmarks or
 * the tests. Violations a change in flight is removing would be listed in architecture.known-violations.ts (empty).
 * And ports are narrow: no port re-exports a whole service class (checked with the TypeScript compiler).
 */
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';
import { cruise, type ICruiseResult, type IViolation } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';
import { KNOWN_VIOLATIONS, type KnownViolation } from './architecture.known-violations.js';

async function cruiseWithHouseRules(baseDir?: string): Promise<ICruiseResult> {
  const options = await extractDepcruiseOptions('./.dependency-cruiser.cjs');
  const out = await cruise(['src'], { ...options, validate: true, ...(baseDir ? { baseDir } : {}) }, undefined, { tsConfig: extractTSConfig('tsconfig.json') });
  return out.output as ICruiseResult;
}

const key = (v: KnownViolation) => `${v.rule}: ${v.from} -> ${v.to}`;
const describeViolation = (v: IViolation) =>
  `${v.rule.name}: ${v.from} -> ${v.to}` + (v.cycle?.length ? ` (cycle: ${[v.from, ...v.cycle.map((c) => c.name)].join(' -> ')})` : '');

describe('architecture (dependency-cruiser)', () => {
  let result: ICruiseResult;

  beforeAll(async () => {
    result = await cruiseWithHouseRules();
  }, 60_000);

  it('sees all of src/, type-only imports included', () => {
    const files = result.modules.map((m) => m.source);
    expect(files).toContain('src/app.ts');
    expect(files).toContain('src/modules/trading/trading.module.ts');
    // `import type` only: found because tsPreCompilationDeps is on (without it this edge is invisible)
    const port = result.modules.find((m) => m.source === 'src/modules/reputation/reputation.port.ts');
    expect(port?.dependencies.map((d) => d.resolved)).toContain('src/database.ts');
  });

  it('finds no violation beyond the known ones', () => {
    const known = new Set(KNOWN_VIOLATIONS.map(key));
    const fresh = result.summary.violations.filter((v) => !known.has(key({ rule: v.rule.name, from: v.from, to: v.to })));
    expect(fresh.map(describeViolation)).toEqual([]);
  });

  it('lists only known violations that still occur (delete an entry when it is fixed)', () => {
    const found = new Set(result.summary.violations.map((v) => key({ rule: v.rule.name, from: v.from, to: v.to })));
    expect(KNOWN_VIOLATIONS.map(key).filter((k) => !found.has(k))).toEqual([]);
  });
});

describe('architecture rules fail when broken (test/fixtures/architecture/src)', () => {
  // A small tree with one deliberate violation of each kind below and one allowed import through a port;
  // cruised with the same rules, from the fixture's folder (so its paths start with src/ as the rules expect).
  it('reports every deliberate violation, and nothing for the import through the port', async () => {
    const fixture = await cruiseWithHouseRules('test/fixtures/architecture');
    expect(fixture.modules.map((m) => m.source)).toContain('src/modules/buyer/buyer.service.ts');
    const found = fixture.summary.violations.map((v) => key({ rule: v.rule.name, from: v.from, to: v.to })).sort();
    expect(found).toEqual([
      'module-sees-no-assembly: src/modules/buyer/buyer.service.ts -> src/config.ts',
      'module-through-port: src/modules/buyer/buyer.service.ts -> src/modules/seller/seller.json.ts',
      // a cycle is reported once, at its first step
      'no-circular: src/modules/seller/seller.json.ts -> src/modules/seller/seller.service.ts',
      'platform-knows-no-domain: src/platform/clock.ts -> src/modules/seller/seller.service.ts',
    ]);
  }, 60_000);
});

/** A module's public ports under `root`: each src/modules/<m>/index.ts and src/modules/<m>/*.port.ts. */
function portFiles(root: string): string[] {
  const modules = join(root, 'src', 'modules');
  return readdirSync(modules, { withFileTypes: true }).filter((e) => e.isDirectory()).flatMap((m) =>
    readdirSync(join(modules, m.name)).filter((f) => f === 'index.ts' || f.endsWith('.port.ts')).map((f) => join(modules, m.name, f)));
}

/** A service class: a class named `...Service`, or any class declared in a `*.service.ts` or `*.module.ts` file. */
function serviceClass(symbol: ts.Symbol | undefined): ts.ClassDeclaration | undefined {
  const decl = symbol?.declarations?.find(ts.isClassDeclaration);
  if (!decl) return undefined;
  const file = decl.getSourceFile().fileName;
  return /Service$/.test(decl.name?.text ?? '') || /\.(service|module)\.ts$/.test(file) ? decl : undefined;
}

/**
 * Every export of a port that is a whole service class (`export type { XService }`, `export { XService as Y }`)
 * or a type alias of one (`type Y = XService`), as `port: exported name -> class (file)`. A narrow interface,
 * a `Pick<XService, ...>` and a class that is no service (a value object, an error, the pure engine) pass.
 */
export function portsExportingServices(root: string): string[] {
  const ports = portFiles(root);
  const { options } = ts.convertCompilerOptionsFromJson({ module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, skipLibCheck: true, noEmit: true, types: ['node'] }, root);
  const program = ts.createProgram(ports, options);
  const checker = program.getTypeChecker();
  const found: string[] = [];
  for (const port of ports) {
    const source = program.getSourceFile(port);
    const moduleSymbol = source && checker.getSymbolAtLocation(source);
    if (!moduleSymbol) throw new Error(`no module symbol for ${port}`);
    for (const exported of checker.getExportsOfModule(moduleSymbol)) {
      const target = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      let cls = serviceClass(target);
      const alias = target.declarations?.find(ts.isTypeAliasDeclaration);
      if (!cls && alias) cls = serviceClass(checker.getTypeAtLocation(alias.type).getSymbol());
      if (cls) found.push(`${relative(root, port)}: ${exported.name} -> ${cls.name?.text} (${relative(root, cls.getSourceFile().fileName)})`);
    }
  }
  return found.sort();
}

describe('ports are narrow (no port re-exports a whole service class)', () => {
  // A consumer depends on an interface with the methods it calls, declared in the provider's port
  // (AgentDirectory, TradeEscrow, TradingFlow ...); app.ts hands it the concrete service.
  it('src/: no port exports a service class or an alias of one', () => {
    expect(portsExportingServices('.')).toEqual([]);
  }, 60_000);

  it('fails when broken (test/fixtures/architecture-ports): the service re-exported, aliased, renamed as a value', () => {
    expect(portsExportingServices('test/fixtures/architecture-ports')).toEqual([
      'src/modules/seller/index.ts: Seller -> SellerService (src/modules/seller/seller.service.ts)',
      'src/modules/seller/seller.port.ts: SellerService -> SellerService (src/modules/seller/seller.service.ts)',
      'src/modules/seller/seller.port.ts: WholeSeller -> SellerService (src/modules/seller/seller.service.ts)',
    ]);
  }, 60_000);
});
