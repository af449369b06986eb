/**
 * Matching benchmark: top-5 over 100,000 listings with the in-memory ListingIndex, beside a naive
 * baseline (filter + sort an array of objects: `matchListings`) measured in the same run, plus delegated
 * negotiation runs. Seeded, so every run measures the same workload. Prints a markdown table.
 *
 *   npm run bench:matching            (BENCH_LISTINGS / BENCH_QUERIES override the sizes)
 */
import { ListingIndex, matchListings } from '../src/modules/trading/matching.js';
import type { MatchOptions, MatchResult } from '../src/modules/trading/matching.js';
import { MARKET_NOW, generateMarket, generateRequest } from '../src/modules/trading/market-generator.js';
import { PRESETS, runDelegatedNegotiation, strategyFromPreset } from '../src/modules/trading/negotiation.js';
import type { PresetName } from '../src/modules/trading/negotiation.js';
import { mulberry32 } from '../src/modules/trading/rng.js';
import type { Terms } from '../src/modules/trading/trading.types.js';

const N_LISTINGS = Number(process.env.BENCH_LISTINGS ?? 100_000);
const N_QUERIES = Number(process.env.BENCH_QUERIES ?? 20_000);
const N_BASELINE = Math.min(N_QUERIES, 300);
const N_NEGOTIATIONS = 20_000;

interface Stats {
  n: number;
  p50: number;
  p99: number;
  max: number;
  mean: number;
  qps: number;
}

function stats(samplesNs: number[]): Stats {
  const s = Float64Array.from(samplesNs).sort();
  const at = (q: number) => (s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0) / 1e6;
  const total = samplesNs.reduce((a, b) => a + b, 0);
  return { n: s.length, p50: at(0.5), p99: at(0.99), max: (s[s.length - 1] ?? 0) / 1e6, mean: total / s.length / 1e6, qps: s.length / (total / 1e9) };
}

function time<T>(fn: () => T): [T, number] {
  const t0 = process.hrtime.bigint();
  const r = fn();
  return [r, Number(process.hrtime.bigint() - t0)];
}

const fmt = (ms: number) => (ms < 0.1 ? ms.toFixed(4) : ms < 10 ? ms.toFixed(3) : ms.toFixed(1));
const row = (name: string, s: Stats, extra = '') =>
  `| ${name} | ${s.n} | ${fmt(s.p50)} | ${fmt(s.p99)} | ${fmt(s.max)} | ${fmt(s.mean)} | ${Math.round(s.qps).toLocaleString('en-US')} | ${extra} |`;

function sameResult(a: MatchResult, b: MatchResult): boolean {
  return (
    // the index may stop counting once no other listing can enter the top 5 (qualifiedExact false)
    (b.qualifiedExact ? a.qualified === b.qualified : b.qualified <= a.qualified && b.qualified >= b.candidates.length) &&
    a.candidates.length === b.candidates.length &&
    a.candidates.every((c, i) => c.listingId === b.candidates[i]?.listingId && c.score === b.candidates[i]?.score) &&
    JSON.stringify(a.diagnostics) === JSON.stringify(b.diagnostics)
  );
}

