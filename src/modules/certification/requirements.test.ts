import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  CERTIFICATION_RULES, LEVELS, chainOf, canonicalJson, evaluateLevel, evaluateRequirement, highestLevel,
  type AgentFacts, type BuyerMeasurement,
} from './requirements.js';

const NOW = Date.UTC(2026, 11, 1);
const DAY = 86_400_000;

function trades(n: number, o: Partial<BuyerMeasurement> = {}, prefix = 'b'): BuyerMeasurement[] {
  return Array.from({ length: n }, (_, i) => ({ tradeId: `${prefix}t${i}`, buyerId: `${prefix}${i}`, atMs: NOW - DAY, latencyMs: 40, accuracy: 0.99, sameOwnerSuspected: false, ...o }));
}

/** An agent that meets every requirement. */
function strong(): AgentFacts {
  return {
    agentId: 'seller', nowMs: NOW, registeredKey: 'K', identity: { publicKey: 'K', verifiedAtMs: NOW - DAY, challengeId: 'c' },
    challenges: { passed: 6, failed: 0 }, trades: trades(10), sameOwnerPeers: [], uptime: { uptime: 0.999, coveredMs: 30 * DAY },
    security: [{ id: 'a', digest: 'sha256:x', reviewedBy: 'ops', createdAtMs: NOW - DAY, expiresAtMs: NOW + 100 * DAY }],
  };
}

