/**
 * Weather as a pure function of time and seed: a seasonal mean, a daily cycle, slow synoptic swings, clouds, humidity,
 * wind, solar irradiance from the sun's elevation, and scripted cold snaps. Because `at(t)` depends only on t (and the
 * cold snaps known at the time of the call), stepping the model with any dt sees the same weather, and a forecast is
 * the same truth seen with an error that grows with the lead time.
 *
 * Defaults are Jinan-like (DOMAIN.md §1: t_w′ = −5.3 °C): annual mean 14.7 °C, January mean about −0.4 °C, a daily
 * range of about 9 K in winter, latitude 36.7° N, longitude 117° E, local time UTC+8.
 */
import { mix32, seedFor, smoothNoise } from './prng.ts';

export interface ColdSnap {
  /** When the temperature starts to fall (epoch ms). */
  startMs: number;
  /** How far below the normal weather the plateau sits (K, positive). */
  depthK: number;
  /** Length of the plateau (hours); the fall takes 12 h before it and the recovery 24 h after it. */
  durationH: number;
}

export interface WeatherOptions {
  latitudeDeg: number;
  longitudeDeg: number;
  /** Local civil time offset from UTC (hours), for the daily cycle and occupancy. */
  utcOffsetH: number;
  annualMeanC: number;
  /** Half the difference between the warmest and coldest monthly means. */
  annualAmplitudeC: number;
  /** Day of year (1–365) of the coldest daily mean. */
  coldestDayOfYear: number;
  /** Half the daily range on a clear day (K). */
  dailyAmplitudeC: number;
  /** Standard deviation of the slow (multi-day) swings (K). */
  synopticSdC: number;
  coldSnaps: ColdSnap[];
  /** When set, outdoor temperature is this constant (for tests and calibration); humidity, wind and sun still vary. */
  fixedOutdoorC?: number;
  /** Multiplies solar irradiance; 0 turns the sun off. */
  solarScale: number;
}

export const JINAN_WEATHER: WeatherOptions = {
  latitudeDeg: 36.7,
  longitudeDeg: 117.0,
  utcOffsetH: 8,
  annualMeanC: 14.7,
  annualAmplitudeC: 14.5,
  coldestDayOfYear: 18,
  dailyAmplitudeC: 4.5,
  synopticSdC: 2.8,
  coldSnaps: [],
  solarScale: 1,
};

export interface WeatherSample {
  ts: number;
  outdoor_temp_c: number;
  humidity_pct: number;
  wind_speed_ms: number;
  /** Global horizontal irradiance. */
  solar_wm2: number;
  cloud_cover_pct: number;
}

export interface ForecastPoint extends WeatherSample {
  /** When this forecast was issued (the last whole hour at or before the request). */
  issued_ts: number;
  lead_h: number;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** Cold-snap depth at time t: smoothstep fall over 12 h, plateau, smoothstep recovery over 24 h. */
function snapDepth(snaps: readonly ColdSnap[], t: number): number {
  let d = 0;
  for (const s of snaps) {
    const fallEnd = s.startMs + 12 * HOUR_MS;
    const plateauEnd = fallEnd + s.durationH * HOUR_MS;
    const recoveryEnd = plateauEnd + 24 * HOUR_MS;
    let f: number;
    if (t <= s.startMs || t >= recoveryEnd) f = 0;
    else if (t < fallEnd) f = smooth((t - s.startMs) / (12 * HOUR_MS));
    else if (t <= plateauEnd) f = 1;
    else f = 1 - smooth((t - plateauEnd) / (24 * HOUR_MS));
    d += f * s.depthK;
  }
  return d;
}

function smooth(x: number): number {
  const c = Math.min(1, Math.max(0, x));
  return c * c * (3 - 2 * c);
}

function dayOfYear(t: number): number {
  const d = new Date(t);
  return (t - Date.UTC(d.getUTCFullYear(), 0, 1)) / DAY_MS + 1;
}

export class Weather {
  readonly options: WeatherOptions;
  readonly #seedSlow: number;
  readonly #seedFast: number;
  readonly #seedCloud: number;
  readonly #seedWind: number;
  readonly #seedHum: number;
  readonly #seedFcst: number;
  readonly #snaps: ColdSnap[];

