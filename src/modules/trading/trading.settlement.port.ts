/**
 * What a settlement hook (rewards: royalties of a listing) may read of trading inside the release
 * transaction: which listing an agreement was made on. The SQL lives here, with the table. Read-only.
 */
import type { Executor } from '../../database.js';

/** The listing and seller of an agreement, read through `db` (inside a transaction, pass it: PGlite has one connection). */
export async function agreementListingIn(db: Executor, agreementId: string): Promise<{ listingId: string; sellerId: string } | undefined> {
  const r = await db.selectFrom('agreements').select(['listing_id', 'seller_id']).where('id', '=', agreementId).executeTakeFirst();
  return r ? { listingId: r.listing_id, sellerId: r.seller_id } : undefined;
}
