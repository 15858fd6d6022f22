/**
 * The 24 h forecast of heat load, make-up water and pump electricity per substation and for the network (DOMAIN.md
 * §2.5: "forecasts of heat, water and electricity use"): hourly history from the telemetry store, a straight-line
 * regression on outdoor temperature for each quantity, and the hourly outdoor forecast. Simple on purpose: the error
 * estimate says how far to trust it.
 */
import type { TelemetryStore } from '../store/telemetry-store.ts';
import { fitLinear, forecastSd, forecastTotal, type LinearFit, type TotalForecast } from './forecast.ts';

export const LOAD_QUANTITIES = {
  heat: { field: 'heat_power_kw', unit: 'kWh', aggregate: 'mean' },
  makeup: { field: 'makeup_flow_m3h', unit: 'm³', aggregate: 'mean' },
  electricity: { field: 'power_use_kwh', unit: 'kWh', aggregate: 'last' },
} as const;
export type LoadQuantity = keyof typeof LOAD_QUANTITIES;

export interface QuantityForecast {
  /** Total over the horizon in `unit`, and one standard deviation; null without enough history. */
  total: number | null;
  sd: number | null;
  residualSd: number | null;
  weatherSd: number | null;
  unit: string;
  /** Per hour of the horizon (mean rate: kW, m³/h, kW). */
  hourly: { leadH: number; value: number }[];
  fit: { intercept: number; slope: number; n: number; r2: number; residualSd: number } | null;
  note: string | null;
}

export interface SubstationLoadForecast {
  asset: string;
  horizonH: number;
  quantities: Record<LoadQuantity, QuantityForecast>;
}

const H = 3_600_000;

/**
 * Hourly pairs (outdoor, quantity) from the store. Heat and make-up are hourly means of their rate (kW, m³/h, which over
 * an hour are kWh and m³); electricity comes from the meter counter, as the difference of consecutive hourly last
 * values (a counter reset or a missing hour leaves a gap).
 */
export async function loadHistory(store: TelemetryStore, asset: string, now: number, days: number): Promise<{ outdoor: number[]; values: Record<LoadQuantity, number[]> }> {
  const to = Math.floor(now / H) * H;
  const from = to - Math.round(days * 24) * H;
  const [means, lasts] = await Promise.all([
    store.history({ asset, fields: ['outdoor_temp_c', LOAD_QUANTITIES.heat.field, LOAD_QUANTITIES.makeup.field], from, to, bucket: '1h', aggregate: 'mean' }),
    store.history({ asset, fields: [LOAD_QUANTITIES.electricity.field], from: from - H, to, bucket: '1h', aggregate: 'last' }),
  ]);
  const n = Math.round((to - from) / H);
  const at = (points: { ts: number; value: number }[] | undefined, start: number): number[] => {
    const out = new Array<number>(n).fill(NaN);
    for (const p of points ?? []) {
      const i = Math.round((p.ts - start) / H);
      if (i >= 0 && i < n) out[i] = p.value;
    }
    return out;
  };
  const counter = new Array<number>(n + 1).fill(NaN);
  for (const p of lasts.series[LOAD_QUANTITIES.electricity.field] ?? []) {
    const i = Math.round((p.ts - (from - H)) / H);
    if (i >= 0 && i <= n) counter[i] = p.value;
  }
  const elec = Array.from({ length: n }, (_, i) => {
    const d = counter[i + 1]! - counter[i]!;
    return Number.isFinite(d) && d >= 0 ? d : NaN;
  });
  return {
    outdoor: at(means.series['outdoor_temp_c'], from),
    values: { heat: at(means.series[LOAD_QUANTITIES.heat.field], from), makeup: at(means.series[LOAD_QUANTITIES.makeup.field], from), electricity: elec },
  };
}

export function forecastQuantities(history: { outdoor: number[]; values: Record<LoadQuantity, number[]> }, outdoor24: { leadH: number; tempC: number }[], sd: { baseK: number; perHourK: number }): { quantities: Record<LoadQuantity, QuantityForecast>; fits: Record<LoadQuantity, TotalForecast | null> } {
  const quantities = {} as Record<LoadQuantity, QuantityForecast>;
  const fits = {} as Record<LoadQuantity, TotalForecast | null>;
  for (const q of Object.keys(LOAD_QUANTITIES) as LoadQuantity[]) {
    const fit: LinearFit | null = fitLinear(history.outdoor, history.values[q], 24);
    const unit = LOAD_QUANTITIES[q].unit;
    if (!fit) {
      const n = history.values[q].filter((v, i) => Number.isFinite(v) && Number.isFinite(history.outdoor[i]!)).length;
      quantities[q] = { total: null, sd: null, residualSd: null, weatherSd: null, unit, hourly: [], fit: null, note: `not enough history: ${n} hours with both values, at least 24 needed` };
      fits[q] = null;
      continue;
    }
    const t = forecastTotal(fit, outdoor24, (h) => forecastSd(h, sd.baseK, sd.perHourK));
    fits[q] = t;
    quantities[q] = {
      total: t.total,
      sd: t.sd,
      residualSd: t.residualSd,
      weatherSd: t.weatherSd,
      unit,
      hourly: t.hourly.map((h) => ({ leadH: h.leadH, value: h.value })),
      fit: { intercept: fit.intercept, slope: fit.slope, n: fit.n, r2: fit.r2, residualSd: fit.residualSd },
      note: null,
    };
  }
  return { quantities, fits };
}

/**
 * Network totals: values add up; the residual errors of different substations are taken as independent (added in
 * quadrature), the weather-driven errors as fully correlated (the same forecast for all, added linearly).
 */
export function networkTotals(parts: readonly SubstationLoadForecast[]): Record<LoadQuantity, { total: number; sd: number; unit: string; substations: number }> {
  const out = {} as Record<LoadQuantity, { total: number; sd: number; unit: string; substations: number }>;
  for (const q of Object.keys(LOAD_QUANTITIES) as LoadQuantity[]) {
    let total = 0;
    let res2 = 0;
    let weather = 0;
    let k = 0;
    for (const p of parts) {
      const f = p.quantities[q];
      if (f.total === null) continue;
      total += f.total;
      res2 += (f.residualSd ?? 0) ** 2;
      weather += f.weatherSd ?? 0;
      k++;
    }
    out[q] = { total, sd: Math.hypot(Math.sqrt(res2), weather), unit: LOAD_QUANTITIES[q].unit, substations: k };
  }
  return out;
}