  constructor(seed: number, options: Partial<WeatherOptions> = {}) {
    this.options = { ...JINAN_WEATHER, ...options };
    this.#snaps = [...this.options.coldSnaps];
    this.#seedSlow = seedFor(seed, 'weather.slow');
    this.#seedFast = seedFor(seed, 'weather.fast');
    this.#seedCloud = seedFor(seed, 'weather.cloud');
    this.#seedWind = seedFor(seed, 'weather.wind');
    this.#seedHum = seedFor(seed, 'weather.humidity');
    this.#seedFcst = seedFor(seed, 'weather.forecast');
  }

  /** Adds a cold snap (the `cold_snap` fault); it shows in `at()` and in forecasts from now on. */
  addColdSnap(snap: ColdSnap): void {
    this.#snaps.push(snap);
  }

  removeColdSnap(snap: ColdSnap): void {
    const i = this.#snaps.indexOf(snap);
    if (i >= 0) this.#snaps.splice(i, 1);
  }

  get coldSnaps(): readonly ColdSnap[] {
    return this.#snaps;
  }

  /** Local hour of day (0–24) at t. */
  localHour(t: number): number {
    const h = (t / HOUR_MS + this.options.utcOffsetH) % 24;
    return h < 0 ? h + 24 : h;
  }

