/** The OpenAPI document covers every trading route. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/test-app.js';

let t: TestApp;
beforeAll(async () => { t = await buildTestApp(); });
afterAll(async () => { await t?.close(); });

describe('OpenAPI', () => {
  it('documents every trading route', async () => {
    const doc = (await t.get('/openapi.json')).json();
    for (const path of ['/v1/listings', '/v1/listings/{id}', '/v1/trade-requests', '/v1/trade-requests/{id}', '/v1/trade-requests/{id}/matches',
      '/v1/negotiations', '/v1/negotiations/{id}', '/v1/negotiations/{id}/offers', '/v1/negotiations/{id}/accept', '/v1/negotiations/{id}/reject',
      '/v1/agreements/{id}', '/v1/agreements/{id}/fund', '/v1/agreements/{id}/deliver', '/v1/agreements/{id}/confirm', '/v1/agreements/{id}/dispute',
      '/v1/agreements/{id}/resolve', '/v1/stream', '/v1/agreements', '/v1/negotiations']) {
      expect(doc.paths[path], path).toBeDefined();
    }
  });

  it('documents 409 tier_limit on every route that can make or fund an agreement', async () => {
    const doc = (await t.get('/openapi.json')).json();
    for (const path of ['/v1/negotiations', '/v1/negotiations/{id}/offers', '/v1/negotiations/{id}/accept', '/v1/agreements/{id}/fund']) {
      const op = doc.paths[path].post;
      expect(op.responses['409'], path).toBeDefined();
      expect(op.description, path).toContain('409 tier_limit');
    }
  });
});
