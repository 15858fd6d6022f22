/**
 * Shared helpers for benchmarks: each bench prints a table and writes bench/results/NAME.json as
 * { name, when, machine: {cpus, node}, figures, baseline, targets, met }.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const RESULTS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'results');

export type Figures = Record<string, number | string | boolean | null>;

export interface BenchResult {
  name: string;
  figures: Figures;
  baseline: Figures;
  /** What the issue asks for, in words a reader can check against `figures`. */
  targets: Record<string, string>;
  met: boolean;
  notes?: string[];
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

export function fmt(v: number | string | boolean | null): string {
  if (typeof v !== 'number') return String(v);
  if (!Number.isFinite(v)) return String(v);
  if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString('en-US');
  return Number(v.toPrecision(4)).toString();
}

export function report(result: BenchResult): void {
  const rows: [string, string, string][] = [];
  for (const [k, v] of Object.entries(result.figures)) rows.push([k, fmt(v), 'figure']);
  for (const [k, v] of Object.entries(result.baseline)) rows.push([k, fmt(v), 'baseline']);
  for (const [k, v] of Object.entries(result.targets)) rows.push([k, v, 'target']);
  const w0 = Math.max(...rows.map((r) => r[0].length), 6);
  const w1 = Math.max(...rows.map((r) => r[1].length), 5);
  console.log(`\n== bench/${result.name} ==`);
  for (const [k, v, kind] of rows) console.log(`${k.padEnd(w0)}  ${v.padStart(w1)}  (${kind})`);
  console.log(`targets met: ${result.met ? 'yes' : 'NO'}`);
  for (const n of result.notes ?? []) console.log(`note: ${n}`);
  mkdirSync(RESULTS_DIR, { recursive: true });
  const out = {
    name: result.name,
    when: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown', memGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version },
    figures: result.figures,
    baseline: result.baseline,
    targets: result.targets,
    met: result.met,
    notes: result.notes ?? [],
  };
  writeFileSync(path.join(RESULTS_DIR, `${result.name}.json`), `${JSON.stringify(out, null, 2)}\n`);
}
