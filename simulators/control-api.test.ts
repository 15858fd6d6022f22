/** The control API over app.inject, against a real (small) model run by the runtime; no faces. */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulators, type Simulators } from './runtime.ts';

function network(): Record<string, unknown> {
  return {
    company: { id: 'co', name: 'Co' },
    climate: { city: 'Jinan', designOutdoorC: -5.3 },
    heatSources: [
      {
        id: 'hs1',
        name: 'Plant',
        networks: [{ id: 'n1', name: 'Net', substations: [{ id: 'ss1', name: 'S1', buildings: [{ id: 'ss1-b1', name: 'B1', floors: 4, unitsPerFloor: 3, suspended: ['0302'] }] }] }],
      },
    ],
    weatherStations: [{ id: 'ws1', name: 'Station' }],
  };
}

let sims: Simulators;

beforeAll(async () => {
  sims = await startSimulators({ network: network(), settleHours: 1, timeScale: 0, start: Date.UTC(2026, 0, 15), log: pino({ level: 'silent' }) });
});
afterAll(async () => {
  await sims?.close();
});

async function call(method: 'GET' | 'POST' | 'DELETE', url: string, payload?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await sims.control.inject({ method, url, ...(payload !== undefined ? { payload: payload as object } : {}) });
  return { status: res.statusCode, body: res.body ? (res.json() as Record<string, unknown>) : {} };
}

function errorOf(body: Record<string, unknown>): { code: string; message: string } {
  return body['error'] as { code: string; message: string };
}

