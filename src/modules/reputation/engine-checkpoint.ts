/**
 * The engine's whole state as plain data and back. Restoring a checkpoint and applying the rest of the
 * log gives exactly the state of replaying the whole log (tested), so a process can start from a stored
 * checkpoint and replay only the evidence after it. The byte encoding is in checkpoint.ts.
 */
import { CHECKPOINT_FORMAT, f64, i32, paramsKey, type EngineCheckpoint } from './checkpoint.js';
import type { AgentInfo, EngineState, OwnerVerdictInfo } from './engine-state.js';
import { F64Column, I32Column } from './growable.js';
import type { ReputationParams } from './params.js';

/**
 * The per-element columns, under their names in the stored format (CHECKPOINT_FORMAT 3: renaming a key
 * would make every stored checkpoint unreadable).
 */
function f64Columns(s: EngineState): Record<string, number[]> {
  return {
    stats: s.agentStats, ref: s.refAt, capBase: s.capBaseScore, pRef: s.pairRefAt, pN: s.pairCount, pW: s.pairWeight,
    pX0: s.pairWeightedSum0, pX1: s.pairWeightedSum1, pX2: s.pairWeightedSum2, pRecentMass: s.pairRecentMass, pRecentOk: s.pairRecentOk,
    trQuality: s.tradeQuality, pTrust: s.pairTrust, pDim: s.pairDim, pGiven: s.pairGiven, seed: s.seedValue,
  };
}

function i32Columns(s: EngineState): Record<string, number[]> {
  return {
    capDay: s.capDay, ownerParent: s.ownerParent, pSubject: s.pairSubject, upTaint: s.unorderedPairTainted, trBuyer: s.tradeBuyer,
    trSeller: s.tradeSeller, trRated: s.tradeRatedSides, trSlot: s.tradePairSlot, preTrustedIdx: s.preTrustedIndices,
    pProducer: s.pairProducer, pKind: s.pairKind,
  };
}

/** Agent info with each verdict stored once (members of a cluster share one verdict object). */
function infoForCheckpoint(s: EngineState): { info: unknown[]; verdicts: unknown[] } {
  const verdicts: OwnerVerdictInfo[] = [];
  const at = new Map<OwnerVerdictInfo, number>();
  const info = s.agentInfo.map(({ owner, ...rest }) => {
    if (owner === undefined) return rest;
    let k = at.get(owner);
    if (k === undefined) at.set(owner, (k = verdicts.push(owner) - 1));
    return { ...rest, owner: k };
  });
  return { info, verdicts };
}

export function checkpointOf(s: EngineState, params: ReputationParams): EngineCheckpoint {
  const f: Record<string, Float64Array> = {};
  const n: Record<string, Int32Array> = {};
  for (const [k, v] of Object.entries(f64Columns(s))) f[k] = f64(v);
  for (const [k, v] of Object.entries(i32Columns(s))) n[k] = i32(v);
  f.scalars = f64([s.lastAt, s.graphVersion, s.epochDay, s.epochVersion, s.trustReference, s.epochsComputed]);
  f.pairKeys = f64([...s.pairIndex.keys()]);
  n.pairValues = i32([...s.pairIndex.values()]);
  f.upKeys = f64([...s.unorderedPairIndex.keys()]);
  n.upValues = i32([...s.unorderedPairIndex.values()]);
  n.tradeValues = i32([...s.tradeIndex.values()]);
  n.eFrom = i32(s.edgeFrom.data, s.edgeFrom.length);
  n.eTo = i32(s.edgeTo.data, s.edgeTo.length);
  n.eSlot = i32(s.edgePairSlot.data, s.edgePairSlot.length);
  f.eVal = f64(s.edgeValue.data, s.edgeValue.length);
  f.trust = f64(s.globalTrust);
  // payment logs, flattened: agent a's payments are [payStart[a], payStart[a+1]); payHas marks a log
  const logs = s.paymentLogs;
  const start = new Int32Array(logs.length + 1);
  const has = new Uint8Array(logs.length);
  let total = 0;
  logs.forEach((p, a) => {
    start[a] = total;
    if (p !== undefined) {
      has[a] = 1;
      total += p.to.length;
    }
  });
  start[logs.length] = total;
  const to = new Int32Array(total);
  const amount = new Float64Array(total);
  const at = new Float64Array(total);
  logs.forEach((p, a) => {
    if (p === undefined) return;
    to.set(p.to, start[a]!);
    amount.set(p.amount, start[a]!);
    at.set(p.at, start[a]!);
  });
  Object.assign(n, { payStart: start, payTo: to });
  Object.assign(f, { payAmount: amount, payAt: at });
  const u: Record<string, Uint8Array> = { preMask: s.preTrustedMask.slice(), payHas: has };
  const lt = s.localTrust;
  if (lt !== undefined) {
    n.ltRowStart = lt.rowStart.slice();
    n.ltCol = lt.col.slice();
    f.ltWeight = lt.weight.slice();
    u.ltDangling = lt.dangling.slice();
  }
  return {
    format: CHECKPOINT_FORMAT,
    paramsKey: paramsKey(params),
    ids: [...s.ids],
    tradeIds: [...s.tradeIndex.keys()],
    ...infoForCheckpoint(s),
    ltN: lt === undefined ? null : lt.n,
    f64: f,
    i32: n,
    u8: u,
  };
}

