/**
 * The wall's picture of the whole network, kept in typed arrays so a city (thousands of substations, a hundred
 * thousand apartments) costs a few megabytes and no reactivity: live values go straight into the arrays, and one
 * shallowRef `version` tells the page that something changed. Aggregates are computed from the arrays on demand.
 *
 * Subscriptions: the substations and weather stations by id (in chunks), then, once their snapshots are in, the
 * apartments per substation ("under", kind apartment), so the hub answers with many small snapshots instead of one
 * huge one and the substations' picture is not queued behind a hundred thousand flats.
 */
import { shallowRef } from 'vue';
import { api, qs } from '../api/http.ts';
import type { Asset, AssetValues, Wire } from '../api/types.ts';
import { F } from '../lib/fields.ts';
import { scoped, type Live } from './live.ts';

/** A substation not heard from for this long counts as not communicating on the wall (until its alarm arrives). */
export const STALE_MS = 120_000;
export const COMFORT_LOW_C = 18;

function val(w: Wire | undefined): number {
  if (!w || w[2] === 'bad') return NaN;
  const v = w[0];
  return typeof v === 'number' ? v : typeof v === 'boolean' ? (v ? 1 : 0) : NaN;
}

export class SubstationTable {
  readonly index = new Map<string, number>();
  readonly t2s: Float64Array;
  readonly t2r: Float64Array;
  readonly t1s: Float64Array;
  readonly t1r: Float64Array;
  readonly heat: Float64Array;
  /** Browser time of the last value received (staleness is judged on the receiving side's clock). */
  readonly seenAt: Float64Array;
  /** PLC panel and control: 1 yes, 0 no, -1 unknown. */
  readonly remote: Int8Array;
  readonly auto: Int8Array;
  readonly fault: Int8Array;

  constructor(readonly ids: readonly string[]) {
    const n = ids.length;
    ids.forEach((id, i) => this.index.set(id, i));
    this.t2s = new Float64Array(n).fill(NaN);
    this.t2r = new Float64Array(n).fill(NaN);
    this.t1s = new Float64Array(n).fill(NaN);
    this.t1r = new Float64Array(n).fill(NaN);
    this.heat = new Float64Array(n).fill(NaN);
    this.seenAt = new Float64Array(n);
    this.remote = new Int8Array(n).fill(-1);
    this.auto = new Int8Array(n).fill(-1);
    this.fault = new Int8Array(n).fill(-1);
  }

  /**
   * Applies one asset's fields; false when the asset is not a substation of this table. An update counts as heard
   * now; a snapshot's values are as old as their timestamps say (a device silent for an hour is not fresh because the
   * page just subscribed).
   */
  apply(id: string, f: Record<string, Wire>, now: number, snapshot = false): boolean {
    const i = this.index.get(id);
    if (i === undefined) return false;
    let w: Wire | undefined;
    if ((w = f[F.t2s])) this.t2s[i] = val(w);
    if ((w = f[F.t2r])) this.t2r[i] = val(w);
    if ((w = f[F.t1s])) this.t1s[i] = val(w);
    if ((w = f[F.t1r])) this.t1r[i] = val(w);
    if ((w = f[F.heat])) this.heat[i] = val(w);
    if ((w = f[F.remote])) this.remote[i] = w[2] === 'bad' ? -1 : w[0] ? 1 : 0;
    if ((w = f[F.auto])) this.auto[i] = w[2] === 'bad' ? -1 : w[0] ? 1 : 0;
    if ((w = f[F.vfdFault])) this.fault[i] = w[2] === 'bad' ? -1 : w[0] ? 1 : 0;
    if (snapshot) {
      let ts = 0;
      for (const k in f) if (f[k]![1] > ts) ts = f[k]![1];
      this.seenAt[i] = Math.max(this.seenAt[i]!, Math.min(now, ts));
    } else this.seenAt[i] = now;
    return true;
  }

  stale(i: number, now: number): boolean {
    return now - this.seenAt[i]! > STALE_MS;
  }

  /** Means, sums and counts over a set of substation indexes (all when omitted). */
  aggregate(now: number, only?: readonly number[]): { t2s: number; t2r: number; t1s: number; t1r: number; heatKw: number; reporting: number; total: number } {
    let s2 = 0, n2 = 0, r2 = 0, m2 = 0, s1 = 0, n1 = 0, r1 = 0, m1 = 0, heat = 0, rep = 0;
    const n = only ? only.length : this.ids.length;
    for (let k = 0; k < n; k++) {
      const i = only ? only[k]! : k;
      if (this.stale(i, now)) continue;
      rep++;
      const a = this.t2s[i]!, b = this.t2r[i]!, c = this.t1s[i]!, d = this.t1r[i]!, h = this.heat[i]!;
      if (a === a) { s2 += a; n2++; }
      if (b === b) { r2 += b; m2++; }
      if (c === c) { s1 += c; n1++; }
      if (d === d) { r1 += d; m1++; }
      if (h === h) heat += h;
    }
    return { t2s: n2 ? s2 / n2 : NaN, t2r: m2 ? r2 / m2 : NaN, t1s: n1 ? s1 / n1 : NaN, t1r: m1 ? r1 / m1 : NaN, heatKw: heat, reporting: rep, total: n };
  }
}

/**
 * Room temperatures of every apartment, counted incrementally: how many report a good value and how many of those are
 * at or above 18 °C. Suspended accounts (报停), once known, are left out: nobody heats them.
 */
