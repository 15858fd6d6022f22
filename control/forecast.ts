/**
 * Inertia and forecasts (DOMAIN.md §2.5): the weather forecast as the hub receives it, an effective outdoor temperature
 * that looks ahead over the building's lag, a building time constant learned from its own history, and a 24 h forecast
 * of heat load, make-up water and pump electricity by regression on outdoor temperature.
 *
 * All pure: the service feeds them with readings and history.
 */

/** One forecast value: outdoor temperature `leadH` hours from now. */
export interface OutdoorForecastPoint {
  leadH: number;
  tempC: number;
}

const FORECAST_FIELD_RE = /^forecast_(\d{1,3})h_temp_c$/;

/**
 * Reads the weather station's forecast fields (`forecast_<h>h_temp_c`, docs/mqtt.md): each horizon counts from the time
 * of the reading that carried it, so a forecast received 20 minutes ago has its leads shortened by 20 minutes. Points
 * whose lead has passed are dropped; a forecast older than `maxAgeMs` is not used at all.
 */
export function forecastFromFields(fields: ReadonlyMap<string, { value: unknown; ts: number; quality: string }> | undefined, now: number, maxAgeMs = 3 * 3_600_000): { issuedTs: number; points: OutdoorForecastPoint[] } | null {
  if (!fields) return null;
  const points: OutdoorForecastPoint[] = [];
  let issued = -Infinity;
  for (const [name, v] of fields) {
    const m = FORECAST_FIELD_RE.exec(name);
    if (!m || typeof v.value !== 'number' || v.quality === 'bad' || now - v.ts > maxAgeMs) continue;
    const lead = Number(m[1]) - (now - v.ts) / 3_600_000;
    if (lead <= 0) continue;
    points.push({ leadH: lead, tempC: v.value });
    issued = Math.max(issued, v.ts);
  }
  if (points.length === 0) return null;
  points.sort((a, b) => a.leadH - b.leadH);
  return { issuedTs: issued, points };
}

/** Outdoor temperature `leadH` hours ahead: linear between forecast points, from the measured value at lead 0. */
export function outdoorAt(leadH: number, nowC: number, points: readonly OutdoorForecastPoint[]): number {
  let prevH = 0;
  let prevC = nowC;
  for (const p of points) {
    if (leadH <= p.leadH) return prevC + ((p.tempC - prevC) * (leadH - prevH)) / (p.leadH - prevH || 1);
    prevH = p.leadH;
    prevC = p.tempC;
  }
  return prevC;
}

export interface EffectiveOutdoor {
  effectiveC: number;
  /** Mean outdoor temperature over [now, now + lead] (measured now, forecast after). */
  forwardC: number;
  leadH: number;
  /** Whether forecast values were used (false: the forward window is the measured value alone). */
  usedForecast: boolean;
}

/**
 * The effective outdoor temperature the curve is fed with (*derived*; Siemens' "composite outdoor temperature" is
 * the same idea looking back, DOMAIN.md §2.5):
 *
 *   t_fwd = (1/L)·∫₀ᴸ t̂_w(now + h) dh        over the lead L, forecast values for the future part
 *   t_eff = (1 − w)·t_fwd + w·t_att            t_att: measured outdoor filtered with the building time constant
 *
 * The heat a substation sends now reaches the rooms after the lag of pipes, emitters and the plant's own loop, and the
 * rooms then hold it for hours; a curve fed with t_fwd rises before a forecast cold snap instead of after the rooms
 * have cooled, and eases off before a thaw. w (default 0) mixes in the attenuated temperature for heavy buildings whose
 * walls delay the loss; with w = 0 the law sees the coming weather only.
 */
export function effectiveOutdoor(nowC: number, points: readonly OutdoorForecastPoint[] | null, leadH: number, opts: { attenuatedC?: number | null; attenuatedWeight?: number } = {}): EffectiveOutdoor {
  const usable = points && points.length > 0 ? points : null;
  let forward = nowC;
  if (usable && leadH > 0) {
    const steps = Math.max(4, Math.ceil(leadH * 4));
    const h = leadH / steps;
    let sum = 0;
    for (let k = 0; k <= steps; k++) sum += outdoorAt(k * h, nowC, usable) * (k === 0 || k === steps ? 0.5 : 1);
    forward = (sum * h) / leadH;
  }
  const w = opts.attenuatedC === null || opts.attenuatedC === undefined ? 0 : Math.min(1, Math.max(0, opts.attenuatedWeight ?? 0));
  const eff = (1 - w) * forward + w * (opts.attenuatedC ?? 0);
  return { effectiveC: eff, forwardC: forward, leadH, usedForecast: usable !== null && leadH > 0 };
}

/**
 * The lead of the forward window: the emitter circuit's own lag (DOMAIN.md §2.5: radiators ≈ 30 min plus pipes and the
 * plant loop, floor heating ≈ 6 h) plus a share of the building time constant, capped.
 */
