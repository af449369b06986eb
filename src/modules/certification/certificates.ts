/**
 * Certificates: a canonical JSON document signed with the service's Ed25519 key (node:crypto), and the
 * offline check anyone can run with the published keys (`/.well-known/agent-economy-keys.json`).
 *
 * The file an agent downloads is `{ certificate, signature, keyId }`: `signature` is base64 of the Ed25519
 * signature over the UTF-8 bytes of canonicalJson(certificate); `keyId` names the key in the keys file
 * (the sha256 of the raw public key, first 16 hex digits). Keys are rotated by adding a new one; retired
 * keys stay listed, so old certificates keep verifying.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, createHash } from 'node:crypto';
import { canonicalJson } from './requirements.js';

export const CERTIFICATE_FORMAT = 'agent-economy-certificate/v1';
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export interface CertificateDocument {
  format: typeof CERTIFICATE_FORMAT;
  id: string;
  issuer: string;
  agentId: string;
  level: string;
  requirements: { requirement: string; evidenceDigest: string }[];
  issuedAt: string;
  expiresAt: string;
}

export interface SignedCertificate {
  certificate: CertificateDocument;
  signature: string;
  keyId: string;
}

export interface PublishedKey {
  keyId: string;
  algorithm: 'Ed25519';
  /** raw 32-byte public key, base64 */
  publicKey: string;
  createdAt: string;
  /** null: the key signing new certificates */
  retiredAt: string | null;
}

export interface KeysFile {
  issuer: string;
  keys: PublishedKey[];
}

export interface SigningKey { keyId: string; publicKey: string; privateKey: string }

export const keyIdOf = (rawPublicKeyB64: string): string => createHash('sha256').update(Buffer.from(rawPublicKeyB64, 'base64')).digest('hex').slice(0, 16);

/** A fresh key: raw public key and PKCS#8 private key, both base64. */
export function generateSigningKey(): SigningKey {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const raw = (publicKey.export({ format: 'der', type: 'spki' }) as Buffer).subarray(12).toString('base64');
  return { keyId: keyIdOf(raw), publicKey: raw, privateKey: (privateKey.export({ format: 'der', type: 'pkcs8' }) as Buffer).toString('base64') };
}

export function signCertificate(doc: CertificateDocument, key: SigningKey): SignedCertificate {
  const pk = createPrivateKey({ key: Buffer.from(key.privateKey, 'base64'), format: 'der', type: 'pkcs8' });
  return { certificate: doc, signature: sign(null, Buffer.from(canonicalJson(doc), 'utf8'), pk).toString('base64'), keyId: key.keyId };
}

export type VerifyResult =
  | { valid: true; keyId: string; agentId: string; level: string; expiresAt: string; expired: boolean }
  | { valid: false; reason: string };

/**
 * Checks a certificate file against published keys, offline: its shape, that its key is listed, the
 * signature over the canonical bytes. `nowMs` decides `expired` (a valid signature on an expired
 * certificate is still reported valid, with expired true). Revocation needs the revocation list.
 */
export function verifyCertificate(file: unknown, keys: KeysFile | PublishedKey[], nowMs: number): VerifyResult {
  if (typeof file !== 'object' || file === null) return { valid: false, reason: 'not a certificate file (expected an object)' };
  const f = file as Partial<SignedCertificate>;
  const doc = f.certificate as CertificateDocument | undefined;
  if (!doc || typeof doc !== 'object' || doc.format !== CERTIFICATE_FORMAT) return { valid: false, reason: `not a ${CERTIFICATE_FORMAT} certificate` };
  if (typeof f.signature !== 'string' || typeof f.keyId !== 'string') return { valid: false, reason: 'signature or keyId missing' };
  const list = Array.isArray(keys) ? keys : keys.keys;
  const key = list.find((k) => k.keyId === f.keyId);
  if (!key) return { valid: false, reason: `key ${f.keyId} is not among the published keys` };
  const raw = Buffer.from(key.publicKey, 'base64');
  if (raw.length !== 32 || keyIdOf(key.publicKey) !== key.keyId) return { valid: false, reason: `published key ${key.keyId} is malformed` };
  const sig = Buffer.from(f.signature, 'base64');
  let ok = false;
  try {
    ok = sig.length === 64 && verify(null, Buffer.from(canonicalJson(doc), 'utf8'), createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' }), sig);
  } catch {
    ok = false;
  }
  if (!ok) return { valid: false, reason: 'the signature does not match the certificate (altered, or signed by another key)' };
  const exp = Date.parse(doc.expiresAt);
  return { valid: true, keyId: key.keyId, agentId: doc.agentId, level: doc.level, expiresAt: doc.expiresAt, expired: !(exp > nowMs) };
}
