/**
 * Regulation advice for one substation: the curve fed with the effective (forecast) outdoor temperature, plus the
 * indoor feedback shift, bounded by the curve's limits; and every term kept, so the advice explains itself.
 *
 *   t_eff        = effective outdoor temperature (forecast over the lead, control/forecast.ts)
 *   curve term   = curve(t_now)                              what a plain weather curve would ask for now
 *   forecast term= curve(t_eff) − curve(t_now)               what the coming weather adds or removes
 *   feedback term= PI shift from the indoor quantile         (control/indoor.ts)
 *   recommended  = clamp(curve(t_eff) + feedback, min, max), rounded to 0.1 K
 *
 * Pure: the caller supplies the inputs and keeps the feedback state between calls.
 */
import { evaluateCurve, pumpDpForFlow, round1, steppedFlow, type CurveSpec, type FlowStage } from './curves.ts';
import { effectiveOutdoor, leadHours, type OutdoorForecastPoint } from './forecast.ts';
import { feedbackStep, type FeedbackConfig, type FeedbackState, type IndoorStats } from './indoor.ts';

export const SUPPLY_POINT = 'supply_temp_setpoint_c';

export interface ForecastSettings {
  /** Lag of the emitter circuit (hours): radiators ≈ 1, floor heating ≈ 6 (DOMAIN.md §2.5). */
  emitterLagH: number;
  /** Share of the building time constant added to the lead. */
  tauFactor: number;
  maxLeadH: number;
  /** Weight of the attenuated (building-filtered) outdoor temperature, 0–1. */
  attenuatedWeight: number;
}

export interface FlowSettings {
  /** Stepped-flow stages (§2.2); empty: constant flow. */
  stages: FlowStage[];
  /** Circulating pump ΔP at design flow (MPa), for a ΔP setpoint suggestion. */
  designDpMpa: number | null;
}

export interface AdviceConfig {
  curve: CurveSpec;
  feedback: FeedbackConfig;
  forecast: ForecastSettings;
  flow: FlowSettings;
}

export interface AdviceInputs {
  now: number;
  /** Outdoor temperature now (filtered), and where it came from; null when no fresh value is available. */
  outdoorC: number | null;
  outdoorSource: string | null;
  forecast: { issuedTs: number; points: OutdoorForecastPoint[] } | null;
  /** The building time constant (hours) and where it came from. */
  tauH: number;
  tauSource: 'fit' | 'config' | 'default';
  /** Outdoor temperature filtered with τ (Siemens' attenuated temperature), if known. */
  attenuatedC: number | null;
  stats: IndoorStats;
  currentSetpointC: number | null;
  measuredSupplyC: number | null;
}

export interface AdviceExplanation {
  outdoorC: number | null;
  outdoorSource: string | null;
  effectiveOutdoorC: number | null;
  forecast: { used: boolean; leadH: number; forwardMeanC: number | null; issuedTs: number | null; points: number };
  tauH: number;
  tauSource: string;
  /** The curve at the outdoor temperature now (its own shift included, before the clamp). */
  curveC: number | null;
  curveShiftK: number;
  forecastTermK: number | null;
  feedbackTermK: number;
  feedback: { controlledC: number | null; targetC: number; errorK: number | null; pK: number; iK: number; frozen: string | null; bounded: string | null };
  indoor: IndoorStats;
  unclampedC: number | null;
  limits: { minC: number; maxC: number };
  /** What bounded the advice: the curve's max or min, the feedback's shift bounds. */
  boundBy: string[];
  flow: { mode: 'constant' | 'stepped'; relFlow: number; pumpDpMpa: number | null };
  /** Why the advice is missing or weaker than usual. */
  notes: string[];
}

export interface AdviceBody {
  point: string;
  valid: boolean;
  recommendedC: number | null;
  currentSetpointC: number | null;
  measuredSupplyC: number | null;
  /** recommended − current setpoint. */
  changeK: number | null;
  explanation: AdviceExplanation;
}

