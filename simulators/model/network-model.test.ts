import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ModelError } from './faults.ts';
import { createNetworkModel, loadNetworkFile, type NetworkModel } from './network-model.ts';
import { SUBSTATION_TAG_NAMES } from './substation-tags.ts';
import { DEFAULT_SIZING, drawSizing } from './building-stock.ts';
import { DESIGN_WEATHER, mean, smallNetwork } from './test-fixtures.ts';

const HOUR = 3600;
/** Emitter sizing without differences between buildings: every building 1.13 × its design load, none retrofitted. */
const UNIFORM_SIZING = { marginMedian: 1.13, marginSd: 0, retrofitShare: 0 };

function activeAir(m: NetworkModel, parent?: string): number[] {
  return m.apartmentIndexes(parent).filter((i) => !m.apartments.suspended[i]).map((i) => m.apartments.truth.air_temp_c[i]!);
}

describe('network model: building and reading', () => {
  it('loads the demo network.yaml and builds every asset from it', () => {
    const here = path.dirname(fileURLToPath(import.meta.url));
    const net = loadNetworkFile(path.join(here, '../../config/demo/network.yaml'));
    const m = createNetworkModel(net, { settleHours: 0 });
    expect(m.substationIds()).toHaveLength(12);
    expect(m.buildingIds()).toHaveLength(40);
    expect(m.apartments.count).toBeGreaterThan(1900);
    expect(m.apartments.ids).toContain('ss03-b2-0502');
    expect(m.apartmentValues('ss01-b1-0302').account).toBe('suspended');
    expect(m.weatherStationIds()).toEqual(['ws1']);
  });

  it('rejects an invalid network with every problem listed', () => {
    expect(() => createNetworkModel({ company: { id: 'x', name: 'X' } })).toThrow(ModelError);
  });

  it('exposes every substation tag of DOMAIN.md §1 with plausible values', () => {
    const m = createNetworkModel(smallNetwork(), { seed: 3 });
    const t = m.substationTags('ss1');
    expect(Object.keys(t).sort()).toEqual([...SUBSTATION_TAG_NAMES].sort());
    expect(t.secondary_supply_temp_c).toBeGreaterThan(t.secondary_return_temp_c);
    expect(t.primary_supply_temp_c).toBeGreaterThan(t.secondary_supply_temp_c);
    expect(t.primary_return_temp_c).toBeLessThan(t.primary_supply_temp_c);
    expect(t.secondary_supply_pressure_mpa).toBeGreaterThan(t.secondary_return_pressure_mpa);
    expect(t.secondary_return_pressure_mpa).toBeGreaterThan(0.2);
    expect(t.secondary_supply_pressure_mpa).toBeLessThan(0.8);
    expect(t.primary_supply_pressure_mpa).toBeGreaterThan(t.primary_return_pressure_mpa);
    expect(t.heat_power_kw).toBeGreaterThan(0);
    expect(t.circ_pump_running).toBe(true);
    expect(t.circ_pump_freq_hz).toBeGreaterThan(20);
    expect(t.circ_pump_current_a).toBeGreaterThan(0);
    expect(t.remote && t.auto && !t.vfd_fault && t.setpoint_from_curve).toBe(true);
    expect(t.tank_level_m).toBeGreaterThan(0.5);
  });

  it('time moves only with step(), and reads repeat between steps', () => {
    const m = createNetworkModel(smallNetwork(), { seed: 3, start: Date.UTC(2026, 0, 20), settleHours: 1 });
    expect(m.now()).toBe(Date.UTC(2026, 0, 20));
    const a = m.substationTags('ss1');
    expect(m.substationTags('ss1')).toEqual(a);
    m.step(90);
    expect(m.now()).toBe(Date.UTC(2026, 0, 20) + 90_000);
    expect(m.substationTags('ss1')).not.toEqual(a);
  });

  it('is deterministic for a seed', () => {
    const run = (seed: number): unknown => {
      const m = createNetworkModel(smallNetwork(), { seed, settleHours: 6 });
      m.step(3 * HOUR);
      return [m.substationTags('ss1'), Array.from(m.apartments.room_temp_c), m.forecast(24)];
    };
    expect(run(11)).toEqual(run(11));
    expect(run(11)).not.toEqual(run(12));
  });

  it('gives bulk apartment access without per-apartment objects', () => {
    const m = createNetworkModel(smallNetwork(), { settleHours: 1 });
    const a = m.apartments;
    let n = 0;
    m.forEachApartment((i, id, t) => {
      if (t.room_temp_c[i]! > 5 && id.startsWith('ss1-b')) n++;
    });
    expect(n).toBe(a.count);
    const v = m.apartmentValues('ss1-b2-1104');
    expect(v.building).toBe('ss1-b2');
    expect(v.room_temp_c).toBe(a.room_temp_c[m.apartmentIndex('ss1-b2-1104')]);
    expect(v.battery_pct).toBeGreaterThan(30);
    expect(v.rssi_dbm).toBeLessThan(-40);
    const withThermostat = a.setpoint_c.filter((x) => !Number.isNaN(x)).length;
    expect(withThermostat).toBeGreaterThan(0);
    expect(withThermostat).toBeLessThan(a.count);
  });

  it('forecast covers the next 24 h and beyond, hourly', () => {
    const m = createNetworkModel(smallNetwork(), { settleHours: 0 });
    const f = m.forecast(48);
    expect(f).toHaveLength(48);
    expect(f[23]!.ts - m.now()).toBeGreaterThanOrEqual(23 * 3_600_000);
    expect(f[23]!.ts - m.now()).toBeLessThanOrEqual(24 * 3_600_000);
    expect(typeof m.weatherNow().outdoor_temp_c).toBe('number');
    expect(m.weatherStationTags('ws1').outdoor_temp_c).toBeCloseTo(m.weatherNow().outdoor_temp_c, 0);
  });
});

