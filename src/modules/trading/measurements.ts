/**
 * Who measured what in a trade (pure). Three sources:
 * - the seller's delivery report: a claim (latency, accuracy, availability, units);
 * - the buyer's report when it confirms or disputes (latency, accuracy or acceptance, units delivered);
 * - the platform's own observations: the time from funding to delivery and whether the delivery
 *   deadline was met.
 *
 * A seller's claim counts as evidence only where the buyer does not contradict it. The buyer
 * contradicts a claim when (TOLERANCE):
 * - latency: |claim - buyer| > max(50 ms, 25% of the buyer's value);
 * - accuracy: |claim - buyer| > 0.05; with only `accepted`, a claim above 0.5 contradicts a rejection
 *   and a claim below 0.5 an acceptance;
 * - units: |claim - buyer| > 1% of the agreed quantity (at least 0.01 units).
 * A contradicted field is recorded as `disputed`; it is never averaged. Which value then stands depends
 * on how the disagreement ends: after a confirmation (the buyer paid) or a dispute the buyer won
 * (refund) the buyer's value; a dispute the seller won (release) the seller's claim; a split neither
 * (the field is unmeasured). Nothing is filled in: a value nobody measured is null and listed in
 * `unmeasured`.
 */

export interface SellerClaim {
  usage?: number | undefined;
  latencyMs?: number | undefined;
  availability?: number | undefined;
  accuracy?: number | undefined;
}

export interface BuyerReport {
  latencyMs?: number | undefined;
  accuracy?: number | undefined;
  accepted?: boolean | undefined;
  unitsDelivered?: number | undefined;
}

export interface PlatformObservation {
  /** ms from funding to the delivery report; null without a delivery */
  deliveryMs: number | null;
  /** delivered (or confirmed) before the delivery deadline; false when it passed undelivered; null when unknown */
  deadlineMet: boolean | null;
}

export type Source = 'buyer' | 'seller' | 'platform';
export type MeasuredField = 'latencyMs' | 'accuracy' | 'availability' | 'unitsDelivered' | 'slaMet';

export const TOLERANCE = {
  latencyAbsMs: 50,
  latencyRel: 0.25,
  accuracyAbs: 0.05,
  /** an accuracy claim above this contradicts a rejection, below it an acceptance */
  acceptanceLine: 0.5,
  unitsRel: 0.01,
  unitsAbsMin: 0.01,
} as const;

export interface ResolvedMeasurements {
  latencyMs: number | null;
  accuracy: number | null;
  availability: number | null;
  unitsDelivered: number | null;
  slaMet: boolean | null;
  measuredBy: Partial<Record<MeasuredField, Source>>;
  unmeasured: MeasuredField[];
  /** fields where the buyer contradicted the seller's claim */
  disputed: MeasuredField[];
}

/** How a disagreement ended: confirm (the buyer paid anyway), or the operator's decision on a dispute. */
export type Ending = 'confirm' | 'release' | 'refund' | 'split' | 'none';

const num = (x: unknown): number | undefined => (typeof x === 'number' && Number.isFinite(x) && x >= 0 ? x : undefined);
const unit = (x: unknown): number | undefined => { const v = num(x); return v !== undefined && v <= 1 ? v : undefined; };

/** The fields of a seller's claim the buyer's report contradicts. */
export function contradictions(claim: SellerClaim | null, buyer: BuyerReport | null, quantity: number): MeasuredField[] {
  if (!claim || !buyer) return [];
  const out: MeasuredField[] = [];
  const cl = num(claim.latencyMs), bl = num(buyer.latencyMs);
  if (cl !== undefined && bl !== undefined && Math.abs(cl - bl) > Math.max(TOLERANCE.latencyAbsMs, TOLERANCE.latencyRel * bl)) out.push('latencyMs');
  const ca = unit(claim.accuracy), ba = unit(buyer.accuracy);
  if (ca !== undefined) {
    if (ba !== undefined) {
      if (Math.abs(ca - ba) > TOLERANCE.accuracyAbs) out.push('accuracy');
    } else if (buyer.accepted !== undefined && (buyer.accepted ? ca < TOLERANCE.acceptanceLine : ca > TOLERANCE.acceptanceLine)) {
      out.push('accuracy');
    }
  }
  const cu = num(claim.usage), bu = num(buyer.unitsDelivered);
  if (cu !== undefined && bu !== undefined && Math.abs(cu - bu) > Math.max(TOLERANCE.unitsAbsMin, TOLERANCE.unitsRel * quantity)) out.push('unitsDelivered');
  return out;
}

/**
 * The trade's measurements: for each field the buyer's value, else the seller's uncontradicted claim,
 * else (units) nothing; contradicted fields follow `ending` (see the file comment). `slaMet` is the
 * platform's deadline observation combined with the resolved latency and availability against the SLA;
 * null when none of them is known.
 */
export function resolveMeasurements(
  claim: SellerClaim | null, buyer: BuyerReport | null, platform: PlatformObservation,
  terms: { quantity: number; slaMaxLatencyMs: number; slaAvailability: number }, ending: Ending,
): ResolvedMeasurements {
  const disputed = contradictions(claim, buyer, terms.quantity);
  const measuredBy: Partial<Record<MeasuredField, Source>> = {};
  const pick = <T>(field: MeasuredField, buyerValue: T | undefined, sellerValue: T | undefined): T | null => {
    if (disputed.includes(field)) {
      const side = ending === 'release' ? 'seller' : ending === 'split' || ending === 'none' ? null : 'buyer';
      if (side === null) return null;
      measuredBy[field] = side;
      return (side === 'buyer' ? buyerValue : sellerValue) ?? null;
    }
    if (buyerValue !== undefined) { measuredBy[field] = 'buyer'; return buyerValue; }
    if (sellerValue !== undefined) { measuredBy[field] = 'seller'; return sellerValue; }
    return null;
  };
  const b = buyer ?? {};
  const c = claim ?? {};
  const latencyMs = pick('latencyMs', num(b.latencyMs), num(c.latencyMs));
  // the buyer's accuracy, else its acceptance (as 1 or 0) unless the seller's more precise claim agrees with it
  const ca = unit(c.accuracy);
  const acceptance = b.accepted === undefined ? undefined : b.accepted ? 1 : 0;
  const buyerAccuracy = unit(b.accuracy) ?? (acceptance !== undefined && (ca === undefined || disputed.includes('accuracy')) ? acceptance : undefined);
  const accuracy = pick('accuracy', buyerAccuracy, ca);
  const availability = pick('availability', undefined, unit(c.availability));
  const unitsDelivered = pick('unitsDelivered', num(b.unitsDelivered), num(c.usage));
  let slaMet: boolean | null = null;
  if (platform.deadlineMet === false) {
    slaMet = false;
    measuredBy.slaMet = 'platform';
  } else if (platform.deadlineMet === true || latencyMs !== null || availability !== null) {
    slaMet = (platform.deadlineMet ?? true) && (latencyMs === null || latencyMs <= terms.slaMaxLatencyMs)
      && (availability === null || availability >= terms.slaAvailability);
    measuredBy.slaMet = platform.deadlineMet !== null ? 'platform' : (measuredBy.latencyMs ?? measuredBy.availability)!;
  }
  const values: Record<MeasuredField, unknown> = { latencyMs, accuracy, availability, unitsDelivered, slaMet };
  const unmeasured = (Object.keys(values) as MeasuredField[]).filter((k) => values[k] === null);
  return { latencyMs, accuracy, availability, unitsDelivered, slaMet, measuredBy, unmeasured, disputed };
}
