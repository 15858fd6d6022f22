/**
 * Turning monitored-item notifications (or poll results) of one device into Readings (pure, table-tested).
 *
 * A Reading has one timestamp and one quality, while OPC UA gives each value its own SourceTimestamp and StatusCode.
 * So the values of one device that arrive together (one Publish response, one Read) are grouped by (timestamp,
 * quality): usually all share the device's clock tick and are Good, which makes one Reading.
 *
 * - Timestamp: SourceTimestamp, else ServerTimestamp, else the hub's clock at receipt (Part 4 §7.7.3, §7.7.4).
 * - Quality: from the StatusCode severity (status.ts).
 * - Bad: Part 4 §7.7.1 says a server sets the value of a Bad DataValue to null. A Bad value that still carries a usable
 *   value (some servers send the last value with Bad_SensorFailure) is kept in a Reading of quality bad; one without
 *   (null, NaN, ∞) is left out and counted in `dropped`.
 * - A communication status (Bad_NoCommunication and the like) says the device behind the node is not answering: its
 *   value is ignored and `commFailure` is set; the caller marks the device down.
 * - Readings of one call are in time order; at one timestamp bad comes before uncertain before good, so the asset's
 *   status in the pipeline ends on the best quality of that sample.
 */
import type { FieldValue, Quality, Reading } from '../../reading.ts';
import { isCommunicationFailure, qualityOfStatus } from './status.ts';

export interface ValueUpdate {
  field: string;
  /** The value as a field value, or null when there is none the hub can store. */
  value: FieldValue | null;
  status: number;
  /** Epoch ms. */
  ts: number;
}

export interface Assembled {
  readings: Reading[];
  /** Values left out: Bad without a usable value, or not storable. */
  dropped: number;
  /** Some value said the device behind the server is unreachable. */
  commFailure: boolean;
  /** Some value was Good or Uncertain: the device answers. */
  answered: boolean;
}

const ORDER: Record<Quality, number> = { bad: 0, uncertain: 1, good: 2 };

export function assemble(asset: string, source: string, updates: readonly ValueUpdate[]): Assembled {
  const groups = new Map<string, { ts: number; quality: Quality; fields: Record<string, FieldValue> }>();
  let dropped = 0;
  let commFailure = false;
  let answered = false;
  for (const u of updates) {
    if (isCommunicationFailure(u.status)) {
      commFailure = true;
      continue;
    }
    const quality = qualityOfStatus(u.status);
    if (quality !== 'bad') answered = true;
    if (u.value === null || (typeof u.value === 'number' && !Number.isFinite(u.value))) {
      dropped++;
      continue;
    }
    const key = `${u.ts}|${quality}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { ts: u.ts, quality, fields: {} }));
    // Several values of one field at one time and quality (a queue): the last one wins.
    g.fields[u.field] = u.value;
  }
  const readings = [...groups.values()]
    .sort((a, b) => a.ts - b.ts || ORDER[a.quality] - ORDER[b.quality])
    .map((g): Reading => ({ asset, ts: g.ts, fields: g.fields, quality: g.quality, source }));
  return { readings, dropped, commFailure, answered };
}

/** A Variant's value as a field value (numbers, booleans, strings, 64-bit integers, dates), or null. */
export function fieldValueOf(value: unknown, int64: boolean): FieldValue | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'boolean' || typeof value === 'string') return value;
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof Date) return Number.isFinite(value.getTime()) ? value.getTime() : null;
  // node-opcua gives Int64/UInt64 as [high, low] 32-bit words.
  if (int64 && Array.isArray(value) && value.length === 2 && typeof value[0] === 'number' && typeof value[1] === 'number') {
    return value[0] * 0x1_0000_0000 + (value[1] >>> 0);
  }
  return null;
}
