/**
 * A realistic, seeded synthetic market (listings and buyer requests) for the matching benchmark and the
 * simulator. Pure: all randomness comes from the Rng passed in.
 */
import type { Rng } from './rng.js';
import { pick } from './rng.js';
import type { Category, Listing, TradeRequest } from './trading.types.js';

export const MARKET_NOW = 1_750_000_000_000;

const MARKET_REGIONS = ['eu-west', 'eu-central', 'us-east', 'us-west', 'ap-south', 'ap-northeast', 'sa-east', 'af-south'];
const MARKET_GPUS: { model: string; vram: number; price: number }[] = [
  { model: 'H100', vram: 80, price: 3.2 },
  { model: 'A100', vram: 80, price: 2.1 },
  { model: 'A100-40G', vram: 40, price: 1.6 },
  { model: 'L40S', vram: 48, price: 1.3 },
  { model: 'RTX4090', vram: 24, price: 0.6 },
  { model: 'A10G', vram: 24, price: 0.7 },
  { model: 'L4', vram: 24, price: 0.5 },
  { model: 'T4', vram: 16, price: 0.3 },
  { model: 'H200', vram: 141, price: 4.5 },
  { model: 'MI300X', vram: 192, price: 3.8 },
];
const MARKET_MODELS = ['llama-3-70b', 'llama-3-8b', 'mistral-7b', 'mixtral-8x7b', 'qwen-72b', 'gemma-27b', 'sdxl', 'whisper-large'];
const CATEGORY_MIX: [Category, number][] = [
  ['gpu_compute', 0.4],
  ['inference', 0.3],
  ['training', 0.15],
  ['data_services', 0.08],
  ['model_services', 0.07],
];

function pickCategory(rng: Rng): Category {
  let r = rng();
  for (const [c, p] of CATEGORY_MIX) {
    if (r < p) return c;
    r -= p;
  }
  return 'gpu_compute';
}

const AITBC = 100_000_000;
const toUnits = (aitbc: number) => BigInt(Math.round(aitbc * AITBC));

/** A seeded, realistic market of `n` listings (mostly active) from `n / 20` sellers. */
export function generateMarket(rng: Rng, n: number, now = MARKET_NOW): Listing[] {
  const sellers = Math.max(1, Math.floor(n / 20));
  const out: Listing[] = [];
  for (let i = 0; i < n; i++) {
    const category = pickCategory(rng);
    const s = Math.floor(rng() * sellers);
    const gpu = pick(rng, MARKET_GPUS);
    const isGpu = category === 'gpu_compute' || category === 'training';
    const isModel = category === 'inference' || category === 'model_services';
    const basePrice = isGpu ? gpu.price * (category === 'training' ? 1.2 : 1) : isModel ? 0.002 + rng() * 0.02 : 5 + rng() * 50;
    const cap = isGpu ? 1 + Math.floor(rng() * 2000) : 100 + Math.floor(rng() * 100_000);
    const r = rng();
    out.push({
      id: `lst_${i}`,
      sellerId: `agt_${s}`,
      category,
      spec: isGpu
        ? { gpuModel: gpu.model, vramGb: gpu.vram, gpuCount: pick(rng, [1, 1, 1, 2, 4, 8]) }
        : isModel
          ? { modelName: pick(rng, MARKET_MODELS), contextSize: pick(rng, [4096, 8192, 32768, 128000]) }
          : {},
      unit: isGpu ? 'gpu_hour' : isModel ? '1k_tokens' : 'job',
      pricePerUnit: toUnits(basePrice * (0.7 + rng() * 0.8)),
      capacityTotal: cap,
      capacityReserved: Math.floor(cap * rng() * 0.8),
      region: pick(rng, MARKET_REGIONS),
      sla: { availability: 0.95 + rng() * 0.0499, maxLatencyMs: 20 + Math.floor(rng() * 800) },
      validFrom: now - Math.floor(rng() * 30) * 24 * 3600 * 1000,
      validUntil: now + (1 + Math.floor(rng() * 60)) * 24 * 3600 * 1000,
      status: r < 0.97 ? 'active' : r < 0.99 ? 'paused' : 'withdrawn',
      sellerTrust: Math.floor(rng() * 1000),
      sellerCreatedAt: now - Math.floor(rng() * 365) * 24 * 3600 * 1000,
      sellerCompletedTrades: Math.floor(rng() * rng() * 500),
    });
  }
  return out;
}

/** A varied, seeded buyer request against `generateMarket`'s distribution. */
export function generateRequest(rng: Rng, i: number, now = MARKET_NOW): TradeRequest {
  const category = pickCategory(rng);
  const isGpu = category === 'gpu_compute' || category === 'training';
  const isModel = category === 'inference' || category === 'model_services';
  const spec: TradeRequest['spec'] = {};
  let budget: number;
  if (isGpu) {
    const g = pick(rng, MARKET_GPUS);
    if (rng() < 0.6) spec.minVramGb = g.vram;
    if (rng() < 0.4) spec.acceptedGpuModels = [g.model, pick(rng, MARKET_GPUS).model];
    if (rng() < 0.2) spec.minGpuCount = pick(rng, [2, 4]);
    budget = g.price * (0.9 + rng() * 0.8);
  } else if (isModel) {
    spec.modelName = pick(rng, MARKET_MODELS);
    if (rng() < 0.3) spec.minContextSize = pick(rng, [8192, 32768]);
    budget = 0.005 + rng() * 0.02;
  } else {
    budget = 10 + rng() * 60;
  }
  const req: TradeRequest = {
    id: `req_${i}`,
    buyerId: `agt_${Math.floor(rng() * 5000)}`,
    category,
    spec,
    quantity: 1 + Math.floor(rng() * (isGpu ? 50 : 1000)),
    budgetMin: toUnits(budget * 0.5),
    budgetMax: toUnits(budget),
    deadline: now + 24 * 3600 * 1000,
    urgency: pick(rng, ['low', 'normal', 'high'] as const),
  };
  const r = rng();
  if (r < 0.3) req.allowedRegions = [pick(rng, MARKET_REGIONS), pick(rng, MARKET_REGIONS)];
  else if (r < 0.45) req.excludedRegions = [pick(rng, MARKET_REGIONS)];
  if (rng() < 0.4) req.maxLatencyMs = 100 + Math.floor(rng() * 600);
  if (rng() < 0.5) req.minTrustScore = Math.floor(rng() * 700);
  return req;
}