describe('control API', () => {
  it('reports health', async () => {
    const { status, body } = await call('GET', '/health');
    expect(status).toBe(200);
    expect(body).toMatchObject({ status: 'ok', apartments: 12, substations: 1, weatherStations: 1, faults: 0, faces: { mqtt: null, modbus: null, http: null } });
  });

  it('injects, lists and clears faults', async () => {
    const leak = await call('POST', '/faults', { kind: 'leak', target: 'ss1' });
    expect(leak).toEqual({ status: 201, body: { id: expect.stringMatching(/^F\d{4}$/) as unknown } });
    expect((await call('GET', '/faults')).body['faults']).toMatchObject([{ spec: { kind: 'leak', target: 'ss1' } }]);
    const cold = await call('POST', '/faults', { kind: 'cold_apartment', target: 'ss1-b1-0201' });
    const dead = await call('POST', '/faults', { kind: 'sensor_dead', target: 'ss1-b1-0101', tag: 'room_temp_c' });
    expect(dead.status).toBe(201);

    const list = await call('GET', '/faults');
    expect((list.body['faults'] as { id: string; layer: string; spec: { kind: string } }[]).map((f) => [f.id, f.layer, f.spec.kind])).toEqual([
      [leak.body['id'], 'model', 'leak'],
      [cold.body['id'], 'model', 'cold_apartment'],
      [dead.body['id'], 'model', 'sensor_dead'],
    ]);

    // The physics follows: make-up flow rises with the leak.
    const before = (await call('GET', '/substations/ss1')).body['tags'] as Record<string, number>;
    expect((await call('POST', '/time', { advanceS: 600 })).status).toBe(200);
    const after = (await call('GET', '/substations/ss1')).body['tags'] as Record<string, number>;
    expect(after['makeup_flow_m3h']!).toBeGreaterThan(before['makeup_flow_m3h']! * 2);
    expect(after['tank_level_m']!).toBeLessThan(before['tank_level_m']!);
    // A dead sensor reads null over JSON.
    expect((await call('GET', '/apartments/ss1-b1-0101')).body['room_temp_c']).toBeNull();

    expect((await call('DELETE', `/faults/${String(leak.body['id'])}`)).status).toBe(204);
    const again = await call('DELETE', `/faults/${String(leak.body['id'])}`);
    expect(again.status).toBe(404);
    expect(errorOf(again.body).code).toBe('NOT_FOUND');
    expect(await call('DELETE', '/faults')).toEqual({ status: 200, body: { cleared: 2 } });
    expect((await call('GET', '/faults')).body['faults']).toEqual([]);
  });

  it.each([
    ['an unknown kind', { kind: 'meteor', target: 'ss1' }, 'BAD_FAULT', /unknown fault kind "meteor"; known kinds: leak, pump_trip/],
    ['no kind', { target: 'ss1' }, 'BAD_REQUEST', /kind/],
    ['a missing target', { kind: 'pump_trip' }, 'BAD_FAULT', /pump_trip: \/target: Expected required property/],
    ['a wrong type', { kind: 'leak', target: 'ss1', rateM3h: 'lots' }, 'BAD_FAULT', /leak: \/rateM3h: Expected number/],
    ['a value out of range', { kind: 'cold_apartment', target: 'ss1-b1-0101', factor: 3 }, 'BAD_FAULT', /cold_apartment: \/factor: Expected number to be less or equal to 1/],
    ['an unknown property', { kind: 'pump_trip', target: 'ss1', hard: true }, 'BAD_FAULT', /pump_trip: \/hard: Unexpected property/],
    ['an unknown target', { kind: 'leak', target: 'ss9' }, 'UNKNOWN_TARGET', /no asset "ss9"/],
    ['a fault on the wrong kind of asset', { kind: 'pump_trip', target: 'ss1-b1-0101' }, 'BAD_FAULT', /pump_trip does not apply to a apartment \(applies to: substation\)/],
    ['an unknown tag', { kind: 'sensor_stuck', target: 'ss1', tag: 'colour' }, 'UNKNOWN_TAG', /"colour" is not a numeric substation tag/],
    ['heat theft at an active account', { kind: 'stolen_heat', target: 'ss1-b1-0101' }, 'BAD_FAULT', /applies to a suspended account/],
    ['a flood rate of 0', { kind: 'garbage_flood', ratePerS: 0, durationS: 5 }, 'BAD_FAULT', /garbage_flood: \/ratePerS: Expected number to be greater or equal to 1/],
    ['an unknown garbage kind', { kind: 'garbage_flood', ratePerS: 5, durationS: 5, kinds: ['spam'] }, 'BAD_FAULT', /garbage_flood: \/kinds\/0/],
  ])('refuses %s with 400 and a clear message', async (_what, spec, code, message) => {
    const { status, body } = await call('POST', '/faults', spec);
    expect(status).toBe(400);
    expect(errorOf(body).code).toBe(code);
    expect(errorOf(body).message).toMatch(message);
  });

  it('refuses a body that is not JSON, and a face fault whose face is not running', async () => {
    const res = await sims.control.inject({ method: 'POST', url: '/faults', headers: { 'content-type': 'application/json' }, payload: '{"kind":' });
    expect(res.statusCode).toBe(400);
    const flood = await call('POST', '/faults', { kind: 'garbage_flood', ratePerS: 50, durationS: 10 });
    expect(flood.status).toBe(409);
    expect(errorOf(flood.body)).toMatchObject({ code: 'FACE_NOT_RUNNING', message: expect.stringMatching(/MQTT face, which is not running/) as unknown });
  });

  it('reads and sets the clock', async () => {
    const t0 = (await call('GET', '/time')).body;
    expect(t0).toMatchObject({ timeScale: 0 });
    const t1 = await call('POST', '/time', { advanceS: 3600 });
    expect(t1.body['now']).toBe((t0['now'] as number) + 3_600_000);
    expect(t1.body['modelNow']).toBe(t1.body['now']);
    expect((await call('POST', '/time', { scale: 60 })).body['timeScale']).toBe(60);
    expect(sims.timeScale()).toBe(60);
    expect((await call('POST', '/time', { scale: 0 })).body['timeScale']).toBe(0);
    expect((await call('POST', '/time', {})).status).toBe(400);
    const neg = await call('POST', '/time', { scale: -1 });
    expect(neg.status).toBe(400);
    expect(errorOf(neg.body).code).toBe('BAD_REQUEST');
  });

  it('shows substations, apartments and weather, and 404s unknown ids', async () => {
    expect((await call('GET', '/substations')).body).toEqual({ substations: ['ss1'] });
    const ss = await call('GET', '/substations/ss1');
    expect(ss.status).toBe(200);
    expect(ss.body).toMatchObject({ id: 'ss1', flags: { comm_loss: false, slow_ms: 0 } });
    expect(Object.keys(ss.body['tags'] as object)).toContain('secondary_supply_temp_c');
    expect((await call('GET', '/substations/ss9')).status).toBe(404);

    const apt = await call('GET', '/apartments/ss1-b1-0302');
    expect(apt.body).toMatchObject({ id: 'ss1-b1-0302', building: 'ss1-b1', account: 'suspended', topic: null, flags: { comm_loss: false } });
    expect(typeof (apt.body['truth'] as Record<string, number>)['air_temp_c']).toBe('number');
    const missing = await call('GET', '/apartments/ss1-b1-9999');
    expect(missing.status).toBe(404);
    expect(errorOf(missing.body).message).toMatch(/no apartment ss1-b1-9999/);

    const w = await call('GET', '/weather');
    expect(Object.keys(w.body['stations'] as object)).toEqual(['ws1']);
    expect((w.body['forecast'] as unknown[]).length).toBe(48);
    expect((await call('GET', '/nowhere')).status).toBe(404);
  });
});
