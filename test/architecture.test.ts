/**
 * The house rules of .dependency-cruiser.cjs, checked over src/ with dependency-cruiser (type-only imports
 * included): the platform imports no module, a module reaches another only through its public port
 * (`index.ts` or `*.port.ts`), no import cycles, nothing in src/ imports the simulator, the benchmarks or
 * the tests. Violations a change in flight is removing would be listed in architecture.known-violations.ts (empty).
 */
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