export function computeAdvice(cfg: AdviceConfig, inp: AdviceInputs, fb: FeedbackState): { advice: AdviceBody; feedback: FeedbackState } {
  const notes: string[] = [];
  const curve = cfg.curve;
  const limits = { minC: curve.minC, maxC: curve.maxC };
  const lead = leadHours(cfg.forecast.emitterLagH, inp.tauH, cfg.forecast.tauFactor, cfg.forecast.maxLeadH);

  if (inp.outdoorC === null) {
    notes.push('no fresh outdoor temperature: no advice');
    // The feedback integral is held (not stepped) so that it resumes where it was.
    const base = feedbackStep(fb, inp.now, { ...inp.stats, valid: 0 }, cfg.feedback);
    return {
      advice: {
        point: SUPPLY_POINT,
        valid: false,
        recommendedC: null,
        currentSetpointC: inp.currentSetpointC,
        measuredSupplyC: inp.measuredSupplyC,
        changeK: null,
        explanation: {
          outdoorC: null,
          outdoorSource: null,
          effectiveOutdoorC: null,
          forecast: { used: false, leadH: lead, forwardMeanC: null, issuedTs: inp.forecast?.issuedTs ?? null, points: inp.forecast?.points.length ?? 0 },
          tauH: inp.tauH,
          tauSource: inp.tauSource,
          curveC: null,
          curveShiftK: curve.shiftK,
          forecastTermK: null,
          feedbackTermK: base.termK,
          feedback: { controlledC: null, targetC: cfg.feedback.targetC, errorK: null, pK: 0, iK: base.iK, frozen: 'no_outdoor', bounded: null },
          indoor: inp.stats,
          unclampedC: null,
          limits,
          boundBy: [],
          flow: { mode: cfg.flow.stages.length ? 'stepped' : 'constant', relFlow: 1, pumpDpMpa: null },
          notes,
        },
      },
      feedback: { integralK: fb.integralK, lastTs: inp.now },
    };
  }

  const eff = effectiveOutdoor(inp.outdoorC, inp.forecast?.points ?? null, lead, { attenuatedC: inp.attenuatedC, attenuatedWeight: cfg.forecast.attenuatedWeight });
  if (!inp.forecast) notes.push('no current weather forecast: the curve sees the measured outdoor temperature only');
  const relFlow = cfg.flow.stages.length ? steppedFlow(eff.effectiveC, cfg.flow.stages) : 1;
  const curveNow = evaluateCurve(curve, inp.outdoorC, { relFlow });
  const curveEff = evaluateCurve(curve, eff.effectiveC, { relFlow });

  // Anti-windup: does the setpoint already sit at a limit with the integral's current shift?
  const trial = evaluateCurve(curve, eff.effectiveC, { relFlow, extraShiftK: fb.integralK });
  const fbr = feedbackStep(fb, inp.now, inp.stats, cfg.feedback, trial.clampedBy);
  if (fbr.frozen === 'too_few_valid') notes.push(`too few valid apartment sensors (${inp.stats.valid} of ${inp.stats.total - inp.stats.excluded.suspended} active): feedback held at its last shift`);
  const final = evaluateCurve(curve, eff.effectiveC, { relFlow, extraShiftK: fbr.termK });
  const boundBy: string[] = [];
  if (final.clampedBy) boundBy.push(final.clampedBy);
  if (fbr.bounded) boundBy.push(fbr.bounded);
  const recommended = round1(final.supplyC);
  return {
    advice: {
      point: SUPPLY_POINT,
      valid: true,
      recommendedC: recommended,
      currentSetpointC: inp.currentSetpointC,
      measuredSupplyC: inp.measuredSupplyC,
      changeK: inp.currentSetpointC === null ? null : round1(recommended - inp.currentSetpointC),
      explanation: {
        outdoorC: round2(inp.outdoorC),
        outdoorSource: inp.outdoorSource,
        effectiveOutdoorC: round2(eff.effectiveC),
        forecast: { used: eff.usedForecast, leadH: round2(lead), forwardMeanC: round2(eff.forwardC), issuedTs: inp.forecast?.issuedTs ?? null, points: inp.forecast?.points.length ?? 0 },
        tauH: round2(inp.tauH),
        tauSource: inp.tauSource,
        curveC: round2(curveNow.unclampedC),
        curveShiftK: curve.shiftK,
        forecastTermK: round2(curveEff.unclampedC - curveNow.unclampedC),
        feedbackTermK: round2(fbr.termK),
        feedback: { controlledC: fbr.controlledC === null ? null : round2(fbr.controlledC), targetC: cfg.feedback.targetC, errorK: fbr.errorK === null ? null : round2(fbr.errorK), pK: round2(fbr.pK), iK: round2(fbr.iK), frozen: fbr.frozen, bounded: fbr.bounded },
        indoor: inp.stats,
        unclampedC: round2(final.unclampedC),
        limits,
        boundBy,
        flow: {
          mode: cfg.flow.stages.length ? 'stepped' : 'constant',
          relFlow,
          pumpDpMpa: cfg.flow.designDpMpa === null ? null : Math.round(pumpDpForFlow(cfg.flow.designDpMpa, relFlow) * 1000) / 1000,
        },
        notes,
      },
    },
    feedback: fbr.state,
  };
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
