/**
 * The Reading: what every source adapter produces, one per device sample.
 *
 * A Reading maps one-to-one to an InfluxDB line: measurement = the asset's kind, tags = the asset id and its place
 * in the network, fields = quantities whose names carry their unit (`supply_temp_c`, `flow_m3h`, `power_kw`).
 */

export type Quality = 'good' | 'uncertain' | 'bad';
export const QUALITIES: readonly Quality[] = ['good', 'uncertain', 'bad'];

export type FieldValue = number | boolean | string;

export interface Reading {
  /** Asset id from the network config (a substation, apartment, weather station, ...). */
  readonly asset: string;
  /** Sample time in epoch milliseconds: the device's own timestamp when it gives one, else the hub's clock at receipt. */
  readonly ts: number;
  /** Quantities of this sample, by field name. Numbers are engineering values (already scaled). */
  readonly fields: Readonly<Record<string, FieldValue>>;
  readonly quality: Quality;
  /** Which source produced it: `<plugin>:<device id>`, e.g. `modbus:ss01-plc`, `mqtt:thermostats`. */
  readonly source: string;
}

/** Field names are snake_case identifiers, which also keeps them safe as InfluxDB field keys and SQL values. */
export const FIELD_NAME_RE = /^[a-z][a-z0-9_]{0,63}$/;

/** Quality order used when two qualities meet (the worse one wins). */
export function worseQuality(a: Quality, b: Quality): Quality {
  return QUALITIES.indexOf(a) >= QUALITIES.indexOf(b) ? a : b;
}

/** A series is one field of one asset. */
export function seriesKey(asset: string, field: string): string {
  return `${asset}/${field}`;
}
