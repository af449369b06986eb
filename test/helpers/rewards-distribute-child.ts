/**
 * A separate process that distributes one reward epoch (for test/rewards-crash.test.ts): small ledger
 * batches with a pause after each, printing "chunk <n>" so the parent can SIGKILL it mid-way.
 */
import { createServices } from '../../src/app.js';
import { createDatabase } from '../../src/database.js';
import { systemClock } from '../../src/platform/clock.js';

const url = process.env.CHILD_DATABASE_URL!;
const epochId = process.env.CHILD_EPOCH_ID!;
const database = await createDatabase({ url, poolSize: 4 });
const services = createServices({ database, clock: systemClock });
const r = await services.rewards.distribute(epochId, {
  chunk: Number(process.env.CHILD_CHUNK ?? 10),
  afterChunk: async (n) => { process.stdout.write(`chunk ${n}\n`); await new Promise((res) => setTimeout(res, Number(process.env.CHILD_PAUSE_MS ?? 100))); },
});
process.stdout.write(`done created=${r.created} existing=${r.existing} rejected=${r.rejected}\n`);
await database.close();
process.exit(0);
