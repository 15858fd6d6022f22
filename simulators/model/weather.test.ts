import { describe, expect, it } from 'vitest';
import { Weather } from './weather.ts';

const JAN_15 = Date.UTC(2026, 0, 15, 0, 0, 0);
const HOUR = 3_600_000;

function series(w: Weather, from: number, hours: number): number[] {
  return Array.from({ length: hours }, (_, h) => w.at(from + h * HOUR).outdoor_temp_c);
}

describe('weather', () => {
  it('is deterministic per seed and differs between seeds', () => {
    const a = series(new Weather(42), JAN_15, 72);
    expect(series(new Weather(42), JAN_15, 72)).toEqual(a);
    expect(series(new Weather(43), JAN_15, 72)).not.toEqual(a);
  });

  it('is a function of time only: stepping order does not matter', () => {
    const w = new Weather(5);
    const later = w.at(JAN_15 + 30 * HOUR);
    w.at(JAN_15);
    expect(new Weather(5).at(JAN_15 + 30 * HOUR)).toEqual(later);
  });

  it('gives a Jinan-like January: mean near 0 °C, daily cycle coldest before dawn', () => {
    const w = new Weather(1);
    const month = series(w, Date.UTC(2026, 0, 1), 31 * 24);
    const avg = month.reduce((a, b) => a + b, 0) / month.length;
    expect(avg).toBeGreaterThan(-5);
    expect(avg).toBeLessThan(4);
    // Averaged over the month, 06:00 local (22:00 UTC) is colder than 14:00 local (06:00 UTC).
    const at = (utcHour: number): number => {
      let s = 0;
      for (let d = 0; d < 31; d++) s += w.at(Date.UTC(2026, 0, 1 + d, utcHour)).outdoor_temp_c;
      return s / 31;
    };
    expect(at(22)).toBeLessThan(at(6) - 3);
  });

  it('has sun by day and none at night, humidity and wind in range', () => {
    const w = new Weather(1);
    expect(w.at(Date.UTC(2026, 0, 15, 4)).solar_wm2).toBeGreaterThan(50); // 12:00 local
    expect(w.at(Date.UTC(2026, 0, 15, 16)).solar_wm2).toBe(0); // 00:00 local
    for (let h = 0; h < 24 * 10; h++) {
      const s = w.at(JAN_15 + h * HOUR);
      expect(s.humidity_pct).toBeGreaterThanOrEqual(12);
      expect(s.humidity_pct).toBeLessThanOrEqual(98);
      expect(s.wind_speed_ms).toBeGreaterThanOrEqual(0);
      expect(s.solar_wm2).toBeLessThan(800);
    }
  });

  it('a scripted cold snap lowers the temperature by its depth on the plateau', () => {
    const snap = { startMs: JAN_15, depthK: 8, durationH: 24 };
    const plain = new Weather(3);
    const cold = new Weather(3, { coldSnaps: [snap] });
    const mid = JAN_15 + 20 * HOUR;
    expect(plain.at(mid).outdoor_temp_c - cold.at(mid).outdoor_temp_c).toBeCloseTo(8, 6);
    expect(cold.at(JAN_15 - HOUR).outdoor_temp_c).toBe(plain.at(JAN_15 - HOUR).outdoor_temp_c);
    expect(cold.at(JAN_15 + 100 * HOUR).outdoor_temp_c).toBe(plain.at(JAN_15 + 100 * HOUR).outdoor_temp_c);
    expect(cold.at(mid).wind_speed_ms).toBeGreaterThan(plain.at(mid).wind_speed_ms);
  });

  it('forecasts 48 hourly points from the last whole hour, error growing with lead time', () => {
    const w = new Weather(9);
    const now = JAN_15 + 25 * 60_000;
    const f = w.forecast(now, 48);
    expect(f).toHaveLength(48);
    expect(f[0]!.issued_ts).toBe(JAN_15);
    expect(f[0]!.ts).toBe(JAN_15 + HOUR);
    expect(f[23]!.ts).toBe(JAN_15 + 24 * HOUR);
    expect(f.every((p, i) => p.lead_h === i + 1)).toBe(true);
    // Same issue hour, same forecast.
    expect(w.forecast(JAN_15 + 50 * 60_000, 48)).toEqual(f);
    // Error spread over many issue times grows with the lead time.
    const rms = (lead: number): number => {
      let s = 0;
      const n = 300;
      for (let k = 0; k < n; k++) {
        const issue = JAN_15 + k * 7 * HOUR;
        const p = w.forecast(issue, lead)[lead - 1]!;
        s += (p.outdoor_temp_c - w.at(p.ts).outdoor_temp_c) ** 2;
      }
      return Math.sqrt(s / n);
    };
    const e1 = rms(1);
    const e24 = rms(24);
    const e48 = rms(48);
    expect(e1).toBeLessThan(1);
    expect(e24).toBeGreaterThan(e1 * 1.8);
    expect(e48).toBeGreaterThan(e24);
    expect(e48).toBeLessThan(5);
  });

  it('a fixed outdoor temperature holds, for calibration and tests', () => {
    const w = new Weather(1, { fixedOutdoorC: -5.3 });
    expect(new Set(series(w, JAN_15, 48))).toEqual(new Set([-5.3]));
  });
});
