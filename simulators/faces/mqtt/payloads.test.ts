import { describe, expect, it } from 'vitest';
import type { ApartmentTable, ForecastPoint } from '../../model/index.ts';
import { GARBAGE_KINDS, garbageMessage, GarbageRng } from './garbage.ts';
import { apartmentTopics, tenths, thermostatPayload, weatherPayload, whole } from './payloads.ts';
import { SpreadSchedule } from './schedule.ts';

function table(rows: { id: string; b: number; room: number; sp: number; valve: number; battery: number; rssi: number }[], buildingIds: string[]): ApartmentTable {
  const f = (k: 'room' | 'sp' | 'valve' | 'battery' | 'rssi'): Float64Array => Float64Array.from(rows.map((r) => r[k]));
  const n = rows.length;
  return {
    count: n,
    ids: rows.map((r) => r.id),
    buildingIndex: Int32Array.from(rows.map((r) => r.b)),
    buildingIds,
    suspended: new Uint8Array(n),
    room_temp_c: f('room'),
    setpoint_c: f('sp'),
    valve_pct: f('valve'),
    battery_pct: f('battery'),
    rssi_dbm: f('rssi'),
    comm_loss: new Uint8Array(n),
    slow_ms: new Float64Array(n),
    truth: { air_temp_c: f('room'), mass_temp_c: f('room'), heat_w: f('room'), flow_m3h: f('room'), return_temp_c: f('room') },
  };
}

describe('payloads', () => {
  it('rounds to the device resolution and writes NaN as null', () => {
    expect(tenths(20.449)).toBe('20.4');
    expect(tenths(20.45)).toBe('20.5');
    expect(tenths(-0.04)).toBe('0');
    expect(tenths(NaN)).toBe('null');
    expect(tenths(Infinity)).toBe('null');
    expect(whole(59.5)).toBe('60');
    expect(whole(-71.4)).toBe('-71');
  });

  it('names each apartment topic by substation, building and FFUU', () => {
    const network = { heatSources: [{ networks: [{ substations: [{ id: 'ss1', buildings: [{ id: 'ss1-b1' }] }, { id: 'ss2', buildings: [{ id: 'ss2-b1' }] }] }] }] };
    const t = table(
      [
        { id: 'ss1-b1-0101', b: 0, room: 20, sp: 21, valve: 50, battery: 80, rssi: -70 },
        { id: 'ss2-b1-1203', b: 1, room: 20, sp: 21, valve: 50, battery: 80, rssi: -70 },
      ],
      ['ss1-b1', 'ss2-b1'],
    );
    expect(apartmentTopics(network, t, 'warmgrid')).toEqual(['warmgrid/ss1/ss1-b1/0101/telemetry', 'warmgrid/ss2/ss2-b1/1203/telemetry']);
  });

  it('writes a thermostat sample as docs/mqtt.md shows it, leaving out a missing setpoint', () => {
    const t = table(
      [
        { id: 'b-0101', b: 0, room: 20.4372, sp: 21, valve: 59.6, battery: 87.2, rssi: -71.3 },
        { id: 'b-0102', b: 0, room: NaN, sp: NaN, valve: 0, battery: 40, rssi: -90 },
      ],
      ['b'],
    );
    expect(JSON.parse(thermostatPayload(t, 0, 1768456800000.4))).toEqual({ ts: 1768456800000, room_temp_c: 20.4, setpoint_c: 21, valve_pct: 60, battery_pct: 87, rssi_dbm: -71 });
    const dead = JSON.parse(thermostatPayload(t, 1, 1768456800000)) as Record<string, unknown>;
    expect(dead).toEqual({ ts: 1768456800000, room_temp_c: null, valve_pct: 0, battery_pct: 40, rssi_dbm: -90 });
    expect('setpoint_c' in dead).toBe(false);
  });

  it('writes weather with its forecast, ISO timestamps and wind as wind_ms', () => {
    const ts = Date.UTC(2026, 0, 15, 6, 20);
    const fc: ForecastPoint[] = [1, 2].map((h) => ({ ts: Date.UTC(2026, 0, 15, 6 + h), outdoor_temp_c: -3.04 - h, humidity_pct: 80.4, wind_speed_ms: 3.06, solar_wm2: 0, cloud_cover_pct: 50, issued_ts: Date.UTC(2026, 0, 15, 6), lead_h: h }));
    const doc = JSON.parse(weatherPayload({ outdoor_temp_c: -2.46, humidity_pct: 81.4, wind_speed_ms: 3.14, solar_wm2: 0.4 }, fc, ts)) as Record<string, unknown>;
    expect(doc).toEqual({
      ts: '2026-01-15T06:20:00.000Z',
      outdoor_temp_c: -2.5,
      humidity_pct: 81,
      wind_ms: 3.1,
      solar_wm2: 0,
      forecast: [
        { ts: '2026-01-15T07:00:00.000Z', outdoor_temp_c: -4, humidity_pct: 80, wind_ms: 3.1, solar_wm2: 0 },
        { ts: '2026-01-15T08:00:00.000Z', outdoor_temp_c: -5, humidity_pct: 80, wind_ms: 3.1, solar_wm2: 0 },
      ],
    });
  });
});

