/**
 * The physical model behind the simulators: one coupled model of a district heating network, stepped explicitly.
 * Protocol faces (Modbus TCP, OPC UA, MQTT) read tags and apartment arrays from it and write setpoints into it.
 * See README.md in this folder for what is modelled and its limits.
 */
export { createNetworkModel, loadNetworkFile, NetworkModel } from './network-model.ts';
export type {
  ApartmentTable,
  ApartmentValues,
  AssetKind,
  BuildingState,
  DeviceFlags,
  EnergyTotals,
  NetworkModelOptions,
  WeatherStationTags,
} from './network-model.ts';
export { FAULT_KINDS, ModelError } from './faults.ts';
export type { ActiveFault, FaultKind, FaultSpec, ModelErrorCode } from './faults.ts';
export { SUBSTATION_TAGS, SUBSTATION_TAG_NAMES } from './substation-tags.ts';
export type { SubstationTagName, SubstationTags, TagMeta, WritableSubstationTag } from './substation-tags.ts';
export type { Substation, SubstationOptions } from './substation.ts';
export type { HeatSourceParams, HeatSourceTags } from './heat-source.ts';
export { APARTMENT_FIELDS, DEFAULT_APARTMENT_OPTIONS } from './building-stock.ts';
export type { ApartmentField, ApartmentOptions, ApartmentOptionsInput, EmitterSizing, SizingDistribution } from './building-stock.ts';
export { Weather, JINAN_WEATHER } from './weather.ts';
export type { ColdSnap, ForecastPoint, WeatherOptions, WeatherSample } from './weather.ts';
export { designSupplySetpoint, emitterDesign, qualityRegulation, FLOOR_DESIGN, RADIATOR_DESIGN, SUPPLY_LIMITS } from './heating-curve.ts';
export type { CurvePoint, EmitterDesign, EmitterKind } from './heating-curve.ts';
export { counterflowEffectiveness } from './heat-exchanger.ts';