describe('requirement chains', () => {
  it('follow the plan: each level is the previous one plus its own requirement', () => {
    expect(chainOf('basic')).toEqual(['identity_verified', 'basic_performance']);
    expect(chainOf('intermediate')).toEqual(['identity_verified', 'basic_performance', 'reliability_proven']);
    expect(chainOf('advanced')).toEqual(['identity_verified', 'basic_performance', 'reliability_proven', 'high_performance']);
    expect(chainOf('enterprise')).toEqual(['identity_verified', 'basic_performance', 'reliability_proven', 'high_performance', 'security_compliant']);
  });

  it('an agent meeting everything gets every level; removing one piece of evidence drops exactly the levels that need it', () => {
    expect(highestLevel(strong())?.level).toBe('enterprise');
    expect(highestLevel({ ...strong(), security: [] })?.level).toBe('advanced');
    expect(highestLevel({ ...strong(), trades: trades(9) })?.level).toBe('intermediate'); // 9 buyers: basic, not high
    expect(highestLevel({ ...strong(), uptime: { uptime: 0.98, coveredMs: 30 * DAY } })?.level).toBe('basic');
    expect(highestLevel({ ...strong(), identity: null })).toBeNull();
    // reliability fails but high performance holds: advanced still refused (it needs intermediate)
    const r = evaluateLevel('advanced', { ...strong(), uptime: { uptime: 0.98, coveredMs: 30 * DAY } });
    expect(r.granted).toBe(false);
    expect(r.failed.map((f) => f.requirement)).toEqual(['reliability_proven']);
  });

  it('basic and high performance are different thresholds', () => {
    const mid: AgentFacts = { ...strong(), challenges: { passed: 2, failed: 0 }, trades: trades(4, { latencyMs: 300, accuracy: 0.85 }) };
    expect(evaluateRequirement('basic_performance', mid).met).toBe(true);
    const high = evaluateRequirement('high_performance', mid);
    expect(high.met).toBe(false);
    expect(high.shortfalls.map((s) => s.metric).sort()).toEqual(['independentBuyers', 'meanBuyerAccuracy', 'medianBuyerLatencyMs', 'verifierChallengesPassed']);
    expect(high.shortfalls.find((s) => s.metric === 'independentBuyers')).toMatchObject({ actual: 4, required: 10, gap: 6 });
    expect(high.shortfalls.find((s) => s.metric === 'medianBuyerLatencyMs')).toMatchObject({ actual: 300, required: 100, gap: 200 });
    expect(high.toMeet).toContain('6 more independent buyer');
  });

  it('a key changed since the proof is not a verified identity', () => {
    const r = evaluateRequirement('identity_verified', { ...strong(), registeredKey: 'K2' });
    expect(r.met).toBe(false);
    expect(r.toMeet).toContain('identity/challenge');
  });

  it('an expired security attestation does not count', () => {
    const f = strong();
    expect(evaluateRequirement('security_compliant', { ...f, security: [{ ...f.security[0]!, expiresAtMs: NOW - 1 }] }).met).toBe(false);
  });

  it('reliability needs the measured days as well as the uptime', () => {
    const r = evaluateRequirement('reliability_proven', { ...strong(), uptime: { uptime: 1, coveredMs: 3 * DAY } });
    expect(r.met).toBe(false);
    expect(r.shortfalls).toEqual([{ metric: 'measuredDays', actual: 3, required: 28, comparison: '>=', gap: 25 }]);
  });

  // the attack: Sybil buyers of the seller itself buy from it to make up "independent buyers"
  it('buyers sharing the seller\'s key or clustered with it by the same-owner detector are not independent', () => {
    const honest = trades(2, {}, 'h');
    const sybilKey = trades(20, { sameOwnerSuspected: true }, 'k');
    const sybilCluster = trades(20, {}, 's');
    const f: AgentFacts = { ...strong(), trades: [...honest, ...sybilKey, ...sybilCluster], sameOwnerPeers: sybilCluster.map((t) => t.buyerId) };
    const r = evaluateRequirement('basic_performance', f);
    expect(r.met).toBe(false);
    expect(r.evidence).toMatchObject({ independentBuyers: 2, excludedTrades: { sameKey: 20, sameOwnerCluster: 20 } });
  });

  // the attack: one buyer trading many times counts once (per-buyer aggregation)
  it('one buyer with many trades counts as one buyer, and its mean as one value', () => {
    const many = Array.from({ length: 50 }, (_, i) => ({ tradeId: `x${i}`, buyerId: 'loyal', atMs: NOW - DAY, latencyMs: 10, accuracy: 1, sameOwnerSuspected: false }));
    const bad = trades(2, { latencyMs: 900, accuracy: 0.5 });
    const r = evaluateRequirement('basic_performance', { ...strong(), trades: [...many, ...bad] });
    expect(r.evidence).toMatchObject({ independentBuyers: 3, medianBuyerLatencyMs: 900 });
    expect(r.met).toBe(false);
  });

  // the attack: a seller that is perfect on the verifier's challenge jobs and poor for real buyers
  it('a seller gaming the challenge jobs is refused by what its buyers measured', () => {
    const r = evaluateLevel('advanced', { ...strong(), challenges: { passed: 50, failed: 0 }, trades: trades(12, { latencyMs: 60, accuracy: 0.7 }) });
    expect(r.granted).toBe(false);
    expect(r.failed.map((x) => x.requirement)).toEqual(['basic_performance', 'high_performance']);
  });

  it('trades outside the evidence window do not count', () => {
    const old = trades(10, { atMs: NOW - (CERTIFICATION_RULES.evidenceWindowDays + 1) * DAY });
    expect(evaluateRequirement('basic_performance', { ...strong(), trades: old }).met).toBe(false);
  });

  it('property: a level is granted exactly when every requirement of its chain is met, and levels are monotone', () => {
    const arb = fc.record({
      verified: fc.boolean(), passed: fc.nat(10), failed: fc.nat(3), buyers: fc.nat(14), latency: fc.integer({ min: 5, max: 800 }),
      accuracy: fc.double({ min: 0.5, max: 1, noNaN: true }), uptime: fc.double({ min: 0.95, max: 1, noNaN: true }), days: fc.integer({ min: 0, max: 30 }), security: fc.boolean(),
    });
    fc.assert(fc.property(arb, (a) => {
      const f: AgentFacts = {
        ...strong(), identity: a.verified ? strong().identity : null, challenges: { passed: a.passed, failed: a.failed },
        trades: trades(a.buyers, { latencyMs: a.latency, accuracy: a.accuracy }), uptime: { uptime: a.uptime, coveredMs: a.days * DAY },
        security: a.security ? strong().security : [],
      };
      let prev = true;
      for (const l of LEVELS) {
        const r = evaluateLevel(l, f);
        const all = chainOf(l).every((q) => evaluateRequirement(q, f).met);
        if (r.granted !== all) return false;
        if (r.granted && !prev) return false;
        prev = r.granted;
      }
      return true;
    }), { numRuns: 300 });
  });

  it('digests name the evidence: the same facts give the same digest, other facts another', () => {
    const a = evaluateRequirement('basic_performance', strong());
    expect(evaluateRequirement('basic_performance', strong()).digest).toBe(a.digest);
    expect(evaluateRequirement('basic_performance', { ...strong(), trades: trades(11) }).digest).not.toBe(a.digest);
    expect(canonicalJson({ b: 1, a: [{ d: 2, c: 3 }] })).toBe('{"a":[{"c":3,"d":2}],"b":1}');
  });
});
