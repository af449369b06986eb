/** fast-check generators for the trading tests (small domains so collisions and ties are common). */
import fc from 'fast-check';
import type { Category, Listing, ListingStatus, TradeRequest } from './trading.types.js';

export const NOW = 1_750_000_000_000;
const DAY = 24 * 3600 * 1000;
const REGIONS = ['eu-west', 'us-east', 'ap-south'] as const;
const GPUS = ['A100', 'H100', 'L4'] as const;
const MODELS = ['llama-3-70b', 'mistral-7b'] as const;
const SMALL_CATEGORIES: Category[] = ['gpu_compute', 'inference'];

/** Mostly present (listing attributes). */
const opt = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined, freq: 6 });
/** Mostly absent (request constraints), so that a fair share of generated requests match something. */
const rare = <T>(arb: fc.Arbitrary<T>) =>
  fc.oneof({ arbitrary: fc.constant(undefined), weight: 3 }, { arbitrary: arb, weight: 1 });

/** Listings over small domains so that ties, collisions and every constraint failure are common. */
export const listingArb = (id: string): fc.Arbitrary<Listing> =>
  fc
    .record({
      sellerId: fc.constantFrom('s1', 's2', 's3', 's4', 'b1'),
      category: fc.constantFrom(...SMALL_CATEGORIES),
      gpuModel: opt(fc.constantFrom(...GPUS)),
      vramGb: opt(fc.constantFrom(16, 24, 40, 80)),
      gpuCount: opt(fc.integer({ min: 1, max: 8 })),
      modelName: opt(fc.constantFrom(...MODELS)),
      contextSize: opt(fc.constantFrom(4096, 32768, 128000)),
      price: fc.bigInt({ min: 1n, max: 50n }),
      capacityTotal: fc.noBias(fc.integer({ min: 0, max: 30 })),
      reservedShare: fc.double({ min: 0, max: 1, noNaN: true }),
      region: fc.constantFrom(...REGIONS),
      availability: fc.double({ min: 0.9, max: 1, noNaN: true }),
      maxLatencyMs: fc.integer({ min: 10, max: 2000 }),
      validFromOffset: fc.integer({ min: -10, max: 0 }),
      validUntilOffset: fc.integer({ min: 0, max: 10 }),
      status: fc.constantFrom<ListingStatus>('active', 'active', 'active', 'active', 'paused', 'withdrawn'),
      sellerTrust: fc.integer({ min: 0, max: 1000 }),
      sellerAgeDays: fc.integer({ min: 0, max: 400 }),
      trades: opt(fc.integer({ min: 0, max: 50 })),
    })
    .map((r): Listing => {
      const reserved = Math.floor(r.capacityTotal * r.reservedShare);
      return {
        id,
        sellerId: r.sellerId,
        category: r.category,
        spec: {
          ...(r.gpuModel !== undefined && { gpuModel: r.gpuModel }),
          ...(r.vramGb !== undefined && { vramGb: r.vramGb }),
          ...(r.gpuCount !== undefined && { gpuCount: r.gpuCount }),
          ...(r.modelName !== undefined && { modelName: r.modelName }),
          ...(r.contextSize !== undefined && { contextSize: r.contextSize }),
        },
        unit: 'gpu_hour',
        pricePerUnit: r.price,
        capacityTotal: r.capacityTotal,
        capacityReserved: reserved,
        region: r.region,
        sla: { availability: r.availability, maxLatencyMs: r.maxLatencyMs },
        validFrom: NOW + r.validFromOffset * DAY,
        validUntil: NOW + r.validUntilOffset * DAY,
        status: r.status,
        sellerTrust: r.sellerTrust,
        sellerCreatedAt: NOW - r.sellerAgeDays * DAY,
        ...(r.trades !== undefined && { sellerCompletedTrades: r.trades }),
      };
    });

export const listingsArb = (maxLength = 60): fc.Arbitrary<Listing[]> =>
  fc
    .noBias(fc.integer({ min: 0, max: maxLength }))
    .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => listingArb(`L${String(i).padStart(3, '0')}`))))
    .map((t) => [...t]);

export const requestArb: fc.Arbitrary<TradeRequest> = fc
  .record({
    buyerId: fc.constantFrom('b1', 'b2'),
    category: fc.constantFrom(...SMALL_CATEGORIES),
    minVramGb: rare(fc.constantFrom(16, 24, 40, 80)),
    acceptedGpuModels: rare(fc.subarray([...GPUS, 'B200'], { minLength: 1 })),
    modelName: rare(fc.constantFrom(...MODELS, 'unknown-model')),
    minContextSize: rare(fc.constantFrom(4096, 32768)),
    minGpuCount: rare(fc.integer({ min: 1, max: 4 })),
    quantity: fc.integer({ min: 1, max: 5 }),
    budgetMin: rare(fc.bigInt({ min: 0n, max: 30n })),
    budgetMax: fc.bigInt({ min: 5n, max: 60n }),
    allowedRegions: rare(fc.subarray([...REGIONS, 'us-west'], { minLength: 1 })),
    excludedRegions: rare(fc.subarray([...REGIONS], { minLength: 1 })),
    maxLatencyMs: rare(fc.integer({ min: 10, max: 2000 })),
    minTrustScore: rare(fc.integer({ min: 0, max: 1000 })),
  })
  .map((r): TradeRequest => {
    const spec: TradeRequest['spec'] = {
      ...(r.minVramGb !== undefined && { minVramGb: r.minVramGb }),
      ...(r.acceptedGpuModels !== undefined && { acceptedGpuModels: r.acceptedGpuModels }),
      ...(r.modelName !== undefined && { modelName: r.modelName }),
      ...(r.minContextSize !== undefined && { minContextSize: r.minContextSize }),
      ...(r.minGpuCount !== undefined && { minGpuCount: r.minGpuCount }),
    };
    return {
      id: 'R1',
      buyerId: r.buyerId,
      category: r.category,
      spec,
      quantity: r.quantity,
      ...(r.budgetMin !== undefined && { budgetMin: r.budgetMin }),
      budgetMax: r.budgetMax,
      ...(r.allowedRegions !== undefined && { allowedRegions: r.allowedRegions }),
      ...(r.excludedRegions !== undefined && { excludedRegions: r.excludedRegions }),
      ...(r.maxLatencyMs !== undefined && { maxLatencyMs: r.maxLatencyMs }),
      ...(r.minTrustScore !== undefined && { minTrustScore: r.minTrustScore }),
      deadline: NOW + DAY,
      urgency: 'normal',
    };
  });

