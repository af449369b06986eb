/** The rewards module's values as the API shows them: amounts as AITBC decimal strings, times as ISO strings. */
import { formatAmount, parseAmount } from '../../platform/money.js';
import type { Program, ProgramConfig } from './rewards.program.js';
import type { EpochView } from './rewards.service.js';

const amt = (x: bigint | null) => (x === null ? null : formatAmount(x));

export function programJson(p: Program) {
  return {
    id: p.id, version: p.version, createdAt: p.createdAt.toISOString(), epochMs: p.epochMs, tiers: p.tiers, sellerWeightBps: p.sellerWeightBps,
    buyerWeightBps: p.buyerWeightBps, performance: p.performance, loyalty: p.loyalty, supplyBonus: p.supplyBonus,
    funding: { feeShareBps: p.funding.feeShareBps, epochBudget: amt(p.funding.epochBudget), poolShareBps: p.funding.poolShareBps },
    caps: p.caps, referral: { amount: formatAmount(p.referral.amount), minTrust: p.referral.minTrust, maxPerReferrer: p.referral.maxPerReferrer },
    autoDistribute: p.autoDistribute,
  };
}

/** A PUT body (amounts as decimal strings) as a config patch. */
export function programPatch(body: Record<string, unknown>): Partial<ProgramConfig> {
  const patch = { ...body } as Record<string, unknown>;
  const funding = body.funding as { epochBudget?: string | null } | undefined;
  if (funding && 'epochBudget' in funding) patch.funding = { ...funding, epochBudget: funding.epochBudget === null || funding.epochBudget === undefined ? null : parseAmount(funding.epochBudget) };
  const referral = body.referral as { amount?: string } | undefined;
  if (referral?.amount !== undefined) patch.referral = { ...referral, amount: parseAmount(referral.amount) };
  return patch as Partial<ProgramConfig>;
}

export function epochJson(e: EpochView) {
  return {
    id: e.id, programId: e.programId, programVersion: e.programVersion, number: e.number, startsAt: e.startsAt.toISOString(), endsAt: e.endsAt.toISOString(),
    status: e.status as 'open' | 'closed' | 'distributed', poolBalance: amt(e.poolBalance), budget: amt(e.budget), demand: amt(e.demand), paid: amt(e.paid),
    held: amt(e.held), capped: amt(e.capped), remainderUnits: e.remainderUnits === null ? null : Number(e.remainderUnits), scalePpm: e.scalePpm, agents: e.agents,
    closedAt: e.closedAt?.toISOString() ?? null, distributedAt: e.distributedAt?.toISOString() ?? null,
  };
}

export { amt };