describe('network model: physics at design conditions (DOMAIN.md §2–3)', () => {
  // Every building sized alike, so the band checks the envelope, emitter and curve physics, not the sizing draw.
  const m = createNetworkModel(smallNetwork({ floorSubstation: true }), { seed: 2, weather: DESIGN_WEATHER, settleHours: 96, apartments: { sizing: UNIFORM_SIZING } });
  m.step(24 * HOUR);

  it('rooms settle in the 18–22 °C band with the design curve at the design outdoor temperature', () => {
    for (const ss of ['ss1', 'ss2']) {
      const air = activeAir(m, ss);
      expect(mean(air)).toBeGreaterThan(19);
      expect(mean(air)).toBeLessThan(21.5);
      const sorted = [...air].sort((a, b) => a - b);
      expect(sorted[Math.floor(0.1 * sorted.length)]).toBeGreaterThan(17.5);
      expect(sorted[Math.floor(0.9 * sorted.length)]).toBeLessThan(22.5);
    }
  });

  it('the design curve gives 75 °C radiator supply and 45 °C floor supply at t_w′, and the PI loop holds it', () => {
    for (const [ss, design] of [['ss1', 75], ['ss2', 45]] as const) {
      const t = m.substationTags(ss);
      // The substation reads its own outdoor sensor, a few tenths off the weather station.
      expect(Math.abs(t.supply_temp_setpoint_c - design)).toBeLessThan(1.5);
      expect(Math.abs(t.secondary_supply_temp_c - t.supply_temp_setpoint_c)).toBeLessThan(0.3);
      expect(t.valve_pos_pct).toBeGreaterThan(20);
      expect(t.valve_pos_pct).toBeLessThan(95);
    }
    expect(m.substationTags('ss1').secondary_return_temp_c).toBeGreaterThan(45);
    expect(m.substationTags('ss1').secondary_return_temp_c).toBeLessThan(55);
  });

  it('a poorly insulated top-floor end flat is cooler than the building average, near 18 °C', () => {
    const top = m.apartments.truth.air_temp_c[m.apartmentIndex('ss1-b2-1101')]!;
    expect(top).toBeGreaterThan(16);
    expect(top).toBeLessThan(19.5);
    expect(top).toBeLessThan(mean(activeAir(m, 'ss1-b2')));
  });

  it('heat balances: primary ≈ exchanger secondary ≈ Σ emitters (pipe losses a few %)', () => {
    const before = m.energyTotals('ss1');
    m.step(24 * HOUR);
    const after = m.energyTotals('ss1');
    const primary = after.primary_j - before.primary_j;
    const secondary = after.secondary_j - before.secondary_j;
    const emitters = after.emitters_j - before.emitters_j;
    expect(Math.abs(secondary / primary - 1)).toBeLessThan(0.01);
    expect(emitters / secondary).toBeGreaterThan(0.95);
    expect(emitters / secondary).toBeLessThan(1.0);
    // The meter agrees with the true exchange, and the building loads sum to the substation load.
    const t = m.substationTags('ss1');
    let loadsW = 0;
    for (const b of ['ss1-b1', 'ss1-b2', 'ss1-b3']) loadsW += m.buildingState(b).heat_power_kw * 1000;
    expect(loadsW / (t.heat_power_kw * 1000)).toBeGreaterThan(0.93);
    expect(loadsW / (t.heat_power_kw * 1000)).toBeLessThan(1.03);
  });

  it('suspended flats drift below their neighbours (heat only through walls)', () => {
    const susp = m.apartments.truth.air_temp_c[m.apartmentIndex('ss1-b1-0302')]!;
    expect(susp).toBeGreaterThan(6);
    expect(susp).toBeLessThan(mean(activeAir(m, 'ss1-b1')) - 5);
    expect(m.apartmentValues('ss1-b1-0302').valve_pct).toBe(0);
  });
});

