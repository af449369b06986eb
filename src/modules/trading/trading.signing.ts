/**
 * Signed negotiation messages. An agent may sign each offer and its acceptance with the Ed25519 key it
 * registered (`publicKey`, raw 32 bytes, base64). The signed bytes are the UTF-8 of a canonical,
 * line-based payload (no JSON canonicalisation needed); signatures are base64 or base64url.
 * A signed offer plus a signed acceptance (which embeds the offer's payload) is proof of the agreement.
 */
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { decodeEd25519PublicKey } from '../agents/agents.port.js';
import type { Terms } from './trading.types.js';

const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export function offerPayload(negotiationId: string, seq: number, agentId: string, t: Terms): string {
  return [
    'aitbc-offer/v1', `negotiation:${negotiationId}`, `seq:${seq}`, `by:${agentId}`, `price_per_unit:${t.pricePerUnit.toString()}`,
    `quantity:${t.quantity}`, `sla_availability:${t.sla.availability}`, `sla_max_latency_ms:${t.sla.maxLatencyMs}`, `settlement:${t.settlementType}`,
  ].join('\n');
}

export function acceptPayload(negotiationId: string, seq: number, agentId: string, acceptedOfferPayload: string): string {
  return ['aitbc-accept/v1', `negotiation:${negotiationId}`, `seq:${seq}`, `by:${agentId}`, '', acceptedOfferPayload].join('\n');
}

function publicKeyObject(b64: string): KeyObject {
  return createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, decodeEd25519PublicKey(b64)]), format: 'der', type: 'spki' });
}

export function verifySignature(publicKeyB64: string, payload: string, signatureB64: string): boolean {
  const sig = Buffer.from(signatureB64.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (sig.length !== 64) return false;
  try {
    return verify(null, Buffer.from(payload, 'utf8'), publicKeyObject(publicKeyB64), sig);
  } catch {
    return false;
  }
}
