/**
 * The query side of the InfluxDB adapter: Flux over `POST /api/v2/query` (flux.ts builds the text). Separate from
 * the write side so writes can go to anything that accepts line protocol.
 */
import type { InfluxDB, QueryApi } from '@influxdata/influxdb-client';
import type { WarmgridError } from '../../core/errors.ts';
import { QUALITIES, type FieldValue, type Quality } from '../../ingest/reading.ts';
import { BUCKET_MS, type HistoryPoint, type HistoryQuery, type LatestByAsset } from '../telemetry-store.ts';
import { classifyInfluxError, influxError } from './errors.ts';
import { historyFlux, latestFlux } from './flux.ts';

export interface InfluxReaderOptions {
  client: InfluxDB;
  url: string;
  org: string;
  bucket: string;
  /** Measurement of an asset's series (the same mapping the writer uses). */
  measurementOf: (asset: string) => string;
  /** Assets per latest-values query; longer lists are split. */
  assetsPerQuery?: number;
}

export class InfluxReader {
  readonly #api: QueryApi;
  readonly #opts: InfluxReaderOptions;

  constructor(opts: InfluxReaderOptions) {
    this.#opts = opts;
    this.#api = opts.client.getQueryApi({ org: opts.org, gzip: true });
  }

  /** Points per requested field, ascending; every requested field is a key. */
  async history(q: HistoryQuery): Promise<Record<string, HistoryPoint[]>> {
    const series: Record<string, HistoryPoint[]> = Object.fromEntries(q.fields.map((f) => [f, [] as HistoryPoint[]]));
    if (q.fields.length === 0 || q.to <= q.from || q.limit === 0) return series;
    const flux = historyFlux(this.#opts.bucket, this.#opts.measurementOf(q.asset), q);
    const step = q.bucket === 'raw' ? 0 : BUCKET_MS[q.bucket];
    try {
      for await (const { values, tableMeta } of this.#api.iterateRows(flux)) {
        const field = tableMeta.get(values, '_field') as string;
        const list = Object.hasOwn(series, field) ? series[field] : undefined;
        const value = tableMeta.get(values, '_value') as unknown;
        const t = Date.parse(tableMeta.get(values, '_time') as string);
        if (!list || typeof value !== 'number' || Number.isNaN(t)) continue;
        list.push({ ts: step > 0 ? Math.floor(t / step) * step : t, value });
      }
    } catch (err) {
      throw this.#error(err);
    }
    return series;
  }

  async latest(assets?: readonly string[]): Promise<LatestByAsset> {
    const out: LatestByAsset = new Map();
    if (assets !== undefined && assets.length === 0) return out;
    const per = this.#opts.assetsPerQuery ?? 100;
    const groups = assets === undefined ? [undefined] : Array.from({ length: Math.ceil(assets.length / per) }, (_, i) => assets.slice(i * per, (i + 1) * per));
    try {
      for (const group of groups) {
        for await (const { values, tableMeta } of this.#api.iterateRows(latestFlux(this.#opts.bucket, group))) {
          const asset = tableMeta.get(values, 'asset') as string;
          const field = tableMeta.get(values, '_field') as string;
          const ts = Date.parse(tableMeta.get(values, '_time') as string);
          const value = tableMeta.get(values, '_value') as unknown;
          const q = tableMeta.get(values, 'quality') as string;
          if (typeof asset !== 'string' || typeof field !== 'string' || Number.isNaN(ts)) continue;
          if (typeof value !== 'number' && typeof value !== 'boolean' && typeof value !== 'string') continue;
          const quality: Quality = (QUALITIES as readonly string[]).includes(q) ? (q as Quality) : 'bad';
          let fields = out.get(asset);
          if (!fields) out.set(asset, (fields = new Map()));
          const prev = fields.get(field);
          if (!prev || ts > prev.ts) fields.set(field, { value: value as FieldValue, ts, quality });
        }
      }
    } catch (err) {
      throw this.#error(err);
    }
    return out;
  }

  #error(err: unknown): WarmgridError {
    return influxError('query', this.#opts.url, classifyInfluxError(err), err);
  }
}
