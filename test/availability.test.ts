/**
 * Uptime from heartbeats, through the HTTP API on a manual clock: heartbeats make uptime, a gap is downtime,
 * maintenance declared in advance excuses it (declared after the fact it does not), only the agent itself
 * may send heartbeats or declare windows, bad input is a 400 naming the field and changes nothing, and the
 * daily job turns uptime and maintenance compliance into reliability evidence that reputation shows.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { buildTestApp, problem, type TestApp } from './helpers/test-app.js';
import { readSse } from './helpers/sse.js';

let t: TestApp;
type A = Awaited<ReturnType<TestApp['registerAgent']>>;
let steady: A; // heartbeats with a 30-minute gap, no maintenance
let planned: A; // the same gap, inside a window declared an hour before
let late: A; // the same gap; a window declared after the gap began
let stranger: A;
const MIN = 60_000;
let T0: number;
const at = (ms: number) => new Date(T0 + ms).toISOString();

async function inject(method: 'GET' | 'POST' | 'PUT', url: string, headers: Record<string, string> = {}, payload?: unknown) {
  return t.app.inject({ method, url, headers, ...(payload !== undefined ? { payload: payload as object } : {}) });
}
const beat = (a: A, body?: object) => inject('POST', `/v1/agents/${a.id}/heartbeat`, a.auth, body);
const availability = async (a: A, q = '') => {
  const r = await inject('GET', `/v1/agents/${a.id}/availability${q}`);
  expect(r.statusCode, r.body).toBe(200);
  return r.json();
};
const windowsOf = async (a: A, headers: Record<string, string> = {}) => (await inject('GET', `/v1/agents/${a.id}/maintenance-windows`, headers)).json();
const counts = async () => {
  const r = await sql<{ n: string; w: string }>`SELECT (SELECT count(*) FROM availability_heartbeats)::text AS n,
    (SELECT count(*) FROM availability_maintenance_windows)::text AS w`.execute(t.db.database.db);
  return r.rows[0]!;
};

beforeAll(async () => {
  t = await buildTestApp();
  T0 = t.clock.now().getTime(); // 2026-11-01T00:00:00Z, on a slot boundary
  steady = await t.registerAgent({ type: 'provider' });
  planned = await t.registerAgent({ type: 'provider' });
  late = await t.registerAgent({ type: 'provider' });
  stranger = await t.registerAgent();
  // an hour ahead: the planned agent announces maintenance from minute 60 to minute 90
  const w = await inject('PUT', `/v1/agents/${planned.id}/maintenance-windows`, planned.auth, { windows: [{ start: at(60 * MIN), end: at(90 * MIN), reason: 'kernel upgrade' }] });
  expect(w.statusCode, w.body).toBe(200);
  // two hours: a heartbeat every 30 s except from minute 60 to minute 90
  for (let ms = 0; ms < 120 * MIN; ms += 30_000) {
    t.clock.set(T0 + ms);
    if (ms === 70 * MIN) {
      // ten minutes into its outage the late agent declares the window it should have declared before
      const after = await inject('PUT', `/v1/agents/${late.id}/maintenance-windows`, late.auth, { windows: [{ start: at(60 * MIN), end: at(90 * MIN) }] });
      expect(after.statusCode).toBe(400);
      expect(problem(after).errors?.map((e) => e.field)).toEqual(['body.windows.0.start']);
      expect((await windowsOf(late)).windows).toEqual([]);
      // what it can still declare: from the minimum notice on (15 minutes), the last four minutes of the gap
      const rest = await inject('PUT', `/v1/agents/${late.id}/maintenance-windows`, late.auth, { windows: [{ start: at(86 * MIN), end: at(90 * MIN) }] });
      expect(rest.statusCode, rest.body).toBe(200);
    }
    if (ms >= 60 * MIN && ms < 90 * MIN) continue;
    for (const a of [steady, planned, late]) {
      const r = await beat(a);
      expect(r.statusCode, r.body).toBe(200);
    }
  }
  t.clock.set(T0 + 120 * MIN);
}, 120_000);
afterAll(async () => t?.close());

describe('heartbeats', () => {
  it('make uptime; a gap is downtime; time before the first heartbeat is not counted', async () => {
    const a = await availability(steady, `?from=${at(-60 * MIN)}&until=${at(120 * MIN)}`);
    expect(a.heartbeatIntervalSeconds).toBe(60);
    expect(a.firstHeartbeatAt).toBe(at(0));
    expect(a.status).toBe('up');
    expect(a.method).toMatch(/60-second slots/);
    expect(a.periods).toHaveLength(1);
    expect(a.periods[0]).toMatchObject({
      name: 'custom', countedFrom: at(0), uptimePercent: 75, maintenanceCompliancePercent: 0, outages: 1,
      seconds: { up: 90 * 60, down: 30 * 60, excused: 0, counted: 120 * 60 },
    });
    // the default periods end at the start of the current slot and count from the first heartbeat
    const d = await availability(steady);
    expect(d.periods.map((p: { name: string }) => p.name)).toEqual(['24h', '7d', '30d']);
    for (const p of d.periods) expect(p).toMatchObject({ until: at(120 * MIN), countedFrom: at(0), uptimePercent: 75 });
    expect((await availability(steady, '?period=7d')).periods.map((p: { name: string }) => p.name)).toEqual(['7d']);
  });

  it('concurrent heartbeats of one agent are one slot, without errors', async () => {
    const busy = await t.registerAgent({ type: 'provider' });
    const rs = await Promise.all(Array.from({ length: 20 }, (_x, i) => beat(busy, { capacity: i })));
    expect(rs.map((r) => r.statusCode)).toEqual(rs.map(() => 200));
    const rows = await sql<{ n: string; bits: string }>`SELECT count(*)::text AS n, sum(length(replace(encode(beats, 'hex'), '0', '')))::text AS bits
      FROM availability_heartbeats WHERE agent_id = ${busy.id}`.execute(t.db.database.db);
    expect(rows.rows[0]).toEqual({ n: '1', bits: '1' });
    const bit = await sql<{ b: number }>`SELECT get_bit(beats, ${(t.clock.now().getTime() - T0) / MIN}) AS b FROM availability_heartbeats WHERE agent_id = ${busy.id}`.execute(t.db.database.db);
    expect(bit.rows[0]!.b).toBe(1);
  });

  it('show the last status and capacity; degraded time is up time, reported apart', async () => {
    const r = await beat(steady, { status: 'degraded', capacity: 3 });
    expect(r.json()).toMatchObject({ status: 'degraded', capacity: 3, slot: { start: at(120 * MIN), end: at(121 * MIN) } });
    t.clock.advance(MIN);
    const a = await availability(steady, `?from=${at(0)}`);
    expect(a.lastHeartbeat).toEqual({ at: at(120 * MIN), status: 'degraded', capacity: 3 });
    expect(a.status).toBe('degraded');
    expect(a.periods[0].seconds).toMatchObject({ up: 91 * 60, degraded: 60, down: 30 * 60 });
    // one heartbeat in a slot is enough: more of them change nothing
    for (const x of [steady, planned, late]) await beat(x);
    await beat(steady);
    t.clock.advance(MIN);
    expect((await availability(steady, `?from=${at(0)}`)).periods[0].seconds).toMatchObject({ up: 92 * 60, down: 30 * 60 });
    for (const x of [steady, planned, late]) await beat(x);
  });
});

describe('maintenance windows', () => {
  it('declared in advance excuse the downtime inside them', async () => {
    const a = await availability(planned, `?from=${at(0)}&until=${at(120 * MIN)}`);
    expect(a.periods[0]).toMatchObject({
      uptimePercent: 100, maintenanceCompliancePercent: 100, outages: 0, maintenanceWindows: 1,
      seconds: { up: 90 * 60, down: 0, excused: 30 * 60, counted: 120 * 60 },
    });
  });

  it('declared after the downtime began excuse only what came after the notice', async () => {
    const a = await availability(late, `?from=${at(0)}&until=${at(120 * MIN)}`);
    expect(a.periods[0]).toMatchObject({ outages: 1, seconds: { up: 90 * 60, down: 26 * 60, excused: 4 * 60 } });
    expect(a.periods[0].uptimePercent).toBeCloseTo((100 * 90) / 116, 2);
    expect(a.periods[0].maintenanceCompliancePercent).toBeCloseTo((100 * 4) / 30, 2);
  });

  it('are public with their declaration time; the reason is the agent\'s and the operator\'s', async () => {
    const pub = await windowsOf(planned, stranger.auth);
    expect(pub.windows).toEqual([{ id: expect.any(String), start: at(60 * MIN), end: at(90 * MIN), declaredAt: at(0), state: 'past' }]);
    expect(pub.rules).toMatchObject({ minNoticeMinutes: 15, maxLengthHours: 12, maxUpcoming: 10, maxHoursPerWeek: 12 });
    expect((await windowsOf(planned, planned.auth)).windows[0].reason).toBe('kernel upgrade');
    expect((await windowsOf(planned, t.admin)).windows[0].reason).toBe('kernel upgrade');
  });

  it('a declaration replaces the upcoming windows; started ones stay; one sent again keeps its declaration time', async () => {
    const now = t.clock.now().getTime();
    const h = (x: number) => new Date(now + x * 3600_000).toISOString();
    const first = await inject('PUT', `/v1/agents/${planned.id}/maintenance-windows`, planned.auth, { windows: [{ start: h(2), end: h(3) }, { start: h(5), end: h(6) }] });
    expect(first.statusCode, first.body).toBe(200);
    t.clock.advance(10 * MIN);
    const second = await inject('PUT', `/v1/agents/${planned.id}/maintenance-windows`, planned.auth, { windows: [{ start: h(2), end: h(3) }] });
    const w = second.json().windows;
    expect(w.map((x: { start: string; state: string }) => [x.start, x.state])).toEqual([[at(60 * MIN), 'past'], [h(2), 'upcoming']]);
    expect(w[1].declaredAt).toBe(new Date(now).toISOString());
    // withdrawing every upcoming window leaves the record
    const none = await inject('PUT', `/v1/agents/${planned.id}/maintenance-windows`, planned.auth, { windows: [] });
    expect(none.json().windows.map((x: { start: string }) => x.start)).toEqual([at(60 * MIN)]);
  });
});

describe('who may send and declare', () => {
  it('only the agent itself: 401 without a key, 403 for another agent and for the operator; nothing changes', async () => {
    const before = await counts();
    const body = { windows: [{ start: at(10 * 3600_000), end: at(11 * 3600_000) }] };
    for (const [headers, status] of [[{}, 401], [stranger.auth, 403], [t.admin, 403]] as const) {
      const hb = await inject('POST', `/v1/agents/${steady.id}/heartbeat`, headers);
      expect(hb.statusCode).toBe(status);
      expect(problem(hb).code).toBe(status === 401 ? 'unauthorized' : 'forbidden');
      const mw = await inject('PUT', `/v1/agents/${steady.id}/maintenance-windows`, headers, body);
      expect(mw.statusCode).toBe(status);
    }
    expect(await counts()).toEqual(before);
    expect((await windowsOf(steady)).windows).toEqual([]);
  });

  it('an unknown agent is 404 on the public reads', async () => {
    for (const url of ['availability', 'maintenance-windows']) {
      const r = await inject('GET', `/v1/agents/01900000-0000-7000-8000-000000000000/${url}`);
      expect(r.statusCode).toBe(404);
    }
  });
});

describe('bad input', () => {
  it('is a 400 naming the field and changes nothing', async () => {
    const before = await counts();
    const now = t.clock.now().getTime();
    const h = (x: number) => new Date(now + x * 3600_000).toISOString();
    const cases: [string, string, object | undefined, string[]][] = [
      ['POST', 'heartbeat', { status: 'sleepy' }, ['body.status']],
      ['POST', 'heartbeat', { capacity: -1 }, ['body.capacity']],
      ['POST', 'heartbeat', { capacity: 1.5 }, ['body.capacity']],
      ['PUT', 'maintenance-windows', {}, ['body.windows']],
      ['PUT', 'maintenance-windows', { windows: [{ start: h(-1), end: h(1) }] }, ['body.windows.0.start']],
      ['PUT', 'maintenance-windows', { windows: [{ start: h(2), end: h(1) }] }, ['body.windows.0.end']],
      ['PUT', 'maintenance-windows', { windows: [{ start: h(2), end: h(15) }] }, ['body.windows.0.end']],
      ['PUT', 'maintenance-windows', { windows: [{ start: h(24 * 91), end: h(24 * 91 + 1) }] }, ['body.windows.0.start']],
      ['PUT', 'maintenance-windows', { windows: [{ start: h(2), end: h(8) }, { start: h(3), end: h(4) }] }, ['body.windows.1']],
      // 13 hours starting in the week of Monday 2026-11-02
      ['PUT', 'maintenance-windows', { windows: [{ start: h(2), end: h(3) }, { start: h(30), end: h(40) }, { start: h(42), end: h(43) }, { start: h(44), end: h(46) }] }, ['body.windows.1']],
      ['PUT', 'maintenance-windows', { windows: Array.from({ length: 11 }, (_x, i) => ({ start: h(i + 1), end: h(i + 1.5) })) }, ['body.windows']],
      ['PUT', 'maintenance-windows', { windows: [{ start: 'tomorrow', end: h(3) }] }, ['body.windows.0.start']],
    ];
    for (const [method, path, payload, fields] of cases) {
      const r = await inject(method as 'POST', `/v1/agents/${steady.id}/${path}`, steady.auth, payload);
      expect(r.statusCode, `${path} ${JSON.stringify(payload)}: ${r.body}`).toBe(400);
      const p = problem(r);
      expect(p.code).toBe('validation_failed');
      expect([...new Set(p.errors?.map((e) => e.field))].sort(), JSON.stringify(p.errors)).toEqual(fields.sort());
      expect(p.detail.length).toBeGreaterThan(10);
    }
    const queries: [string, string][] = [
      ['?period=1y', 'querystring.period'],
      [`?from=${at(120 * MIN)}&until=${at(60 * MIN)}`, 'querystring.from'],
      [`?until=${at(60 * MIN)}`, 'querystring.from'],
      [`?from=${new Date(now - 40 * 86_400_000).toISOString()}`, 'querystring.from'],
      [`?period=24h&from=${at(0)}`, 'querystring.period'],
      ['?from=yesterday', 'querystring.from'],
    ];
    for (const [q, field] of queries) {
      const r = await inject('GET', `/v1/agents/${steady.id}/availability${q}`);
      expect(r.statusCode, `${q}: ${r.body}`).toBe(400);
      expect(problem(r).errors?.map((e) => e.field), q).toContain(field);
    }
    expect(await counts()).toEqual(before);
    expect((await windowsOf(steady)).windows).toEqual([]);
  });
});

describe('reliability evidence for reputation', () => {
  it('uptime and maintenance compliance of each day become the reliability component, once', async () => {
    const x0 = (await inject('GET', `/v1/agents/${steady.id}/reputation/explain`)).json();
    expect(x0.counts?.reliability ?? 0).toBe(0);
    t.clock.set(Date.UTC(2026, 10, 2, 0, 10));
    const out = await t.app.services.availability.recordDailyEvidence();
    // November 1: the four agents with heartbeats (these three and the concurrent one), an uptime and a maintenance value each
    expect(out).toEqual({ days: 1, evidence: 8 });
    expect(await t.app.services.availability.recordDailyEvidence()).toEqual({ days: 0, evidence: 0 });
    const channels = async (a: A) => {
      const x = (await inject('GET', `/v1/agents/${a.id}/reputation/explain`)).json();
      const rel = x.components.find((c: { name: string }) => c.name === 'reliability');
      return { counts: x.counts, uptime: rel.channels.uptime, maintenance: rel.channels.maintenance, value: rel.value, recent: x.recent };
    };
    const s = await channels(steady);
    const p = await channels(planned);
    const l = await channels(late);
    expect(s.counts.reliability).toBe(2);
    expect(s.recent.some((r: { type: string }) => r.type === 'reliability')).toBe(true);
    // the day is counted from 00:00 to 24:00: 93 minutes up (92 for the other two), down from 02:03 on
    const day = 24 * 60;
    expect(s.uptime.mean).toBeCloseTo(93 / day, 3);
    expect(p.uptime.mean).toBeCloseTo(92 / (day - 30), 3);
    expect(p.maintenance.mean).toBeCloseTo(30 / (day - 92), 3);
    expect(l.maintenance.mean).toBeCloseTo(4 / (day - 92), 3);
    expect(p.value).toBeGreaterThan(s.value);
    // the published reliability (no probe measurements) is the measured uptime
    const rep = (await inject('GET', `/v1/agents/${steady.id}/reputation`)).json();
    expect(rep.reliability).toEqual({ value: Math.round((10_000 * 93) / day) / 100, observations: 2 });
  });

  it('a day of full heartbeats is full uptime and full compliance', async () => {
    const fresh = await t.registerAgent({ type: 'provider' });
    const start = Date.UTC(2026, 10, 3);
    for (let ms = start; ms < start + 86_400_000; ms += 60_000) {
      t.clock.set(ms);
      await beat(fresh);
    }
    t.clock.set(start + 86_400_000 + MIN);
    await t.app.services.availability.recordDailyEvidence();
    const x = (await inject('GET', `/v1/agents/${fresh.id}/reputation/explain`)).json();
    const rel = x.components.find((c: { name: string }) => c.name === 'reliability');
    expect(rel.channels.uptime).toMatchObject({ mean: 1 });
    expect(rel.channels.maintenance).toMatchObject({ mean: 1 });
    const day = `?from=${new Date(start).toISOString()}&until=${new Date(start + 86_400_000).toISOString()}`;
    expect((await availability(fresh, day)).periods[0]).toMatchObject({ uptimePercent: 100, seconds: { up: 86_400, down: 0 } });
  }, 120_000);

  it('the operator can no longer attest uptime or maintenance; security and backup stay', async () => {
    for (const kind of ['uptime', 'maintenance']) {
      const r = await inject('POST', '/v1/evidence', t.admin, { type: 'reliability', agentId: steady.id, kind, value: 1 });
      expect(r.statusCode).toBe(422);
      expect(problem(r).detail).toMatch(/heartbeats/);
    }
    const ok = await inject('POST', '/v1/evidence', t.admin, { type: 'reliability', agentId: steady.id, kind: 'backup', value: 1 });
    expect(ok.statusCode).toBe(201);
  });
});

describe('the stream as presence', () => {
  it('holding GET /v1/stream open keeps an agent that sends heartbeats up; a mere watcher is not enrolled', async () => {
    const seller = await t.registerAgent({ type: 'provider' });
    const watcher = await t.registerAgent({ type: 'consumer' });
    expect((await beat(seller)).statusCode).toBe(200);
    t.clock.advance(5 * MIN);
    const address = await t.app.listen({ port: 0, host: '127.0.0.1' });
    const open = async (a: A) => {
      const ctrl = new AbortController();
      return readSse(await fetch(`${address}/v1/stream`, { headers: a.auth, signal: ctrl.signal }), ctrl);
    };
    const streams = [await open(seller), await open(watcher)];
    let last = null;
    for (let i = 0; i < 100; i++) {
      last = (await availability(seller)).lastHeartbeat;
      if (last?.at === t.clock.now().toISOString()) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    for (const x of streams) await x.close();
    expect(last).toMatchObject({ at: t.clock.now().toISOString(), status: 'ok' });
    t.clock.advance(MIN);
    expect((await availability(seller, `?period=24h`)).periods[0].seconds).toMatchObject({ up: 120, down: 4 * 60 });
    expect(await availability(watcher)).toMatchObject({ status: 'unknown', lastHeartbeat: null, firstHeartbeatAt: null });
  });
});