describe('network model: emitter sizing between buildings', () => {
  it('draws each building its own margin and retrofit from the seed and its id, within the bounds', () => {
    const draws = Array.from({ length: 400 }, (_, k) => drawSizing(5, `b${k}`, DEFAULT_SIZING));
    expect(drawSizing(5, 'b7', DEFAULT_SIZING)).toEqual(draws[7]);
    expect(drawSizing(6, 'b7', DEFAULT_SIZING)).not.toEqual(draws[7]);
    for (const d of draws) {
      expect(d.designMargin).toBeGreaterThanOrEqual(DEFAULT_SIZING.marginMin);
      expect(d.designMargin).toBeLessThanOrEqual(DEFAULT_SIZING.marginMax);
      expect(d.retrofit === 0 || (d.retrofit >= DEFAULT_SIZING.retrofitMin && d.retrofit <= DEFAULT_SIZING.retrofitMax)).toBe(true);
    }
    const median = [...draws.map((d) => d.designMargin)].sort((a, b) => a - b)[200]!;
    expect(median).toBeCloseTo(DEFAULT_SIZING.marginMedian, 1);
    const retrofitted = draws.filter((d) => d.retrofit > 0).length / draws.length;
    expect(retrofitted).toBeGreaterThan(0.18);
    expect(retrofitted).toBeLessThan(0.32);
    expect(drawSizing(5, 'b7', DEFAULT_SIZING, { retrofit: 0.2 })).toEqual({ designMargin: draws[7]!.designMargin, retrofit: 0.2 });
    expect(() => drawSizing(5, 'b7', DEFAULT_SIZING, { retrofit: 0.9 })).toThrow(RangeError);
  });

  it('under one curve a re-insulated, oversized building runs hot and an undersized one cold', () => {
    const m = createNetworkModel(smallNetwork(), {
      seed: 2,
      weather: DESIGN_WEATHER,
      settleHours: 96,
      apartments: { buildingSizing: { 'ss1-b1': { designMargin: 1.25, retrofit: 0.25 }, 'ss1-b3': { designMargin: 0.95, retrofit: 0 } } },
    });
    m.step(24 * HOUR);
    const st = m.stock;
    expect(st.bEmitterFactor[0]).toBeCloseTo(1.25 / 0.75, 9);
    expect(st.bSizing[2]).toEqual({ designMargin: 0.95, retrofit: 0 });
    const hot = mean(activeAir(m, 'ss1-b1'));
    const cold = mean(activeAir(m, 'ss1-b3'));
    // About 14 K per unit of log sizing at 75/50 °C (2.9 %/K emitter, 4.3 %/K envelope): ln(1.67/0.95) ≈ 0.56 → ≈ 8 K.
    expect(hot - cold).toBeGreaterThan(5);
    expect(hot).toBeGreaterThan(23);
    expect(cold).toBeGreaterThan(16);
    expect(cold).toBeLessThan(19);
  });

  it('with the default sizing the demo network runs warm on average with a spread, its coldest flats near 18 °C', () => {
    const here = path.dirname(fileURLToPath(import.meta.url));
    const m = createNetworkModel(loadNetworkFile(path.join(here, '../../config/demo/network.yaml')), { seed: 7, weather: DESIGN_WEATHER, settleHours: 96 });
    m.step(6 * HOUR);
    const air = activeAir(m);
    const sorted = [...air].sort((a, b) => a - b);
    const q = (p: number): number => sorted[Math.floor(p * (sorted.length - 1))]!;
    expect(mean(air)).toBeGreaterThan(20.5);
    expect(mean(air)).toBeLessThan(22.5);
    expect(q(0.02)).toBeGreaterThan(16);
    expect(q(0.02)).toBeLessThan(18.5);
    // Many flats run hot under one curve (DOMAIN.md §1), a few well above 24 °C.
    expect(q(0.9) - q(0.1)).toBeGreaterThan(4);
    expect(q(0.75)).toBeGreaterThan(22);
  });
});

