/**
 * Control end to end: a real hub (state DB, pipeline, HTTP API) polling the simulator's Modbus face, with one device
 * whose writes the source allows (ss01, enabled for control in hub.yaml), one whose writes the source allows but control
 * does not (ss03), and one the source never writes (ss02). Setpoints reach the simulated PLC only through the hub's
 * write flow; the tests check the physics follows and that every refusal leaves the simulator untouched.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { DEFAULT_CONFIG_DIR } from '../config/load.ts';
import type { HubEvent } from '../ingest/live-bus.ts';
import { startModbusFace, type ModbusFace } from '../simulators/faces/modbus/index.ts';
import { createNetworkModel, type NetworkModel } from '../simulators/model/index.ts';
import { startTestHub, type TestHub } from './helpers/hub.ts';

let model: NetworkModel;
let face: ModbusFace;
let t: TestHub;
const events: HubEvent[] = [];

function waitFor(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 8000): Promise<void> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const tick = async (): Promise<void> => {
      if (await cond()) resolve();
      else if (Date.now() - t0 > timeoutMs) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(() => void tick(), 25);
    };
    void tick();
  });
}

const latest = (asset: string, field: string) => t.hub.services.pipeline.latest(asset)?.get(field);
const setpoint = (ss: string) => model.substationTags(ss).supply_temp_setpoint_c;

/**
 * Waits until the hub has polled the simulator's current setpoint (so "current" is what the PLC holds) and returns it
 * as the hub reads it (a float32 register: within 1e-4 of the model's value).
 */
async function polled(ss: string): Promise<number> {
  const seen = () => latest(ss, 'supply_temp_setpoint_c');
  await waitFor(() => seen()?.quality === 'good' && Math.abs((seen()!.value as number) - setpoint(ss)) < 1e-4, `${ss} setpoint polled`);
  return seen()!.value as number;
}

async function post(role: 'engineer' | 'operator' | 'admin' | 'display', url: string, payload: unknown, method: 'POST' | 'PUT' = 'POST') {
  return t.as(role, { method, url, payload: payload as Record<string, unknown> });
}

/** Room temperatures for every apartment of a substation, as thermostats would send them. */
async function postRooms(ss: string, lo: number, hi: number): Promise<void> {
  const ids = t.hub.services.assets.descendants(ss, 'apartment').map((a) => a.id);
  const readings = ids.map((asset, i) => ({ asset, fields: { room_temp_c: Math.round((lo + ((hi - lo) * i) / ids.length) * 10) / 10 } }));
  const res = await post('engineer', '/api/readings', { readings });
  expect(res.json()).toMatchObject({ accepted: ids.length });
}

beforeAll(async () => {
  model = createNetworkModel(parse(readFileSync(path.join(DEFAULT_CONFIG_DIR, 'network.yaml'), 'utf8')) as Record<string, unknown>, { settleHours: 2 });
  face = await startModbusFace(model, { gateways: [{ port: 0, units: { 1: 'ss01', 2: 'ss02', 3: 'ss03' } }] });
  t = await startTestHub({
    hubYaml: 'control: { writes: { enabled: [ss01] } }',
    files: {
      'sources.yaml': `
sources:
  - id: plc
    kind: modbus
    reconnect: { minMs: 100, maxMs: 500 }
    defaults: { template: substation-modbus, host: 127.0.0.1, port: ${face.ports[0]}, intervalMs: 200, timeoutMs: 200 }
    devices:
      - { asset: ss01, unitId: 1, writes: { enabled: true } }
      - { asset: ss02, unitId: 2 }
      - { asset: ss03, unitId: 3, writes: { enabled: true } }
`,
    },
  });
  t.hub.services.bus.onEvent((e) => events.push(e));
  await waitFor(() => ['ss01', 'ss02', 'ss03'].every((s) => latest(s, 'secondary_supply_temp_c')?.quality === 'good' && latest(s, 'outdoor_temp_c') !== undefined), 'three substations polled');
});

afterAll(async () => {
  await t?.close();
  await face?.close();
});

