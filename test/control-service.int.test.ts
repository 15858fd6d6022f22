/**
 * ControlService on a real state database and a real embedded telemetry store, with time driven by a ManualClock:
 * confirmation expiry, read-back mismatch and rollback, a write that times out, auto mode dropping to manual when the
 * outdoor temperature goes stale, state surviving a restart, and the 24 h load forecast from stored history.
 *
 * The device behind the SetpointWriter port is an in-memory PLC (the port's contract, not a protocol): it can clamp a
 * value to its own internal limit, or act on a write and then fail to answer, which the simulator's face cannot show.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Value } from '@sinclair/typebox/value';
import { ControlConfig } from '../control/config-schema.ts';
import { ControlService, type Actor } from '../control/service.ts';
import { loadConfig, type HubConfig } from '../config/load.ts';
import { ManualClock } from '../core/clock.ts';
import { WarmgridError } from '../core/errors.ts';
import { silentLogger } from '../core/log.ts';
import { LiveBus, type HubEvent } from '../ingest/live-bus.ts';
import type { Reading } from '../ingest/reading.ts';
import type { SetpointWriter, WritablePoint, WriteResult } from '../ingest/source.ts';
import { SOURCE_PLUGINS } from '../ingest/sources/index.ts';
import { AuditLog } from '../state/audit.ts';
import { openStateDb, type StateDbHandle } from '../state/db.ts';
import { EmbeddedTelemetryStore } from '../store/embedded/embedded-store.ts';
import type { LatestValue } from '../store/telemetry-store.ts';

const H = 3_600_000;
const POINT = 'supply_temp_setpoint_c';
const ENGINEER: Actor = { id: 'u-eng', name: 'engineer one', roles: new Set(['engineer']) };

/** An in-memory PLC behind the SetpointWriter port. */
class InMemoryPlc implements SetpointWriter {
  readonly values = new Map<string, number>();
  /** 'clamp': holds at most clampC; 'act_then_timeout': takes the value, then the answer never comes. */
  behaviour: 'normal' | 'clamp' | 'act_then_timeout' = 'normal';
  clampC = 78;
  writes: { asset: string; value: number }[] = [];

  writablePoints(asset: string): WritablePoint[] {
    return asset === 'ss01' || asset === 'ss02' ? [{ point: POINT, min: 20, max: 90, unit: '°C' }] : [];
  }

  async writePoint(asset: string, point: string, value: number | boolean): Promise<WriteResult> {
    const v = Number(value);
    this.writes.push({ asset, value: v });
    const behaviour = this.behaviour;
    this.behaviour = 'normal';
    if (behaviour === 'act_then_timeout') {
      this.values.set(asset, v);
      throw new WarmgridError('WRITE_FAILED', `${asset}: no answer to the write (the value may or may not have been written)`, { retryable: false });
    }
    const held = behaviour === 'clamp' ? Math.min(v, this.clampC) : v;
    this.values.set(asset, held);
    return { asset, point, requested: v, readBack: held, ok: held === v, ...(held !== v ? { message: `the device holds ${held} after writing ${v}` } : {}) };
  }
}

let dir: string;
let state: StateDbHandle;
let store: EmbeddedTelemetryStore;
let config: HubConfig;
const clock = new ManualClock(Date.UTC(2026, 0, 15, 0, 0, 0));
const bus = new LiveBus();
const plc = new InMemoryPlc();
const latestValues = new Map<string, Map<string, LatestValue>>();
const events: HubEvent[] = [];

function setLatest(asset: string, fields: Record<string, number>, ts = clock.now()): void {
  let m = latestValues.get(asset);
  if (!m) latestValues.set(asset, (m = new Map()));
  for (const [k, v] of Object.entries(fields)) m.set(k, { value: v, ts, quality: 'good' });
}

/** What a poll would bring: the PLC's setpoints, a supply near them, and the outdoor temperature. */
function poll(outdoorC: number | null = 0): void {
  for (const ss of ['ss01', 'ss02']) {
    const sp = plc.values.get(ss)!;
    setLatest(ss, { [POINT]: sp, secondary_supply_temp_c: sp - 0.2 });
    if (outdoorC !== null) setLatest(ss, { outdoor_temp_c: outdoorC });
  }
}

/** Room sensors of every apartment of a substation, published on the bus as the pipeline would. */
function rooms(ss: string, lo: number, hi: number): void {
  const ids = config.assets.descendants(ss, 'apartment').map((a) => a.id);
  ids.forEach((asset, i) => {
    const r: Reading = { asset, ts: clock.now(), fields: { room_temp_c: Math.round((lo + ((hi - lo) * i) / ids.length) * 10) / 10 }, quality: 'good', source: 'test' };
    bus.publishReading(r);
  });
}

