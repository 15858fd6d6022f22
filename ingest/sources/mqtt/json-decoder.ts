/**
 * The JSON payload format (docs/mqtt.md): one object per sample,
 *
 *   { "ts": 1767225600000 | "2026-01-01T00:00:00Z", "quality": "good", "room_temp_c": 20.4, "valve_pct": 60, ... }
 *
 * - `ts` (optional): epoch milliseconds or an ISO 8601 string; absent → the adapter stamps the hub's clock.
 * - `quality` (optional): good | uncertain | bad; absent → good.
 * - every other key is a field: a number or a boolean (null means "no value" and is skipped). Anything else is a
 *   wrong_type problem for that one field; the rest of the sample is kept.
 * - `forecast` (optional, weather stations): `[{ ts, outdoor_temp_c, ... }, ...]` becomes one field per configured
 *   horizon h and quantity q: `forecast_<h>h_<q>` with an `outdoor_` prefix dropped (`forecast_3h_temp_c`), taken
 *   from the forecast point nearest to ts + h hours, if one lies within half an hour of it.
 *
 * Field names are checked by the pipeline (snake_case, counted as invalid_field); ranges and timestamp windows too.
 * Pure code: no I/O, no clock.
 */
import type { FieldValue, Quality } from '../../reading.ts';
import type { MqttRejectReason, Problem } from './problem.ts';

export interface JsonTemplateOptions {
  /** Payload key → field name; keys not listed keep their name. */
  rename?: Readonly<Record<string, string>>;
  /** Forecast horizons in hours, e.g. [1, 3, 6, 12, 24]. */
  forecastHorizonsH: readonly number[];
}

export type JsonDecodeResult =
  | {
      ok: true;
      /** Epoch ms from the payload, or null when it gave none. */
      ts: number | null;
      quality: Quality;
      fields: Record<string, FieldValue>;
      /** Single fields dropped from an otherwise good sample. */
      problems: Problem[];
    }
  | { ok: false; reason: MqttRejectReason; detail: string };

const HOUR_MS = 3_600_000;
const FORECAST_TOLERANCE_MS = 30 * 60_000;
const MAX_FORECAST_POINTS = 1000;
const QUALITY_SET: ReadonlySet<string> = new Set(['good', 'uncertain', 'bad']);
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Epoch ms from a number or an ISO 8601 string; NaN when it is neither. */
export function parseTs(v: unknown): number {
  if (typeof v === 'number') return Number.isFinite(v) ? Math.round(v) : NaN;
  if (typeof v === 'string' && v.length <= 40 && /^\d{4}-\d{2}-\d{2}T/.test(v)) return Date.parse(v);
  return NaN;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `a string ("${v.slice(0, 20)}")`;
  return `a${typeof v === 'object' ? 'n' : ''} ${typeof v}`;
}

export function decodeJson(payload: Uint8Array, opts: JsonTemplateOptions): JsonDecodeResult {
  let doc: unknown;
  try {
    doc = JSON.parse(decoder.decode(payload));
  } catch (err) {
    return { ok: false, reason: 'malformed', detail: `not JSON: ${(err as Error).message.slice(0, 120)}` };
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    return { ok: false, reason: 'malformed', detail: `payload must be a JSON object, got ${describe(doc)}` };
  }
  const obj = doc as Record<string, unknown>;

  let ts: number | null = null;
  if (obj['ts'] !== undefined) {
    ts = parseTs(obj['ts']);
    if (Number.isNaN(ts)) return { ok: false, reason: 'ts_invalid', detail: `ts must be epoch milliseconds or an ISO 8601 time, got ${describe(obj['ts'])}` };
  }

  let quality: Quality = 'good';
  const q = obj['quality'];
  if (q !== undefined) {
    if (typeof q !== 'string' || !QUALITY_SET.has(q)) return { ok: false, reason: 'invalid_quality', detail: `quality must be good, uncertain or bad, got ${describe(q)}` };
    quality = q as Quality;
  }

  // A plain object (fast properties; payloads with the same keys share one hidden class). "__proto__" would set its
  // prototype, so that one key is refused here; every other name is checked by the pipeline.
  const fields: Record<string, FieldValue> = {};
  const problems: Problem[] = [];
  const rename = opts.rename;
  for (const key in obj) {
    if (key === 'ts' || key === 'quality') continue;
    const v = obj[key];
    if (key === 'forecast') {
      forecastFields(v, ts, opts.forecastHorizonsH, fields, problems);
      continue;
    }
    if (v === null) continue;
    const name = rename === undefined ? key : (rename[key] ?? key);
    if (name === '__proto__') problems.push({ reason: 'invalid_field', detail: 'field name "__proto__" is not snake_case' });
    else if (typeof v === 'number' || typeof v === 'boolean') fields[name] = v;
    else problems.push({ reason: 'wrong_type', detail: `${key.slice(0, 64)} must be a number or a boolean, got ${describe(v)}` });
  }
  return { ok: true, ts, quality, fields, problems };
}

function forecastFields(v: unknown, ts: number | null, horizons: readonly number[], out: Record<string, FieldValue>, problems: Problem[]): void {
  if (!Array.isArray(v)) {
    problems.push({ reason: 'wrong_type', detail: `forecast must be an array of { ts, ... }, got ${describe(v)}` });
    return;
  }
  if (v.length > MAX_FORECAST_POINTS) {
    problems.push({ reason: 'oversize', detail: `forecast has ${v.length} points, at most ${MAX_FORECAST_POINTS}` });
    return;
  }
  if (ts === null) {
    // Horizons are relative to the sample's own time; without it they would shift with transport delays.
    if (v.length > 0) problems.push({ reason: 'ts_invalid', detail: 'a payload with a forecast must carry its own ts' });
    return;
  }
  const points: { ts: number; values: Record<string, number> }[] = [];
  for (let i = 0; i < v.length; i++) {
    const p = v[i] as unknown;
    const pts = p !== null && typeof p === 'object' && !Array.isArray(p) ? parseTs((p as Record<string, unknown>)['ts']) : NaN;
    if (Number.isNaN(pts)) {
      problems.push({ reason: 'wrong_type', detail: `forecast[${i}] must be an object with a ts` });
      return;
    }
    const values: Record<string, number> = {};
    for (const [k, x] of Object.entries(p as Record<string, unknown>)) {
      if (k === 'ts' || k === '__proto__' || x === null) continue;
      if (typeof x !== 'number') {
        problems.push({ reason: 'wrong_type', detail: `forecast[${i}].${k.slice(0, 64)} must be a number, got ${describe(x)}` });
        return;
      }
      values[k.startsWith('outdoor_') ? k.slice(8) : k] = x;
    }
    points.push({ ts: pts, values });
  }
  for (const h of horizons) {
    const want = ts + h * HOUR_MS;
    let best: (typeof points)[number] | null = null;
    for (const p of points) if (!best || Math.abs(p.ts - want) < Math.abs(best.ts - want)) best = p;
    if (!best || Math.abs(best.ts - want) > FORECAST_TOLERANCE_MS) continue;
    for (const [k, x] of Object.entries(best.values)) out[`forecast_${h}h_${k}`] = x;
  }
}
