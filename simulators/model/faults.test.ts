import { describe, expect, it } from 'vitest';
import { ModelError } from './faults.ts';
import { createNetworkModel, type NetworkModel } from './network-model.ts';
import { DESIGN_WEATHER, mean, smallNetwork } from './test-fixtures.ts';

const HOUR = 3600;

function settled(seed = 5): NetworkModel {
  return createNetworkModel(smallNetwork(), { seed, weather: DESIGN_WEATHER, settleHours: 72 });
}

function air(m: NetworkModel, id: string): number {
  return m.apartments.truth.air_temp_c[m.apartmentIndex(id)]!;
}

function activeMeanAir(m: NetworkModel, parent: string): number {
  return mean(m.apartmentIndexes(parent).filter((i) => !m.apartments.suspended[i]).map((i) => m.apartments.truth.air_temp_c[i]!));
}

/** Sample variance of a tag over n steps of dt. */
function variance(m: NetworkModel, tag: 'secondary_supply_temp_c' | 'secondary_return_pressure_mpa', n: number, dtS: number): number {
  const xs: number[] = [];
  for (let k = 0; k < n; k++) {
    m.step(dtS);
    xs.push(m.substationTags('ss1')[tag]);
  }
  const mu = mean(xs);
  return xs.reduce((s, x) => s + (x - mu) ** 2, 0) / (xs.length - 1);
}

describe('fault API', () => {
  it('returns ids, lists active faults and clears them', () => {
    const m = createNetworkModel(smallNetwork(), { settleHours: 0 });
    const a = m.inject({ kind: 'leak', target: 'ss1', rateM3h: 1 });
    const b = m.inject({ kind: 'comm_loss', target: 'ss1-b2' });
    expect(a).not.toBe(b);
    expect(m.faults().map((f) => f.id)).toEqual([a, b]);
    expect(m.faults()[0]!.spec).toEqual({ kind: 'leak', target: 'ss1', rateM3h: 1 });
    expect(m.faults()[0]!.sinceMs).toBe(m.now());
    expect(m.clear(a)).toBe(true);
    expect(m.clear(a)).toBe(false);
    m.clearAll();
    expect(m.faults()).toEqual([]);
  });

  it('rejects faults that do not fit their target', () => {
    const m = createNetworkModel(smallNetwork(), { settleHours: 0 });
    const code = (fn: () => void): string | undefined => {
      try {
        fn();
      } catch (err) {
        expect(err).toBeInstanceOf(ModelError);
        return (err as ModelError).code;
      }
      return undefined;
    };
    expect(code(() => m.inject({ kind: 'leak', target: 'nowhere' }))).toBe('UNKNOWN_TARGET');
    expect(code(() => m.inject({ kind: 'leak', target: 'ss1-b1' }))).toBe('BAD_FAULT');
    expect(code(() => m.inject({ kind: 'stolen_heat', target: 'ss1-b1-0101' }))).toBe('BAD_FAULT');
    expect(code(() => m.inject({ kind: 'sensor_stuck', target: 'ss1', tag: 'no_such_tag' }))).toBe('UNKNOWN_TAG');
    expect(code(() => m.inject({ kind: 'sensor_stuck', target: 'ss1', tag: 'circ_pump_running' }))).toBe('UNKNOWN_TAG');
    expect(code(() => m.inject({ kind: 'leak', target: 'ss1', rateM3h: -1 }))).toBe('BAD_FAULT');
    expect(code(() => m.inject({ kind: 'cold_snap', target: 'co', depthK: 0, durationH: 5 }))).toBe('BAD_FAULT');
    expect(m.faults()).toEqual([]);
  });
});

