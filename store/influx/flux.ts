/**
 * Flux queries for the TelemetryStore port, built as text from validated input (pure; flux.test.ts pins them).
 *
 * History: the good and uncertain samples of the requested fields of one asset in [from, to), every quality series of
 * a field merged and sorted by time; booleans as 0/1; string fields left out (they are latest values only); then
 * `aggregateWindow` (windows aligned to the epoch, so UTC-aligned) with mean, min, max or last, or raw; then the newest
 * `limit` points. Bucket stamps are the window start; the reader rounds them down to the bucket, because Flux clips the
 * first window to the range start.
 *
 * Latest: `last()` of every series of the asked assets over all time (InfluxDB answers a bare `range |> filter |>
 * last` from its index without reading every point); the reader keeps the newest point per asset and field across
 * the quality series.
 */
import type { Aggregate, Bucket, HistoryQuery } from '../telemetry-store.ts';

/** Flux times are int64 nanoseconds: about 1677-09-21 to 2262-04-11. */
const MIN_MS = -9_223_372_036_854;
const MAX_MS = 9_223_372_036_854;
/** Far enough ahead for any device clock, inside Flux's range. */
export const LATEST_STOP = '2200-01-01T00:00:00.000Z';

export function fluxString(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\$\{/g, '\\${')}"`;
}

export function fluxTime(ms: number): string {
  return new Date(Math.min(MAX_MS, Math.max(MIN_MS, Math.floor(ms)))).toISOString();
}

const EVERY: Readonly<Record<Exclude<Bucket, 'raw'>, string>> = { '1m': '1m', '15m': '15m', '1h': '1h', '1d': '1d' };
const FN: Readonly<Record<Aggregate, string>> = { mean: 'mean', min: 'min', max: 'max', last: 'last' };

function anyOf(column: string, values: readonly string[]): string {
  return values.map((v) => `r.${column} == ${fluxString(v)}`).join(' or ');
}

export function historyFlux(bucket: string, measurement: string, q: HistoryQuery): string {
  const lines = [
    'import "types"',
    '',
    `from(bucket: ${fluxString(bucket)})`,
    `  |> range(start: ${fluxTime(q.from)}, stop: ${fluxTime(q.to)})`,
    `  |> filter(fn: (r) => r._measurement == ${fluxString(measurement)} and r.asset == ${fluxString(q.asset)})`,
    `  |> filter(fn: (r) => ${anyOf('_field', q.fields)})`,
    '  |> filter(fn: (r) => r.quality != "bad")',
    '  |> filter(fn: (r) => types.isType(v: r._value, type: "float") or types.isType(v: r._value, type: "bool"))',
    '  |> toFloat()',
    '  |> group(columns: ["_field"])',
    '  |> sort(columns: ["_time"])',
  ];
  if (q.bucket !== 'raw') lines.push(`  |> aggregateWindow(every: ${EVERY[q.bucket]}, fn: ${FN[q.aggregate]}, createEmpty: false, timeSrc: "_start")`);
  if (q.limit !== undefined) lines.push(`  |> tail(n: ${q.limit})`);
  lines.push('  |> keep(columns: ["_time", "_value", "_field"])');
  return lines.join('\n');
}

/** `assets` undefined: every series written by the hub (those with an `asset` tag). */
export function latestFlux(bucket: string, assets?: readonly string[]): string {
  const pick = assets === undefined ? 'exists r.asset and exists r.quality' : anyOf('asset', assets);
  return [
    `from(bucket: ${fluxString(bucket)})`,
    `  |> range(start: 1970-01-01T00:00:00.000Z, stop: ${LATEST_STOP})`,
    `  |> filter(fn: (r) => ${pick})`,
    '  |> last()',
  ].join('\n');
}
