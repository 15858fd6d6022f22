/**
 * The per-substation controller: everything the advice needs that lives between two advice runs — the outdoor
 * temperature filters, the feedback integral, the hourly history that teaches the building time constants — and the
 * call that turns the latest readings into advice. The hub's ControlService and the closed-loop benchmark both drive
 * this class, so the benchmark measures the code that runs in the hub.
 *
 * Not thread-safe and not I/O: the owner feeds observations in time order and calls `advise()`.
 */
import { computeAdvice, type AdviceBody, type FlowSettings } from './advice.ts';
import { presetCurve, type CurveSpec, type DesignTemps, type EmitterKind } from './curves.ts';
import { ema, fitTimeConstant, type OutdoorForecastPoint } from './forecast.ts';
import { DEFAULT_FEEDBACK, DEFAULT_SENSOR_CHECKS, indoorStats, sensorProblem, type FeedbackConfig, type FeedbackState, type RoomSample, type RoomSensorState, type SensorChecks } from './indoor.ts';

export interface ControllerSettings {
  feedback: FeedbackConfig;
  sensors: SensorChecks;
  /** Lag of the emitter circuit (hours) by kind (DOMAIN.md §2.5). */
  emitterLagH: Record<EmitterKind, number>;
  tauFactor: number;
  maxLeadH: number;
  attenuatedWeight: number;
  /** Building time constant used until one is learned (hours). */
  defaultTauH: number;
  /** Learn time constants from history (otherwise `defaultTauH`). */
  learnTau: boolean;
  /** Averaging of the outdoor temperature before the curve (the curve should not chase every gust). */
  outdoorFilterMs: number;
  /** Hours of hourly history kept for the time-constant fit. */
  historyH: number;
}

export const DEFAULT_CONTROLLER_SETTINGS: ControllerSettings = {
  feedback: DEFAULT_FEEDBACK,
  sensors: DEFAULT_SENSOR_CHECKS,
  emitterLagH: { radiator: 1, floor: 6 },
  tauFactor: 0.05,
  maxLeadH: 12,
  attenuatedWeight: 0,
  defaultTauH: 50,
  learnTau: true,
  outdoorFilterMs: 3_600_000,
  historyH: 14 * 24,
};

export interface ApartmentRef {
  id: string;
  suspended: boolean;
}

export interface SubstationSpec {
  id: string;
  emitter: EmitterKind;
  designOutdoorC: number;
  design?: Partial<DesignTemps>;
  buildings: { id: string; apartments: ApartmentRef[] }[];
}

/** Hourly means of a building's indoor temperature with the substation's supply and outdoor temperatures. */
class HourlyHistory {
  readonly tIn: number[] = [];
  readonly tSup: number[] = [];
  readonly tOut: number[] = [];
  #hour = -1;
  #sum = [0, 0, 0];
  #n = [0, 0, 0];

  constructor(private readonly capacity: number) {}

