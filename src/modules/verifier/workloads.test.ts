import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { answersDigest, challengeResponseMs, checkDigest, gradeItems, itemDigestsOf, jobDigest, promptsOf, recordsDigest, recordsOf, simulatedAnswer, simulatedItems, workloadFor, type JobSpec } from './workloads.js';
import { mulberry32 } from '../../platform/rng.js';

const seed = '0123456789abcdef0123456789abcdef';

describe('challenge workloads', () => {
  it('hash-chain is size iterated SHA-256 rounds over the seed', () => {
    let h = createHash('sha256').update(`ae/hash-chain/v1:${seed}`).digest();
    for (let i = 0; i < 3; i++) h = createHash('sha256').update(h).digest();
    expect(jobDigest({ workload: 'hash-chain', seed, size: 3 })).toBe(h.toString('hex'));
    expect(jobDigest({ workload: 'hash-chain', seed, size: 4 })).not.toBe(h.toString('hex'));
  });

  it('reference-prompts: the digest of the canonical answers; one wrong answer changes it; answers are compared normalised', () => {
    const prompts = promptsOf(seed, 12);
    expect(new Set(prompts.map((p) => p.text)).size).toBeGreaterThan(6);
    const answers = prompts.map((p) => p.answer);
    expect(answersDigest(answers)).toBe(jobDigest({ workload: 'reference-prompts', seed, size: 12 }));
    expect(answersDigest(answers.map((a) => `  ${a.toUpperCase()} `))).toBe(answersDigest(answers));
    expect(answersDigest([...answers.slice(0, 11), 'wrong'])).not.toBe(answersDigest(answers));
    // another seed, other prompts
    expect(promptsOf('fedcba9876543210', 12).map((p) => p.text)).not.toEqual(prompts.map((p) => p.text));
  });

  it('record-set: every record counts, in key order', () => {
    const recs = recordsOf(seed, 50);
    expect(recs.map((r) => r.key)).toEqual([...recs.map((r) => r.key)].sort());
    expect(recordsDigest(recs)).toBe(jobDigest({ workload: 'record-set', seed, size: 50 }));
    expect(recordsDigest(recs.slice(1))).not.toBe(recordsDigest(recs));
  });

  it('checkDigest accepts only the right digest (either case); a missing or malformed one fails', () => {
    const job: JobSpec = { workload: workloadFor('data_services'), seed, size: 10 };
    const d = jobDigest(job);
    expect(checkDigest(job, d)).toBe(true);
    expect(checkDigest(job, d.toUpperCase())).toBe(true);
    expect(checkDigest(job, undefined)).toBe(false);
    expect(checkDigest(job, 'ab'.repeat(32))).toBe(false);
    expect(checkDigest(job, d.slice(1))).toBe(false);
    expect(() => jobDigest({ ...job, size: 0 })).toThrow(RangeError);
  });

  it('a simulated provider answers right with the chance of its hidden quality', () => {
    const rng = mulberry32(7);
    const job: JobSpec = { workload: 'hash-chain', seed, size: 5 };
    let right = 0;
    for (let i = 0; i < 2000; i++) {
      const a = simulatedAnswer(job, 0.8, rng());
      expect(checkDigest(job, a.resultDigest)).toBe(a.correct);
      if (a.correct) right++;
    }
    expect(right / 2000).toBeGreaterThan(0.76);
    expect(right / 2000).toBeLessThan(0.84);
    expect(simulatedAnswer(job, 1, 0.999).correct).toBe(true);
    expect(simulatedAnswer(job, 0, 0).correct).toBe(false);
  });
});

