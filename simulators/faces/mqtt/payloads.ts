/**
 * What the simulated devices put on the wire (docs/mqtt.md): topics and JSON payloads of room thermostats and weather
 * stations. Pure functions, no I/O.
 *
 * Thermostat, `<prefix>/<substation>/<building>/<FFUU>/telemetry`, epoch-ms timestamp:
 *   {"ts":1768456800000,"room_temp_c":20.4,"setpoint_c":21,"valve_pct":60,"battery_pct":87,"rssi_dbm":-71}
 * Weather station, `<prefix>/weather/<station>/telemetry`, ISO 8601 timestamps, hourly forecast:
 *   {"ts":"2026-01-15T06:00:00.000Z","outdoor_temp_c":-2.5,"humidity_pct":81,"wind_ms":3.1,"solar_wm2":0,"forecast":[...]}
 *
 * Values are rounded to the device's resolution: temperatures 0.1 K, valve, battery and humidity 1 %, RSSI 1 dB, wind
 * 0.1 m/s, irradiance 1 W/m². A value the model reports as NaN (a `sensor_dead` fault with the default sentinel) is sent
 * as `null`, which the hub reads as "no value" and skips; `setpoint_c` is left out entirely when it is NaN, because
 * then the flat has no thermostat with a setpoint.
 */
import type { ApartmentTable, ForecastPoint, WeatherStationTags } from '../../model/index.ts';

/** The part of a network file the topics need (NetworkFile satisfies it). */
export interface TopicNetwork {
  heatSources: readonly { networks: readonly { substations: readonly { id: string; buildings: readonly { id: string }[] }[] }[] }[];
}

/** Rounded to 0.1, or `null` for NaN and infinities. */
export function tenths(x: number): string {
  return Number.isFinite(x) ? String(Math.round(x * 10) / 10) : 'null';
}

/** Rounded to an integer, or `null` for NaN and infinities. */
export function whole(x: number): string {
  return Number.isFinite(x) ? String(Math.round(x)) : 'null';
}

/**
 * One topic per apartment, in table order: `<prefix>/<substation>/<building>/<FFUU>/telemetry`, FFUU being the
 * apartment id without its building prefix.
 */
export function apartmentTopics(network: TopicNetwork, table: Pick<ApartmentTable, 'count' | 'ids' | 'buildingIndex' | 'buildingIds'>, prefix: string): string[] {
  const substationOf = new Map<string, string>();
  for (const hs of network.heatSources) for (const n of hs.networks) for (const ss of n.substations) for (const b of ss.buildings) substationOf.set(b.id, ss.id);
  const buildingPrefix = table.buildingIds.map((b) => {
    const ss = substationOf.get(b);
    if (ss === undefined) throw new Error(`building ${b} is not in the network file`);
    return `${prefix}/${ss}/${b}/`;
  });
  const out = new Array<string>(table.count);
  for (let i = 0; i < table.count; i++) {
    const b = table.buildingIndex[i]!;
    const building = table.buildingIds[b]!;
    const id = table.ids[i]!;
    out[i] = `${buildingPrefix[b]!}${id.slice(building.length + 1)}/telemetry`;
  }
  return out;
}

export function weatherTopic(prefix: string, station: string): string {
  return `${prefix}/weather/${station}/telemetry`;
}

/** The thermostat payload of apartment i at model time tsMs. Allocation: the string only (hot path). */
export function thermostatPayload(a: ApartmentTable, i: number, tsMs: number): string {
  const sp = a.setpoint_c[i]!;
  const setpoint = Number.isNaN(sp) ? '' : `,"setpoint_c":${tenths(sp)}`;
  return `{"ts":${Math.round(tsMs)},"room_temp_c":${tenths(a.room_temp_c[i]!)}${setpoint},"valve_pct":${whole(a.valve_pct[i]!)},"battery_pct":${whole(a.battery_pct[i]!)},"rssi_dbm":${whole(a.rssi_dbm[i]!)}}`;
}

function weatherFields(w: Pick<WeatherStationTags, 'outdoor_temp_c' | 'humidity_pct' | 'solar_wm2'> & { wind_speed_ms: number }): string {
  return `"outdoor_temp_c":${tenths(w.outdoor_temp_c)},"humidity_pct":${whole(w.humidity_pct)},"wind_ms":${tenths(w.wind_speed_ms)},"solar_wm2":${whole(w.solar_wm2)}`;
}

/**
 * The weather station payload: its own readings and the hourly forecast (each point: ts, outdoor_temp_c, humidity_pct,
 * wind_ms, solar_wm2). The hub turns forecast points into `forecast_<h>h_<quantity>` fields.
 */
export function weatherPayload(tags: WeatherStationTags, forecast: readonly ForecastPoint[], tsMs: number): string {
  const points = forecast.map((p) => `{"ts":"${new Date(p.ts).toISOString()}",${weatherFields(p)}}`).join(',');
  return `{"ts":"${new Date(Math.round(tsMs)).toISOString()}",${weatherFields(tags)},"forecast":[${points}]}`;
}
