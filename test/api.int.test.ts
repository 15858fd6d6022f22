import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type WebSocket from 'ws';
import { startTestHub, type TestHub } from './helpers/hub.ts';

let t: TestHub;
beforeAll(async () => {
  t = await startTestHub();
});
afterAll(async () => {
  await t?.close();
});

const app = () => t.hub.app!;
const HOUR = 3_600_000;
// Aligned to a whole hour so bucket boundaries are easy to reason about.
const base = Math.floor((Date.now() - 3 * HOUR) / HOUR) * HOUR;

async function post(readings: unknown[]) {
  return t.as('engineer', { method: 'POST', url: '/api/readings', payload: { readings } });
}

async function history(q: Record<string, string | number>) {
  const qs = new URLSearchParams(Object.entries(q).map(([k, v]): [string, string] => [k, String(v)])).toString();
  return t.as('engineer', { method: 'GET', url: `/api/history?${qs}` });
}

describe('HTTP API through the real pipeline and embedded store', () => {
  it('stores readings and returns them raw and in buckets with each aggregate', async () => {
    // ss01: 10 samples, one every 30 s from `base`: 40, 41, ..., 49 °C; the 4th is bad and must not count.
    const readings = Array.from({ length: 10 }, (_, i) => ({
      asset: 'ss01',
      ts: base + i * 30_000,
      fields: { secondary_supply_temp_c: 40 + i, circ_pump_running: true },
      quality: i === 3 ? 'bad' : 'good',
    }));
    const res = await post(readings);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ accepted: 10, rejected: 0 });

    const raw = await history({ asset: 'ss01', fields: 'secondary_supply_temp_c', from: base, to: base + 10 * 30_000 });
    expect(raw.statusCode).toBe(200);
    const rawSeries = raw.json().series.secondary_supply_temp_c as [number, number][];
    // Raw history holds the good samples only (the bad one is kept in the store but not served as a value).
    expect(rawSeries.map((p) => p[1])).toEqual([40, 41, 42, 44, 45, 46, 47, 48, 49]);
    expect(rawSeries[0]![0]).toBe(base);

    // 1-minute buckets: [40,41] [42,(43 bad)] [44,45] [46,47] [48,49]
    const mean = await history({ asset: 'ss01', fields: 'secondary_supply_temp_c', from: base, to: base + 5 * 60_000, bucket: '1m', aggregate: 'mean' });
    expect(mean.json().series.secondary_supply_temp_c).toEqual([
      [base, 40.5],
      [base + 60_000, 42],
      [base + 120_000, 44.5],
      [base + 180_000, 46.5],
      [base + 240_000, 48.5],
    ]);
    const max = await history({ asset: 'ss01', fields: 'secondary_supply_temp_c', from: base, to: base + 5 * 60_000, bucket: '1m', aggregate: 'max' });
    expect((max.json().series.secondary_supply_temp_c as [number, number][]).map((p) => p[1])).toEqual([41, 42, 45, 47, 49]);
    const min15 = await history({ asset: 'ss01', fields: 'secondary_supply_temp_c', from: base, to: base + HOUR, bucket: '15m', aggregate: 'min' });
    expect(min15.json().series.secondary_supply_temp_c).toEqual([[base, 40]]);
    const last = await history({ asset: 'ss01', fields: 'secondary_supply_temp_c,circ_pump_running', from: base, to: base + HOUR, bucket: '1h', aggregate: 'last' });
    expect(last.json().series.secondary_supply_temp_c).toEqual([[base, 49]]);
    expect(last.json().series.circ_pump_running).toEqual([[base, 1]]);
  });

  it('serves latest values and the asset tree', async () => {
    const latest = await t.as('engineer', { method: 'GET', url: '/api/latest?assets=ss01,ss02' });
    expect(latest.statusCode).toBe(200);
    const body = latest.json();
    expect(body.assets.ss01.fields.secondary_supply_temp_c).toMatchObject({ value: 49, quality: 'good' });
    expect(body.assets.ss02.fields).toEqual({});

    const subs = await t.as('engineer', { method: 'GET', url: '/api/assets?kind=substation' });
    expect(subs.json().total).toBe(12);
    const one = await t.as('engineer', { method: 'GET', url: '/api/assets/ss01-b1' });
    expect(one.json().asset.kind).toBe('building');
    expect(one.json().place).toEqual({ heat_source: 'hs1', network: 'net1', substation: 'ss01' });
  });

  it('rejects bad readings with reasons while keeping the good ones in the same request', async () => {
    const now = Date.now();
    const res = await post([
      { asset: 'ss02', ts: now, fields: { secondary_supply_temp_c: 55.5 } },
      { asset: 'nope', ts: now, fields: { x_c: 1 } },
      { asset: 'ss02', ts: now + 86_400_000, fields: { secondary_supply_temp_c: 50 } },
      { asset: 'ss02', ts: now - 30 * 86_400_000, fields: { secondary_supply_temp_c: 50 } },
      { asset: 'ss02', ts: now + 1, fields: { secondary_supply_temp_c: 300 } },
      { asset: 'ss02', ts: now + 2, fields: { 'Bad Name': 1 } },
    ]);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.accepted, res.body).toBe(1);
    expect(body.reasons).toMatchObject({ unknown_asset: 1, ts_future: 1, ts_past: 1, out_of_range: 1, invalid_field: 1 });
    const latest = await t.as('engineer', { method: 'GET', url: '/api/latest?assets=ss02' });
    expect(latest.json().assets.ss02.fields.secondary_supply_temp_c.value).toBe(55.5);
    const metrics = await t.as('engineer', { method: 'GET', url: '/metrics' });
    expect(metrics.body).toMatch(/warmgrid_readings_rejected_total\{reason="unknown_asset"\} 1/);
    expect(metrics.body).toMatch(/warmgrid_fields_rejected_total\{reason="out_of_range"\} 1/);
  });

  it('answers malformed requests with 400 and the error schema, and changes nothing', async () => {
    const before = (await history({ asset: 'ss01', fields: 'secondary_supply_temp_c', from: base, to: base + HOUR })).body;
    const cases = [
      t.as('engineer', { method: 'POST', url: '/api/readings', headers: { 'content-type': 'application/json' }, payload: '{"readings": [' }),
      t.as('engineer', { method: 'POST', url: '/api/readings', payload: { readings: 'no' } }),
      t.as('engineer', { method: 'POST', url: '/api/readings', payload: { readings: [{ asset: 'ss01', fields: { a_c: { nested: 1 } } }] } }),
      t.as('engineer', { method: 'POST', url: '/api/readings', headers: { 'content-type': 'application/json' }, payload: '{"readings":[{"asset":"ss01","fields":{"__proto__":{"x":1}}}]}' }),
      t.as('engineer', { method: 'GET', url: '/api/history?asset=ss01&fields=x&from=yesterday' }),
      t.as('engineer', { method: 'GET', url: '/api/history?asset=ss01&fields=x&from=1000&bucket=2m' }),
      t.as('engineer', { method: 'GET', url: '/api/history?asset=ss01&fields=x&from=5000&to=1000' }),
      t.as('engineer', { method: 'GET', url: '/api/history?asset=../../etc/passwd&fields=x&from=1' }),
      t.as('engineer', { method: 'GET', url: '/api/assets?kind=planet' }),
    ];
    for (const res of await Promise.all(cases)) {
      expect(res.statusCode, res.body).toBe(400);
      const body = res.json();
      expect(typeof body.error.code).toBe('string');
      expect(typeof body.error.message).toBe('string');
      expect(res.body).not.toMatch(/at .*\.ts:\d+/);
    }
    const huge = await t.as('engineer', { method: 'POST', url: '/api/readings', headers: { 'content-type': 'application/json' }, payload: `{"readings":[${'1,'.repeat(700_000)}1]}` });
    expect(huge.statusCode).toBe(413);
    expect(huge.json().error.code).toBe('PAYLOAD_TOO_LARGE');
    const unknown = await t.as('engineer', { method: 'GET', url: '/api/assets/nope' });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error.code).toBe('NOT_FOUND');
    const after = (await history({ asset: 'ss01', fields: 'secondary_supply_temp_c', from: base, to: base + HOUR })).body;
    expect(after).toBe(before);
  });

  it('reports health per component and serves OpenAPI', async () => {
    const anon = await t.as(null, { method: 'GET', url: '/api/health' });
    expect(anon.statusCode).toBe(200);
    expect(anon.json().components).toEqual({});
    const h = await t.as('engineer', { method: 'GET', url: '/api/health' });
    expect(h.statusCode).toBe(200);
    expect(h.json().status).toBe('up');
    expect(h.json().components.store.status).toBe('up');
    expect(h.json().components.pipeline.status).toBe('up');
    const spec = await t.as('engineer', { method: 'GET', url: '/docs/json' });
    expect(spec.statusCode).toBe(200);
    expect(Object.keys(spec.json().paths)).toEqual(expect.arrayContaining(['/api/health', '/api/history', '/api/latest', '/api/readings']));
    const page = await t.as(null, { method: 'GET', url: '/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
  });
});

