import { describe, expect, it } from 'vitest';
import {
  AGREEMENT_STATES, NEGOTIATION_STATES, REQUEST_ACTIONS, REQUEST_STATES, TERMINAL_AGREEMENT, TERMINAL_REQUEST, TERMINAL_NEGOTIATION, nextAgreementState, nextNegotiationStatus,
  nextRequestState, type AgreementAction, type NegotiationAction, type RequestAction,
} from './trading.states.js';

const AGREEMENT_ACTIONS: AgreementAction[] = ['fund', 'fund_immediate', 'cancel', 'deliver', 'release_part', 'confirm', 'auto_release', 'expire', 'refund', 'dispute', 'resolve'];

describe('trading state machines', () => {
  it('terminal states have no way out', () => {
    for (const s of TERMINAL_AGREEMENT) for (const a of AGREEMENT_ACTIONS) expect(nextAgreementState(s, a), `${s} ${a}`).toBeUndefined();
    for (const s of TERMINAL_NEGOTIATION) {
      for (const a of ['offer', 'accept', 'reject', 'withdraw', 'expire'] as NegotiationAction[]) expect(nextNegotiationStatus(s, a)).toBeUndefined();
    }
    for (const s of TERMINAL_REQUEST) {
      for (const a of REQUEST_ACTIONS) expect(nextRequestState(s, a), `${s} ${a}`).toBeUndefined();
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

  it('a trade request is fulfilled only through a settled agreement, and an agreement that fails reopens it', () => {
    // every request state is reachable from open; only the terminal states have no way out
    const seen = new Set<string>(['open']);
    const queue = ['open'] as (typeof REQUEST_STATES)[number][];
    while (queue.length) {
      const s = queue.shift()!;
      const next = REQUEST_ACTIONS.map((a) => nextRequestState(s, a)).filter((x): x is NonNullable<typeof x> => x !== undefined);
      expect(next.length > 0, s).toBe(!TERMINAL_REQUEST.has(s));
      for (const n of next) if (!seen.has(n)) { seen.add(n); queue.push(n); }
    }
    expect([...seen].sort()).toEqual([...REQUEST_STATES].sort());
    expect(nextRequestState('open', 'agree')).toBe('agreed');
    expect(nextRequestState('open', 'fulfil')).toBeUndefined(); // an agreement is not a trade yet
    expect(nextRequestState('agreed', 'fulfil')).toBe('fulfilled');
    expect(nextRequestState('agreed', 'reopen')).toBe('open');
    expect(nextRequestState('agreed', 'cancel')).toBeUndefined(); // the live agreement decides
    expect(nextRequestState('agreed', 'expire')).toBeUndefined();
    const paths: [RequestAction, RequestAction][] = [['agree', 'fulfil'], ['agree', 'reopen']];
    expect(paths.map(([a, b]) => nextRequestState(nextRequestState('open', a)!, b))).toEqual(['fulfilled', 'open']);
  });

  it('money-moving moves are only legal where the escrow allows them', () => {
    expect(nextAgreementState('pending_funding', 'deliver')).toBeUndefined();
    expect(nextAgreementState('delivered', 'expire')).toBeUndefined(); // delivered in time: no refund by deadline
    expect(nextAgreementState('disputed', 'confirm')).toBeUndefined(); // only the operator ends a dispute
    expect(nextAgreementState('funded', 'release_part')).toBe('funded');
  });
});
