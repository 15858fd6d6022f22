/**
 * End to end over MQTT: the simulators' MQTT face (demo network, about 2,000 thermostats and a weather station) →
 * a broker → a real hub (startTestHub with the demo's mqtt source pointed at that broker) → the store, the REST API
 * and the live WebSocket; and a garbage flood that the hub rejects and counts while valid readings keep landing.
 *
 * The simulated clock is paused and moved with stepNow, so nothing waits for real minutes; it starts half an hour in
 * the past so the samples' timestamps lie within the hub's accepted window.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { DEFAULT_CONFIG_DIR } from '../config/load.ts';
import { silentLogger } from '../core/log.ts';
import { startEmbeddedBroker, type EmbeddedBroker } from '../ingest/broker/embedded-broker.ts';
import type { Source } from '../ingest/source.ts';
import { startSimulators, type Simulators } from '../simulators/runtime.ts';
import { startTestHub, type TestHub } from './helpers/hub.ts';

let broker: EmbeddedBroker;
let t: TestHub;
let sims: Simulators;

async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

interface LatestAsset {
  lastTs: number | null;
  fields: Record<string, { value: unknown; ts: number; quality: string }>;
}

async function latest(assets: string[]): Promise<Record<string, LatestAsset>> {
  const res = await t.as('operator', { method: 'GET', url: `/api/latest?assets=${assets.join(',')}` });
  if (res.statusCode !== 200) throw new Error(res.body);
  return (res.json() as { assets: Record<string, LatestAsset> }).assets;
}

async function history(asset: string, field: string, from: number, to: number): Promise<[number, number][]> {
  const res = await t.as('operator', { method: 'GET', url: `/api/history?asset=${asset}&fields=${field}&from=${from}&to=${to}` });
  if (res.statusCode !== 200) throw new Error(res.body);
  return (res.json() as { series: Record<string, [number, number][]> }).series[field] ?? [];
}

async function metrics(): Promise<string> {
  return (await t.as('engineer', { method: 'GET', url: '/metrics' })).body;
}

function counter(text: string, name: string, reason: string): number {
  const m = new RegExp(`^${name}\\{reason="${reason}"\\} (\\d+)`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

function durable(): number {
  const src = t.hub.services.sources.find((s: Source) => s.kind === 'mqtt')!;
  return src.health()['durable'] as number;
}

/** The demo's mqtt source entry, pointed at the test broker. */
function sourcesYaml(url: string): string {
  const demo = parse(readFileSync(path.join(DEFAULT_CONFIG_DIR, 'sources.yaml'), 'utf8')) as { sources: Record<string, unknown>[] };
  const entry = demo.sources.find((s) => s['kind'] === 'mqtt')!;
  return stringify({ sources: [{ ...entry, url, protocolVersion: 4, clientId: `sim-e2e-${process.pid}` }] });
}

beforeAll(async () => {
  broker = await startEmbeddedBroker({ port: 0, log: silentLogger() });
  t = await startTestHub({ files: { 'sources.yaml': sourcesYaml(broker.url) } });
  sims = await startSimulators({
    settleHours: 1,
    timeScale: 0,
    start: Date.now() - 30 * 60_000,
    mqtt: { url: broker.url, publishIntervalS: 60, clientId: `sim-e2e-face-${process.pid}` },
    log: pino({ level: 'silent' }),
  });
});

afterAll(async () => {
  await sims?.close();
  await t?.close();
  await broker?.close();
});