export function leadHours(emitterLagH: number, tauH: number, tauFactor: number, maxH: number): number {
  return Math.min(maxH, Math.max(0, emitterLagH + tauFactor * tauH));
}

/** First-order filter step (exponential moving average) with time constant tauMs; returns the new value. */
export function ema(prev: number | null, x: number, dtMs: number, tauMs: number): number {
  if (prev === null || !(tauMs > 0)) return x;
  const a = 1 - Math.exp(-Math.max(0, dtMs) / tauMs);
  return prev + a * (x - prev);
}

// ---- least squares -------------------------------------------------------------------------------------------------

/** Solves the normal equations XᵀX·β = Xᵀy for a few columns (Gaussian elimination with partial pivoting). */
function leastSquares(rows: readonly number[][], y: readonly number[]): number[] | null {
  const k = rows[0]?.length ?? 0;
  if (k === 0 || rows.length < k) return null;
  const a = Array.from({ length: k }, () => new Array<number>(k + 1).fill(0));
  for (let r = 0; r < rows.length; r++) {
    const x = rows[r]!;
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < k; j++) a[i]![j]! += x[i]! * x[j]!;
      a[i]![k]! += x[i]! * y[r]!;
    }
  }
  for (let c = 0; c < k; c++) {
    let piv = c;
    for (let r = c + 1; r < k; r++) if (Math.abs(a[r]![c]!) > Math.abs(a[piv]![c]!)) piv = r;
    if (Math.abs(a[piv]![c]!) < 1e-12) return null;
    [a[c], a[piv]] = [a[piv]!, a[c]!];
    for (let r = 0; r < k; r++) {
      if (r === c) continue;
      const f = a[r]![c]! / a[c]![c]!;
      for (let j = c; j <= k; j++) a[r]![j]! -= f * a[c]![j]!;
    }
  }
  return a.map((row, i) => row[k]! / row[i]!);
}

export interface TimeConstantFit {
  tauH: number;
  /** Share of the hourly change explained (R²). */
  r2: number;
  n: number;
  /** Gains of the fitted model: dT_in/dt = a·(T_out − T_in) + b·(T_sup − T_in) + c, per hour. */
  a: number;
  b: number;
}

/**
 * Learns a building's time constant from hourly means of its indoor temperature, the supply temperature and the
 * outdoor temperature (*derived*: a first-order, one-node reduction of the 2R2C model of DOMAIN.md §3):
 *
 *   T_in[k+1] − T_in[k] = a·(T_out[k] − T_in[k]) + b·(T_sup[k] − T_in[k]) + c,   τ = Δt/(a + b)
 *
 * Samples with a missing value (NaN) are skipped with their successor. Returns null with fewer than `minSamples` pairs
 * or a fit that makes no physical sense (a + b ≤ 0, or b < 0: more supply cooling the rooms).
 */
export function fitTimeConstant(tIn: readonly number[], tSup: readonly number[], tOut: readonly number[], dtH = 1, minSamples = 48): TimeConstantFit | null {
  const rows: number[][] = [];
  const y: number[] = [];
  for (let k = 0; k + 1 < tIn.length; k++) {
    const ti = tIn[k]!;
    const tn = tIn[k + 1]!;
    const ts = tSup[k]!;
    const to = tOut[k]!;
    if (![ti, tn, ts, to].every(Number.isFinite)) continue;
    rows.push([to - ti, ts - ti, 1]);
    y.push(tn - ti);
  }
  if (rows.length < minSamples) return null;
  const beta = leastSquares(rows, y);
  if (!beta) return null;
  const [a, b] = beta as [number, number, number];
  if (!(a + b > 0) || b < 0) return null;
  const mean = y.reduce((s, v) => s + v, 0) / y.length;
  let ssTot = 0;
  let ssRes = 0;
  for (let r = 0; r < rows.length; r++) {
    const pred = rows[r]![0]! * beta[0]! + rows[r]![1]! * beta[1]! + beta[2]!;
    ssRes += (y[r]! - pred) ** 2;
    ssTot += (y[r]! - mean) ** 2;
  }
  return { tauH: dtH / (a + b), r2: ssTot > 0 ? 1 - ssRes / ssTot : 0, n: rows.length, a: a / dtH, b: b / dtH };
}

// ---- load forecast -------------------------------------------------------------------------------------------------

export interface LinearFit {
  intercept: number;
  slope: number;
  n: number;
  /** Standard deviation of the hourly residuals. */
  residualSd: number;
  /** Lag-1 autocorrelation of the residuals (hours in a row tend to err the same way). */
  residualLag1: number;
  r2: number;
  /** Mean and sum of squared deviations of x, for the uncertainty of the fitted line itself. */
  xMean: number;
  sxx: number;
}

