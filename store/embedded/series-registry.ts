/**
 * The in-memory map asset → field → series, holding each series' id, value kind and latest value.
 *
 * Ownership: only the writer mutates it, one batch at a time. A batch may add series and change kinds tentatively;
 * `commit()` keeps those changes, `rollback()` undoes them, so the map never claims a series the file does not hold.
 * Latest values are only set after the batch's transaction has committed.
 */
import type { FieldValue, Quality } from '../../ingest/reading.ts';
import type { LatestByAsset, LatestValue } from '../telemetry-store.ts';
import { KIND_BOOLEAN, KIND_NUMBER, KIND_TEXT, type ValueKind } from './schema.ts';

export interface SeriesEntry {
  readonly id: number;
  readonly asset: string;
  readonly field: string;
  kind: ValueKind;
  /** Latest value; `latestTs` is -Infinity while the series has none. */
  latestTs: number;
  latestValue: FieldValue;
  latestQuality: Quality;
  /**
   * At least the newest numeric sample ts ever appended for this series (raised while a batch is converted, never
   * lowered). A sample at or below it may repeat one that is still unsealed.
   */
  appendedTs: number;
}

export class SeriesRegistry {
  readonly #byAsset = new Map<string, Map<string, SeriesEntry>>();
  readonly #byId: SeriesEntry[] = [];
  #added: SeriesEntry[] = [];
  #kindChanges: { entry: SeriesEntry; previous: ValueKind }[] = [];

  get size(): number {
    return this.#byId.length;
  }

  /** Fields of one asset; the map is live and must not be mutated by the caller. */
  fieldsOf(asset: string): Map<string, SeriesEntry> | undefined {
    return this.#byAsset.get(asset);
  }

  get(asset: string, field: string): SeriesEntry | undefined {
    return this.#byAsset.get(asset)?.get(field);
  }

  byId(id: number): SeriesEntry | undefined {
    return this.#byId[id];
  }

  /** Loads a series read from the file (at open). Ids are dense from 0. */
  load(id: number, asset: string, field: string, kind: ValueKind): void {
    const entry = newEntry(id, asset, field, kind);
    this.#byId[id] = entry;
    this.#fieldMap(asset).set(field, entry);
  }

  /** Adds a series tentatively (until `commit` or `rollback`). */
  add(asset: string, field: string, kind: ValueKind): SeriesEntry {
    const entry = newEntry(this.#byId.length, asset, field, kind);
    this.#byId.push(entry);
    this.#fieldMap(asset).set(field, entry);
    this.#added.push(entry);
    return entry;
  }

  /** Changes a series' kind tentatively (a field that was a number and now reports a string, say). */
  changeKind(entry: SeriesEntry, kind: ValueKind): void {
    this.#kindChanges.push({ entry, previous: entry.kind });
    entry.kind = kind;
  }

  /** Series and kind changes made since the last commit/rollback, for the writer to persist. */
  get added(): readonly SeriesEntry[] {
    return this.#added;
  }

  get kindChanges(): readonly { entry: SeriesEntry; previous: ValueKind }[] {
    return this.#kindChanges;
  }

  commit(): void {
    this.#added = [];
    this.#kindChanges = [];
  }

  rollback(): void {
    for (let i = this.#kindChanges.length - 1; i >= 0; i--) {
      const c = this.#kindChanges[i]!;
      c.entry.kind = c.previous;
    }
    for (let i = this.#added.length - 1; i >= 0; i--) {
      const e = this.#added[i]!;
      this.#byId.pop();
      const fields = this.#byAsset.get(e.asset);
      fields?.delete(e.field);
      if (fields?.size === 0) this.#byAsset.delete(e.asset);
    }
    this.commit();
  }

  /** Sets the latest value unless the series already holds a newer one (equal timestamps: the later call wins). */
  offerLatest(entry: SeriesEntry, ts: number, value: FieldValue, quality: Quality): void {
    if (ts >= entry.latestTs) {
      entry.latestTs = ts;
      entry.latestValue = value;
      entry.latestQuality = quality;
    }
  }

  /** A fresh copy of the latest values, for all assets or the given ones; series without a value are left out. */
  latest(assets?: readonly string[]): LatestByAsset {
    const out: LatestByAsset = new Map();
    const pick = assets ?? [...this.#byAsset.keys()];
    for (const asset of pick) {
      const fields = this.#byAsset.get(asset);
      if (!fields) continue;
      let m: Map<string, LatestValue> | undefined;
      for (const e of fields.values()) {
        if (e.latestTs === -Infinity) continue;
        m ??= new Map();
        m.set(e.field, { value: e.latestValue, ts: e.latestTs, quality: e.latestQuality });
      }
      if (m) out.set(asset, m);
    }
    return out;
  }

  /** Every series, in id order. */
  all(): readonly SeriesEntry[] {
    return this.#byId;
  }

  /** Every series holding a latest value, for the snapshot written at each seal. */
  *withLatest(): Generator<SeriesEntry> {
    for (const e of this.#byId) if (e && e.latestTs !== -Infinity) yield e;
  }

  #fieldMap(asset: string): Map<string, SeriesEntry> {
    let m = this.#byAsset.get(asset);
    if (!m) {
      m = new Map();
      this.#byAsset.set(asset, m);
    }
    return m;
  }
}

function newEntry(id: number, asset: string, field: string, kind: ValueKind): SeriesEntry {
  return { id, asset, field, kind, latestTs: -Infinity, latestValue: 0, latestQuality: 'good', appendedTs: -Infinity };
}

/** Kind of a field value; `null` for anything the store cannot keep (non-finite numbers, objects, null). */
export function kindOf(v: unknown): ValueKind | null {
  switch (typeof v) {
    case 'number':
      return Number.isFinite(v) ? KIND_NUMBER : null;
    case 'boolean':
      return KIND_BOOLEAN;
    case 'string':
      return KIND_TEXT;
    default:
      return null;
  }
}

/** A number read back from the file, as the kind its series was written with. */
export function fromStored(kind: ValueKind, num: number | null, text: string | null): FieldValue {
  if (kind === KIND_TEXT) return text ?? '';
  if (kind === KIND_BOOLEAN) return num !== 0;
  return num ?? 0;
}
