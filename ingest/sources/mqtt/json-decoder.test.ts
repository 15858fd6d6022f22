import { describe, expect, it } from 'vitest';
import { decodeJson, parseTs } from './json-decoder.ts';

const opts = { forecastHorizonsH: [1, 3, 6] };
const enc = (v: unknown): Uint8Array => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));
const T0 = Date.UTC(2026, 0, 15, 6, 0, 0);
const H = 3_600_000;

describe('decodeJson', () => {
  it('decodes a thermostat sample', () => {
    const r = decodeJson(enc({ ts: T0, room_temp_c: 20.4, setpoint_c: 21, valve_pct: 60, battery_pct: 87, rssi_dbm: -71 }), opts);
    expect(r).toEqual({ ok: true, ts: T0, quality: 'good', fields: { room_temp_c: 20.4, setpoint_c: 21, valve_pct: 60, battery_pct: 87, rssi_dbm: -71 }, problems: [] });
  });

  it.each([
    ['ISO time', { ts: '2026-01-15T06:00:00Z', a_c: 1 }, T0],
    ['ISO time with offset', { ts: '2026-01-15T14:00:00+08:00', a_c: 1 }, T0],
    ['no ts', { a_c: 1 }, null],
  ])('timestamps: %s', (_n, doc, ts) => {
    const r = decodeJson(enc(doc), opts);
    expect(r.ok && r.ts).toBe(ts);
  });

  it.each([
    ['not JSON', '{"room_temp_c": 2', 'malformed'],
    ['invalid UTF-8', Buffer.from([0x7b, 0xff, 0x7d]), 'malformed'],
    ['an array', [1, 2], 'malformed'],
    ['a number', '42', 'malformed'],
    ['null', 'null', 'malformed'],
    ['ts is a word', { ts: 'yesterday', a_c: 1 }, 'ts_invalid'],
    ['ts is an object', { ts: { s: 1 }, a_c: 1 }, 'ts_invalid'],
    ['quality unknown', { quality: 'great', a_c: 1 }, 'invalid_quality'],
  ])('rejects the whole payload: %s', (_n, doc, reason) => {
    const r = decodeJson(doc instanceof Buffer ? doc : enc(doc), opts);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toBe(reason);
  });

  it.each([
    ['string value', { room_temp_c: '20.4', valve_pct: 60 }],
    ['object value', { room_temp_c: { v: 20 }, valve_pct: 60 }],
    ['array value', { room_temp_c: [20], valve_pct: 60 }],
  ])('drops a field of the wrong type and keeps the rest: %s', (_n, doc) => {
    const r = decodeJson(enc(doc), opts);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect({ ...r.fields }).toEqual({ valve_pct: 60 });
    expect(r.problems.map((p) => p.reason)).toEqual(['wrong_type']);
  });

  it('skips nulls, keeps booleans, renames by the template, passes quality', () => {
    const r = decodeJson(enc({ t: 19.5, heating: true, window_open: null, quality: 'uncertain' }), { ...opts, rename: { t: 'room_temp_c' } });
    expect(r.ok && { ...r.fields }).toEqual({ room_temp_c: 19.5, heating: true });
    expect(r.ok && r.quality).toBe('uncertain');
  });

  it('keeps "__proto__" as an ordinary key (the pipeline rejects the name) without touching prototypes', () => {
    const r = decodeJson(enc('{"__proto__": {"polluted": 1}, "a_c": 1}'), opts);
    expect(r.ok).toBe(true);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('turns a weather forecast into forecast_<h>h_ fields at the configured horizons', () => {
    const forecast = [0, 1, 2, 3, 4, 5, 6, 7].map((h) => ({ ts: T0 + h * H + 60_000, outdoor_temp_c: -2 - h, wind_ms: h }));
    const r = decodeJson(enc({ ts: T0, outdoor_temp_c: -1.5, humidity_pct: 80, wind_ms: 3.2, solar_wm2: 0, forecast }), opts);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect({ ...r.fields }).toEqual({
      outdoor_temp_c: -1.5,
      humidity_pct: 80,
      wind_ms: 3.2,
      solar_wm2: 0,
      forecast_1h_temp_c: -3,
      forecast_1h_wind_ms: 1,
      forecast_3h_temp_c: -5,
      forecast_3h_wind_ms: 3,
      forecast_6h_temp_c: -8,
      forecast_6h_wind_ms: 6,
    });
    expect(r.problems).toEqual([]);
  });

  it('leaves out horizons the forecast does not reach', () => {
    const r = decodeJson(enc({ ts: T0, outdoor_temp_c: 1, forecast: [{ ts: T0 + H, outdoor_temp_c: 0 }] }), opts);
    expect(r.ok && Object.keys(r.fields)).toEqual(['outdoor_temp_c', 'forecast_1h_temp_c']);
  });

  it.each([
    ['not an array', { ts: T0, outdoor_temp_c: 1, forecast: 5 }, 'wrong_type'],
    ['point without ts', { ts: T0, outdoor_temp_c: 1, forecast: [{ outdoor_temp_c: 0 }] }, 'wrong_type'],
    ['string value', { ts: T0, outdoor_temp_c: 1, forecast: [{ ts: T0 + H, outdoor_temp_c: 'cold' }] }, 'wrong_type'],
    ['no sample ts', { outdoor_temp_c: 1, forecast: [{ ts: T0 + H, outdoor_temp_c: 0 }] }, 'ts_invalid'],
  ])('reports a bad forecast and keeps the sample: %s', (_n, doc, reason) => {
    const r = decodeJson(enc(doc), opts);
    expect(r.ok && { ...r.fields }).toEqual({ outdoor_temp_c: 1 });
    expect(r.ok && r.problems.map((p) => p.reason)).toEqual([reason]);
  });
});

describe('parseTs', () => {
  it.each([
    [T0, T0],
    [T0 + 0.4, T0],
    ['2026-01-15T06:00:00.000Z', T0],
    ['2026-01-15', NaN],
    [Infinity, NaN],
    [true, NaN],
  ])('%s', (v, want) => {
    expect(parseTs(v)).toBe(want);
  });
});