describe('substation faults (DOMAIN.md §4 signatures)', () => {
  it('leak: make-up flow up, pressure down, tank level falls; all recover when cleared', () => {
    const m = settled();
    const before = m.substationTags('ss1');
    const id = m.inject({ kind: 'leak', target: 'ss1' });
    m.step(HOUR);
    const during = m.substationTags('ss1');
    m.step(2 * HOUR);
    const later = m.substationTags('ss1');
    expect(during.makeup_flow_m3h).toBeGreaterThan(4 * before.makeup_flow_m3h);
    expect(during.secondary_return_pressure_mpa).toBeLessThan(before.secondary_return_pressure_mpa - 0.015);
    expect(during.secondary_supply_pressure_mpa).toBeLessThan(before.secondary_supply_pressure_mpa - 0.015);
    expect(later.tank_level_m).toBeLessThan(before.tank_level_m - 0.2);
    expect(later.makeup_volume_m3 - before.makeup_volume_m3).toBeGreaterThan(3 * during.makeup_flow_m3h * 0.9 - 0.1);
    m.clear(id);
    m.step(HOUR);
    const after = m.substationTags('ss1');
    expect(after.makeup_flow_m3h).toBeLessThan(2 * before.makeup_flow_m3h + 0.01);
    expect(after.secondary_return_pressure_mpa).toBeCloseTo(before.secondary_return_pressure_mpa, 1);
  });

  it('a leak larger than the make-up capacity drains the system until the pump stops on low pressure', () => {
    const m = settled();
    const ss = m.substation('ss1');
    m.inject({ kind: 'leak', target: 'ss1', rateM3h: 3 * ss.makeupMaxM3h });
    m.step(2 * HOUR);
    const t = m.substationTags('ss1');
    expect(t.secondary_return_pressure_mpa).toBeLessThan(0.06);
    expect(t.circ_pump_running).toBe(false);
    expect(t.vfd_fault).toBe(false);
    expect(t.secondary_flow_m3h).toBeLessThan(0.1);
  });

  it('pump trip: flow and ΔP collapse, VFD fault bit, primary valve closes, rooms cool toward 16 °C in hours', () => {
    const m = settled();
    const start = activeMeanAir(m, 'ss1');
    m.inject({ kind: 'pump_trip', target: 'ss1' });
    m.step(600);
    const t = m.substationTags('ss1');
    expect(t.secondary_flow_m3h).toBeLessThan(0.05);
    expect(Math.abs(t.secondary_supply_pressure_mpa - t.secondary_return_pressure_mpa)).toBeLessThan(0.01);
    expect(t.vfd_fault).toBe(true);
    expect(t.circ_pump_running).toBe(false);
    expect(t.circ_pump_current_a).toBe(0);
    expect(t.circ_pump_freq_hz).toBe(0);
    expect(t.valve_cmd_pct).toBe(0);
    expect(t.valve_pos_pct).toBeLessThan(1);
    expect(t.primary_flow_m3h).toBeLessThan(0.05);
    expect(t.heat_power_kw).toBeLessThan(1);
    m.step(3.4 * HOUR);
    const cooled = activeMeanAir(m, 'ss1');
    // DOMAIN.md §2.5: with the heat stopped, rooms fall to 16 °C in 2.5–4 h.
    expect(start - cooled).toBeGreaterThan(2.5);
    expect(cooled).toBeGreaterThan(14.5);
    expect(cooled).toBeLessThan(17.5);
  });

  it('stuck valve: feedback stays flat while the command moves, and the supply misses its setpoint', () => {
    const m = settled();
    const pos = m.substationTags('ss1').valve_pos_pct;
    m.inject({ kind: 'stuck_valve', target: 'ss1' });
    m.writeSubstation('ss1', 'supply_temp_setpoint_c', 62);
    const cmds: number[] = [];
    const poss: number[] = [];
    for (let k = 0; k < 12; k++) {
      m.step(120);
      const t = m.substationTags('ss1');
      cmds.push(t.valve_cmd_pct);
      poss.push(t.valve_pos_pct);
    }
    expect(Math.max(...cmds) - Math.min(...cmds)).toBeGreaterThan(20);
    expect(Math.max(...poss) - Math.min(...poss)).toBeLessThan(1);
    expect(mean(poss)).toBeCloseTo(pos, 0);
    expect(m.substationTags('ss1').secondary_supply_temp_c - 62).toBeGreaterThan(5);
  });

  it('sensor_stuck collapses the variance of a tag; sensor_drift adds rate·t; sensor_dead pins a sentinel', () => {
    const m = settled();
    const normal = variance(m, 'secondary_return_pressure_mpa', 20, 60);
    expect(normal).toBeGreaterThan(0);
    const stuck = m.inject({ kind: 'sensor_stuck', target: 'ss1', tag: 'secondary_return_pressure_mpa' });
    expect(variance(m, 'secondary_return_pressure_mpa', 20, 60)).toBeLessThan(1e-20);
    m.clear(stuck);

    m.inject({ kind: 'sensor_drift', target: 'ss1', tag: 'primary_return_temp_c', ratePerH: 2 });
    const t0 = m.substationTags('ss1').primary_return_temp_c;
    m.step(3 * HOUR);
    const t1 = m.substationTags('ss1').primary_return_temp_c;
    expect(t1 - t0).toBeGreaterThan(5);
    expect(t1 - t0).toBeLessThan(7);

    const drift = m.inject({ kind: 'sensor_drift', target: 'ss1', tag: 'outdoor_temp_c', ratePerH: 1 });
    m.step(2 * HOUR);
    expect(m.substationTags('ss1').outdoor_temp_c - m.substation('ss1').outdoorSensorC).toBeCloseTo(2, 0);
    m.clear(drift);
    const trueT2s = m.substation('ss1').secondarySupplyC;
    m.inject({ kind: 'sensor_dead', target: 'ss1', tag: 'outdoor_temp_c' });
    m.inject({ kind: 'sensor_dead', target: 'ss1', tag: 'primary_supply_temp_c', value: 185 });
    m.step(60);
    expect(m.substationTags('ss1').outdoor_temp_c).toBeNaN();
    expect(m.substationTags('ss1').primary_supply_temp_c).toBe(185);
    // The local controller holds the curve on its last good outdoor reading.
    m.step(HOUR);
    expect(Math.abs(m.substation('ss1').secondarySupplyC - trueT2s)).toBeLessThan(1.5);
  });

  it('a stuck supply temperature sensor fools the local PI loop (the real supply runs away)', () => {
    const m = settled();
    m.inject({ kind: 'sensor_stuck', target: 'ss1', tag: 'secondary_supply_temp_c', value: 65 });
    m.step(HOUR);
    const t = m.substationTags('ss1');
    expect(t.secondary_supply_temp_c).toBe(65);
    expect(m.substation('ss1').secondarySupplyC).toBeGreaterThan(t.supply_temp_setpoint_c + 3);
  });

  it('spikes appear now and then', () => {
    const m = settled();
    const base = m.substationTags('ss1').secondary_supply_temp_c;
    m.inject({ kind: 'spike', target: 'ss1', tag: 'secondary_supply_temp_c', magnitude: 30, ratePerH: 20 });
    let spikes = 0;
    for (let k = 0; k < 60; k++) {
      m.step(60);
      if (Math.abs(m.substationTags('ss1').secondary_supply_temp_c - base) > 20) spikes++;
    }
    expect(spikes).toBeGreaterThan(5);
    expect(spikes).toBeLessThan(40);
  });

  it('meter fault: volume counts, energy stops', () => {
    const m = settled();
    const before = m.substationTags('ss1');
    m.inject({ kind: 'meter_fault', target: 'ss1' });
    m.step(HOUR);
    const after = m.substationTags('ss1');
    expect(after.primary_volume_m3).toBeGreaterThan(before.primary_volume_m3 + 1);
    expect(after.heat_energy_gj).toBe(before.heat_energy_gj);
    expect(after.heat_power_kw).toBe(0);
  });

  it('supply drop at the heat source lowers primary supply, and a trip starves the substations', () => {
    const m = settled();
    const before = m.substationTags('ss1').primary_supply_temp_c;
    const drop = m.inject({ kind: 'supply_drop', target: 'hs1', dropK: 20 });
    m.step(4 * HOUR);
    expect(before - m.substationTags('ss1').primary_supply_temp_c).toBeGreaterThan(14);
    m.clear(drop);
    m.inject({ kind: 'supply_drop', target: 'hs1', trip: true });
    m.step(6 * HOUR);
    expect(m.heatSourceTags('hs1').running).toBe(false);
    expect(m.substationTags('ss1').secondary_supply_temp_c).toBeLessThan(58);
  });

  it('comm_loss and slow_device are flags inherited down the tree', () => {
    const m = createNetworkModel(smallNetwork(), { settleHours: 0 });
    const f = m.inject({ kind: 'comm_loss', target: 'ss1-b2' });
    m.inject({ kind: 'slow_device', target: 'net1', delayMs: 1500 });
    expect(m.flags('ss1').comm_loss).toBe(false);
    expect(m.flags('ss1').slow_ms).toBe(1500);
    expect(m.flags('ss1-b2').comm_loss).toBe(true);
    expect(m.flags('ss1-b2-0303')).toEqual({ comm_loss: true, slow_ms: 1500 });
    expect(m.flags('ss1-b1-0303').comm_loss).toBe(false);
    expect(m.apartments.comm_loss[m.apartmentIndex('ss1-b2-0101')]).toBe(1);
    expect(m.apartments.comm_loss[m.apartmentIndex('ss1-b1-0101')]).toBe(0);
    m.clear(f);
    expect(m.apartments.comm_loss[m.apartmentIndex('ss1-b2-0101')]).toBe(0);
    m.inject({ kind: 'comm_loss', target: 'ss1-b3-0202' });
    expect(m.flags('ss1-b3-0202').comm_loss).toBe(true);
    expect(m.flags('ss1-b3-0201').comm_loss).toBe(false);
  });
});