describe('network model: setpoints', () => {
  it('a higher supply setpoint warms rooms over hours, the mass node over tens of hours', () => {
    const m = createNetworkModel(smallNetwork(), { seed: 4, weather: DESIGN_WEATHER, settleHours: 96 });
    const start = mean(activeAir(m, 'ss1'));
    const massStart = mean(m.apartmentIndexes('ss1').map((i) => m.apartments.truth.mass_temp_c[i]!));
    m.writeSubstation('ss1', 'supply_temp_setpoint_c', 80);
    expect(m.substationTags('ss1').setpoint_from_curve).toBe(false);
    m.step(1 * HOUR);
    expect(m.substationTags('ss1').secondary_supply_temp_c).toBeCloseTo(80, 0);
    const after1h = mean(activeAir(m, 'ss1')) - start;
    m.step(5 * HOUR);
    const after6h = mean(activeAir(m, 'ss1')) - start;
    m.step(42 * HOUR);
    const after48h = mean(activeAir(m, 'ss1')) - start;
    const massRise = mean(m.apartmentIndexes('ss1').map((i) => m.apartments.truth.mass_temp_c[i]!)) - massStart;
    expect(after1h).toBeGreaterThan(0.2);
    expect(after6h).toBeGreaterThan(after1h);
    expect(after48h).toBeGreaterThan(after6h + 0.3);
    expect(after48h).toBeGreaterThan(1.5);
    expect(massRise).toBeGreaterThan(1);
    // Not yet at equilibrium after 6 h: the mass node has a time constant of tens of hours.
    expect(after6h / after48h).toBeLessThan(0.75);
  });

  it('returning to the curve, manual valve mode and the pump ΔP setpoint act on the plant', () => {
    const m = createNetworkModel(smallNetwork(), { seed: 4, weather: DESIGN_WEATHER, settleHours: 12 });
    m.writeSubstation('ss1', 'supply_temp_setpoint_c', 60);
    m.step(HOUR);
    expect(m.substationTags('ss1').secondary_supply_temp_c).toBeCloseTo(60, 0);
    m.writeSubstation('ss1', 'setpoint_from_curve', true);
    m.step(HOUR);
    const back = m.substationTags('ss1');
    expect(back.setpoint_from_curve).toBe(true);
    expect(Math.abs(back.supply_temp_setpoint_c - 75)).toBeLessThan(1.5);
    expect(back.secondary_supply_temp_c).toBeCloseTo(back.supply_temp_setpoint_c, 0);

    m.writeSubstation('ss1', 'valve_mode', 1);
    m.writeSubstation('ss1', 'valve_manual_pct', 20);
    m.step(600);
    const t = m.substationTags('ss1');
    expect(t.auto).toBe(false);
    expect(t.valve_cmd_pct).toBe(20);
    expect(t.valve_pos_pct).toBeCloseTo(20, 0);
    expect(t.secondary_supply_temp_c).toBeLessThan(70);

    const flow = t.secondary_flow_m3h;
    const hz = t.circ_pump_freq_hz;
    m.writeSubstation('ss1', 'pump_dp_setpoint_mpa', 0.08);
    m.step(300);
    const t2 = m.substationTags('ss1');
    expect(t2.secondary_flow_m3h).toBeLessThan(flow * 0.8);
    expect(t2.circ_pump_freq_hz).toBeLessThan(hz);
    expect(t2.secondary_supply_pressure_mpa - t2.secondary_return_pressure_mpa).toBeCloseTo(0.08, 1);
  });

  it('refuses writes out of range, to read-only tags and in local mode', () => {
    const m = createNetworkModel(smallNetwork(), { settleHours: 0 });
    const code = (fn: () => void): string | undefined => {
      try {
        fn();
      } catch (err) {
        return (err as ModelError).code;
      }
      return undefined;
    };
    expect(code(() => m.writeSubstation('ss1', 'supply_temp_setpoint_c', 120))).toBe('OUT_OF_RANGE');
    expect(code(() => m.writeSubstation('ss1', 'supply_temp_setpoint_c', Number.NaN))).toBe('OUT_OF_RANGE');
    expect(code(() => m.writeSubstation('ss1', 'valve_mode', 2))).toBe('OUT_OF_RANGE');
    expect(code(() => m.writeSubstation('ss1', 'valve_mode', 0.5))).toBe('OUT_OF_RANGE');
    expect(code(() => m.writeSubstation('ss1', 'pump_dp_setpoint_mpa', 1))).toBe('OUT_OF_RANGE');
    expect(code(() => m.writeSubstation('ss1', 'heat_power_kw', 1))).toBe('NOT_WRITABLE');
    expect(code(() => m.writeSubstation('nope', 'valve_mode', 1))).toBe('UNKNOWN_TARGET');
    const f = m.inject({ kind: 'local_mode', target: 'ss1' });
    expect(m.substationTags('ss1').remote).toBe(false);
    expect(code(() => m.writeSubstation('ss1', 'supply_temp_setpoint_c', 70))).toBe('LOCAL_MODE');
    m.clear(f);
    expect(code(() => m.writeSubstation('ss1', 'supply_temp_setpoint_c', 70))).toBeUndefined();
    expect(m.substationTags('ss1').supply_temp_setpoint_c).toBe(70);
  });

  it('thermostat setpoints are writable where a thermostat exists', () => {
    const m = createNetworkModel(smallNetwork(), { settleHours: 0 });
    const a = m.apartments;
    const withT = a.ids.find((_, i) => !Number.isNaN(a.setpoint_c[i]!))!;
    const without = a.ids.find((_, i) => Number.isNaN(a.setpoint_c[i]!) && !a.suspended[i])!;
    m.writeApartmentSetpoint(withT, 23.5);
    expect(m.apartmentValues(withT).setpoint_c).toBe(23.5);
    expect(() => m.writeApartmentSetpoint(without, 22)).toThrow(/no thermostat/);
    expect(() => m.writeApartmentSetpoint(withT, 40)).toThrow(ModelError);
  });
});
