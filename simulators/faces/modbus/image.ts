/**
 * The register image of one simulated controller: every area as it would sit in the PLC's memory, encoded from the
 * model's tags when the model has stepped (or a write changed a setpoint), and served as is to every read until then.
 * Encoding once per model step, not per request, keeps a face with thousands of units cheap.
 */
import { encodeField } from './codec.ts';
import type { FaceArea, FaceField, FaceTemplate } from './template.ts';

export type TagValues = Readonly<Record<string, number | boolean>>;

export interface UnitInfo {
  unitId: number;
  /** Model time when the face started (for uptime and run-hour counters). */
  startMs: number;
  nowMs: number;
}

const H = 3_600_000;
/** Local time of the simulated PLCs' clocks (China Standard Time, UTC+8). */
const LOCAL_OFFSET_MS = 8 * H;

/**
 * Registers of the simulated controller that the physical model does not have: identification, limits, the clock,
 * counters, and signals derived from the model's tags. Fields neither here nor in the model read as 0.
 */
export const CONTROLLER_VALUES: Readonly<Record<string, (t: TagValues, u: UnitInfo) => number | boolean>> = {
  alarm_word: (t) => (t['vfd_fault'] ? 1 : 0) | (num(t, 'tank_level_m') < 0.5 ? 2 : 0) | (num(t, 'secondary_supply_temp_c') > 85 ? 4 : 0) | (num(t, 'secondary_return_pressure_mpa') < 0.15 ? 8 : 0),
  heat_power_w: (t) => num(t, 'heat_power_kw') * 1000,
  meter_supply_temp_c: (t) => num(t, 'primary_supply_temp_c'),
  meter_return_temp_c: (t) => num(t, 'primary_return_temp_c'),
  meter_flow_m3h: (t) => num(t, 'primary_flow_m3h'),
  meter_power_kw: (t) => num(t, 'heat_power_kw'),
  meter_energy_gj: (t) => num(t, 'heat_energy_gj'),
  meter_volume_m3: (t) => num(t, 'primary_volume_m3'),
  circ_pump_run_hours_h: (_t, u) => 12_000 + 37 * u.unitId + Math.floor((u.nowMs - u.startMs) / H),
  circ_pump2_run_hours_h: (_t, u) => 3_000 + 11 * u.unitId,
  makeup_pump_run_hours_h: (_t, u) => 800 + 5 * u.unitId + Math.floor((u.nowMs - u.startMs) / (10 * H)),
  makeup_pump_current_a: (t) => (t['makeup_pump_running'] ? 1.2 + (0.8 * num(t, 'makeup_pump_freq_hz')) / 50 : 0),
  valve_pos_signal_ma: (t) => 4 + (16 * num(t, 'valve_pos_pct')) / 100,
  cabinet_temp_c: () => 24.5,
  supply_voltage_v: () => 380,
  plc_cycle_ms: () => 12.5,
  supply_temp_high_limit_c: () => 85,
  supply_temp_low_limit_c: () => 35,
  return_pressure_low_limit_mpa: () => 0.15,
  tank_level_low_limit_m: () => 0.5,
  curve_p1_outdoor_temp_c: () => -7,
  curve_p1_supply_temp_c: () => 75,
  curve_p2_outdoor_temp_c: () => -2,
  curve_p2_supply_temp_c: () => 66,
  curve_p3_outdoor_temp_c: () => 3,
  curve_p3_supply_temp_c: () => 57,
  curve_p4_outdoor_temp_c: () => 10,
  curve_p4_supply_temp_c: () => 45,
  pi_gain_pct_per_k: () => 1.2,
  pi_integral_s: () => 100,
  plc_clock_year: (_t, u) => new Date(u.nowMs + LOCAL_OFFSET_MS).getUTCFullYear(),
  plc_clock_month: (_t, u) => new Date(u.nowMs + LOCAL_OFFSET_MS).getUTCMonth() + 1,
  plc_clock_day: (_t, u) => new Date(u.nowMs + LOCAL_OFFSET_MS).getUTCDate(),
  plc_clock_hour: (_t, u) => new Date(u.nowMs + LOCAL_OFFSET_MS).getUTCHours(),
  plc_clock_minute: (_t, u) => new Date(u.nowMs + LOCAL_OFFSET_MS).getUTCMinutes(),
  plc_clock_second: (_t, u) => new Date(u.nowMs + LOCAL_OFFSET_MS).getUTCSeconds(),
  firmware_version: () => 0x0312,
  modbus_unit_id: (_t, u) => u.unitId,
  serial_number: (_t, u) => 21_050_000 + u.unitId,
  uptime_s: (_t, u) => 3 * 86_400 + Math.floor((u.nowMs - u.startMs) / 1000),
  valve_stroke_s: () => 180,
  comm_watchdog_s: () => 300,
  circ_pump_enable: () => true,
  makeup_pump_enable: () => true,
  alarm_horn: (t) => t['vfd_fault'] === true,
  tank_low_alarm: (t) => num(t, 'tank_level_m') < 0.5,
  supply_temp_high_alarm: (t) => num(t, 'secondary_supply_temp_c') > 85,
};

