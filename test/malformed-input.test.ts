/**
 * The malformed-input sweep: for every operation in the served /openapi.json, send input that must be
 * rejected (wrong types, missing and unknown fields, control characters, huge strings, absurd amounts,
 * malformed ids, broken JSON, wrong content type) and check that the answer is never a 5xx, that every
 * 4xx is problem+json with a code, and that nothing changed in the database or the ledger.
 * The cases come from the document, so a new route is covered without touching this file.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { buildTestApp, problem, type TestApp } from './helpers/test-app.js';

type Json = Record<string, any>;
interface Case { label: string; method: string; url: string; headers?: Record<string, string>; payload?: unknown; raw?: string; contentType?: string }

const BIG = 'x'.repeat(100 * 1024);
const CONTROL = ['\u0000', 'a\u0001b', 'tab\tand\nnewline', 'del\u007f'];
const AMOUNTS = ['1e999', '-1', '99999999999999.123456789', 'NaN', '0x10', ' 1', '1.'];
const BAD_IDS = ['not-a-uuid', '%00', '..%2F..%2Fetc', '1', 'x'.repeat(190), '00000000-0000-0000-0000-00000000000g'];

let t: TestApp;
let agent: { id: string; auth: Record<string, string> };
let doc: Json;

async function snapshot() {
  const tables = await sql<{ table_name: string }>`
    select table_name from information_schema.tables
    where table_schema = current_schema() and table_type = 'BASE TABLE' order by table_name`.execute(t.db.database.db);
  const counts: Record<string, number> = {};
  for (const { table_name } of tables.rows) {
    const r = await sql<{ n: string }>`select count(*)::text as n from ${sql.table(table_name)}`.execute(t.db.database.db);
    counts[table_name] = Number(r.rows[0]!.n);
  }
  const audit = await t.app.inject({ url: '/v1/admin/ledger/audit', headers: t.admin });
  return { counts, audit: audit.json() };
}

function resolveSchema(s: Json | undefined): Json | undefined {
  if (s && typeof s.$ref === 'string') {
    const name = s.$ref.split('/').pop()!;
    return doc.components?.schemas?.[name] ?? s;
  }
  return s;
}

/** A value of the wrong JSON type for a schema. */
function wrongType(s: Json): unknown {
  const type = s.type ?? (s.anyOf ? s.anyOf.find((b: Json) => b.type && b.type !== 'null')?.type : undefined) ?? (s.const !== undefined ? typeof s.const : undefined);
  switch (type) {
    case 'string': return 12345;
    case 'integer': case 'number': return 'abc';
    case 'boolean': return 'yes';
    case 'array': return 'not-an-array';
    case 'object': return ['not', 'an', 'object'];
    default: return { unexpected: true };
  }
}

function isStringy(s: Json): boolean {
  return s.type === 'string' || (Array.isArray(s.anyOf) && s.anyOf.some((b: Json) => b.type === 'string'));
}

function isAmount(name: string, s: Json): boolean {
  const pattern = s.pattern ?? s.anyOf?.find((b: Json) => b.pattern)?.pattern;
  return /amount|price|budget|fee/i.test(name) || (typeof pattern === 'string' && pattern.includes('[0-9]{1,8}'));
}