describe('live WebSocket feed', () => {
  function nextMessage(ws: WebSocket, pred: (m: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
    return new Promise((resolve) => {
      const on = (data: Buffer) => {
        const m = JSON.parse(data.toString()) as Record<string, unknown>;
        if (pred(m)) {
          ws.off('message', on);
          resolve(m);
        }
      };
      ws.on('message', on);
    });
  }

  it('sends a snapshot on subscribe, then coalesced updates of subscribed assets only', async () => {
    const ws = await app().injectWS('/api/live', { headers: { cookie: t.cookies.operator } });
    const snap = nextMessage(ws, (m) => m['type'] === 'snapshot');
    ws.send(JSON.stringify({ type: 'subscribe', assets: ['ss03'] }));
    expect((await snap)['assets']).toEqual({});

    const messages: Record<string, unknown>[] = [];
    ws.on('message', (d: Buffer) => messages.push(JSON.parse(d.toString())));
    const final = nextMessage(ws, (m) => m['type'] === 'update' && JSON.stringify(m).includes('"secondary_return_temp_c":[39'));
    const now = Date.now();
    for (let i = 0; i < 50; i++) {
      await post([
        { asset: 'ss03', ts: now + i, fields: { secondary_return_temp_c: i === 49 ? 39 : 30 + (i % 5) * 0.5 } },
        { asset: 'ss04', ts: now + i, fields: { secondary_return_temp_c: 1 } },
      ]);
    }
    const upd = (await final) as { assets: Record<string, Record<string, [number, number, string]>> };
    expect(upd.assets['ss03']!['secondary_return_temp_c']).toEqual([39, now + 49, 'good']);
    const updates = messages.filter((m) => m['type'] === 'update');
    expect(updates.length).toBeLessThan(50);
    expect(updates.every((m) => !JSON.stringify(m).includes('ss04'))).toBe(true);
    ws.terminate();
  });

  it('answers a burst of subscriptions one snapshot each, in order, with a ping after them answered last', async () => {
    const ids = t.hub.services.assets.ofKind('apartment').map((a) => a.id);
    expect(ids.length).toBeGreaterThan(1000);
    await post([
      { asset: ids[5]!, ts: Date.now(), fields: { room_temp_c: 20.5 } },
      { asset: ids[700]!, ts: Date.now(), fields: { room_temp_c: 19.5 } },
    ]);
    const ws = await app().injectWS('/api/live', { headers: { cookie: t.cookies.operator } });
    const got: Record<string, unknown>[] = [];
    ws.on('message', (d: Buffer) => got.push(JSON.parse(d.toString()) as Record<string, unknown>));
    const pong = nextMessage(ws, (m) => m['type'] === 'pong');
    for (const id of ids) ws.send(JSON.stringify({ type: 'subscribe', assets: [id] }));
    ws.send(JSON.stringify({ type: 'ping' }));
    await pong;
    const answers = got.filter((m) => m['type'] === 'snapshot' || m['type'] === 'pong');
    expect(answers).toHaveLength(ids.length + 1);
    expect(answers[answers.length - 1]!['type']).toBe('pong');
    // Each snapshot answers its own subscription: an asset with values appears in its own snapshot.
    const withValues = answers.slice(0, -1).map((m, i) => [i, Object.keys(m['assets'] as object)] as const).filter(([, keys]) => keys.length > 0);
    expect(withValues.map(([i]) => i)).toEqual(expect.arrayContaining([5, 700]));
    for (const [i, keys] of withValues) expect(keys).toEqual([ids[i]]);
    ws.terminate();
  });

  it('answers invalid messages with an error and keeps the socket', async () => {
    const ws = await app().injectWS('/api/live', { headers: { cookie: t.cookies.operator } });
    const err = nextMessage(ws, (m) => m['type'] === 'error');
    ws.send('not json');
    expect((await err)['code']).toBe('BAD_REQUEST');
    const pong = nextMessage(ws, (m) => m['type'] === 'pong');
    ws.send(JSON.stringify({ type: 'ping' }));
    await pong;
    ws.terminate();
  });
});
