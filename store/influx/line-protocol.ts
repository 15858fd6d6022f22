/**
 * Readings → InfluxDB line protocol, the schema described in docs/influxdb.md.
 *
 * One Reading becomes one line:
 *
 *     substation,asset=ss01,heat_source=hs1,network=net1,quality=good supply_temp_c=71.2,pump_on=true,mode="auto" 1768435200000
 *
 * - measurement: the asset's kind (substation, building, apartment, weather_station, ...);
 * - tags, sorted by key (InfluxDB's advice): `asset`, the asset's place in the network (`heat_source`, `network`,
 *   `substation`, `building`: its ancestors by kind, from AssetTree.placeTags) and `quality`;
 * - fields: numbers as floats (never `i` integers, so a field keeps one type whatever a device sends), booleans as
 *   booleans, strings as strings; non-finite numbers are left out (InfluxDB cannot store them);
 * - timestamp: epoch milliseconds (precision=ms), whole milliseconds.
 *
 * Idempotency: a line depends only on the reading and the asset's place, and the place is fixed for the life of the
 * process (the asset tree is read once at start). A retry or a replay therefore writes the same series key and
 * timestamp, and InfluxDB overwrites the point with the same values instead of adding one. Nothing that changes
 * between attempts (write time, attempt number, hub instance, source) is ever a tag.
 */
import { escape } from '@influxdata/influxdb-client';
import type { AssetTree } from '../../config/asset-tree.ts';
import type { Quality, Reading } from '../../ingest/reading.ts';

/** Where an asset's series live: the measurement and the tags besides `asset` and `quality`. */
export interface AssetPlace {
  measurement: string;
  tags: Readonly<Record<string, string>>;
}

/** Maps an asset id to its place; the same id must always give the same place within one process. */
export type PlaceResolver = (asset: string) => AssetPlace;

/** Measurement of assets the resolver does not know (the pipeline rejects those, so only tests and tools write it). */
export const UNPLACED_MEASUREMENT = 'asset';

/** Places assets by the asset tree: measurement = kind, tags = ancestors by kind. Unknown ids get `asset`. */
export function treePlaces(tree: AssetTree): PlaceResolver {
  const cache = new Map<string, AssetPlace>();
  return (id) => {
    let p = cache.get(id);
    if (!p) {
      const a = tree.get(id);
      p = a ? { measurement: a.kind, tags: tree.placeTags(id) } : { measurement: UNPLACED_MEASUREMENT, tags: {} };
      cache.set(id, p);
    }
    return p;
  };
}

/** Places every asset in one measurement without place tags (tests, tools). */
export function flatPlaces(measurement = UNPLACED_MEASUREMENT): PlaceResolver {
  const place: AssetPlace = { measurement, tags: {} };
  return () => place;
}

export interface EncodeResult {
  lines: string[];
  /** Readings that gave no line (no storable field, or a timestamp that is not a finite number). */
  skippedReadings: number;
  /** Field values left out (non-finite numbers, values of other types). */
  skippedValues: number;
}

/**
 * Encodes readings with a per-(asset, quality) cache of the line's prefix, so the hot path is one map lookup and the
 * field list per reading.
 */
export class LineEncoder {
  readonly #place: PlaceResolver;
  readonly #prefixes = new Map<string, string>();
  /** Escaped field key followed by `=`, per field name. */
  readonly #keys = new Map<string, string>();

  constructor(place: PlaceResolver) {
    this.#place = place;
  }

  /** The series key part of a line: measurement and sorted tags. */
  prefix(asset: string, quality: Quality): string {
    const key = `${asset}\u0000${quality}`;
    let p = this.#prefixes.get(key);
    if (p === undefined) {
      const place = this.#place(asset);
      const tags: Record<string, string> = { ...place.tags, asset, quality };
      let s = escape.measurement(place.measurement);
      for (const k of Object.keys(tags).sort()) {
        const v = tags[k]!;
        if (v !== '') s += `,${escape.tag(k)}=${escape.tag(v)}`;
      }
      p = s;
      this.#prefixes.set(key, p);
    }
    return p;
  }

  encode(batch: readonly Reading[]): EncodeResult {
    const lines: string[] = [];
    let skippedReadings = 0;
    let skippedValues = 0;
    for (const r of batch) {
      if (typeof r.ts !== 'number' || !Number.isFinite(r.ts)) {
        skippedReadings++;
        continue;
      }
      let fields = '';
      for (const name in r.fields) {
        const v = r.fields[name];
        let text: string;
        if (typeof v === 'number') {
          if (!Number.isFinite(v)) {
            skippedValues++;
            continue;
          }
          text = String(v);
        } else if (typeof v === 'boolean') {
          text = v ? 'true' : 'false';
        } else if (typeof v === 'string') {
          text = escape.quoted(v);
        } else {
          skippedValues++;
          continue;
        }
        let key = this.#keys.get(name);
        if (key === undefined) this.#keys.set(name, (key = `${escape.tag(name)}=`));
        fields = fields === '' ? key + text : `${fields},${key}${text}`;
      }
      if (fields === '') {
        skippedReadings++;
        continue;
      }
      lines.push(`${this.prefix(r.asset, r.quality)} ${fields} ${Math.floor(r.ts)}`);
    }
    return { lines, skippedReadings, skippedValues };
  }
}