/** Puts a fresh engine's state `s` in the state `cp` recorded; throws when it was made with other parameters or format. */
export function restoreState(s: EngineState, cp: EngineCheckpoint, params: ReputationParams): void {
  if (cp.format !== CHECKPOINT_FORMAT || cp.paramsKey !== paramsKey(params)) throw new Error('checkpoint made with other parameters or format');
  const [lastAt, graphVersion, epochDay, epochVersion, trustReference, epochsComputed] = cp.f64.scalars!;
  s.lastAt = lastAt!;
  s.graphVersion = graphVersion!;
  s.epochDay = epochDay!;
  s.epochVersion = epochVersion!;
  s.trustReference = trustReference!;
  s.epochsComputed = epochsComputed!;
  s.ids.length = 0;
  s.agentIndex.clear();
  for (const id of cp.ids) {
    s.agentIndex.set(id, s.ids.length);
    s.ids.push(id);
  }
  const fill = (target: number[], src: ArrayLike<number>): void => {
    target.length = 0;
    for (let i = 0; i < src.length; i++) target.push(src[i]!);
  };
  for (const [k, v] of Object.entries(f64Columns(s))) fill(v, cp.f64[k]!);
  for (const [k, v] of Object.entries(i32Columns(s))) fill(v, cp.i32[k]!);
  const pk = cp.f64.pairKeys!;
  const pv = cp.i32.pairValues!;
  for (let i = 0; i < pk.length; i++) s.pairIndex.set(pk[i]!, pv[i]!);
  const uk = cp.f64.upKeys!;
  const uv = cp.i32.upValues!;
  for (let i = 0; i < uk.length; i++) s.unorderedPairIndex.set(uk[i]!, uv[i]!);
  const tv = cp.i32.tradeValues!;
  cp.tradeIds.forEach((id, i) => s.tradeIndex.set(id, tv[i]!));
  const column = <Column extends I32Column | F64Column>(c: Column, data: Int32Array | Float64Array): void => {
    c.length = data.length;
    const capacity = Math.max(16, data.length * 2);
    c.data = (c instanceof I32Column ? new Int32Array(capacity) : new Float64Array(capacity)) as Column['data'];
    c.data.set(data);
  };
  column(s.edgeFrom, cp.i32.eFrom!);
  column(s.edgeTo, cp.i32.eTo!);
  column(s.edgePairSlot, cp.i32.eSlot!);
  column(s.edgeValue, cp.f64.eVal!);
  s.globalTrust = cp.f64.trust!;
  s.preTrustedMask = cp.u8.preMask!;
  s.agentInfo.length = 0;
  const verdicts = cp.verdicts as OwnerVerdictInfo[];
  for (const x of cp.info as (Omit<AgentInfo, 'owner'> & { owner?: number })[]) {
    const { owner, ...rest } = x;
    s.agentInfo.push(owner === undefined ? rest : { ...rest, owner: verdicts[owner]! });
  }
  s.paymentLogs.length = 0;
  const start = cp.i32.payStart!;
  const has = cp.u8.payHas!;
  for (let a = 0; a < has.length; a++) {
    if (has[a] === 0) {
      s.paymentLogs.push(undefined);
      continue;
    }
    const s0 = start[a]!;
    const s1 = start[a + 1]!;
    s.paymentLogs.push({ to: Array.from(cp.i32.payTo!.subarray(s0, s1)), amount: Array.from(cp.f64.payAmount!.subarray(s0, s1)), at: Array.from(cp.f64.payAt!.subarray(s0, s1)) });
  }
  s.localTrust = cp.ltN === null ? undefined : {
    n: cp.ltN, rowStart: cp.i32.ltRowStart!, col: cp.i32.ltCol!, weight: cp.f64.ltWeight!, dangling: cp.u8.ltDangling!,
  };
}

/** The engine's raw statistics and cap state, for comparison in tests. */
export function stateDigest(s: EngineState): { stats: number[]; capDay: number[]; capBase: number[]; ref: number[] } {
  return { stats: [...s.agentStats], capDay: [...s.capDay], capBase: [...s.capBaseScore], ref: [...s.refAt] };
}