/** Ordinary least squares y = a + b·x over pairs with finite values. */
export function fitLinear(xs: readonly number[], ys: readonly number[], minSamples = 24): LinearFit | null {
  const px: number[] = [];
  const py: number[] = [];
  for (let i = 0; i < Math.min(xs.length, ys.length); i++) {
    if (Number.isFinite(xs[i]!) && Number.isFinite(ys[i]!)) {
      px.push(xs[i]!);
      py.push(ys[i]!);
    }
  }
  const n = px.length;
  if (n < minSamples) return null;
  const mx = px.reduce((s, v) => s + v, 0) / n;
  const my = py.reduce((s, v) => s + v, 0) / n;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxx += (px[i]! - mx) ** 2;
    sxy += (px[i]! - mx) * (py[i]! - my);
    syy += (py[i]! - my) ** 2;
  }
  // Outdoor temperature that never moved: the mean is all the history can say.
  const slope = sxx > 1e-9 ? sxy / sxx : 0;
  const intercept = my - slope * mx;
  const res = px.map((x, i) => py[i]! - (intercept + slope * x));
  const ssRes = res.reduce((s, r) => s + r * r, 0);
  let num = 0;
  for (let i = 1; i < n; i++) num += res[i]! * res[i - 1]!;
  const lag1 = ssRes > 0 ? Math.max(0, Math.min(0.99, num / ssRes)) : 0;
  return { intercept, slope, n, residualSd: Math.sqrt(ssRes / Math.max(1, n - 2)), residualLag1: lag1, r2: syy > 0 ? 1 - ssRes / syy : 0, xMean: mx, sxx };
}

/** Assumed standard deviation of the outdoor forecast at a lead (K): a typical NWP error growing with the lead. */
export function forecastSd(leadH: number, baseK = 0.5, perHourK = 0.055): number {
  return baseK + perHourK * leadH;
}

export interface TotalForecast {
  /** Sum of the hourly predictions over the horizon. */
  total: number;
  /** One standard deviation of the total. */
  sd: number;
  /** The part of `sd` from the regression: its residuals and the uncertainty of the line (independent between substations). */
  residualSd: number;
  /** The part from the outdoor forecast's error (the same weather for every substation, so it adds up linearly). */
  weatherSd: number;
  hourly: { leadH: number; outdoorC: number; value: number }[];
}

/**
 * A total over the coming hours from a fit on outdoor temperature and an hourly outdoor forecast. Its error has three
 * parts: the residuals, summed as an AR(1) process (Var Σ = σ²·[H + 2·Σ_{k<H}(H − k)·ρᵏ], so hours that err together
 * are not counted as independent); the uncertainty of the fitted line at the forecast's mean outdoor temperature, which
 * is the same for every hour (H²·σ²·[1/n_eff + (x̄_f − x̄)²/S_xx], n_eff = n·(1 − ρ)/(1 + ρ) for autocorrelated
 * residuals); and the outdoor forecast's own error passed through the slope, fully correlated over the hours
 * (|b|·Σ σ_f(h)). Predictions below zero are cut to zero (no negative heat or water).
 */
export function forecastTotal(fit: LinearFit, outdoor: readonly { leadH: number; tempC: number }[], sdOf: (leadH: number) => number = (h) => forecastSd(h)): TotalForecast {
  const hourly = outdoor.map((o) => ({ leadH: o.leadH, outdoorC: o.tempC, value: Math.max(0, fit.intercept + fit.slope * o.tempC) }));
  const total = hourly.reduce((s, h) => s + h.value, 0);
  const H = outdoor.length;
  const rho = fit.residualLag1;
  let factor = H;
  for (let k = 1; k < H; k++) factor += 2 * (H - k) * rho ** k;
  const nEff = Math.max(2, (fit.n * (1 - rho)) / (1 + rho));
  const xf = H > 0 ? outdoor.reduce((s, o) => s + o.tempC, 0) / H : fit.xMean;
  const lineVar = H * H * fit.residualSd ** 2 * (1 / nEff + (fit.sxx > 0 ? ((xf - fit.xMean) ** 2 * fit.n) / (nEff * fit.sxx) : 0));
  const residualSd = Math.sqrt(fit.residualSd ** 2 * factor + lineVar);
  const weatherSd = Math.abs(fit.slope) * outdoor.reduce((s, o) => s + sdOf(o.leadH), 0);
  return { total, sd: Math.hypot(residualSd, weatherSd), residualSd, weatherSd, hourly };
}

/** Hourly outdoor temperatures over the next `hours` from the forecast points (lead 1..hours). */
export function hourlyOutdoor(nowC: number, points: readonly OutdoorForecastPoint[], hours = 24): { leadH: number; tempC: number }[] {
  return Array.from({ length: hours }, (_, i) => ({ leadH: i + 1, tempC: outdoorAt(i + 1, nowC, points) }));
}
