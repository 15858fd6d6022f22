/**
 * Ingest health for the wall: /api/health (per component) and the readings counters of /metrics, polled every
 * `everyMs`; the rate is the difference between two polls. Stops with the page.
 */
import { onScopeDispose, shallowRef } from 'vue';
import { api } from '../api/http.ts';
import type { Health } from '../api/types.ts';

export interface IngestHealth {
  status: Health['status'] | 'unknown';
  sources: { id: string; status: string }[];
  readingsPerS: number;
  rejectedPerS: number;
  pending: number;
  at: number;
}

function sumCounter(text: string, name: string): number {
  let total = 0;
  const re = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.eE+-]+)$`, 'gm');
  for (let m = re.exec(text); m; m = re.exec(text)) total += Number(m[1]);
  return total;
}

export function useIngestHealth(everyMs = 10_000) {
  const health = shallowRef<IngestHealth>({ status: 'unknown', sources: [], readingsPerS: NaN, rejectedPerS: NaN, pending: 0, at: 0 });
  let last: { at: number; inn: number; rej: number } | null = null;

  async function poll(): Promise<void> {
    try {
      const [h, metrics] = await Promise.all([
        api<Health>('/api/health'),
        fetch('/metrics', { credentials: 'same-origin' }).then((r) => (r.ok ? r.text() : '')),
      ]);
      const now = Date.now();
      const inn = sumCounter(metrics, 'warmgrid_readings_in_total');
      const rej = sumCounter(metrics, 'warmgrid_readings_rejected_total');
      let readingsPerS = health.value.readingsPerS;
      let rejectedPerS = health.value.rejectedPerS;
      if (last && metrics && now > last.at) {
        readingsPerS = Math.max(0, ((inn - last.inn) * 1000) / (now - last.at));
        rejectedPerS = Math.max(0, ((rej - last.rej) * 1000) / (now - last.at));
      }
      if (metrics) last = { at: now, inn, rej };
      const sources = Object.entries(h.components ?? {})
        .filter(([k]) => k.startsWith('source:') || k === 'broker' || k === 'store')
        .map(([k, c]) => ({ id: k.replace(/^source:/, ''), status: c.status }));
      health.value = { status: h.status, sources, readingsPerS, rejectedPerS, pending: Number(h.components?.['pipeline']?.['pending'] ?? 0), at: now };
    } catch {
      health.value = { ...health.value, status: 'unknown', at: Date.now() };
    }
  }

  void poll();
  // A second poll soon after the first gives the rates without waiting a whole interval.
  const first = setTimeout(() => void poll(), 2000);
  const timer = setInterval(() => void poll(), everyMs);
  onScopeDispose(() => {
    clearTimeout(first);
    clearInterval(timer);
  });
  return health;
}