function casesFor(path: string, method: string, op: Json): Case[] {
  const params: Json[] = op.parameters ?? [];
  const isStream = Object.keys(op.responses?.['200']?.content ?? {}).includes('text/event-stream') || path.endsWith('/stream');
  const fill = (overrides: Record<string, string> = {}) =>
    path.replace(/\{(\w+)\}/g, (_m, name: string) => overrides[name] ?? randomUUID());
  const base = fill();
  const M = method.toUpperCase();
  const out: Case[] = [];

  for (const p of params.filter((x) => x.in === 'path')) {
    for (const bad of BAD_IDS) out.push({ label: `path ${p.name}=${bad.slice(0, 20)}`, method: M, url: fill({ [p.name]: bad }), payload: op.requestBody ? {} : undefined });
  }
  for (const p of params.filter((x) => x.in === 'query')) {
    const s = resolveSchema(p.schema) ?? {};
    const q = (v: string) => `${base}?${encodeURIComponent(p.name)}=${encodeURIComponent(v)}`;
    if (!isStringy(s)) out.push({ label: `query ${p.name} wrong type`, method: M, url: q('not-a-number') });
    for (const c of CONTROL.slice(0, 2)) out.push({ label: `query ${p.name} control`, method: M, url: q(c) });
    out.push({ label: `query ${p.name} 100KB`, method: M, url: q(BIG) });
  }
  if (!isStream && params.some((x) => x.in === 'query')) out.push({ label: 'unknown query field', method: M, url: `${base}?zzz_unknown=1` });
  if (['POST', 'PUT', 'PATCH', 'DELETE'].includes(M)) {
    out.push({ label: 'idempotency-key control', method: M, url: base, headers: { 'idempotency-key': 'k\u0000' }, payload: op.requestBody ? { zzz_unknown: 1 } : undefined });
  }
  if (isStream) out.push({ label: 'last-event-id control', method: M, url: `${base}?types=${encodeURIComponent('\u0000')}`, headers: { 'last-event-id': '1\u0000' } });

  const bodySchema = resolveSchema(op.requestBody?.content?.['application/json']?.schema);
  if (bodySchema) {
    const props: Record<string, Json> = bodySchema.properties ?? {};
    const required: string[] = bodySchema.required ?? [];
    if (required.length > 0) out.push({ label: 'missing required', method: M, url: base, payload: {} });
    if (bodySchema.additionalProperties === false) out.push({ label: 'unknown field', method: M, url: base, payload: { zzz_unknown: 'x' } });
    out.push({ label: 'body not an object', method: M, url: base, payload: [1, 2, 3] });
    out.push({ label: 'broken JSON', method: M, url: base, raw: '{"a": ', contentType: 'application/json' });
    out.push({ label: 'wrong content type', method: M, url: base, raw: 'hello', contentType: 'text/plain' });
    out.push({ label: 'form content type', method: M, url: base, raw: 'a=1', contentType: 'application/x-www-form-urlencoded' });
    for (const [name, raw] of Object.entries(props)) {
      const s = resolveSchema(raw) ?? {};
      // Another required field is left out in every case, so even a value the schema allows is rejected.
      out.push({ label: `body ${name} wrong type`, method: M, url: base, payload: { [name]: wrongType(s) } });
      if (isStringy(s)) {
        for (const c of CONTROL) out.push({ label: `body ${name} control ${JSON.stringify(c)}`, method: M, url: base, payload: { [name]: c } });
        out.push({ label: `body ${name} 100KB`, method: M, url: base, payload: { [name]: BIG } });
        if (isAmount(name, s)) for (const a of AMOUNTS) out.push({ label: `body ${name}=${a}`, method: M, url: base, payload: { [name]: a } });
      }
      if (s.type === 'array') out.push({ label: `body ${name} array of NUL`, method: M, url: base, payload: { [name]: ['\u0000'] } });
      if (s.type === 'object' && s.properties) {
        const inner = Object.keys(s.properties)[0];
        if (inner) out.push({ label: `body ${name}.${inner} NUL`, method: M, url: base, payload: { [name]: { [inner]: '\u0000' } } });
      }
    }
  }
  return out;
}