describe('graded items (itemDigests)', () => {
  const jobs: JobSpec[] = [
    { workload: 'hash-chain', seed, size: 2000 }, { workload: 'reference-prompts', seed, size: 8 }, { workload: 'record-set', seed, size: 500 },
  ];

  it('an honest answer has every item right; a hash-chain\'s last checkpoint and a record set\'s chunks are the job itself', () => {
    for (const job of jobs) {
      const items = itemDigestsOf(job);
      expect(items.length).toBe(job.workload === 'reference-prompts' ? 8 : 10);
      expect(gradeItems(job, items)).toEqual({ right: items.length, total: items.length });
    }
    expect(itemDigestsOf(jobs[0]!).at(-1)).toBe(jobDigest(jobs[0]!));
    const recs = recordsOf(seed, 500);
    expect(itemDigestsOf(jobs[2]!)[0]).toBe(recordsDigest(recs.slice(0, 50)));
    // fewer items than 10 when the job is smaller
    expect(itemDigestsOf({ workload: 'hash-chain', seed, size: 3 })).toHaveLength(3);
  });

  it('each wrong item costs one item: a wrong hash-chain segment does not fail the segments computed on from it', () => {
    const job = jobs[0]!;
    const honest = itemDigestsOf(job);
    const bad = 'ab'.repeat(32);
    // segment 3 wrong; the seller continues its chain from the wrong value (rounds 600..2000 from `bad`)
    const continued = [...honest.slice(0, 3), bad];
    let h = Buffer.from(bad, 'hex');
    for (let j = 4; j < 10; j++) {
      for (let i = 0; i < 200; i++) h = createHash('sha256').update(h).digest();
      continued.push(h.toString('hex'));
    }
    expect(gradeItems(job, continued)).toEqual({ right: 9, total: 10 });
    // the same checkpoints but the later ones copied from the honest chain: segment 4 no longer follows from 3
    expect(gradeItems(job, [...honest.slice(0, 3), bad, ...honest.slice(4)])).toEqual({ right: 8, total: 10 });
    for (const j of jobs.slice(1)) {
      const items = itemDigestsOf(j);
      expect(gradeItems(j, [bad, ...items.slice(1)]).right).toBe(items.length - 1);
    }
  });

  it('missing, malformed or absent item digests are wrong items; upper case is accepted', () => {
    const job = jobs[1]!;
    const items = itemDigestsOf(job);
    expect(gradeItems(job, items.slice(0, 5))).toEqual({ right: 5, total: 8 });
    expect(gradeItems(job, ['xyz', ...items.slice(1)]).right).toBe(7);
    expect(gradeItems(job, undefined)).toEqual({ right: 0, total: 8 });
    expect(gradeItems(job, items.map((d) => d.toUpperCase())).right).toBe(8);
  });

  it('a simulated provider gets each item right with the chance of its quality; its result digest is right only when all are', () => {
    const rng = mulberry32(11);
    let right = 0;
    let total = 0;
    for (let i = 0; i < 90; i++) {
      const job = { ...jobs[i % 3]!, size: [200, 8, 50][i % 3]!, seed: createHash('sha256').update(`s${i}`).digest('hex').slice(0, 32) };
      const a = simulatedItems(job, 0.8, rng);
      const g = gradeItems(job, a.itemDigests);
      expect(g.right).toBe(a.right);
      expect(checkDigest(job, a.resultDigest)).toBe(a.correct);
      expect(a.correct).toBe(g.right === g.total);
      right += g.right;
      total += g.total;
    }
    expect(total).toBe(30 * (10 + 8 + 10));
    expect(right / total).toBeGreaterThan(0.75);
    expect(right / total).toBeLessThan(0.85);
  });
});

describe('challengeResponseMs (the verifier\'s timing on the latency curve\'s scale)', () => {
  it('takes the workload\'s own time off the turnaround, per prompt for inference, never below 0', () => {
    const seed = 'ab'.repeat(16);
    expect(challengeResponseMs({ workload: 'hash-chain', seed, size: 2000 }, 1500, 20)).toBe(1480);
    expect(challengeResponseMs({ workload: 'record-set', seed, size: 500 }, 30, 45)).toBe(0);
    // 8 prompts answered in 320 ms by a seller at 40 ms a request: 40 ms, as a trade's latency would say
    expect(challengeResponseMs({ workload: 'reference-prompts', seed, size: 8 }, 320, 0)).toBe(40);
    expect(challengeResponseMs({ workload: 'reference-prompts', seed, size: 8 }, 328, 8)).toBe(40);
  });
});
