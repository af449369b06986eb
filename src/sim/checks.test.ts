/** The simulator's checks: exact log figures, alert scoring against known attackers, rewards per kind, certification shares. */
import { describe, expect, it } from 'vitest';
import { certificationSummary, figuresRow, logFigures, rewardsByKind, scoreAlerts, type LoggedTrade } from './checks.js';
import { simKeyPair } from './certify.js';
import { routeOf } from './transport.js';

const t = (quantity: number, price: string, released: string, settledAt = 0, category = 'gpu_compute'): LoggedTrade => ({ quantity, price, released, settledAt, category });

describe('logFigures', () => {
  it('counts trades that released something, volume as released, VWAP as notional over units (floored to the base unit)', () => {
    const f = logFigures([t(2, '1.5', '3'), t(1, '0.00000001', '0.00000001'), t(3, '2', '0'), t(1, '1', '0.6')]);
    // the refund (released 0) is not a trade; the split counts what it released
    expect(f).toEqual({ trades: 3, units: 4, volume: '3.60000001', vwap: '1' });
    expect(logFigures([])).toEqual({ trades: 0, units: 0, volume: '0', vwap: null });
  });
  it('a row is equal only when every figure matches to the unit', () => {
    const a = { trades: 1, units: 2, volume: '3', vwap: '1.5' };
    expect(figuresRow('x', a, { ...a }).equal).toBe(true);
    expect(figuresRow('x', a, { ...a, volume: '3.00000001' }).equal).toBe(false);
    expect(figuresRow('x', a, { ...a, vwap: null }).equal).toBe(false);
    expect(figuresRow('x', a, { ...a, trades: 2 }).equal).toBe(false);
  });
});

describe('scoreAlerts', () => {
  const kindOf = new Map<string, string>([
    ['w1', 'wash'], ['w2', 'wash'], ['s1', 'sybil_rater'], ['sp1', 'spoofer'], ['sp2', 'spoofer'], ['h1', 'honest'], ['h2', 'honest'], ['b1', 'buyer'],
  ]);
  const H = 3_600_000;
  it('scores each detector over agents, counting an agent once at its first alert', () => {
    const scores = scoreAlerts([
      { kind: 'wash', agents: ['w1', 'w2'], firstSeen: 10 * H },
      { kind: 'wash', agents: ['w1', 'h1'], firstSeen: 5 * H },
      { kind: 'spoofing', agents: ['sp1'], firstSeen: 30 * H },
      { kind: 'price_anomaly', agents: ['b1'], firstSeen: 2 * H },
      { kind: 'wash', agents: ['verifier'], firstSeen: 1 * H },
    ], kindOf, 4 * H);
    const wash = scores.find((s) => s.detector === 'wash')!;
    // targets wash + sybil_rater (3 agents): w1, w2 found, s1 missed; h1 is a false positive; the unknown verifier counts as neither
    expect(wash).toMatchObject({ alerts: 3, truePositives: 2, falsePositives: 1, falseNegatives: 1, honestFlagged: 1, honestAgents: 3 });
    expect(wash.precision).toBeCloseTo(2 / 3);
    expect(wash.recall).toBeCloseTo(2 / 3);
    expect(wash.hoursToDetect).toEqual({ median: 6, max: 6 });
    const spoof = scores.find((s) => s.detector === 'spoofing')!;
    expect(spoof).toMatchObject({ precision: 1, recall: 0.5, hoursToDetect: { median: 26, max: 26 } });
    const pa = scores.find((s) => s.detector === 'price_anomaly')!;
    expect(pa).toMatchObject({ targets: [], precision: 0, recall: null, honestFlagged: 1 });
    expect(scores.find((s) => s.detector === 'rating_ring')).toMatchObject({ alerts: 0, precision: null, recall: 0 });
  });
});

describe('rewardsByKind', () => {
  it('sets rewards against fees at the nominal rate and splits honest providers by quality', () => {
    const rows = rewardsByKind([
      { id: 'a', kind: 'honest', quality: 0.97, paid: 2, tier: 'gold', referralsPaid: 0 },
      { id: 'b', kind: 'honest', quality: 0.85, paid: 0.5, tier: 'bronze', referralsPaid: 0 },
      { id: 'c', kind: 'wash', paid: 0.1, tier: 'bronze', referralsPaid: 0 },
      { id: 'd', kind: 'buyer', paid: 1, tier: 'bronze', referralsPaid: 0 },
    ], new Map([['a', 400], ['b', 200], ['c', 100]]), 0.025);
    const by = Object.fromEntries(rows.map((r) => [r.kind, r]));
    expect(by['honest (quality >= 0.93)']).toMatchObject({ agents: 1, rewards: 2, fees: 10, sold: 400 });
    expect(by['honest (quality >= 0.93)']!.rewardReturn).toBeCloseTo(-0.8);
    expect(by['honest (quality < 0.93)']!.rewardsPerSold).toBeCloseTo(0.0025);
    expect(by.wash!.rewardReturn).toBeCloseTo((0.1 - 2.5) / 2.5);
    expect(by.buyer).toMatchObject({ fees: 0, rewardReturn: null, rewardsPerSold: null });
  });
});

describe('certificationSummary', () => {
  it('gives the shares of high- and low-quality providers certified and counts certified attackers', () => {
    const s = certificationSummary([
      { kind: 'honest', quality: 0.95, level: 'advanced' }, { kind: 'honest', quality: 0.92, level: 'basic' }, { kind: 'honest', quality: 0.91, level: null },
      { kind: 'unreliable', quality: 0.5, level: null }, { kind: 'unreliable', quality: 0.6, level: 'basic' },
      { kind: 'spoofer', quality: 0.05, level: null }, { kind: 'milker', quality: 0.97, level: 'basic' },
    ], new Set(['spoofer', 'milker']));
    expect(s.highQuality).toEqual({ providers: 3, basicOrAbove: 2 / 3, advancedOrAbove: 1 / 3 });
    expect(s.lowQuality).toEqual({ providers: 2, basicOrAbove: 0.5, advancedOrAbove: 0 });
    expect(s.attackersCertified).toEqual({ spoofer: 0, milker: 1 });
    expect(s.byKind.honest).toEqual({ advanced: 1, basic: 1, none: 1 });
  });
});

describe('helpers', () => {
  it('derives the same Ed25519 key from the same name, a different one from another', () => {
    expect(simKeyPair('1:p0').publicKey).toBe(simKeyPair('1:p0').publicKey);
    expect(simKeyPair('1:p0').publicKey).not.toBe(simKeyPair('1:p1').publicKey);
    expect(Buffer.from(simKeyPair('x').publicKey, 'base64')).toHaveLength(32);
  });
  it('names a call by its route, ids and query left out', () => {
    expect(routeOf('POST', '/v1/agreements/0b0c9a34-2a35-4c1f-9d6e-0f0e0d0c0b0a/fund')).toBe('POST /v1/agreements/:id/fund');
    expect(routeOf('GET', '/v1/agreements?state=funded&limit=200')).toBe('GET /v1/agreements');
  });
});
