/** Field names of the substation template (config/templates/substation-modbus.yaml) the pages show. */
export const F = {
  outdoor: 'outdoor_temp_c',
  t1s: 'primary_supply_temp_c',
  t1r: 'primary_return_temp_c',
  t2s: 'secondary_supply_temp_c',
  t2r: 'secondary_return_temp_c',
  p1s: 'primary_supply_pressure_mpa',
  p1r: 'primary_return_pressure_mpa',
  p2s: 'secondary_supply_pressure_mpa',
  p2r: 'secondary_return_pressure_mpa',
  f1: 'primary_flow_m3h',
  f2: 'secondary_flow_m3h',
  makeup: 'makeup_flow_m3h',
  heat: 'heat_power_kw',
  valveCmd: 'valve_cmd_pct',
  valvePos: 'valve_pos_pct',
  pumpHz: 'circ_pump_freq_hz',
  pumpA: 'circ_pump_current_a',
  pumpRun: 'circ_pump_running',
  pump2Run: 'circ_pump2_running',
  makeupHz: 'makeup_pump_freq_hz',
  makeupRun: 'makeup_pump_running',
  tank: 'tank_level_m',
  vfdFault: 'vfd_fault',
  remote: 'remote',
  auto: 'auto',
  setpoint: 'supply_temp_setpoint_c',
  room: 'room_temp_c',
} as const;

/** A value as a number, or NaN. */
export function num(v: unknown): number {
  return typeof v === 'number' ? v : typeof v === 'boolean' ? (v ? 1 : 0) : NaN;
}