function main(): void {
  const now = MARKET_NOW;
  const [listings, genNs] = time(() => generateMarket(mulberry32(1), N_LISTINGS, now));
  const [index, buildNs] = time(() => ListingIndex.from(listings));
  const requests = Array.from({ length: N_QUERIES }, (_, i) => generateRequest(mulberry32(1000 + i), i, now));
  const opts: MatchOptions = { now };
  const active = listings.filter((l) => l.status === 'active').length;

  // warm-up (JIT)
  for (let i = 0; i < 2000; i++) index.match(requests[i % requests.length]!, opts);
  for (let i = 0; i < 20; i++) matchListings(requests[i]!, listings, opts);

  // index
  const idxNs: number[] = [];
  const fewNs: number[] = [];
  const fullNs: number[] = [];
  let withDiagnostics = 0;
  let totalQualified = 0;
  for (const r of requests) {
    const [res, ns] = time(() => index.match(r, opts));
    idxNs.push(ns);
    totalQualified += res.qualified;
    if (res.diagnostics) {
      withDiagnostics++;
      fewNs.push(ns);
    } else fullNs.push(ns);
  }

  // index with exploration
  const rng = mulberry32(7);
  const exploreOpts: MatchOptions = { now, explorationShare: 0.1, rng };
  const expNs: number[] = [];
  let explored = 0;
  for (const r of requests) {
    const [res, ns] = time(() => index.match(r, exploreOpts));
    expNs.push(ns);
    if (res.exploration.listingId) explored++;
  }

  // naive baseline on a subset, same run; results must be identical
  const baseNs: number[] = [];
  const idxSubsetNs: number[] = [];
  let mismatches = 0;
  for (let i = 0; i < N_BASELINE; i++) {
    const r = requests[i]!;
    const [a, ns] = time(() => matchListings(r, listings, opts));
    baseNs.push(ns);
    const [b, ns2] = time(() => index.match(r, opts));
    idxSubsetNs.push(ns2);
    if (!sameResult(a, b)) mismatches++;
  }

  // updates (capacity reservation / price change), as the service does on every listing change
  const updNs: number[] = [];
  const urng = mulberry32(9);
  for (let i = 0; i < 20_000; i++) {
    const l = listings[Math.floor(urng() * listings.length)]!;
    const changed = { ...l, capacityReserved: Math.min(l.capacityTotal, l.capacityReserved + 1) };
    const [, ns] = time(() => index.upsert(changed));
    updNs.push(ns);
  }

  const sIdx = stats(idxNs);
  const sBase = stats(baseNs);
  const sIdxSubset = stats(idxSubsetNs);
  console.log(`\n## Matching: top-5 over ${N_LISTINGS.toLocaleString('en-US')} listings (${active.toLocaleString('en-US')} active)\n`);
  console.log(`Node ${process.version}; market generated in ${fmt(genNs / 1e6)} ms, index built in ${fmt(buildNs / 1e6)} ms; `
    + `mean qualified per request: ${Math.round(totalQualified / requests.length)}; `
    + `${withDiagnostics} of ${requests.length} requests had fewer than 5 matches (diagnostics computed).\n`);
  console.log('| operation | runs | p50 ms | p99 ms | max ms | mean ms | ops/s | notes |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---|');
  console.log(row('ListingIndex.match (all requests)', sIdx, sIdx.p99 < 1 ? 'p99 < 1 ms: yes' : 'p99 < 1 ms: NO'));
  console.log(row('  of which >= 5 matches', stats(fullNs)));
  console.log(row('  of which < 5 matches (+ diagnostics pass)', stats(fewNs)));
  console.log(row('ListingIndex.match, exploration 0.1', stats(expNs), `${explored} slots given by exploration`));
  console.log(row('naive baseline: matchListings (filter + sort array)', sBase, `first ${N_BASELINE} requests`));
  console.log(row('ListingIndex.match, same requests', sIdxSubset, `mean ${(sBase.mean / sIdxSubset.mean).toFixed(0)}x faster, p99 ${(sBase.p99 / sIdxSubset.p99).toFixed(0)}x; ${mismatches} result mismatches`));
  console.log(row('ListingIndex.upsert (listing change)', stats(updNs)));

  // delegated negotiation
  const presets = Object.keys(PRESETS) as PresetName[];
  const negNs: number[] = [];
  let agreed = 0;
  let rounds = 0;
  const nrng = mulberry32(11);
  const terms: Omit<Terms, 'pricePerUnit'> = { quantity: 10, sla: { availability: 0.99, maxLatencyMs: 100 }, settlementType: 'escrow' };
  for (let i = 0; i < N_NEGOTIATIONS; i++) {
    const fair = 100_000_000n + BigInt(Math.floor(nrng() * 100_000_000));
    const spread = BigInt(Math.floor(nrng() * 40_000_000));
    const buyer = strategyFromPreset('buyer', presets[i % 3]!, { target: fair - spread, reservation: fair + spread / 2n });
    const seller = strategyFromPreset('seller', presets[Math.floor(i / 3) % 3]!, { target: fair + spread, reservation: fair - spread / 2n - BigInt(Math.floor(nrng() * 20_000_000)) + 10_000_000n });
    const [res, ns] = time(() =>
      runDelegatedNegotiation(buyer, seller, { id: `n${i}`, buyerId: 'b', sellerId: 's', startAt: now, deadline: now + 3_600_000, maxRounds: 20, stepMs: 60_000, terms }),
    );
    negNs.push(ns);
    rounds += res.state.offers.length;
    if (res.outcome === 'agreed') agreed++;
  }
  console.log(row('runDelegatedNegotiation (20 rounds max)', stats(negNs), `${((100 * agreed) / N_NEGOTIATIONS).toFixed(1)}% agreed, mean ${(rounds / N_NEGOTIATIONS).toFixed(1)} offers`));
  console.log('');
}

main();
