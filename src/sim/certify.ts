/**
 * Certification in the simulation (opt-in, `--certification`): providers register an Ed25519 key, prove
 * control of it (identity challenge), send a heartbeat every simulated hour they are up (the in-process
 * availability slot is one hour), and apply for the next level once a simulated week (staggered). Buyers
 * report what they measured when they confirm (trades.ts `measure`). Keys and uptime come from their own
 * seeded generators, so switching certification on does not change the market's other draws.
 */
import { createHash, createPrivateKey, createPublicKey, sign, type KeyObject } from 'node:crypto';
import { mulberry32, type Rng } from '../platform/rng.js';
import type { Transport } from './transport.js';
import { LEVELS } from './checks.js';
import type { LiveProvider } from './trades.js';

/** PKCS#8 DER prefix of an Ed25519 private key made from a 32-byte seed (RFC 8410). */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** A deterministic Ed25519 key pair from a name (the simulation's seed and the identity). */
export function simKeyPair(name: string): { privateKey: KeyObject; publicKey: string } {
  const seed = createHash('sha256').update(`ae-sim-key:${name}`).digest();
  const privateKey = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  return { privateKey, publicKey: spki.subarray(spki.length - 32).toString('base64') };
}

export interface CertificationStats { identityProofs: number; heartbeats: number; applications: number; granted: number; refusedBy: Record<string, number> }

export class Certifier {
  private readonly keys = new Map<string, KeyObject>();
  private readonly uptimeRng: Rng;
  /** the level each provider's last granted application reached */
  private readonly level = new Map<string, string>();
  readonly stats: CertificationStats = { identityProofs: 0, heartbeats: 0, applications: 0, granted: 0, refusedBy: {} };

  constructor(private readonly api: Transport, private readonly seed: number, private readonly errors: string[]) {
    this.uptimeRng = mulberry32(seed ^ 0xbea7);
  }

  /** The public key to register an identity with (remembered for its identity proof). */
  publicKeyFor(name: string): string {
    const k = simKeyPair(`${this.seed}:${name}`);
    this.keys.set(name, k.privateKey);
    return k.publicKey;
  }

  /** Proves control of the registered key: a server-issued challenge, signed. */
  async proveIdentity(p: LiveProvider, name: string): Promise<void> {
    const key = this.keys.get(name);
    if (!key) return;
    const c = await this.api.call<{ challengeId: string; payload: string }>('POST', `/v1/agents/${p.agentId}/identity/challenge`, { key: p.key });
    if (c.status !== 201) { this.errors.push(`identity challenge: HTTP ${c.status}`); return; }
    const signature = sign(null, Buffer.from(c.body.payload, 'utf8'), key).toString('base64');
    const v = await this.api.call('POST', `/v1/agents/${p.agentId}/identity/verify`, { key: p.key, body: { challengeId: c.body.challengeId, signature } });
    if (v.status !== 200) this.errors.push(`identity verify: HTTP ${v.status} ${JSON.stringify(v.body).slice(0, 160)}`);
    else this.stats.identityProofs++;
  }

  /**
   * One simulated hour: every provider that is up sends its heartbeat. Up: online (the scenario's outages) and,
   * within the hour, 99.9% of the time for honest providers, 97% for unreliable ones (below the 99% that
   * reliability_proven asks), 99.9% for attackers (their servers run; what they do with jobs is their attack).
   */
  async heartbeats(providers: readonly LiveProvider[]): Promise<void> {
    for (const p of providers) {
      const up = p.spec.online && this.uptimeRng() < (p.spec.kind === 'unreliable' ? 0.97 : 0.999);
      if (!up) continue;
      const r = await this.api.call('POST', `/v1/agents/${p.agentId}/heartbeat`, { key: p.key });
      if (r.status !== 200) this.errors.push(`heartbeat: HTTP ${r.status}`);
      else this.stats.heartbeats++;
    }
  }

  /** Once a simulated week per provider (staggered by position): apply for the level above the one held. */
  async apply(providers: readonly LiveProvider[], day: number): Promise<void> {
    for (let i = 0; i < providers.length; i++) {
      const p = providers[i]!;
      if ((i + day) % 7 !== 6) continue;
      const held = this.level.get(p.agentId);
      const next = LEVELS[held === undefined ? 0 : LEVELS.indexOf(held as (typeof LEVELS)[number]) + 1];
      if (!next || next === 'enterprise') continue; // enterprise needs an operator-reviewed security attestation
      this.stats.applications++;
      const r = await this.api.call<{ failed?: Array<{ requirement: string }> }>('POST', '/v1/certifications', { key: p.key, body: { agentId: p.agentId, level: next } });
      if (r.status === 201) { this.level.set(p.agentId, next); this.stats.granted++; continue; }
      if (r.status !== 422) { this.errors.push(`certification: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 160)}`); continue; }
      for (const f of r.body.failed ?? []) this.stats.refusedBy[f.requirement] = (this.stats.refusedBy[f.requirement] ?? 0) + 1;
    }
  }

  /** Forget a level (a re-registered identity starts with none). */
  forget(agentId: string): void {
    this.level.delete(agentId);
  }
}

/** What a careful buyer reports when it confirms: the latency and accuracy it saw, and that it accepts. */
export const buyerMeasurements = (t: { latencyMs: number; accuracy: number }) => ({ latencyMs: t.latencyMs, accuracy: Math.round(t.accuracy * 1000) / 1000, accepted: true });

