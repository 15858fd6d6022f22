/**
 * Counterflow plate heat exchanger by the ε-NTU method (DOMAIN.md §3):
 *   ε = [1 − exp(−NTU(1 − Cr))] / [1 − Cr·exp(−NTU(1 − Cr))], and ε = NTU/(1 + NTU) when Cr = 1;
 *   NTU = UA/C_min; Q = ε·C_min·(T_hot,in − T_cold,in).
 * UA falls with flow: each side's film conductance scales as hA_i = hA_i,nom·(ṁ_i/ṁ_i,nom)^0.8, and the two sides are
 * in series, 1/UA = 1/hA_1 + 1/hA_2 (wall and fouling resistance folded into the nominal values).
 */
import { W_PER_M3H_K } from './water.ts';

export function counterflowEffectiveness(ntu: number, cr: number): number {
  if (!(ntu > 0)) return 0;
  const c = Math.min(1, Math.max(0, cr));
  if (1 - c < 1e-6) return ntu / (1 + ntu);
  const e = Math.exp(-ntu * (1 - c));
  return (1 - e) / (1 - c * e);
}

export interface HxNominal {
  /** Primary-side film conductance at the nominal primary flow (W/K). */
  hA1NomWk: number;
  /** Secondary-side film conductance at the nominal secondary flow (W/K). */
  hA2NomWk: number;
  g1NomM3h: number;
  g2NomM3h: number;
}

/** UA at the given flows (W/K). */
export function hxUa(nom: HxNominal, g1M3h: number, g2M3h: number): number {
  if (g1M3h <= 0 || g2M3h <= 0) return 0;
  const h1 = nom.hA1NomWk * Math.pow(g1M3h / nom.g1NomM3h, 0.8);
  const h2 = nom.hA2NomWk * Math.pow(g2M3h / nom.g2NomM3h, 0.8);
  return (h1 * h2) / (h1 + h2);
}

/**
 * Sizes the exchanger for a duty: the UA that meets `qW` at the design terminal temperatures (counterflow LMTD),
 * times a margin, split equally between the two film conductances.
 */
export function sizeHx(qW: number, t1InC: number, t1OutC: number, t2InC: number, t2OutC: number, g1M3h: number, g2M3h: number, margin = 1.15): HxNominal {
  const dA = t1InC - t2OutC;
  const dB = t1OutC - t2InC;
  const lmtd = Math.abs(dA - dB) < 1e-6 ? dA : (dA - dB) / Math.log(dA / dB);
  const ua = (margin * qW) / lmtd;
  return { hA1NomWk: 2 * ua, hA2NomWk: 2 * ua, g1NomM3h: g1M3h, g2NomM3h: g2M3h };
}

export interface HxResult {
  qW: number;
  /** Hot (primary) outlet. */
  t1OutC: number;
  /** Cold (secondary) outlet. */
  t2OutC: number;
}

/** Steady counterflow exchange; with no flow on either side nothing is exchanged and each outlet equals its inlet. */
export function counterflowHx(t1InC: number, g1M3h: number, t2InC: number, g2M3h: number, uaWk: number): HxResult {
  const c1 = g1M3h * W_PER_M3H_K;
  const c2 = g2M3h * W_PER_M3H_K;
  if (c1 <= 0 || c2 <= 0 || uaWk <= 0) return { qW: 0, t1OutC: t1InC, t2OutC: t2InC };
  const cMin = Math.min(c1, c2);
  const cMax = Math.max(c1, c2);
  const eps = counterflowEffectiveness(uaWk / cMin, cMin / cMax);
  const q = eps * cMin * (t1InC - t2InC);
  return { qW: q, t1OutC: t1InC - q / c1, t2OutC: t2InC + q / c2 };
}