function num(t: TagValues, k: string): number {
  const v = t[k];
  return typeof v === 'number' ? v : v === true ? 1 : 0;
}

/** Size of each area (one past the highest address the template uses) and which addresses it maps. */
export interface ImageLayout {
  size: Record<FaceArea, number>;
  mapped: Record<FaceArea, Uint8Array>;
}

export function layoutOf(tpl: FaceTemplate): ImageLayout {
  const size: Record<FaceArea, number> = { holding: 0, input: 0, coil: 0, discrete: 0 };
  for (const f of tpl.fields) size[f.area] = Math.max(size[f.area], f.address + f.width);
  const mapped = {
    holding: new Uint8Array(size.holding),
    input: new Uint8Array(size.input),
    coil: new Uint8Array(size.coil),
    discrete: new Uint8Array(size.discrete),
  };
  for (const f of tpl.fields) for (let i = 0; i < f.width; i++) mapped[f.area][f.address + i] = 1;
  return { size, mapped };
}

export class UnitImage {
  readonly holding: Uint16Array;
  readonly input: Uint16Array;
  readonly coil: Uint8Array;
  readonly discrete: Uint8Array;
  /** Model time the image was encoded at; NaN = needs encoding. */
  at = NaN;

  constructor(layout: ImageLayout) {
    this.holding = new Uint16Array(layout.size.holding);
    this.input = new Uint16Array(layout.size.input);
    this.coil = new Uint8Array(layout.size.coil);
    this.discrete = new Uint8Array(layout.size.discrete);
  }

  /** Re-encodes every field from the model's tags (model tags first, then the controller's own values, else 0). */
  encode(tpl: FaceTemplate, tags: TagValues, unit: UnitInfo): void {
    const bitWords = new Map<string, { field: FaceField; value: number }>();
    for (const f of tpl.fields) {
      const own = CONTROLLER_VALUES[f.name];
      const v = f.name in tags ? tags[f.name]! : own ? own(tags, unit) : 0;
      if (f.area === 'coil' || f.area === 'discrete') {
        this[f.area][f.address] = v === true || (typeof v === 'number' && v !== 0) ? 1 : 0;
        continue;
      }
      const regs = f.area === 'holding' ? this.holding : this.input;
      if (f.type === 'bit') {
        const key = `${f.area}:${f.address}`;
        const w = bitWords.get(key) ?? { field: f, value: 0 };
        if (v === true || (typeof v === 'number' && v !== 0)) w.value |= 1 << (f.bit ?? 0);
        bitWords.set(key, w);
        continue;
      }
      const words = encodeField(f, typeof v === 'boolean' ? (v ? 1 : 0) : v);
      for (let i = 0; i < words.length; i++) regs[f.address + i] = words[i]!;
    }
    for (const { field, value } of bitWords.values()) {
      const regs = field.area === 'holding' ? this.holding : this.input;
      regs[field.address] = encodeField({ ...field, type: 'uint16', scale: 1, offset: 0 }, value)[0]!;
    }
    this.at = unit.nowMs;
  }
}
