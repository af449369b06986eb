import { describe, expect, it } from 'vitest';
import {
  AGREEMENT_STATES, NEGOTIATION_STATES, REQUEST_STATES, TERMINAL_AGREEMENT, TERMINAL_NEGOTIATION, nextAgreementState, nextNegotiationStatus,
  nextRequestState, type AgreementAction, type NegotiationAction, type RequestAction,
} from './trading.states.js';

const AGREEMENT_ACTIONS: AgreementAction[] = ['fund', 'fund_immediate', 'cancel', 'deliver', 'release_part', 'confirm', 'auto_release', 'expire', 'refund', 'dispute', 'resolve'];

describe('trading state machines', () => {
  it('terminal states have no way out', () => {
    for (const s of TERMINAL_AGREEMENT) for (const a of AGREEMENT_ACTIONS) expect(nextAgreementState(s, a), `${s} ${a}`).toBeUndefined();
    for (const s of TERMINAL_NEGOTIATION) {
      for (const a of ['offer', 'accept', 'reject', 'withdraw', 'expire'] as NegotiationAction[]) expect(nextNegotiationStatus(s, a)).toBeUndefined();
    }
    for (const s of REQUEST_STATES.filter((x) => x !== 'open')) {
      for (const a of ['fulfil', 'cancel', 'expire'] as RequestAction[]) expect(nextRequestState(s, a)).toBeUndefined();
    }
  });

  it('every agreement state is reachable from pending_funding and every path ends in a terminal state', () => {
    const seen = new Set<string>(['pending_funding']);
    const queue = ['pending_funding'] as (typeof AGREEMENT_STATES)[number][];
    while (queue.length) {
      const s = queue.shift()!;
      const next = AGREEMENT_ACTIONS.map((a) => nextAgreementState(s, a)).filter((x): x is NonNullable<typeof x> => x !== undefined);
      if (!TERMINAL_AGREEMENT.has(s)) expect(next.length, s).toBeGreaterThan(0);
      for (const n of next) if (!seen.has(n)) { seen.add(n); queue.push(n); }
    }
    expect([...seen].sort()).toEqual([...AGREEMENT_STATES].sort());
    expect(NEGOTIATION_STATES.filter((s) => s !== 'open').every((s) => TERMINAL_NEGOTIATION.has(s))).toBe(true);
  });

  it('money-moving moves are only legal where the escrow allows them', () => {
    expect(nextAgreementState('pending_funding', 'deliver')).toBeUndefined();
    expect(nextAgreementState('delivered', 'expire')).toBeUndefined(); // delivered in time: no refund by deadline
    expect(nextAgreementState('disputed', 'confirm')).toBeUndefined(); // only the operator ends a dispute
    expect(nextAgreementState('funded', 'release_part')).toBe('funded');
  });
});
