/**
 * The address space the OPC UA face serves for each substation: where each model tag lives, its data type, engineering
 * unit and range. This is the face's own layout, as a station controller vendor would publish it; the hub finds these
 * nodes through config/templates/substation-opcua.yaml (browse paths relative to the substation object), never through
 * this file.
 *
 *   Objects/                                  (ns 0, i=85)
 *     Substations/                            FolderType
 *       <substation id>/                      BaseObjectType, e.g. ss11
 *         Primary/SupplyTemperature           AnalogItemType, Double, °C, EURange 0..150
 *         …
 *         Control/SupplyTemperatureSetpoint   AnalogItemType, Double, writable, EURange 20..90
 *
 * Every browse name is in the face's namespace (`FACE_NAMESPACE_URI`). NodeIds are strings `<substation>.<Folder>.<Name>`
 * in that namespace, or numeric when the face is told to renumber (a controller after a program download).
 */
import type { SubstationTagName } from '../../model/substation-tags.ts';

export const FACE_NAMESPACE_URI = 'urn:warmgrid:simulator:substations';

/** UNECE Recommendation 20 common codes (OPC UA Part 8, EUInformation.unitId). */
export type UnitCode = 'CEL' | 'MPA' | 'MQH' | 'MTQ' | 'KWT' | 'GV' | 'P1' | 'HTZ' | 'AMP' | 'MTR' | 'KWH' | '';

export interface FaceNode {
  readonly tag: SubstationTagName;
  /** Child object of the substation that holds the variable. */
  readonly folder: string;
  readonly name: string;
  readonly dataType: 'Double' | 'Boolean' | 'Int32';
  readonly unit: UnitCode;
  /** EURange (OPC UA Part 8, AnalogItemType) for analog items; for writable ones also the range the model accepts. */
  readonly range?: { low: number; high: number };
  readonly writable: boolean;
}

const n = (tag: SubstationTagName, folder: string, name: string, unit: UnitCode, range: [number, number]): FaceNode => ({
  tag,
  folder,
  name,
  dataType: 'Double',
  unit,
  range: { low: range[0], high: range[1] },
  writable: false,
});
const b = (tag: SubstationTagName, folder: string, name: string): FaceNode => ({ tag, folder, name, dataType: 'Boolean', unit: '', writable: false });
const w = (node: FaceNode, dataType: FaceNode['dataType'] = node.dataType): FaceNode => ({ ...node, dataType, writable: true });

/** One node per model tag (SUBSTATION_TAGS), in a stable order. */
export const FACE_NODES: readonly FaceNode[] = [
  n('outdoor_temp_c', 'Outdoor', 'Temperature', 'CEL', [-50, 50]),
  n('primary_supply_temp_c', 'Primary', 'SupplyTemperature', 'CEL', [0, 150]),
  n('primary_return_temp_c', 'Primary', 'ReturnTemperature', 'CEL', [0, 150]),
  n('primary_supply_pressure_mpa', 'Primary', 'SupplyPressure', 'MPA', [0, 2.5]),
  n('primary_return_pressure_mpa', 'Primary', 'ReturnPressure', 'MPA', [0, 2.5]),
  n('secondary_supply_temp_c', 'Secondary', 'SupplyTemperature', 'CEL', [0, 120]),
  n('secondary_return_temp_c', 'Secondary', 'ReturnTemperature', 'CEL', [0, 120]),
  n('secondary_supply_pressure_mpa', 'Secondary', 'SupplyPressure', 'MPA', [0, 1.6]),
  n('secondary_return_pressure_mpa', 'Secondary', 'ReturnPressure', 'MPA', [0, 1.6]),
  n('secondary_flow_m3h', 'Secondary', 'Flow', 'MQH', [0, 2000]),
  n('primary_flow_m3h', 'HeatMeter', 'Flow', 'MQH', [0, 1000]),
  n('primary_volume_m3', 'HeatMeter', 'Volume', 'MTQ', [0, 1e9]),
  n('heat_power_kw', 'HeatMeter', 'Power', 'KWT', [0, 50_000]),
  n('heat_energy_gj', 'HeatMeter', 'Energy', 'GV', [0, 1e9]),
  n('valve_cmd_pct', 'Valve', 'Command', 'P1', [0, 100]),
  n('valve_pos_pct', 'Valve', 'Position', 'P1', [0, 100]),
  w(n('valve_mode', 'Valve', 'Mode', '', [0, 1]), 'Int32'),
  w(n('valve_manual_pct', 'Valve', 'ManualPosition', 'P1', [0, 100])),
  n('circ_pump_freq_hz', 'CirculatingPump', 'Frequency', 'HTZ', [0, 50]),
  n('circ_pump_current_a', 'CirculatingPump', 'Current', 'AMP', [0, 500]),
  b('circ_pump_running', 'CirculatingPump', 'Running'),
  b('vfd_fault', 'CirculatingPump', 'Fault'),
  w(n('pump_dp_setpoint_mpa', 'CirculatingPump', 'DifferentialPressureSetpoint', 'MPA', [0.02, 0.4])),
  n('makeup_pump_freq_hz', 'MakeupPump', 'Frequency', 'HTZ', [0, 50]),
  b('makeup_pump_running', 'MakeupPump', 'Running'),
  n('makeup_flow_m3h', 'MakeupPump', 'Flow', 'MQH', [0, 100]),
  n('makeup_volume_m3', 'MakeupPump', 'Volume', 'MTQ', [0, 1e9]),
  n('tank_level_m', 'MakeupTank', 'Level', 'MTR', [0, 2]),
  n('power_use_kwh', 'Electricity', 'Energy', 'KWH', [0, 1e10]),
  b('remote', 'Panel', 'Remote'),
  b('auto', 'Panel', 'Auto'),
  w(n('supply_temp_setpoint_c', 'Control', 'SupplyTemperatureSetpoint', 'CEL', [20, 90])),
  w(b('setpoint_from_curve', 'Control', 'SetpointFromCurve')),
];

/** Folders in the order they first appear. */
export const FACE_FOLDERS: readonly string[] = [...new Set(FACE_NODES.map((x) => x.folder))];

/** The string NodeId identifier of a node of a substation. */
export function stringIdentifier(substation: string, node: Pick<FaceNode, 'folder' | 'name'> | string): string {
  return typeof node === 'string' ? `${substation}.${node}` : `${substation}.${node.folder}.${node.name}`;
}

export const UNIT_TEXT: Record<UnitCode, { short: string; long: string }> = {
  CEL: { short: '°C', long: 'degree Celsius' },
  MPA: { short: 'MPa', long: 'megapascal' },
  MQH: { short: 'm³/h', long: 'cubic metre per hour' },
  MTQ: { short: 'm³', long: 'cubic metre' },
  KWT: { short: 'kW', long: 'kilowatt' },
  GV: { short: 'GJ', long: 'gigajoule' },
  P1: { short: '%', long: 'percent' },
  HTZ: { short: 'Hz', long: 'hertz' },
  AMP: { short: 'A', long: 'ampere' },
  MTR: { short: 'm', long: 'metre' },
  KWH: { short: 'kWh', long: 'kilowatt hour' },
  '': { short: '', long: '' },
};
