/**
 * The Modbus source against the simulator's Modbus face, both real (TCP on port 0), with the simulator's own physics.
 * The two sides share only the device template; a decoding bug on either side shows up as a mismatch here.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Value } from '@sinclair/typebox/value';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { AssetTree } from '../../../config/asset-tree.ts';
import { systemClock } from '../../../core/clock.ts';
import { isWarmgridError } from '../../../core/errors.ts';
import { silentLogger } from '../../../core/log.ts';
import { startModbusFace, type ModbusFace } from '../../../simulators/faces/modbus/index.ts';
import { createNetworkModel, type NetworkModel } from '../../../simulators/model/network-model.ts';
import type { Reading } from '../../reading.ts';
import { ModbusSourceConfig } from './config.ts';
import { ModbusSource } from './modbus-source.ts';

const TEMPLATE = parse(readFileSync(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../config/templates/substation-modbus.yaml'), 'utf8')) as Record<string, unknown>;

function network(n: number): Record<string, unknown> {
  return {
    company: { id: 'co', name: 'Co' },
    climate: { city: 'Jinan', designOutdoorC: -5.3 },
    heatSources: [
      {
        id: 'hs1',
        name: 'Plant',
        networks: [
          {
            id: 'net1',
            name: 'Net',
            substations: Array.from({ length: n }, (_, i) => ({ id: `ss${i + 1}`, name: `S${i + 1}`, buildings: [{ id: `ss${i + 1}-b1`, name: 'B1', floors: 3, unitsPerFloor: 2 }] })),
          },
        ],
      },
    ],
    weatherStations: [],
  };
}

interface Rig {
  model: NetworkModel;
  source: ModbusSource;
  readings: Reading[];
  faces: ModbusFace[];
  of(asset: string): Reading[];
  since(t: number, asset: string): Reading[];
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function waitFor(cond: () => boolean, timeoutMs = 8000, what = 'condition'): Promise<void> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const tick = (): void => {
      if (cond()) resolve();
      else if (Date.now() - t0 > timeoutMs) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(tick, 20);
    };
    tick();
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** n substations; the first `split` behind gateway A, the rest behind gateway B. */
async function rig(n: number, opts: { split?: number; intervalMs?: number; timeoutMs?: number; devices?: (i: number) => Record<string, unknown> } = {}): Promise<Rig> {
  const model = createNetworkModel(network(n), { settleHours: 1 });
  const split = opts.split ?? n;
  const unitsA: Record<number, string> = {};
  const unitsB: Record<number, string> = {};
  for (let i = 1; i <= n; i++) (i <= split ? unitsA : unitsB)[i] = `ss${i}`;
  const faces = [await startModbusFace(model, { port: 0, units: unitsA })];
  if (split < n) faces.push(await startModbusFace(model, { port: 0, units: unitsB }));
  const cfg = Value.Default(ModbusSourceConfig, {
    id: 'mb',
    kind: 'modbus',
    reconnect: { minMs: 100, maxMs: 400 },
    connectTimeoutMs: 500,
    defaults: { template: 'substation-modbus', host: '127.0.0.1', intervalMs: opts.intervalMs ?? 250, timeoutMs: opts.timeoutMs ?? 200, retries: 1 },
    devices: Array.from({ length: n }, (_, k) => ({ asset: `ss${k + 1}`, unitId: k + 1, port: faces[k + 1 <= split ? 0 : 1]!.ports[0], ...(opts.devices?.(k + 1) ?? {}) })),
  }) as ModbusSourceConfig;
  const readings: Reading[] = [];
  const source = new ModbusSource(cfg, {
    log: silentLogger(),
    clock: systemClock,
    assets: new AssetTree(model.network),
    templates: new Map([['substation-modbus', TEMPLATE]]),
    emit: async (rs) => {
      readings.push(...rs);
    },
    reject: () => {},
  });
  cleanups.push(async () => {
    await source.stop();
    for (const f of faces) await f.close();
  });
  await source.start();
  return {
    model,
    source,
    readings,
    faces,
    of: (asset) => readings.filter((r) => r.asset === asset),
    since: (t, asset) => readings.filter((r) => r.asset === asset && r.ts >= t && r.quality === 'good'),
  };
}