describe('simulators → MQTT → hub', () => {
  it('stores every thermostat and the weather station, and shows them on a live socket', async () => {
    const watched = ['ss01-b2-0302', 'ss07-b1-0101', 'ws1'];
    const ws = await t.hub.app.injectWS('/api/live', { headers: { cookie: t.cookies.operator } });
    const updates: Record<string, Record<string, unknown>>[] = [];
    let snapshot = false;
    ws.on('message', (d: Buffer) => {
      const m = JSON.parse(d.toString()) as { type: string; assets?: Record<string, Record<string, unknown>> };
      if (m.type === 'snapshot') snapshot = true;
      if (m.type === 'update' && m.assets) updates.push(m.assets);
    });
    ws.send(JSON.stringify({ type: 'subscribe', assets: watched }));
    await waitFor('snapshot', () => snapshot);

    const n = sims.model.apartments.count;
    const durable0 = durable();
    await sims.stepNow(60);
    const ts = Math.round(sims.model.now());
    // Every apartment once, and the weather station (at start and now).
    await waitFor('every message durable', () => durable() - durable0 >= n + 1, 20_000).catch((err: Error) => {
      throw new Error(`${err.message}: ${durable() - durable0} of ${n + 1}; source ${JSON.stringify(t.hub.services.sources.find((s: Source) => s.kind === 'mqtt')!.health())}; face ${JSON.stringify(sims.mqtt!.stats())}`);
    });

    const a = sims.model.apartments;
    const got = await latest(watched);
    for (const id of watched.slice(0, 2)) {
      const i = sims.model.apartmentIndex(id);
      expect(got[id]!.lastTs).toBe(ts);
      expect(got[id]!.fields['room_temp_c']).toMatchObject({ value: Math.round(a.room_temp_c[i]! * 10) / 10, ts, quality: 'good' });
      expect(got[id]!.fields['valve_pct']!.value).toBe(Math.round(a.valve_pct[i]!));
    }
    const w = got['ws1']!;
    expect(w.lastTs).toBe(ts);
    expect(w.fields['outdoor_temp_c']!.value).toBe(Math.round(sims.model.weatherStationTags('ws1').outdoor_temp_c * 10) / 10);
    expect(Object.keys(w.fields)).toEqual(expect.arrayContaining(['wind_ms', 'forecast_1h_temp_c', 'forecast_24h_temp_c']));

    const i = sims.model.apartmentIndex('ss01-b2-0302');
    expect(await history('ss01-b2-0302', 'battery_pct', ts - 1, ts + 1)).toEqual([[ts, Math.round(a.battery_pct[i]!)]]);

    await waitFor('live updates', () => updates.some((u) => u['ss01-b2-0302']?.['room_temp_c'] !== undefined) && updates.some((u) => u['ws1']?.['outdoor_temp_c'] !== undefined));
    ws.terminate();
  });

  it('rejects and counts a garbage flood while valid readings keep landing', async () => {
    const before = await metrics();
    const durable0 = durable();
    // 600 bad messages in one second, 100 of each kind, with a round of valid readings in the middle of it.
    sims.inject({ kind: 'garbage_flood', ratePerS: 600, durationS: 1 });
    await new Promise((r) => setTimeout(r, 300));
    await sims.stepNow(60);
    const ts = Math.round(sims.model.now());
    await waitFor('flood over', () => sims.faults().length === 0, 15_000);
    await sims.mqtt!.flush();
    expect(sims.mqtt!.stats().garbage).toEqual({ malformed_json: 100, wrong_type: 100, unknown_apartment: 100, out_of_range: 100, future_ts: 100, oversize: 100 });

    const delta = (m: string, name: string, reason: string): number => counter(m, name, reason) - counter(before, name, reason);
    const expected: [string, string][] = [
      ['warmgrid_readings_rejected_total', 'malformed'],
      ['warmgrid_readings_rejected_total', 'wrong_type'],
      ['warmgrid_readings_rejected_total', 'unknown_asset'],
      ['warmgrid_readings_rejected_total', 'ts_future'],
      ['warmgrid_readings_rejected_total', 'oversize'],
      ['warmgrid_fields_rejected_total', 'out_of_range'],
      // A reading whose only field was out of range is left with nothing to store.
      ['warmgrid_readings_rejected_total', 'no_fields'],
    ];
    const after = await waitFor('rejections counted', async () => {
      const m = await metrics();
      return expected.every(([name, reason]) => delta(m, name, reason) >= 100) ? m : undefined;
    });
    for (const [name, reason] of expected) expect(delta(after, name, reason), `${name}{reason="${reason}"}`).toBe(100);

    // The valid round landed in full: every apartment's sample at the new time.
    await waitFor('the valid round durable', () => durable() - durable0 >= sims.model.apartments.count);
    const got = await latest(['ss02-b1-0101', 'ss12-b1-0101']);
    expect(got['ss02-b1-0101']!.lastTs).toBe(ts);
    expect(got['ss12-b1-0101']!.lastTs).toBe(ts);
    const health = await t.as('operator', { method: 'GET', url: '/api/health' });
    expect(health.statusCode).toBe(200);
  });
});