  /** Cloud cover 0–1: slow noise mapped through a logistic, about 40 % on average. */
  cloudCover(t: number): number {
    const n = smoothNoise(this.#seedCloud, t / (18 * HOUR_MS)) + 0.5 * smoothNoise(this.#seedCloud ^ 0x1234, t / (5 * HOUR_MS));
    return 1 / (1 + Math.exp(-1.6 * (n - 0.35)));
  }

  /** Solar elevation (radians) from declination, hour angle and latitude. */
  sunElevation(t: number): number {
    const o = this.options;
    const doy = dayOfYear(t);
    const decl = ((23.44 * Math.PI) / 180) * Math.sin((2 * Math.PI * (284 + doy)) / 365);
    const solarHour = ((t / HOUR_MS + o.longitudeDeg / 15) % 24 + 24) % 24;
    const hourAngle = ((solarHour - 12) * 15 * Math.PI) / 180;
    const lat = (o.latitudeDeg * Math.PI) / 180;
    return Math.asin(Math.sin(lat) * Math.sin(decl) + Math.cos(lat) * Math.cos(decl) * Math.cos(hourAngle));
  }

  /** The outdoor temperature without clouds' effect on the daily range (used by `at`). */
  #temperature(t: number, cloud: number): number {
    const o = this.options;
    if (o.fixedOutdoorC !== undefined) return o.fixedOutdoorC;
    const doy = dayOfYear(t);
    const seasonal = o.annualMeanC - o.annualAmplitudeC * Math.cos((2 * Math.PI * (doy - o.coldestDayOfYear)) / 365.25);
    // Daily cycle: minimum near 06:30, maximum near 14:30 local; clouds flatten it.
    const h = this.localHour(t);
    const amp = o.dailyAmplitudeC * (1 - 0.55 * cloud);
    let daily: number;
    if (h >= 6.5 && h < 14.5) daily = -amp * Math.cos((Math.PI * (h - 6.5)) / 8);
    else daily = amp * Math.cos((Math.PI * (((h - 14.5 + 24) % 24) / 16)));
    // Synoptic swings: weather systems every few days, plus a faster component of about half a day.
    const slow = o.synopticSdC * smoothNoise(this.#seedSlow, t / (60 * HOUR_MS));
    const fast = 0.8 * smoothNoise(this.#seedFast, t / (10 * HOUR_MS));
    return seasonal + daily + slow + fast - snapDepth(this.#snaps, t);
  }

  at(t: number): WeatherSample {
    const o = this.options;
    const cloud = this.cloudCover(t);
    const temp = this.#temperature(t, cloud);
    const snap = snapDepth(this.#snaps, t);
    const el = this.sunElevation(t);
    // Clear-sky global horizontal irradiance (a Meinel-type air-mass model), cut by clouds (Kasten–Czeplak form).
    const sinEl = Math.sin(el);
    const clear = sinEl > 0.01 ? 1098 * sinEl * Math.exp(-0.057 / sinEl) : 0;
    const solar = o.solarScale * clear * (1 - 0.75 * Math.pow(cloud, 3.4));
    // Humidity: higher with clouds and at night (lower temperature in the daily cycle), lower in dry northerly cold snaps.
    const hourly = this.localHour(t);
    const night = Math.cos((2 * Math.PI * (hourly - 3)) / 24);
    const hum = 55 + 20 * (cloud - 0.4) + 10 * night + 6 * smoothNoise(this.#seedHum, t / (8 * HOUR_MS)) - 1.5 * snap;
    // Wind: a northerly pushes cold snaps in, so wind rises with their depth.
    const wind = Math.max(0, 2.6 + 1.2 * smoothNoise(this.#seedWind, t / (9 * HOUR_MS)) + 0.35 * snap + 0.6 * Math.max(0, Math.sin(el)));
    return {
      ts: t,
      outdoor_temp_c: temp,
      humidity_pct: Math.min(98, Math.max(12, hum)),
      wind_speed_ms: wind,
      solar_wm2: Math.max(0, solar),
      cloud_cover_pct: 100 * cloud,
    };
  }

  /**
   * An hourly forecast issued at the last whole hour at or before `now`, for lead times 1..hours. The error is smooth
   * across lead times and grows with them (about 0.6 K at 1 h, 1.9 K at 24 h, 3.2 K at 48 h standard deviation); it
   * is the same for every call within one issue hour.
   */
  forecast(now: number, hours = 48): ForecastPoint[] {
    const issued = Math.floor(now / HOUR_MS) * HOUR_MS;
    const issueIdx = Math.floor(issued / HOUR_MS);
    const base = mix32(this.#seedFcst ^ Math.imul(issueIdx, 0x9e3779b1));
    const out: ForecastPoint[] = [];
    for (let h = 1; h <= hours; h++) {
      const t = issued + h * HOUR_MS;
      const truth = this.at(t);
      const sd = 0.5 + 0.055 * h;
      const errT = sd * smoothNoise(base, h / 12);
      const errCloud = Math.min(0.5, 0.01 * h) * smoothNoise(base ^ 0x99, h / 8);
      const cloud = Math.min(1, Math.max(0, truth.cloud_cover_pct / 100 + errCloud));
      const solarFactor = truth.cloud_cover_pct > 0 ? (1 - 0.75 * Math.pow(cloud, 3.4)) / (1 - 0.75 * Math.pow(truth.cloud_cover_pct / 100, 3.4)) : 1;
      out.push({
        ...truth,
        outdoor_temp_c: truth.outdoor_temp_c + (this.options.fixedOutdoorC !== undefined ? 0 : errT),
        humidity_pct: Math.min(98, Math.max(12, truth.humidity_pct + 0.15 * h * smoothNoise(base ^ 0x55, h / 10))),
        wind_speed_ms: Math.max(0, truth.wind_speed_ms * (1 + 0.01 * h * smoothNoise(base ^ 0x33, h / 10))),
        solar_wm2: truth.solar_wm2 * solarFactor,
        cloud_cover_pct: 100 * cloud,
        issued_ts: issued,
        lead_h: h,
      });
    }
    return out;
  }
}
