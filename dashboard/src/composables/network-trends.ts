/**
 * The wall's 24-hour trends: outdoor temperature, mean secondary supply and return, total heat load. The last 24 h come
 * from /api/history in 15-minute buckets, per asset; a point per minute is then appended from the live values, and
 * points older than 24 h drop out, so every series stays a bounded window.
 *
 * The hub has no history aggregated over many assets yet, so a large network is backfilled from an evenly spread
 * sample of its substations (at most `maxSample`, four requests in flight) and the total heat scaled up by the sample
 * share; the chart says so.
 */
import { onScopeDispose, shallowRef } from 'vue';
import { api, mapLimit, qs } from '../api/http.ts';
import type { Asset, HistoryResponse } from '../api/types.ts';
import { F } from '../lib/fields.ts';
import type { SubstationTable, WeatherNow } from './wall-model.ts';

const DAY = 86_400_000;
export type Point = [number, number];

export interface NetworkTrends {
  outdoor: Point[];
  t2s: Point[];
  t2r: Point[];
  heatMw: Point[];
}

function evenly<T>(xs: readonly T[], n: number): T[] {
  if (xs.length <= n) return [...xs];
  const out: T[] = [];
  for (let k = 0; k < n; k++) out.push(xs[Math.floor((k * xs.length) / n)]!);
  return out;
}

function trim(s: Point[], from: number): void {
  let k = 0;
  while (k < s.length && s[k]![0] < from) k++;
  if (k > 0) s.splice(0, k);
}

export function useNetworkTrends(
  substations: readonly Asset[],
  weatherStations: readonly Asset[],
  now: { table: SubstationTable; weatherNow: () => WeatherNow },
  opts: { maxSample?: number; liveEveryMs?: number } = {},
) {
  const maxSample = opts.maxSample ?? 300;
  const series: NetworkTrends = { outdoor: [], t2s: [], t2r: [], heatMw: [] };
  const version = shallowRef(0);
  const sample = shallowRef({ sampled: 0, total: substations.length, loading: true });
  const ctl = new AbortController();

  async function backfill(): Promise<void> {
    const to = Date.now();
    const from = to - DAY;
    const outdoor = new Map<number, { s: number; n: number }>();
    await mapLimit(weatherStations, 2, async (w) => {
      const r = await api<HistoryResponse>(`/api/history${qs({ asset: w.id, fields: F.outdoor, from, to, bucket: '15m', aggregate: 'mean' })}`, { signal: ctl.signal }).catch(() => null);
      for (const [ts, v] of r?.series[F.outdoor] ?? []) {
        const e = outdoor.get(ts) ?? { s: 0, n: 0 };
        e.s += v;
        e.n++;
        outdoor.set(ts, e);
      }
    }, ctl.signal);
    series.outdoor = [...outdoor.entries()].sort((a, b) => a[0] - b[0]).map(([ts, e]) => [ts, e.s / e.n] as Point).concat(series.outdoor);
    version.value++;

    const picked = evenly(substations, maxSample);
    sample.value = { sampled: picked.length, total: substations.length, loading: true };
    const acc = new Map<number, { s2: number; n2: number; r2: number; m2: number; h: number; nh: number }>();
    await mapLimit(picked, 4, async (s) => {
      const r = await api<HistoryResponse>(`/api/history${qs({ asset: s.id, fields: [F.t2s, F.t2r, F.heat].join(','), from, to, bucket: '15m', aggregate: 'mean' })}`, { signal: ctl.signal }).catch(() => null);
      if (!r) return;
      const get = (ts: number) => {
        let e = acc.get(ts);
        if (!e) acc.set(ts, (e = { s2: 0, n2: 0, r2: 0, m2: 0, h: 0, nh: 0 }));
        return e;
      };
      for (const [ts, v] of r.series[F.t2s] ?? []) { const e = get(ts); e.s2 += v; e.n2++; }
      for (const [ts, v] of r.series[F.t2r] ?? []) { const e = get(ts); e.r2 += v; e.m2++; }
      for (const [ts, v] of r.series[F.heat] ?? []) { const e = get(ts); e.h += v; e.nh++; }
    }, ctl.signal);
    if (ctl.signal.aborted) return;
    const scale = picked.length < substations.length;
    const rows = [...acc.entries()].sort((a, b) => a[0] - b[0]);
    const t2s: Point[] = [], t2r: Point[] = [], heat: Point[] = [];
    for (const [ts, e] of rows) {
      if (e.n2) t2s.push([ts, e.s2 / e.n2]);
      if (e.m2) t2r.push([ts, e.r2 / e.m2]);
      if (e.nh) heat.push([ts, (scale ? (e.h / e.nh) * substations.length : e.h) / 1000]);
    }
    // History first, then whatever live points were appended meanwhile.
    series.t2s = t2s.concat(series.t2s);
    series.t2r = t2r.concat(series.t2r);
    series.heatMw = heat.concat(series.heatMw);
    sample.value = { sampled: picked.length, total: substations.length, loading: false };
    version.value++;
  }

  /** Appends the current network values (called every minute, and once the first live values are in). */
  function appendLive(): void {
    const t = Date.now();
    const a = now.table.aggregate(t);
    const w = now.weatherNow();
    if (a.reporting > 0) {
      if (Number.isFinite(a.t2s)) series.t2s.push([t, a.t2s]);
      if (Number.isFinite(a.t2r)) series.t2r.push([t, a.t2r]);
      series.heatMw.push([t, a.heatKw / 1000]);
    }
    if (Number.isFinite(w.outdoorC)) series.outdoor.push([t, w.outdoorC]);
    for (const s of [series.outdoor, series.t2s, series.t2r, series.heatMw]) trim(s, t - DAY);
    version.value++;
  }

  void backfill();
  const timer = setInterval(appendLive, opts.liveEveryMs ?? 60_000);
  onScopeDispose(() => {
    clearInterval(timer);
    ctl.abort();
  });
  return { series, version, sample, appendLive };
}