async function send(c: Case, headers: Record<string, string>) {
  const h: Record<string, string> = { ...headers, ...(c.headers ?? {}) };
  const opts: Json = { method: c.method, url: c.url, headers: h };
  if (c.raw !== undefined) { opts.payload = c.raw; h['content-type'] = c.contentType!; }
  else if (c.payload !== undefined) opts.payload = c.payload;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_r, reject) => { timer = setTimeout(() => reject(new Error('no answer within 5 s')), 5000); });
  try {
    return await Promise.race([t.app.inject(opts), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe('malformed input, derived from /openapi.json', () => {
  beforeAll(async () => {
    t = await buildTestApp();
    agent = await t.registerAgent();
    const other = await t.registerAgent();
    await t.app.inject({ method: 'POST', url: '/v1/admin/mint', headers: t.admin, payload: { agentId: agent.id, amount: '100' } });
    await t.app.inject({ method: 'POST', url: '/v1/transfers', headers: agent.auth, payload: { to: other.id, amount: '1' } });
    doc = (await t.app.inject({ url: '/openapi.json' })).json();
  });
  afterAll(async () => { await t?.close(); });

  it('never answers 5xx, always problem+json with a code, and changes nothing', async () => {
    const before = await snapshot();
    expect(before.audit.ok).toBe(true);
    const failures: string[] = [];
    let sent = 0;
    for (const [path, ops] of Object.entries<Json>(doc.paths)) {
      for (const [method, op] of Object.entries<Json>(ops)) {
        for (const c of casesFor(path, method, op)) {
          let res;
          try {
            res = await send(c, agent.auth);
            // The operator's routes answer an agent 403 before validation: repeat as the operator.
            if (res.statusCode === 401 || res.statusCode === 403) res = await send(c, t.admin);
          } catch (err) {
            failures.push(`${c.method} ${path} [${c.label}]: ${(err as Error).message}`);
            continue;
          }
          sent++;
          const where = `${c.method} ${path} [${c.label}] -> ${res.statusCode}`;
          if (res.statusCode >= 500) { failures.push(`${where}: ${res.body.slice(0, 300)}`); continue; }
          if (res.statusCode < 400) { failures.push(`${where}: accepted (${res.body.slice(0, 200)})`); continue; }
          try {
            const p = problem(res);
            if (typeof p.code !== 'string' || p.code === '') failures.push(`${where}: problem without code`);
            if (p.status !== res.statusCode) failures.push(`${where}: status ${p.status} in the body`);
            if (p.code === 'validation_failed' && !(p.errors?.length) && !p.detail) failures.push(`${where}: validation problem without details`);
          } catch (err) {
            failures.push(`${where}: ${(err as Error).message.slice(0, 200)}`);
          }
        }
      }
    }
    const after = await snapshot();
    expect(failures).toEqual([]);
    expect(sent).toBeGreaterThan(500);
    expect(after.counts).toEqual(before.counts);
    expect(after.audit).toEqual(before.audit);
  }, 120_000);

  it('a NUL in a text field is a 400 naming the field', async () => {
    const res = await t.app.inject({
      method: 'POST', url: '/v1/agents',
      payload: { displayName: '\u0000', type: 'both', country: 'DE', region: 'eu-west', categories: [] },
    });
    expect(res.statusCode).toBe(400);
    expect(problem(res).errors).toEqual([{ field: 'body.displayName', message: expect.stringContaining('control characters') }]);
  });

  it('a registration missing fields names each, lists enum values and unknown fields', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/v1/agents', payload: { type: 'robot', colour: 'red' } });
    const p = problem(res);
    expect(p.errors).toEqual(expect.arrayContaining([
      { field: 'body.displayName', message: 'is required' },
      { field: 'body.country', message: 'is required' },
      { field: 'body.type', message: 'must be one of provider, consumer, both' },
      { field: 'body.colour', message: expect.stringMatching(/^unknown field colour; allowed: displayName, type, /) },
    ]));
    expect(p.detail).not.toMatch(/constant|schema is false/);
  });

  it('a bad amount is explained, not shown as a regex', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/v1/transfers', headers: agent.auth, payload: { to: randomUUID(), amount: '1e999' } });
    expect(problem(res).errors).toEqual([
      { field: 'body.amount', message: 'must be a decimal string with at most 8 decimals and at most 10 integer digits, e.g. "12.5"' },
    ]);
  });

  it('a Content-Length that does not match the body is a 400', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/v1/agents', headers: { 'content-type': 'application/json', 'content-length': '10' }, payload: '{}' });
    expect(res.statusCode).toBe(400);
    expect(problem(res).code).toBe('bad_request');
  });
});
