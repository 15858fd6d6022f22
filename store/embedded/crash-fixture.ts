/**
 * Data shared by the crash test and its child process: batch n holds one reading per asset at `crashBatchTs(n)`,
 * field k of asset a carrying `crashValue(n, a, k)`, plus a string field.
 */
import type { Reading } from '../../ingest/reading.ts';
import type { EmbeddedStoreOptions } from './embedded-store.ts';

export const CRASH_ASSETS = 50;
export const CRASH_FIELDS = 20;
export const CRASH_BASE_TS = Date.UTC(2026, 0, 1);

export function crashBatchTs(n: number): number {
  return CRASH_BASE_TS + n * 10_000;
}

export function crashValue(n: number, asset: number, field: number): number {
  return n * 1_000 + asset * 10 + field + 0.25;
}

export function crashBatch(n: number): Reading[] {
  const out: Reading[] = [];
  for (let a = 0; a < CRASH_ASSETS; a++) {
    const fields: Record<string, number | string> = { state: `batch ${n}` };
    for (let k = 0; k < CRASH_FIELDS; k++) fields[`f${k}`] = crashValue(n, a, k);
    out.push({ asset: `a${a}`, ts: crashBatchTs(n), fields, quality: 'good', source: 'crash:child' });
  }
  return out;
}

export function crashStoreOptions(dir: string): EmbeddedStoreOptions {
  return {
    dir,
    retention: { rawDays: 0, '1mDays': 0, '15mDays': 0, '1hDays': 0, '1dDays': 0 },
    compactEveryMs: 0,
    sealUnitMs: 60_000,
    sealGraceMs: 0,
    // A small threshold makes DuckDB checkpoint every few batches, so kills land inside checkpoints too.
    duckdbConfig: { checkpoint_threshold: '256KB' },
  };
}
