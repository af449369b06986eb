/**
 * The simulated market's agents and what they privately know: providers with hidden true quality,
 * capacity, costs and regions; buyers with budgets and demand by hour and region; attackers. Pure and
 * seeded: the same seed and parameters give the same population.
 */
import { mulberry32, pick, type Rng } from '../platform/rng.js';
import type { Category } from '../modules/trading/trading.types.js';

export const SIM_REGIONS = ['eu-west', 'eu-central', 'us-east', 'us-west', 'ap-south', 'ap-northeast'] as const;
export type SimRegion = (typeof SIM_REGIONS)[number];

/** UTC offset of each region, for demand peaking in local business hours. */
export const REGION_UTC_OFFSET: Record<SimRegion, number> = {
  'eu-west': 0, 'eu-central': 1, 'us-east': -5, 'us-west': -8, 'ap-south': 5, 'ap-northeast': 9,
};

export type ProviderKind =
  | 'honest'
  | 'unreliable'
  /** Trades with its ring in closed loops to inflate scores. */
  | 'wash'
  /** Rates its ring's members up and competitors down. */
  | 'sybil_rater'
  /** Cheats, then re-registers under a new identity. */
  | 'whitewasher'
  /** Builds a record, then fails on big jobs. */
  | 'milker'
  /** Lists far below cost to attract jobs it never delivers. */
  | 'spoofer';

export const MALICIOUS_KINDS: ReadonlySet<ProviderKind> = new Set(['wash', 'sybil_rater', 'whitewasher', 'milker', 'spoofer']);

export interface SimProvider {
  key: string;
  kind: ProviderKind;
  region: SimRegion;
  category: Category;
  /** Hidden: probability a job is delivered correctly and within SLA. */
  quality: number;
  /** AITBC per unit it costs the provider to serve. */
  unitCost: number;
  /** Listed price = cost * (1 + markup). */
  markup: number;
  /** Units it can serve at once. */
  capacity: number;
  /** Typical latency it achieves (ms). */
  latencyMs: number;
  /** Attack ring it belongs to (wash traders, Sybil raters). */
  ring: number | null;
  online: boolean;
}

export interface SimBuyer {
  key: string;
  region: SimRegion;
  categories: Category[];
  /** AITBC the buyer starts with. */
  budget: number;
  /** Expected requests per simulated day. */
  requestsPerDay: number;
  /** Fraction of disputes the buyer opens after a failed job. */
  disputeRate: number;
}

export interface PopulationParams {
  agents: number;
  /** Share of agents that sell. */
  providerShare: number;
  /** Share of providers that are attackers (spread over the malicious kinds). */
  maliciousShare: number;
  /** Share of honest providers that are unreliable (low quality, not malicious). */
  unreliableShare: number;
  /** Members per attack ring. */
  ringSize: number;
  seed: number;
}

export const DEFAULT_POPULATION: Omit<PopulationParams, 'agents' | 'seed'> = {
  providerShare: 0.3,
  maliciousShare: 0,
  unreliableShare: 0.1,
  ringSize: 10,
};

/** Reference cost per unit by category (AITBC), around which providers' costs vary. */
export const CATEGORY_COST: Record<Category, number> = {
  gpu_compute: 1.5,
  inference: 0.01,
  training: 2.0,
  data_services: 20,
  model_services: 0.02,
};

const CATEGORY_WEIGHTS: Array<[Category, number]> = [
  ['gpu_compute', 0.4], ['inference', 0.3], ['training', 0.15], ['data_services', 0.08], ['model_services', 0.07],
];

function weighted<T>(rng: Rng, items: ReadonlyArray<[T, number]>): T {
  let r = rng();
  for (const [v, w] of items) {
    if (r < w) return v;
    r -= w;
  }
  return items[items.length - 1]![0];
}

/** A beta-like draw on [0,1] concentrated near `mode` (average of k uniforms, shifted). */
function around(rng: Rng, mode: number, spread: number): number {
  const u = (rng() + rng() + rng()) / 3 - 0.5;
  return Math.min(1, Math.max(0, mode + u * 2 * spread));
}

export function generatePopulation(params: PopulationParams): { providers: SimProvider[]; buyers: SimBuyer[] } {
  const rng = mulberry32(params.seed);
  const nProviders = Math.max(1, Math.round(params.agents * params.providerShare));
  const nBuyers = Math.max(1, params.agents - nProviders);
  const nMalicious = Math.round(nProviders * params.maliciousShare);
  const attackKinds: ProviderKind[] = ['wash', 'sybil_rater', 'whitewasher', 'milker', 'spoofer'];
  const providers: SimProvider[] = [];
  for (let i = 0; i < nProviders; i++) {
    const malicious = i < nMalicious;
    const kind: ProviderKind = malicious ? attackKinds[i % attackKinds.length]! : rng() < params.unreliableShare ? 'unreliable' : 'honest';
    const category = weighted(rng, CATEGORY_WEIGHTS);
    const quality = kind === 'honest' ? around(rng, 0.93, 0.07)
      : kind === 'unreliable' ? around(rng, 0.6, 0.2)
        : kind === 'milker' ? 0.97
          : kind === 'spoofer' ? 0.05
            : around(rng, 0.3, 0.2);
    providers.push({
      key: `p${i}`,
      kind,
      region: pick(rng, SIM_REGIONS),
      category,
      quality,
      unitCost: CATEGORY_COST[category] * (0.8 + rng() * 0.4),
      markup: kind === 'spoofer' ? -0.5 : 0.1 + rng() * 0.3,
      capacity: 5 + Math.floor(rng() * 45),
      latencyMs: Math.round(20 + (1 - quality) * 300 + rng() * 60),
      ring: kind === 'wash' || kind === 'sybil_rater' ? Math.floor(i / Math.max(1, params.ringSize)) : null,
      online: true,
    });
  }
  const buyers: SimBuyer[] = [];
  for (let i = 0; i < nBuyers; i++) {
    const first = weighted(rng, CATEGORY_WEIGHTS);
    const second = weighted(rng, CATEGORY_WEIGHTS);
    buyers.push({
      key: `b${i}`,
      region: pick(rng, SIM_REGIONS),
      categories: first === second ? [first] : [first, second],
      budget: 500 + Math.floor(rng() * 4500),
      requestsPerDay: 0.5 + rng() * 2.5,
      disputeRate: 0.3 + rng() * 0.5,
    });
  }
  return { providers, buyers };
}

/** Relative demand at a UTC hour for a region: local business hours peak, nights are quiet. */
export function demandAt(region: SimRegion, utcHour: number): number {
  const local = (((utcHour + REGION_UTC_OFFSET[region]) % 24) + 24) % 24;
  // A smooth day curve: ~0.3 at night, ~1.7 mid-afternoon; averages 1 over a day.
  return 1 - 0.7 * Math.cos(((local - 3) / 24) * 2 * Math.PI);
}

/** What each category's listings sell by, and a representative spec. */
export const UNIT: Record<Category, string> = { gpu_compute: 'gpu_hour', training: 'gpu_hour', inference: '1k_tokens', model_services: '1k_tokens', data_services: 'job' };
export const SPEC: Record<Category, Record<string, unknown>> = {
  gpu_compute: { gpuModel: 'A100', vramGb: 80, gpuCount: 1 },
  training: { gpuModel: 'H100', vramGb: 80, gpuCount: 8 },
  inference: { modelName: 'llama-3-70b', contextSize: 32768 },
  model_services: { modelName: 'llama-3-8b', contextSize: 8192 },
  data_services: {},
};
