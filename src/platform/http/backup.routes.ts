/** GET /v1/admin/backup: the embedded database as a gzipped tarball, taken by the running server (consistent). */
import type { FastifyInstance } from 'fastify';
import type { Database } from '../db/database.js';
import { AppError } from './errors.js';

export function backupRoutes(app: FastifyInstance, opts: { database: Database }): void {
  app.get('/v1/admin/backup', {
    schema: {
      tags: ['admin'], summary: 'Back up the embedded database (operator)', security: [{ bearerAuth: [] }],
      description: 'The PGlite data dir as a gzipped tarball (application/gzip), taken after a checkpoint while no transaction is open. ' +
        '`agent-economy backup FILE` calls this when a server uses the data dir; `agent-economy restore FILE` loads it. ' +
        'On PostgreSQL this is 409 `conflict` (reason `not_embedded`): use pg_dump (README).',
    },
    config: { auth: 'admin' },
  }, async (_req, reply) => {
    const { dump } = opts.database;
    if (!dump) throw new AppError('conflict', 'the database is PostgreSQL: back it up with pg_dump (see the README, Backups)', { reason: 'not_embedded' });
    const bytes = await dump();
    return reply.type('application/gzip').header('content-disposition', 'attachment; filename="agent-economy-backup.tar.gz"').send(Buffer.from(bytes));
  });
}