  add(ts: number, tIn: number | null, tSup: number | null, tOut: number | null): void {
    const hour = Math.floor(ts / 3_600_000);
    if (hour !== this.#hour) {
      if (this.#hour >= 0 && hour > this.#hour) {
        const mean = (i: number): number => (this.#n[i]! ? this.#sum[i]! / this.#n[i]! : NaN);
        this.tIn.push(mean(0));
        this.tSup.push(mean(1));
        this.tOut.push(mean(2));
        // Hours with no sample at all stay as gaps (NaN), so the fit never pairs values across a hole.
        for (let h = this.#hour + 1; h < hour && h - this.#hour <= this.capacity; h++) for (const a of [this.tIn, this.tSup, this.tOut]) a.push(NaN);
        const extra = this.tIn.length - this.capacity;
        if (extra > 0) for (const a of [this.tIn, this.tSup, this.tOut]) a.splice(0, extra);
      } else if (hour < this.#hour) return;
      this.#hour = hour;
      this.#sum = [0, 0, 0];
      this.#n = [0, 0, 0];
    }
    [tIn, tSup, tOut].forEach((v, i) => {
      if (v !== null && Number.isFinite(v)) {
        this.#sum[i]! += v;
        this.#n[i]!++;
      }
    });
  }
}

export interface AdviseInputs {
  now: number;
  sensor(id: string): RoomSensorState | undefined;
  /** Outdoor temperature now; null when no fresh value (the filter value is then not used either). */
  outdoorC: number | null;
  outdoorSource: string | null;
  forecast: { issuedTs: number; points: OutdoorForecastPoint[] } | null;
  currentSetpointC: number | null;
  measuredSupplyC: number | null;
}

export class SubstationController {
  readonly spec: SubstationSpec;
  settings: ControllerSettings;
  curve: CurveSpec;
  flow: FlowSettings = { stages: [], designDpMpa: null };
  feedback: FeedbackState = { integralK: 0, lastTs: null };
  /** Building time constants learned so far (hours), by building id. */
  readonly tau = new Map<string, { tauH: number; r2: number; n: number }>();
  readonly #samples: RoomSample[];
  readonly #history = new Map<string, HourlyHistory>();
  #outdoorFilt: number | null = null;
  #attenuated: number | null = null;
  #outdoorTs: number | null = null;
  #lastFitHour = -1;

  constructor(spec: SubstationSpec, settings: ControllerSettings = DEFAULT_CONTROLLER_SETTINGS, curve?: CurveSpec) {
    this.spec = spec;
    this.settings = settings;
    this.curve = curve ?? presetCurve(spec.emitter, spec.designOutdoorC, spec.design ?? {});
    this.#samples = spec.buildings.flatMap((b) => b.apartments.map((a) => ({ id: a.id, building: b.id, suspended: a.suspended, sensor: undefined })));
    for (const b of spec.buildings) this.#history.set(b.id, new HourlyHistory(settings.historyH));
  }

  /** Feeds a measured outdoor temperature: the 1 h filter for the curve and the τ filter (attenuated temperature). */
  observeOutdoor(ts: number, value: number): void {
    const dt = this.#outdoorTs === null ? 0 : ts - this.#outdoorTs;
    if (dt < 0) return;
    this.#outdoorFilt = ema(this.#outdoorFilt, value, dt, this.settings.outdoorFilterMs);
    this.#attenuated = ema(this.#attenuated, value, dt, this.tauH().tauH * 3_600_000);
    this.#outdoorTs = ts;
  }

  get filteredOutdoorC(): number | null {
    return this.#outdoorFilt;
  }

  /** The substation's time constant: the median of its buildings' learned ones, or the default. */
  tauH(): { tauH: number; source: 'fit' | 'default' } {
    const learned = [...this.tau.values()].map((t) => t.tauH).sort((a, b) => a - b);
    if (!this.settings.learnTau || learned.length === 0) return { tauH: this.settings.defaultTauH, source: 'default' };
    return { tauH: learned[learned.length >> 1]!, source: 'fit' };
  }

  advise(inp: AdviseInputs): AdviceBody {
    const now = inp.now;
    for (const s of this.#samples) s.sensor = inp.sensor(s.id);
    const f = this.settings.feedback;
    const stats = indoorStats(this.#samples, now, { checks: this.settings.sensors, quantile: f.quantile, minBuildingValid: Math.max(3, f.minValid) });
    this.#recordHistory(now, inp);
    const tau = this.tauH();
    const outdoor = inp.outdoorC === null ? null : (this.#outdoorFilt ?? inp.outdoorC);
    const r = computeAdvice(
      {
        curve: this.curve,
        feedback: f,
        forecast: { emitterLagH: this.settings.emitterLagH[this.spec.emitter], tauFactor: this.settings.tauFactor, maxLeadH: this.settings.maxLeadH, attenuatedWeight: this.settings.attenuatedWeight },
        flow: this.flow,
      },
      {
        now,
        outdoorC: outdoor,
        outdoorSource: inp.outdoorSource,
        forecast: inp.forecast,
        tauH: tau.tauH,
        tauSource: tau.source,
        attenuatedC: this.#attenuated,
        stats,
        currentSetpointC: inp.currentSetpointC,
        measuredSupplyC: inp.measuredSupplyC,
      },
      this.feedback,
    );
    this.feedback = r.feedback;
    return r.advice;
  }

  /** Hourly means per building of the valid room sensors, for the time-constant fit (refit every 6 h). */
  #recordHistory(now: number, inp: AdviseInputs): void {
    if (!this.settings.learnTau) return;
    const sums = new Map<string, [number, number]>();
    for (const s of this.#samples) {
      if (s.suspended || sensorProblem(s.sensor, now, this.settings.sensors)) continue;
      const acc = sums.get(s.building) ?? [0, 0];
      acc[0] += s.sensor!.value!;
      acc[1]++;
      sums.set(s.building, acc);
    }
    for (const [id, h] of this.#history) {
      const acc = sums.get(id);
      h.add(now, acc && acc[1] >= 3 ? acc[0] / acc[1] : null, inp.measuredSupplyC, inp.outdoorC);
    }
    const hour = Math.floor(now / 3_600_000);
    if (hour - this.#lastFitHour < 6) return;
    this.#lastFitHour = hour;
    for (const [id, h] of this.#history) {
      const fit = fitTimeConstant(h.tIn, h.tSup, h.tOut, 1, 48);
      // Physical range for a dwelling (DOMAIN.md §2.5: tens of hours; 58 h measured); a fit outside it is noise.
      if (fit && fit.r2 > 0.1 && fit.tauH >= 5 && fit.tauH <= 300) this.tau.set(id, { tauH: fit.tauH, r2: fit.r2, n: fit.n });
    }
  }
}
