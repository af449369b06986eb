/**
 * Scenarios: each a small, readable definition of how the market differs from the baseline. Adding one
 * is adding an entry: population changes up front, and `onDay` changes as simulated days pass.
 */
import { DEFAULT_POPULATION, SIM_REGIONS, type PopulationParams, type SimBuyer, type SimProvider, type SimRegion } from './population.js';

export interface World {
  providers: SimProvider[];
  buyers: SimBuyer[];
  /** Demand multiplier per region (1 = normal). */
  demand: Record<SimRegion, number>;
}

export interface Scenario {
  name: string;
  description: string;
  population?: Partial<Omit<PopulationParams, 'agents' | 'seed'>>;
  /** Called at the start of each simulated day (0-based). Mutates the world. */
  onDay?: (day: number, world: World) => void;
  /**
   * Day (0-based) on which the attackers register and start acting; routing shares are counted from then
   * on. Default 0 (present from the start).
   */
  attackersJoinDay?: number;
  /**
   * Buyers' caution: the share of requests that ask for sellers with at least `minTrustScore` (falling back
   * to anyone when none qualifies). Defaults: 0.9 and 100.
   */
  buyers?: { carefulShare?: number; minTrustScore?: number };
  /** Trades a wash trader or Sybil rater makes per simulated day, on average (default 1). */
  attacksPerDay?: number;
  /** The Sybil referral attack: each ring's members name its first member as their referrer. */
  referralRings?: boolean;
}

export const SCENARIOS: Record<string, Scenario> = {
  baseline: {
    name: 'baseline',
    description: 'Honest providers of varying quality (10% unreliable) and buyers with daily demand cycles.',
  },
  'demand-shock': {
    name: 'demand-shock',
    description: 'Demand in eu-west triples from day 10 to day 20.',
    onDay: (day, w) => { w.demand['eu-west'] = day >= 10 && day < 20 ? 3 : 1; },
  },
  'supply-outage': {
    name: 'supply-outage',
    description: 'From day 10 to day 15 a third of providers (every third one) is offline.',
    onDay: (day, w) => {
      w.providers.forEach((p, i) => { if (i % 3 === 0) p.online = !(day >= 10 && day < 15); });
    },
  },
  manipulation: {
    name: 'manipulation',
    description: 'After a week of honest trading, attackers join and make up 30% of providers: wash-trading rings, Sybil raters, whitewashers, on-off milkers and price spoofers.',
    population: { maliciousShare: 0.3 },
    // As in the reputation benchmark: attackers arrive in an established market.
    attackersJoinDay: 7,
  },
  rewards: {
    name: 'rewards',
    description: 'The manipulation market farming the reward program: from day 8 wash rings and Sybil raters trade inside their rings four times as often (wash volume for the volume base and the loyalty bonus) and every ring member names its ring\'s first member as referrer (Sybil referrals).',
    population: { maliciousShare: 0.3 },
    attackersJoinDay: 7,
    attacksPerDay: 4,
    referralRings: true,
  },
  concentration: {
    name: 'concentration',
    description: 'From day 5 the first honest provider of each category undercuts everyone by 40% with ten times the capacity.',
    onDay: (day, w) => {
      if (day !== 5) return;
      const seen = new Set<string>();
      for (const p of w.providers) {
        if (p.kind !== 'honest' || seen.has(p.category)) continue;
        seen.add(p.category);
        p.markup = -0.3;
        p.capacity *= 10;
      }
    },
  },
};

export function scenario(name: string): Scenario {
  const s = SCENARIOS[name];
  if (!s) throw new Error(`unknown scenario ${name}; known: ${Object.keys(SCENARIOS).join(', ')}`);
  return s;
}

export function populationParams(s: Scenario, agents: number, seed: number): PopulationParams {
  return { ...DEFAULT_POPULATION, ...s.population, agents, seed };
}

export function initialDemand(): Record<SimRegion, number> {
  return Object.fromEntries(SIM_REGIONS.map((r) => [r, 1])) as Record<SimRegion, number>;
}