describe('apartment and building faults', () => {
  it('cold apartment (air lock) stays cold while its neighbours are fine', () => {
    const m = settled();
    const id = 'ss1-b2-0602';
    const before = air(m, id);
    m.inject({ kind: 'cold_apartment', target: id });
    m.step(48 * HOUR);
    const cold = air(m, id);
    const above = air(m, 'ss1-b2-0702');
    const side = air(m, 'ss1-b2-0603');
    expect(before - cold).toBeGreaterThan(3);
    expect(above - cold).toBeGreaterThan(3);
    expect(side - cold).toBeGreaterThan(3);
    expect(above).toBeGreaterThan(17.5);
    expect(m.apartments.truth.heat_w[m.apartmentIndex(id)]!).toBeLessThan(0.2 * m.apartments.truth.heat_w[m.apartmentIndex('ss1-b2-0702')]!);
  });

  it('a suspended flat is cooler than its neighbours unless heat is stolen', () => {
    const m = settled();
    const id = 'ss1-b2-0501';
    const neighbours = activeMeanAir(m, 'ss1-b2');
    expect(neighbours - air(m, id)).toBeGreaterThan(5);
    const theft = m.inject({ kind: 'stolen_heat', target: id });
    m.step(48 * HOUR);
    expect(activeMeanAir(m, 'ss1-b2') - air(m, id)).toBeLessThan(3);
    // The account still reads closed: the signature is a warm room at a suspended account (DOMAIN.md §4).
    expect(m.apartmentValues(id).valve_pct).toBe(0);
    expect(m.apartments.truth.heat_w[m.apartmentIndex(id)]!).toBeGreaterThan(500);
    m.clear(theft);
    m.step(72 * HOUR);
    expect(activeMeanAir(m, 'ss1-b2') - air(m, id)).toBeGreaterThan(4);
  });

  it('apartment sensor faults change the published value, not the room', () => {
    const m = settled();
    const id = 'ss1-b1-0201';
    const i = m.apartmentIndex(id);
    const dead = m.inject({ kind: 'sensor_dead', target: id, tag: 'room_temp_c' });
    m.inject({ kind: 'sensor_stuck', target: id, tag: 'battery_pct', value: 3 });
    m.step(600);
    expect(m.apartmentValues(id).room_temp_c).toBeNaN();
    expect(m.apartmentValues(id).battery_pct).toBe(3);
    expect(m.apartments.truth.air_temp_c[i]!).toBeGreaterThan(15);
    m.clear(dead);
    expect(m.apartmentValues(id).room_temp_c).toBeCloseTo(m.apartments.truth.air_temp_c[i]!, 0);
    const stuck = m.inject({ kind: 'sensor_stuck', target: id, tag: 'room_temp_c' });
    const frozen = m.apartmentValues(id).room_temp_c;
    m.inject({ kind: 'window_open', target: id });
    m.step(1800);
    expect(m.apartmentValues(id).room_temp_c).toBe(frozen);
    expect(m.apartments.truth.air_temp_c[i]!).toBeLessThan(frozen - 2);
    m.clear(stuck);
    // A drift on a slowly refreshed field adds rate·t once, never compounding step over step.
    m.clearAll();
    const battery = m.apartmentValues(id).battery_pct;
    m.inject({ kind: 'sensor_drift', target: id, tag: 'battery_pct', ratePerH: -1 });
    for (let k = 0; k < 120; k++) m.step(60);
    expect(m.apartmentValues(id).battery_pct - battery).toBeCloseTo(-2, 1);
  });

  it('a blocked branch starves one building', () => {
    const m = settled();
    const b2 = activeMeanAir(m, 'ss1-b2');
    const b3 = activeMeanAir(m, 'ss1-b3');
    const flow = m.buildingState('ss1-b2').flow_m3h;
    m.inject({ kind: 'blocked_branch', target: 'ss1-b2', factor: 0.25 });
    m.step(24 * HOUR);
    expect(m.buildingState('ss1-b2').flow_m3h).toBeLessThan(0.35 * flow);
    expect(b2 - activeMeanAir(m, 'ss1-b2')).toBeGreaterThan(1.5);
    expect(Math.abs(b3 - activeMeanAir(m, 'ss1-b3'))).toBeLessThan(1);
  });

  it('a cold snap injected now shows in the weather and the forecast', () => {
    const m = createNetworkModel(smallNetwork(), { settleHours: 0 });
    const plain = m.forecast(36)[29]!.outdoor_temp_c;
    m.inject({ kind: 'cold_snap', target: 'co', depthK: 10, durationH: 24 });
    expect(plain - m.forecast(36)[29]!.outdoor_temp_c).toBeCloseTo(10, 6);
  });
});