export class ComfortTracker {
  readonly #index = new Map<string, number>();
  #temp = new Float32Array(1024).fill(NaN);
  #suspended = new Uint8Array(1024);
  valid = 0;
  ok = 0;

  get size(): number {
    return this.#index.size;
  }

  #slot(id: string): number {
    let i = this.#index.get(id);
    if (i === undefined) {
      i = this.#index.size;
      this.#index.set(id, i);
      if (i >= this.#temp.length) {
        const t = new Float32Array(this.#temp.length * 2).fill(NaN);
        t.set(this.#temp);
        this.#temp = t;
        const s = new Uint8Array(this.#suspended.length * 2);
        s.set(this.#suspended);
        this.#suspended = s;
      }
    }
    return i;
  }

  #count(i: number, sign: 1 | -1): void {
    const v = this.#temp[i]!;
    if (v !== v || this.#suspended[i]) return;
    this.valid += sign;
    if (v >= COMFORT_LOW_C) this.ok += sign;
  }

  apply(id: string, w: Wire | undefined): void {
    if (!w) return;
    const i = this.#slot(id);
    this.#count(i, -1);
    this.#temp[i] = val(w);
    this.#count(i, 1);
  }

  markSuspended(id: string): void {
    const i = this.#slot(id);
    if (this.#suspended[i]) return;
    this.#count(i, -1);
    this.#suspended[i] = 1;
  }

  share(): number {
    return this.valid > 0 ? this.ok / this.valid : NaN;
  }
}

export interface WeatherNow {
  outdoorC: number;
  forecast: { h: number; c: number }[];
}

export function useWallModel(live: Live, substations: readonly Asset[], weatherStations: readonly Asset[]) {
  const table = new SubstationTable(substations.map((s) => s.id));
  const comfort = new ComfortTracker();
  const weather = new Map<string, Record<string, number>>();
  const weatherIds = new Set(weatherStations.map((w) => w.id));
  /**
   * Bumped when live values changed, at most once per animation frame however many messages came in it (a city's
   * first load is thousands of snapshots); the page reads it to recompute its figures.
   */
  const version = shallowRef(0);
  let bumpPending = false;
  const bump = (): void => {
    if (bumpPending) return;
    bumpPending = true;
    const run = (): void => {
      bumpPending = false;
      version.value++;
    };
    if (document.visibilityState === 'visible') requestAnimationFrame(run);
    else setTimeout(run, 250);
  };
  /** Browser time the snapshots of every substation were in (the first full picture). */
  const substationsInAt = shallowRef(0);
  let snapshots = 0;

  function onValues(assets: AssetValues, kind: 'snapshot' | 'update'): void {
    const now = Date.now();
    let changed = false;
    // The first snapshots answer the substation subscriptions, which go out first (the hub answers in order).
    if (kind === 'snapshot' && ++snapshots === substationMessages + substations.length) performance.mark('wall-apartments');
    if (kind === 'snapshot' && !substationsInAt.value && snapshots >= substationMessages) {
      substationsInAt.value = now;
      performance.mark('wall-substations');
      // Only now the apartments, a hundred thousand of them in a city: the substations' picture comes first.
      for (const s of substations) live.subscribeUnder(s.id, 'apartment');
    }
    for (const id in assets) {
      const f = assets[id]!;
      if (table.apply(id, f, now, kind === 'snapshot')) {
        changed = true;
        continue;
      }
      const room = f[F.room];
      if (room) {
        comfort.apply(id, room);
        changed = true;
        continue;
      }
      if (weatherIds.has(id)) {
        let w = weather.get(id);
        if (!w) weather.set(id, (w = {}));
        for (const k in f) {
          const v = val(f[k]);
          if (v === v) w[k] = v;
        }
        changed = true;
      }
    }
    if (changed) bump();
  }

  scoped(live.onValues(onValues));
  const substationMessages = live.subscribeAssets([...weatherIds, ...table.ids]);

  /** Suspended accounts, loaded page by page in the background once the wall is up. */
  async function loadAccounts(signal: AbortSignal): Promise<void> {
    const page = 10_000;
    for (let offset = 0; !signal.aborted; offset += page) {
      const r = await api<{ total: number; assets: Asset[] }>(`/api/assets${qs({ kind: 'apartment', limit: page, offset })}`, { signal });
      for (const a of r.assets) if (a.attrs['account'] === 'suspended') comfort.markSuspended(a.id);
      bump();
      if (offset + page >= r.total || r.assets.length === 0) return;
      await new Promise((res) => setTimeout(res, 300));
    }
  }

  function weatherNow(): WeatherNow {
    let sum = 0, n = 0;
    const fc = new Map<number, { s: number; n: number }>();
    for (const w of weather.values()) {
      const o = w[F.outdoor];
      if (o !== undefined) {
        sum += o;
        n++;
      }
      for (const k in w) {
        const m = /^forecast_(\d+)h_temp_c$/.exec(k);
        if (!m) continue;
        const h = Number(m[1]);
        const e = fc.get(h) ?? { s: 0, n: 0 };
        e.s += w[k]!;
        e.n++;
        fc.set(h, e);
      }
    }
    return { outdoorC: n ? sum / n : NaN, forecast: [...fc.entries()].sort((a, b) => a[0] - b[0]).map(([h, e]) => ({ h, c: e.s / e.n })) };
  }

  return { table, comfort, version, substationsInAt, weatherNow, loadAccounts };
}