/** How far a polled value may be from the model's: the template's resolution (0.1 °C, 1 kPa, …), float32 rounding. */
function tolerance(field: string, want: number): number {
  if (field.endsWith('_temp_c')) return 0.051;
  if (field.endsWith('_mpa')) return 0.00051;
  if (field.endsWith('_pct') || field.endsWith('_current_a') || field.endsWith('_kwh')) return 0.051;
  if (field.endsWith('_hz')) return 0.0051;
  if (field.endsWith('_m3')) return 0.0051;
  if (field.endsWith('_m')) return 0.00051;
  return Math.max(1e-6, Math.abs(want) * 1e-6);
}

describe('Modbus source against the simulator face', () => {
  it('polls values that match the simulated substations', async () => {
    const r = await rig(3);
    await waitFor(() => ['ss1', 'ss2', 'ss3'].every((a) => r.of(a).some((x) => x.quality === 'good')), 5000, 'a reading from every device');
    await r.source.stop();
    for (const asset of ['ss1', 'ss2', 'ss3']) {
      const got = r.of(asset).filter((x) => x.quality === 'good').at(-1)!;
      const tags = r.model.substationTags(asset) as unknown as Record<string, number | boolean>;
      expect(Object.keys(got.fields).length).toBe(88);
      for (const [k, want] of Object.entries(tags)) {
        const v = got.fields[k];
        if (typeof want === 'boolean') expect(v, k).toBe(want);
        else expect(Math.abs((v as number) - want), `${asset}.${k} = ${String(v)}, model ${want}`).toBeLessThanOrEqual(tolerance(k, want));
      }
      // Values the controller derives from the same physics, through other types and byte orders.
      expect(got.fields['meter_energy_gj']).toBe(tags['heat_energy_gj']);
      expect(Math.abs((got.fields['meter_supply_temp_c'] as number) - (tags['primary_supply_temp_c'] as number))).toBeLessThan(1e-4);
      expect(Math.abs((got.fields['heat_power_w'] as number) - 1000 * (tags['heat_power_kw'] as number))).toBeLessThanOrEqual(0.5);
      expect(got.fields['modbus_unit_id']).toBe(Number(asset.slice(2)));
      expect(got.source).toBe(`modbus:${asset}`);
    }
  });

  it('marks a device that stops answering bad within two intervals while the others keep their rate, and recovers it', async () => {
    const r = await rig(4, { intervalMs: 250, timeoutMs: 150 });
    await waitFor(() => ['ss1', 'ss2', 'ss3', 'ss4'].every((a) => r.since(0, a).length > 0), 5000, 'first readings');
    const fault = r.model.inject({ kind: 'comm_loss', target: 'ss2' });
    const t0 = Date.now();
    await waitFor(() => r.of('ss2').some((x) => x.quality === 'bad' && x.ts >= t0), 3000, 'ss2 marked bad');
    const bad = r.of('ss2').find((x) => x.quality === 'bad' && x.ts >= t0)!;
    expect(bad.ts - t0).toBeLessThanOrEqual(2 * 250 + 250); // two intervals, plus scheduling slack
    expect(Object.keys(bad.fields)).toEqual([]);
    await sleep(2000);
    for (const a of ['ss1', 'ss3', 'ss4']) expect(r.since(t0, a).length, a).toBeGreaterThanOrEqual(6); // 8 due in 2 s
    expect(r.source.health().status).toBe('degraded');
    r.model.clear(fault);
    const t1 = Date.now();
    await waitFor(() => r.since(t1, 'ss2').length > 0, 5000, 'ss2 back');
    const others = r.source.deviceStats().filter((d) => d.id !== 'ss2');
    for (const d of others) expect(d.pollsFailed, d.id).toBe(0);
  });

  it('reconnects on its own after the gateway goes away and comes back on the same port', async () => {
    const r = await rig(4, { split: 2, intervalMs: 250, timeoutMs: 150 });
    await waitFor(() => ['ss1', 'ss2', 'ss3', 'ss4'].every((a) => r.since(0, a).length > 0), 5000, 'first readings');
    const portB = r.faces[1]!.ports[0]!;
    const t0 = Date.now();
    await r.faces[1]!.close(); // a power cut at gateway B: sockets reset, connections refused
    await waitFor(() => ['ss3', 'ss4'].every((a) => r.of(a).some((x) => x.quality === 'bad' && x.ts >= t0)), 1000, 'ss3 and ss4 marked bad');
    await sleep(1500);
    for (const a of ['ss1', 'ss2']) expect(r.since(t0, a).length, a).toBeGreaterThanOrEqual(4);
    expect(r.since(t0 + 200, 'ss3')).toEqual([]);
    r.faces[1] = await startModbusFace(r.model, { port: portB, units: { 3: 'ss3', 4: 'ss4' } });
    const t1 = Date.now();
    await waitFor(() => r.since(t1, 'ss3').length > 0 && r.since(t1, 'ss4').length > 0, 5000, 'ss3 and ss4 back');
    const st = r.source.deviceStats().find((d) => d.id === 'ss3')!;
    expect(st.commOk).toBe(true);
    expect(st.connects).toBeGreaterThan(1);
  });

  it('a device answering after 3 s does not slow the others', async () => {
    const r = await rig(3, { intervalMs: 250, timeoutMs: 150, devices: (i) => (i === 2 ? { timeoutMs: 4000, intervalMs: 1000 } : {}) });
    await waitFor(() => ['ss1', 'ss2', 'ss3'].every((a) => r.since(0, a).length > 0), 5000, 'first readings');
    r.model.inject({ kind: 'slow_device', target: 'ss2', delayMs: 3000 });
    const t0 = Date.now();
    await sleep(3500);
    for (const a of ['ss1', 'ss3']) expect(r.since(t0, a).length, a).toBeGreaterThanOrEqual(10); // 14 due in 3.5 s
    // Each of its four requests answers after 3 s: its polls overrun their cycles (counted as missed), nothing else.
    const slow = (): ReturnType<ModbusSource['deviceStats']>[number] => r.source.deviceStats().find((d) => d.id === 'ss2')!;
    await waitFor(() => slow().maxLatencyMs >= 2900, 5000, 'a 3 s answer');
    expect(slow().missed).toBeGreaterThan(0);
    expect(slow().commOk).toBe(true);
    for (const d of r.source.deviceStats().filter((x) => x.id !== 'ss2')) expect(d.maxLatencyMs, d.id).toBeLessThan(1000);
  });

  it('writes a setpoint that changes the physics and reads it back', async () => {
    const r = await rig(2, { devices: (i) => (i === 1 ? { writes: { enabled: true } } : {}) });
    await waitFor(() => r.since(0, 'ss1').length > 0, 5000, 'first reading');
    const before = r.model.substationTags('ss1').secondary_supply_temp_c;
    const target = Math.round(before - 15);
    const res = await r.source.writePoint('ss1', 'supply_temp_setpoint_c', target);
    expect(res).toMatchObject({ asset: 'ss1', point: 'supply_temp_setpoint_c', requested: target, ok: true });
    expect(res.readBack).toBeCloseTo(target, 4);
    expect(r.model.substationTags('ss1').setpoint_from_curve).toBe(false);
    for (let k = 0; k < 15; k++) r.model.step(60); // 15 simulated minutes
    const t0 = Date.now();
    await waitFor(() => r.since(t0, 'ss1').length > 0, 3000, 'a reading after the steps');
    const polled = r.since(t0, 'ss1').at(-1)!.fields;
    expect(polled['supply_temp_setpoint_c']).toBeCloseTo(target, 4);
    expect(Math.abs((polled['secondary_supply_temp_c'] as number) - target)).toBeLessThan(Math.abs(before - target) / 2);
    // The other substation kept its curve.
    expect(r.model.substationTags('ss2').setpoint_from_curve).toBe(true);

    // A coil (FC5) and a scaled 16-bit register (FC6).
    expect(await r.source.writePoint('ss1', 'setpoint_from_curve', true)).toMatchObject({ ok: true, readBack: true });
    expect(r.model.substationTags('ss1').setpoint_from_curve).toBe(true);
    expect(await r.source.writePoint('ss1', 'pump_dp_setpoint_mpa', 0.12)).toMatchObject({ ok: true, readBack: 0.12 });
    expect(r.model.substation('ss1').pumpDpSetpointMpa).toBeCloseTo(0.12, 9);
  });

  it('refuses writes that are disabled, not writable or out of range, and writes nothing', async () => {
    const r = await rig(2, { devices: (i) => (i === 1 ? { writes: { enabled: true, points: ['supply_temp_setpoint_c'] } } : {}) });
    await waitFor(() => r.since(0, 'ss1').length > 0 && r.since(0, 'ss2').length > 0, 5000, 'first readings');
    const sp1 = r.model.substationTags('ss1').supply_temp_setpoint_c;
    const sp2 = r.model.substationTags('ss2').supply_temp_setpoint_c;
    const cases: [string, string, number | boolean, RegExp][] = [
      ['ss2', 'supply_temp_setpoint_c', 60, /writes are disabled for device ss2/],
      ['ss1', 'outdoor_temp_c', 5, /not writable/],
      ['ss1', 'supply_temp_setpoint_c', 95, /above the maximum 90/],
      ['ss1', 'supply_temp_setpoint_c', 10, /below the minimum 20/],
      ['ss1', 'supply_temp_setpoint_c', Number.NaN, /finite number/],
      ['ss1', 'pump_dp_setpoint_mpa', 0.1, /not in writes.points/],
      ['ss1', 'no_such_point', 1, /has no field/],
      ['ss9', 'supply_temp_setpoint_c', 60, /no device/],
    ];
    for (const [asset, point, value, re] of cases) {
      const err = await r.source.writePoint(asset, point, value).then(
        () => null,
        (e: unknown) => e,
      );
      expect(isWarmgridError(err) && err.code, `${asset}.${point}=${String(value)}`).toBe('WRITE_REFUSED');
      expect((err as Error).message).toMatch(re);
    }
    expect(r.faces[0]!.stats().writes).toBe(0);
    expect(r.model.substationTags('ss1').supply_temp_setpoint_c).toBe(sp1);
    expect(r.model.substationTags('ss2').supply_temp_setpoint_c).toBe(sp2);
    expect(r.source.writablePoints('ss1')).toEqual([{ point: 'supply_temp_setpoint_c', min: 20, max: 90, unit: '°C' }]);
    expect(r.source.writablePoints('ss2')).toEqual([]);
  });

  it('a write the device refuses fails with WRITE_FAILED and the device keeps polling', async () => {
    const r = await rig(1, { devices: () => ({ writes: { enabled: true } }) });
    await waitFor(() => r.since(0, 'ss1').length > 0, 5000, 'first reading');
    r.model.inject({ kind: 'local_mode', target: 'ss1' });
    const err = await r.source.writePoint('ss1', 'supply_temp_setpoint_c', 60).catch((e: unknown) => e);
    expect(isWarmgridError(err) && err.code).toBe('WRITE_FAILED');
    expect((err as Error).message).toMatch(/refused the write: .*exception 4/);
    const t0 = Date.now();
    await waitFor(() => r.since(t0, 'ss1').length > 0, 3000, 'polling goes on');
  });
});