describe('SpreadSchedule', () => {
  it('makes each publisher due once per interval, evenly spaced', () => {
    const s = new SpreadSchedule(4, 60_000, 15_000);
    expect(s.dueEnd(14_999)).toBe(0);
    expect(s.dueEnd(15_000)).toBe(1);
    expect(s.dueEnd(29_999)).toBe(1);
    expect(s.dueEnd(30_000)).toBe(2);
    expect(s.dueEnd(74_999)).toBe(4);
    expect(s.dueEnd(75_000)).toBe(5);
    expect([0, 1, 2, 3, 4, 5].map((k) => s.itemOf(k))).toEqual([0, 1, 2, 3, 0, 1]);
  });

  it('with phase 1, makes the whole first round due exactly one interval after the origin', () => {
    const origin = 1_795_225_256_744;
    for (const count of [1987, 3, 100_000, 7919]) {
      const s = new SpreadSchedule(count, 60_000, origin, 1);
      expect(s.dueEnd(origin)).toBe(0);
      expect(s.dueEnd(origin + 60_000 / count - 0.001)).toBe(0);
      expect(s.dueEnd(origin + 60_000 - 0.01)).toBe(count - 1);
      expect(s.dueEnd(origin + 60_000)).toBe(count);
      expect(s.dueEnd(origin + 120_000)).toBe(2 * count);
    }
  });

  it('drops what fell more than `keep` slots behind', () => {
    const s = new SpreadSchedule(10, 10_000, 0);
    s.next = 3;
    expect(s.backlog(100_000)).toBe(98);
    expect(s.skipTo(100_000, 10)).toBe(88);
    expect(s.next).toBe(91);
    expect(s.backlog(100_000)).toBe(10);
    expect(s.skipTo(100_000, 0)).toBe(10);
  });
});

describe('garbage', () => {
  const topics = ['warmgrid/ss1/ss1-b1/0101/telemetry', 'warmgrid/ss1/ss1-b1/0102/telemetry'];
  const ctx = { topics, nowMs: 1_768_456_800_000, wallMs: 1_768_456_800_000, oversizeBytes: 70_000 };

  it('makes each kind bad in the way it claims', () => {
    const rng = new GarbageRng(3);
    for (let k = 0; k < 60; k++) {
      const kind = GARBAGE_KINDS[k % GARBAGE_KINDS.length]!;
      const m = garbageMessage(kind, ctx, rng);
      expect(m.kind).toBe(kind);
      const text = m.payload.toString('utf8');
      let doc: unknown;
      try {
        doc = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(m.payload));
      } catch {
        doc = undefined;
      }
      const obj = doc !== null && typeof doc === 'object' && !Array.isArray(doc) ? (doc as Record<string, unknown>) : null;
      switch (kind) {
        case 'malformed_json':
          expect(obj).toBeNull();
          break;
        case 'wrong_type':
          expect(Object.entries(obj!).filter(([key, v]) => key !== 'ts' && typeof v !== 'number')).toHaveLength(1);
          break;
        case 'unknown_apartment':
          expect(topics).not.toContain(m.topic);
          expect(obj!['room_temp_c']).toBe(20.5);
          break;
        case 'out_of_range':
          expect(Math.abs(obj!['room_temp_c'] as number)).toBeGreaterThan(45);
          break;
        case 'future_ts':
          expect(obj!['ts'] as number).toBeGreaterThan(ctx.wallMs + 86_000_000);
          break;
        case 'oversize':
          expect(m.payload.length).toBe(70_000);
          expect(text.startsWith('{"ts":')).toBe(true);
          break;
      }
    }
  });
});