describe('control over Modbus against the simulator', () => {
  it('lists substations with their writers and enablement', async () => {
    const res = await t.as('operator', { method: 'GET', url: '/api/control/substations' });
    expect(res.statusCode).toBe(200);
    type View = { asset: string; writesEnabled: boolean; writer: { available: boolean }; mode: string };
    const by = Object.fromEntries((res.json().substations as View[]).map((s) => [s.asset, s]));
    expect(by['ss01']).toMatchObject({ writesEnabled: true, mode: 'manual', writer: { available: true } });
    expect(by['ss02']).toMatchObject({ writesEnabled: false, writer: { available: false } });
    expect(by['ss03']).toMatchObject({ writesEnabled: false, writer: { available: true } });
  });

  it('writes an approved advice over Modbus, reads it back, the simulated supply follows, and the audit log holds it', async () => {
    const before = await polled('ss01');
    // A curve shifted up 3 K, so the advice differs visibly from what the PLC runs now. The curve change is audited.
    const curve = (await t.as('operator', { method: 'GET', url: '/api/control/substations/ss01/curve' })).json() as { preset: Record<string, unknown> };
    const put = await post('engineer', '/api/control/substations/ss01/curve', { curve: { ...curve.preset, shiftK: 3 }, reason: 'test: warmer' }, 'PUT');
    expect(put.statusCode).toBe(200);

    const adv = await post('engineer', '/api/control/substations/ss01/advice', {});
    expect(adv.statusCode).toBe(200);
    const advice = adv.json().advice as { id: string; valid: boolean; recommendedC: number; explanation: { curveShiftK: number; outdoorSource: string } };
    expect(advice).toMatchObject({ valid: true, explanation: { curveShiftK: 3, outdoorSource: 'substation' } });
    expect(Math.abs(advice.recommendedC - before)).toBeGreaterThan(1);
    expect(events.some((e) => e.topic === 'advice' && (e.data as { id: string }).id === advice.id)).toBe(true);

    const req = await post('engineer', '/api/control/substations/ss01/writes', { adviceId: advice.id });
    expect(req.statusCode).toBe(201);
    const { write, confirmToken } = req.json() as { write: { id: string; status: string; oldValue: number; newValue: number; checks: { ok: boolean }[] }; confirmToken: string };
    expect(write).toMatchObject({ status: 'pending', newValue: advice.recommendedC });
    expect(write.oldValue).toBeCloseTo(before, 6);
    expect(write.checks.every((c) => c.ok)).toBe(true);
    // Requested, not confirmed: nothing has reached the PLC.
    expect(setpoint('ss01')).toBeCloseTo(before, 3);

    const conf = await post('engineer', `/api/control/writes/${write.id}/confirm`, { token: confirmToken });
    expect(conf.statusCode).toBe(200);
    expect(conf.json().write).toMatchObject({ status: 'executed' });
    // The register is a float32: the read-back is the request to within its resolution.
    expect(conf.json().write.readBack).toBeCloseTo(advice.recommendedC, 4);
    expect(setpoint('ss01')).toBeCloseTo(advice.recommendedC, 4);

    // The physics follows: the substation's own loop drives the secondary supply to the new setpoint.
    for (let k = 0; k < 40; k++) model.step(60);
    expect(Math.abs(model.substationTags('ss01').secondary_supply_temp_c - advice.recommendedC)).toBeLessThan(1.5);
    await polled('ss01');

    const audit = await t.as('admin', { method: 'GET', url: '/api/audit?action=setpoint.write&target=ss01' });
    const entry = (audit.json().entries as { ok: boolean; actorName: string; detail: Record<string, unknown> }[]).find((e) => e.detail['writeId'] === write.id)!;
    expect(entry).toMatchObject({ ok: true, actorName: 'test-engineer', detail: { new: advice.recommendedC, result: 'executed', adviceId: advice.id } });
    expect(entry.detail['readBack']).toBeCloseTo(advice.recommendedC, 4);
    expect(entry.detail['old']).toBeCloseTo(before, 6);
    const curveAudit = await t.as('admin', { method: 'GET', url: '/api/audit?action=control.curve&target=ss01' });
    expect(curveAudit.json().entries).toHaveLength(1);
    const hist = await t.as('operator', { method: 'GET', url: '/api/control/substations/ss01/setpoints' });
    expect(hist.json().writes[0]).toMatchObject({ id: write.id, status: 'executed', requestedBy: { name: 'test-engineer' } });
    await post('engineer', '/api/control/substations/ss01/curve', { curve: null, reason: 'test: back to the preset' }, 'PUT');
  });

  it('refuses a write out of bounds, by a role without the right, or to a disabled substation, and writes nothing', async () => {
    const ss01 = await polled('ss01');
    const ss03 = await polled('ss03');
    const refused = async (role: 'engineer' | 'operator' | 'admin', ss: string, payload: Record<string, unknown>, status: number, code: string, failed?: string[]) => {
      const res = await post(role, `/api/control/substations/${ss}/writes`, payload);
      expect(res.statusCode, res.body).toBe(status);
      expect(res.json().error.code).toBe(code);
      if (failed) {
        const names = (res.json().error.details.checks as { name: string; ok: boolean }[]).filter((c) => !c.ok).map((c) => c.name);
        for (const f of failed) expect(names).toContain(f);
      }
      return res.json().error as { message: string };
    };

    const hi = await refused('engineer', 'ss01', { value: 95, reason: 'test' }, 409, 'WRITE_REFUSED', ['max', 'step', 'rate']);
    expect(hi.message).toContain('max');
    await refused('engineer', 'ss01', { value: Math.round(ss01 + 6), reason: 'test: too big a step' }, 409, 'WRITE_REFUSED', ['step']);
    await refused('operator', 'ss01', { value: ss01 + 1, reason: 'test' }, 403, 'FORBIDDEN');
    await refused('admin', 'ss01', { value: ss01 + 1, reason: 'test' }, 403, 'FORBIDDEN');
    const off = await refused('engineer', 'ss03', { value: ss03 + 1, reason: 'test' }, 409, 'WRITE_REFUSED', ['enabled']);
    expect(off.message).toContain('disabled');
    await refused('engineer', 'ss02', { value: 50, reason: 'test' }, 409, 'WRITE_REFUSED', ['writer', 'enabled']);
    await refused('engineer', 'ss01', { value: ss01 + 1 }, 400, 'BAD_REQUEST');

    // A request that is never confirmed, one confirmed with the wrong token, one cancelled: none reaches the PLC.
    const a = (await post('engineer', '/api/control/substations/ss01/writes', { value: ss01 + 1, reason: 'test: left unconfirmed' })).json() as { write: { id: string } };
    const b = (await post('engineer', '/api/control/substations/ss01/writes', { value: ss01 + 1, reason: 'test: wrong token' })).json() as { write: { id: string } };
    const wrong = await post('engineer', `/api/control/writes/${b.write.id}/confirm`, { token: 'not-the-token' });
    expect(wrong.statusCode).toBe(409);
    expect(wrong.json().error.code).toBe('WRITE_REFUSED');
    expect((await post('engineer', `/api/control/writes/${b.write.id}/cancel`, {})).json().write.status).toBe('cancelled');
    expect((await post('operator', `/api/control/writes/${a.write.id}/confirm`, { token: 'x' })).statusCode).toBe(403);

    expect(setpoint('ss01')).toBeCloseTo(ss01, 3);
    expect(setpoint('ss03')).toBeCloseTo(ss03, 3);
    expect(model.substationTags('ss02').setpoint_from_curve).toBe(true);
    const pending = await t.as('operator', { method: 'GET', url: '/api/control/writes?status=pending' });
    expect((pending.json().writes as { id: string }[]).map((w) => w.id)).toContain(a.write.id);
    const refusedAudit = await t.as('admin', { method: 'GET', url: '/api/audit?action=setpoint.write&target=ss03' });
    expect(refusedAudit.json().entries[0]).toMatchObject({ ok: false, detail: { result: 'refused' } });
    await post('engineer', `/api/control/writes/${a.write.id}/cancel`, {});
  });

  it('enables writes through the API (audited), and a write then goes through', async () => {
    const en = await post('engineer', '/api/control/substations/ss03/writes-enabled', { enabled: true, reason: 'test: commissioning' }, 'PUT');
    expect(en.json().substation).toMatchObject({ writesEnabled: true, writesEnabledSource: 'api' });
    const ss03 = await polled('ss03');
    const value = Math.round((ss03 - 2) * 10) / 10;
    const req = (await post('engineer', '/api/control/substations/ss03/writes', { value, reason: 'test: commissioning step' })).json() as { write: { id: string }; confirmToken: string };
    const conf = await post('engineer', `/api/control/writes/${req.write.id}/confirm`, { token: req.confirmToken });
    expect(conf.json().write).toMatchObject({ status: 'executed' });
    expect(conf.json().write.readBack).toBeCloseTo(value, 4);
    expect(setpoint('ss03')).toBeCloseTo(value, 4);
    const audit = await t.as('admin', { method: 'GET', url: '/api/audit?action=control.writes_enabled&target=ss03' });
    expect(audit.json().entries[0]).toMatchObject({ ok: true, actorName: 'test-engineer', detail: { before: false, after: true, reason: 'test: commissioning' } });
    await post('engineer', '/api/control/substations/ss03/writes-enabled', { enabled: false, reason: 'test: done' }, 'PUT');
  });

  it('uses the weather forecast: a cold snap ahead raises the advice before the rooms cool', async () => {
    const outdoor = latest('ss01', 'outdoor_temp_c')!.value as number;
    await postRooms('ss01', 19, 22);
    const weather = (h: number, c: number) => ({ asset: 'ws1', fields: { outdoor_temp_c: outdoor, forecast_1h_temp_c: c, forecast_3h_temp_c: c, forecast_6h_temp_c: c, forecast_12h_temp_c: c, forecast_24h_temp_c: c }, ts: Date.now() - h });
    await post('engineer', '/api/readings', { readings: [weather(0, outdoor)] });
    const calm = (await post('engineer', '/api/control/substations/ss01/advice', {})).json().advice as { recommendedC: number; explanation: { forecast: { used: boolean }; forecastTermK: number } };
    await post('engineer', '/api/readings', { readings: [weather(0, outdoor - 10)] });
    const snap = (await post('engineer', '/api/control/substations/ss01/advice', {})).json().advice as typeof calm;
    expect(calm.explanation.forecast.used).toBe(true);
    expect(snap.explanation.forecastTermK).toBeGreaterThan(calm.explanation.forecastTermK + 3);
    expect(snap.recommendedC).toBeGreaterThan(calm.recommendedC + 3);
    await post('engineer', '/api/readings', { readings: [weather(0, outdoor)] });
  });

  it('auto mode applies advice within its bounds and drops to manual with an alarm when the supply sensor goes bad', async () => {
    await postRooms('ss01', 19, 22);
    const on = await post('engineer', '/api/control/substations/ss01/mode', { mode: 'auto', reason: 'test: auto' }, 'PUT');
    expect(on.statusCode, on.body).toBe(200);
    expect(on.json().substation.mode).toBe('auto');
    const before = await polled('ss01');
    await post('engineer', '/api/control/substations/ss01/advice', {});
    const writes = (await t.as('operator', { method: 'GET', url: '/api/control/substations/ss01/setpoints?limit=1' })).json().writes as { mode: string; status: string; newValue: number; requestedBy: { id: string } }[];
    // The preset advice sits about 3 K below what the first test left on the PLC: auto moves one 2 K step toward it.
    expect(writes[0]).toMatchObject({ mode: 'auto', status: 'executed', requestedBy: { id: 'system' } });
    expect(Math.abs(writes[0]!.newValue - before)).toBeLessThanOrEqual(2 + 1e-4);
    expect(setpoint('ss01')).toBeCloseTo(writes[0]!.newValue, 4);

    const fault = model.inject({ kind: 'comm_loss', target: 'ss01' });
    await waitFor(() => latest('ss01', 'secondary_supply_temp_c')?.quality === 'bad', 'ss01 readings bad', 8000);
    const held = setpoint('ss01');
    await post('engineer', '/api/control/substations/ss01/advice', {});
    const view = (await t.as('operator', { method: 'GET', url: '/api/control/substations/ss01' })).json().substation as { mode: string };
    expect(view.mode).toBe('manual');
    const alarm = events.find((e) => e.topic === 'alarms' && (e.data as { type: string }).type === 'control.auto_off');
    expect(alarm?.data).toMatchObject({ asset: 'ss01', reason: expect.stringContaining('supply temperature') });
    expect(setpoint('ss01')).toBe(held);
    const audit = await t.as('admin', { method: 'GET', url: '/api/audit?action=control.mode&target=ss01' });
    expect(audit.json().entries[0]).toMatchObject({ ok: false, actor: 'system', detail: { before: 'auto', after: 'manual' } });
    model.clear(fault);
  });

  it('serves the 24 h load forecast, saying when there is not enough history', async () => {
    const res = await t.as('display', { method: 'GET', url: '/api/control/forecast' });
    expect(res.statusCode).toBe(200);
    const body = res.json() as { totals: { heat: { unit: string } }; substations: { asset: string; quantities: { heat: { total: number | null; note: string | null } } }[] };
    expect(body.totals.heat.unit).toBe('kWh');
    expect(body.substations.find((s) => s.asset === 'ss01')!.quantities.heat.note).toContain('not enough history');
  });
});
