/**
 * The job a buyer may attach to a trade request (`job: { workload, seed, size }`) and the digest a seller
 * returns with its delivery: a contract shared by trading (the request and delivery schemas) and the
 * verifier (which computes the digests, src/modules/verifier/workloads.ts). Constants only.
 */
export const WORKLOADS = ['hash-chain', 'reference-prompts', 'record-set'] as const;
export type Workload = (typeof WORKLOADS)[number];

export interface JobSpec {
  workload: Workload;
  /** 16 to 128 lower-case hex characters */
  seed: string;
  /** rounds, prompts or records */
  size: number;
}

/** The largest `size` a job may ask for (any workload). */
export const MAX_JOB_SIZE = 10_000;
export const SEED_PATTERN = '^[0-9a-f]{16,128}$';
export const DIGEST_PATTERN = '^[0-9a-fA-F]{64}$';
