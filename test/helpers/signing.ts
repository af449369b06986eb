/**
 * The client side of signed negotiation messages, written from the protocol (docs/decisions.md, "signed
 * offers"): an Ed25519 key pair per agent, the canonical line-based payloads of an offer and of its
 * acceptance, and the signature over their UTF-8 bytes (base64). The service's own implementation is
 * deliberately not imported: a client has only the protocol, and so do these tests.
 */
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { parseAmount } from '../../src/platform/money.js';

export interface KeyPair { publicKey: string; privateKey: KeyObject }

/** A fresh Ed25519 key pair: the public key as the API takes it (raw 32 bytes, base64). */
export function keypair(): KeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const raw = (publicKey.export({ format: 'der', type: 'spki' }) as Buffer).subarray(12);
  return { publicKey: raw.toString('base64'), privateKey };
}

export interface OfferTerms {
  /** decimal AITBC per unit, as the API takes it */
  pricePerUnit: string;
  quantity: number;
  sla?: { availability: number; maxLatencyMs: number };
  settlementType?: 'escrow' | 'immediate' | 'milestone';
}

/** The bytes an agent signs for offer `seq` of a negotiation. */
export function offerPayload(negotiationId: string, seq: number, agentId: string, t: OfferTerms): string {
  const sla = t.sla ?? { availability: 0.99, maxLatencyMs: 200 };
  return [
    'aitbc-offer/v1', `negotiation:${negotiationId}`, `seq:${seq}`, `by:${agentId}`, `price_per_unit:${parseAmount(t.pricePerUnit).toString()}`,
    `quantity:${t.quantity}`, `sla_availability:${sla.availability}`, `sla_max_latency_ms:${sla.maxLatencyMs}`, `settlement:${t.settlementType ?? 'escrow'}`,
  ].join('\n');
}

/** The bytes an agent signs to accept offer `seq` (whose payload it embeds). */
export function acceptPayload(negotiationId: string, seq: number, agentId: string, acceptedOfferPayload: string): string {
  return ['aitbc-accept/v1', `negotiation:${negotiationId}`, `seq:${seq}`, `by:${agentId}`, '', acceptedOfferPayload].join('\n');
}

export const signWith = (key: KeyObject, payload: string): string => sign(null, Buffer.from(payload), key).toString('base64');
