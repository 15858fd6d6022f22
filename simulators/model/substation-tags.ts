/**
 * The tags of a simulated substation (DOMAIN.md §1, "Typical substation tags"), with units in their names. The
 * protocol faces map these to registers, nodes and topics; the order here is stable and may be used for addresses.
 */

export interface SubstationTags {
  outdoor_temp_c: number;
  primary_supply_temp_c: number;
  primary_return_temp_c: number;
  secondary_supply_temp_c: number;
  secondary_return_temp_c: number;
  primary_supply_pressure_mpa: number;
  primary_return_pressure_mpa: number;
  secondary_supply_pressure_mpa: number;
  secondary_return_pressure_mpa: number;
  primary_flow_m3h: number;
  primary_volume_m3: number;
  heat_power_kw: number;
  heat_energy_gj: number;
  secondary_flow_m3h: number;
  makeup_flow_m3h: number;
  makeup_volume_m3: number;
  valve_cmd_pct: number;
  valve_pos_pct: number;
  circ_pump_freq_hz: number;
  circ_pump_current_a: number;
  circ_pump_running: boolean;
  makeup_pump_freq_hz: number;
  makeup_pump_running: boolean;
  tank_level_m: number;
  power_use_kwh: number;
  remote: boolean;
  auto: boolean;
  vfd_fault: boolean;
  supply_temp_setpoint_c: number;
  pump_dp_setpoint_mpa: number;
  /** 0 auto (PI holds the supply setpoint), 1 manual (valve at valve_manual_pct). */
  valve_mode: number;
  valve_manual_pct: number;
  /** true while the supply setpoint follows the design heating curve; a setpoint write fixes it (false). */
  setpoint_from_curve: boolean;
}

export type SubstationTagName = keyof SubstationTags;

export interface TagMeta {
  readonly name: SubstationTagName;
  readonly type: 'number' | 'boolean';
  readonly unit: string;
  readonly writable: boolean;
  readonly description: string;
}

const t = (name: SubstationTagName, type: 'number' | 'boolean', unit: string, description: string, writable = false): TagMeta => ({
  name,
  type,
  unit,
  writable,
  description,
});

export const SUBSTATION_TAGS: readonly TagMeta[] = [
  t('outdoor_temp_c', 'number', '°C', 'outdoor temperature at the substation'),
  t('primary_supply_temp_c', 'number', '°C', 'T1s, primary supply'),
  t('primary_return_temp_c', 'number', '°C', 'T1r, primary return'),
  t('secondary_supply_temp_c', 'number', '°C', 'T2s, secondary supply'),
  t('secondary_return_temp_c', 'number', '°C', 'T2r, secondary return'),
  t('primary_supply_pressure_mpa', 'number', 'MPa', 'P1s'),
  t('primary_return_pressure_mpa', 'number', 'MPa', 'P1r'),
  t('secondary_supply_pressure_mpa', 'number', 'MPa', 'P2s'),
  t('secondary_return_pressure_mpa', 'number', 'MPa', 'P2r, held by the make-up pump'),
  t('primary_flow_m3h', 'number', 'm³/h', 'heat meter, primary flow'),
  t('primary_volume_m3', 'number', 'm³', 'heat meter, cumulative primary volume'),
  t('heat_power_kw', 'number', 'kW', 'heat meter, power'),
  t('heat_energy_gj', 'number', 'GJ', 'heat meter, cumulative energy'),
  t('secondary_flow_m3h', 'number', 'm³/h', 'secondary circulating flow'),
  t('makeup_flow_m3h', 'number', 'm³/h', 'make-up water flow'),
  t('makeup_volume_m3', 'number', 'm³', 'cumulative make-up water'),
  t('valve_cmd_pct', 'number', '%', 'primary control valve command'),
  t('valve_pos_pct', 'number', '%', 'primary control valve position feedback'),
  t('circ_pump_freq_hz', 'number', 'Hz', 'circulating pump VFD frequency'),
  t('circ_pump_current_a', 'number', 'A', 'circulating pump motor current'),
  t('circ_pump_running', 'boolean', '', 'circulating pump running'),
  t('makeup_pump_freq_hz', 'number', 'Hz', 'make-up pump VFD frequency'),
  t('makeup_pump_running', 'boolean', '', 'make-up pump running'),
  t('tank_level_m', 'number', 'm', 'make-up water tank level'),
  t('power_use_kwh', 'number', 'kWh', 'cumulative electricity use'),
  t('remote', 'boolean', '', 'panel in remote (writes accepted)'),
  t('auto', 'boolean', '', 'control in auto'),
  t('vfd_fault', 'boolean', '', 'circulating pump VFD fault'),
  t('supply_temp_setpoint_c', 'number', '°C', 'secondary supply temperature setpoint', true),
  t('pump_dp_setpoint_mpa', 'number', 'MPa', 'circulating pump ΔP setpoint', true),
  t('valve_mode', 'number', '', '0 auto, 1 manual', true),
  t('valve_manual_pct', 'number', '%', 'valve position in manual mode', true),
  t('setpoint_from_curve', 'boolean', '', 'setpoint follows the design heating curve', true),
];

export const SUBSTATION_TAG_NAMES: readonly SubstationTagName[] = SUBSTATION_TAGS.map((m) => m.name);

const NUMERIC = new Set<string>(SUBSTATION_TAGS.filter((m) => m.type === 'number').map((m) => m.name));

export function isNumericSubstationTag(name: string): name is SubstationTagName {
  return NUMERIC.has(name);
}

export type WritableSubstationTag = 'supply_temp_setpoint_c' | 'pump_dp_setpoint_mpa' | 'valve_mode' | 'valve_manual_pct' | 'setpoint_from_curve';