function service(adviceTimer = false): ControlService {
  const c = Value.Default(ControlConfig, { writes: { enabled: ['ss01', 'ss02'], confirmTtlS: 60 } }) as ControlConfig;
  return new ControlService({ config: c, network: config.network, assets: config.assets, latest: (a) => latestValues.get(a), bus, store, writers: { writerFor: (a) => (plc.writablePoints(a).length ? plc : undefined) }, audit: new AuditLog(state.db, () => clock.now()), db: state.db, clock, log: silentLogger(), adviceTimer });
}

let control: ControlService;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'warmgrid-control-'));
  config = loadConfig({ env: {}, plugins: SOURCE_PLUGINS });
  state = await openStateDb({ dataDir: dir });
  store = new EmbeddedTelemetryStore({ dir: path.join(dir, 'telemetry'), clock });
  await store.open();
  plc.values.set('ss01', 70);
  plc.values.set('ss02', 70);
  poll();
  bus.onEvent((e) => events.push(e));
  control = service();
  await control.start();
});

afterAll(async () => {
  await control?.stop();
  await store?.close();
  await state?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function audit(action: string): Promise<{ ok: boolean; detail: Record<string, unknown> }[]> {
  return new AuditLog(state.db).query({ action, limit: 50 });
}

describe('control service: confirmation, read-back and rollback', () => {
  it('expires a write that is not confirmed in time; nothing is written', async () => {
    poll();
    const { write, confirmToken } = await control.requestWrite('ss01', { value: 72, reason: 'test' }, ENGINEER);
    clock.advance(61_000);
    poll();
    await expect(control.confirmWrite(write.id, confirmToken, ENGINEER)).rejects.toMatchObject({ code: 'WRITE_REFUSED', message: expect.stringContaining('expired') });
    expect((await control.write(write.id)).status).toBe('expired');
    expect(plc.values.get('ss01')).toBe(70);
    expect((await audit('setpoint.write'))[0]).toMatchObject({ ok: false, detail: { writeId: write.id, result: 'expired' } });
  });

  it('rolls back when the device holds something other than the request and the old value', async () => {
    poll();
    plc.behaviour = 'clamp';
    plc.clampC = 73;
    const { write, confirmToken } = await control.requestWrite('ss01', { value: 74, reason: 'test: the PLC clamps at 73' }, ENGINEER);
    await expect(control.confirmWrite(write.id, confirmToken, ENGINEER)).rejects.toMatchObject({ code: 'WRITE_FAILED', message: expect.stringContaining('rolled back') });
    expect(plc.writes.slice(-2)).toEqual([
      { asset: 'ss01', value: 74 },
      { asset: 'ss01', value: 70 },
    ]);
    expect(plc.values.get('ss01')).toBe(70);
    const w = await control.write(write.id);
    expect(w).toMatchObject({ status: 'rolled_back', readBack: 73, result: { ok: false, rollback: { ok: true, readBack: 70 } } });
    expect((await audit('setpoint.write'))[0]).toMatchObject({ ok: false, detail: { result: 'rolled_back', old: 70, new: 74, readBack: 73 } });
  });

  it('writes the old value back when a write times out, since the device may have acted', async () => {
    clock.advance(2 * H);
    poll();
    plc.behaviour = 'act_then_timeout';
    const { write, confirmToken } = await control.requestWrite('ss02', { value: 73, reason: 'test: no answer' }, ENGINEER);
    await expect(control.confirmWrite(write.id, confirmToken, ENGINEER)).rejects.toMatchObject({ code: 'WRITE_FAILED' });
    expect(plc.values.get('ss02')).toBe(70);
    expect(await control.write(write.id)).toMatchObject({ status: 'rolled_back', result: { code: 'WRITE_FAILED', rollback: { ok: true } } });
  });

  it('refuses a confirmation once the setpoint has changed under it', async () => {
    clock.advance(2 * H);
    poll();
    const { write, confirmToken } = await control.requestWrite('ss01', { value: 71, reason: 'test' }, ENGINEER);
    plc.values.set('ss01', 69);
    poll();
    const err = (await control.confirmWrite(write.id, confirmToken, ENGINEER).catch((e: unknown) => e)) as WarmgridError;
    expect(err.code).toBe('WRITE_REFUSED');
    expect((err.details as { checks: { name: string; ok: boolean }[] }).checks.find((c) => c.name === 'unchanged')?.ok).toBe(false);
    expect(plc.values.get('ss01')).toBe(69);
    plc.values.set('ss01', 70);
  });

  it('refuses a principal without the engineer role even when called directly', async () => {
    await expect(control.requestWrite('ss01', { value: 71, reason: 'x' }, { id: 'op', name: 'operator', roles: new Set(['operator']) })).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });
});

describe('control service: auto mode', () => {
  it('applies advice within the auto bounds, then drops to manual with an alarm when the outdoor temperature goes stale', async () => {
    clock.advance(2 * H);
    poll(-3);
    rooms('ss01', 17.5, 21);
    await control.runAdvice('ss01');
    await control.setMode('ss01', 'auto', ENGINEER, 'test');
    const before = plc.values.get('ss01')!;
    clock.advance(15 * 60_000);
    poll(-3);
    rooms('ss01', 17.5, 21);
    const [advice] = await control.runAdvice('ss01');
    expect(advice!.recommendedC! - before).toBeGreaterThan(2);
    expect(plc.values.get('ss01')).toBeCloseTo(before + 2, 6);
    const auto = (await control.writes({ asset: 'ss01', limit: 1 }))[0]!;
    expect(auto).toMatchObject({ mode: 'auto', status: 'executed', requestedBy: { id: 'system' }, adviceId: advice!.id });

    // 31 minutes without an outdoor reading (the supply sensor is still fine).
    clock.advance(31 * 60_000);
    poll(null);
    rooms('ss01', 17.5, 21);
    const held = plc.values.get('ss01');
    const [stale] = await control.runAdvice('ss01');
    expect(stale!.valid).toBe(false);
    expect(control.view('ss01').mode).toBe('manual');
    expect(plc.values.get('ss01')).toBe(held);
    const alarm = events.find((e) => e.topic === 'alarms');
    expect(alarm?.data).toMatchObject({ type: 'control.auto_off', asset: 'ss01', reason: 'no fresh outdoor temperature' });
  });

  it('keeps enablement, mode, curve and the learned shift over a restart', async () => {
    await control.setWritesEnabled('ss02', false, ENGINEER, 'test');
    const curve = control.curve('ss01').preset;
    await control.putCurve('ss01', { ...curve, shiftK: -2 }, ENGINEER, 'test');
    const integral = control.view('ss01').feedbackIntegralK;
    await control.stop();
    control = service();
    await control.start();
    expect(control.view('ss02')).toMatchObject({ writesEnabled: false, writesEnabledSource: 'api' });
    expect(control.view('ss01')).toMatchObject({ mode: 'manual', curveSource: 'api', feedbackIntegralK: integral });
    expect(control.curve('ss01').curve.shiftK).toBe(-2);
  });
});

describe('control service: the advice timer', () => {
  it('runs a first pass a minute after start, then every adviceIntervalMin, for every substation', async () => {
    const timed = service(true);
    await timed.start();
    const seen = (): number => events.filter((e) => e.topic === 'advice').length;
    const before = seen();
    const substations = config.assets.ofKind('substation').length;
    const pass = (n: number): Promise<void> =>
      new Promise((resolve) => {
        const off = bus.onEvent(() => {
          if (seen() - before >= n) {
            off();
            resolve();
          }
        });
      });
    const first = pass(substations);
    clock.advance(60_000);
    await first;
    await timed.idle();
    const second = pass(2 * substations);
    clock.advance(15 * 60_000);
    await second;
    await timed.stop();
    expect(seen() - before).toBe(2 * substations);
  });
});

describe('control service: 24 h load forecast', () => {
  it('fits heat, make-up and electricity on outdoor temperature from stored history and forecasts with an error', async () => {
    // Three days of minute readings for ss03: heat falls 40 kW per K of outdoor temperature; the electricity meter
    // counts 5 kWh per hour.
    const start = clock.now();
    const readings: Reading[] = [];
    for (let m = 0; m < 3 * 24 * 60; m += 5) {
      const ts = start + m * 60_000;
      const out = -2 + 5 * Math.sin((2 * Math.PI * m) / (24 * 60));
      readings.push({ asset: 'ss03', ts, quality: 'good', source: 'test', fields: { outdoor_temp_c: out, heat_power_kw: 900 - 40 * out + 10 * Math.sin(m), makeup_flow_m3h: 0.2, power_use_kwh: 1000 + (5 * m) / 60 } });
    }
    await store.write(readings);
    clock.advance(3 * 24 * H);
    setLatest('ss03', { outdoor_temp_c: -2 });
    setLatest('ws1', { outdoor_temp_c: -2, forecast_1h_temp_c: -2, forecast_3h_temp_c: -4, forecast_6h_temp_c: -6, forecast_12h_temp_c: -6, forecast_24h_temp_c: -6 });
    const f = await control.loadForecast('ss03');
    expect(f.outdoor.source).toBe('forecast');
    const heat = f.quantities.heat;
    expect(heat.fit!.slope).toBeCloseTo(-40, 0);
    const meanOut = f.outdoor.hourly.reduce((s, h) => s + h.tempC, 0) / 24;
    expect(heat.total!).toBeCloseTo(24 * (heat.fit!.intercept + heat.fit!.slope * meanOut), 3);
    expect(heat.sd!).toBeGreaterThan(0);
    expect(heat.weatherSd!).toBeGreaterThan(heat.residualSd!);
    expect(f.quantities.electricity.total!).toBeCloseTo(24 * 5, 0);
    expect(f.quantities.makeup.total!).toBeCloseTo(24 * 0.2, 3);
    const net = await control.networkForecast();
    expect(net.totals.heat).toMatchObject({ substations: 1, unit: 'kWh' });
    expect(net.totals.heat.total).toBeCloseTo(heat.total!, 6);
  });
});
