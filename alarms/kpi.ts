/**
 * Alarm-system performance indicators per EEMUA 191 / ISA-18.2 (DOMAIN.md §5), pure: computed from the stored
 * transitions of a time window. Only annunciated activations count (suppressed or shelved conditions never become an
 * "activate" event), which is what an operator experiences.
 */
import { PRIORITIES, type Priority } from './rules.ts';

export interface KpiEvent {
  ts: number;
  alarmId: string;
  ruleId: string;
  asset: string;
  priority: string;
  event: string;
}

export interface KpiOpenAlarm {
  activatedAt: number;
  active: boolean;
}

export interface AlarmKpis {
  from: number;
  to: number;
  operators: number;
  activations: number;
  rate: {
    /** Activations per 10 minutes over the window, all operators. */
    per10Min: number;
    /** The same per operator console (EEMUA: ≈ 1 acceptable, 2 manageable). */
    per10MinPerOperator: number;
    /** Busiest 10-minute bucket. */
    peak10Min: number;
  };
  floods: {
    /** Flood episodes: start above 10 per 10 min, end below 5 per 10 min. */
    episodes: number;
    /** Share of the window's 10-minute buckets in flood (target < 1 %). */
    timeShare: number;
    longestMin: number;
  };
  /** Alarms active for more than 24 h now (target < 5 a day). */
  stale: number;
  chattering: { points: number; top: { ruleId: string; asset: string; maxPerMinute: number }[] };
  fleeting: { count: number; share: number };
  /** Share of activations per priority (target about 80/15/5 low/medium/high, critical rare). */
  prioritySplit: Record<Priority, number>;
  topBadActors: { ruleId: string; asset: string; count: number; share: number }[];
}

export const TEN_MIN = 600_000;
export const FLOOD_START = 10;
export const FLOOD_END = 5;
export const CHATTER_PER_MINUTE = 3;
export const FLEETING_MS = 10_000;
export const STALE_MS = 24 * 3_600_000;

/** `events` holds the window's activate and clear events, oldest first. */
export function computeKpis(events: readonly KpiEvent[], open: readonly KpiOpenAlarm[], opts: { from: number; to: number; now: number; operators: number; top?: number }): AlarmKpis {
  const { from, to } = opts;
  const acts = events.filter((e) => e.event === 'activate');
  const buckets = Math.max(1, Math.ceil((to - from) / TEN_MIN));
  const perBucket = new Array<number>(buckets).fill(0);
  for (const e of acts) {
    const b = Math.floor((e.ts - from) / TEN_MIN);
    if (b >= 0 && b < buckets) perBucket[b]!++;
  }

  let episodes = 0;
  let inFlood = false;
  let floodBuckets = 0;
  let run = 0;
  let longest = 0;
  for (const n of perBucket) {
    if (!inFlood && n > FLOOD_START) {
      inFlood = true;
      episodes++;
      run = 0;
    } else if (inFlood && n < FLOOD_END) {
      inFlood = false;
    }
    if (inFlood) {
      floodBuckets++;
      run++;
      longest = Math.max(longest, run);
    }
  }

  const byPoint = new Map<string, { ruleId: string; asset: string; ts: number[] }>();
  for (const e of acts) {
    const key = `${e.ruleId}\u0000${e.asset}`;
    let p = byPoint.get(key);
    if (!p) byPoint.set(key, (p = { ruleId: e.ruleId, asset: e.asset, ts: [] }));
    p.ts.push(e.ts);
  }
  const chatter: { ruleId: string; asset: string; maxPerMinute: number }[] = [];
  for (const p of byPoint.values()) {
    let max = 0;
    for (let i = 0, j = 0; j < p.ts.length; j++) {
      while (p.ts[j]! - p.ts[i]! > 60_000) i++;
      max = Math.max(max, j - i + 1);
    }
    if (max >= CHATTER_PER_MINUTE) chatter.push({ ruleId: p.ruleId, asset: p.asset, maxPerMinute: max });
  }
  chatter.sort((a, b) => b.maxPerMinute - a.maxPerMinute);

  let fleeting = 0;
  const since = new Map<string, number>();
  for (const e of events) {
    if (e.event === 'activate') since.set(e.alarmId, e.ts);
    else if (e.event === 'clear') {
      const t = since.get(e.alarmId);
      if (t !== undefined && e.ts - t < FLEETING_MS) fleeting++;
      since.delete(e.alarmId);
    }
  }

  const split = Object.fromEntries(PRIORITIES.map((p) => [p, 0])) as Record<Priority, number>;
  for (const e of acts) if (e.priority in split) split[e.priority as Priority]++;
  for (const p of PRIORITIES) split[p] = acts.length > 0 ? round(split[p] / acts.length) : 0;

  const top = [...byPoint.values()]
    .map((p) => ({ ruleId: p.ruleId, asset: p.asset, count: p.ts.length, share: round(p.ts.length / Math.max(1, acts.length)) }))
    .sort((a, b) => b.count - a.count || a.ruleId.localeCompare(b.ruleId))
    .slice(0, opts.top ?? 10);

  const per10 = acts.length / ((to - from) / TEN_MIN);
  return {
    from,
    to,
    operators: opts.operators,
    activations: acts.length,
    rate: { per10Min: round(per10), per10MinPerOperator: round(per10 / opts.operators), peak10Min: Math.max(0, ...perBucket) },
    floods: { episodes, timeShare: round(floodBuckets / buckets), longestMin: longest * 10 },
    stale: open.filter((a) => a.active && opts.now - a.activatedAt > STALE_MS).length,
    chattering: { points: chatter.length, top: chatter.slice(0, opts.top ?? 10) },
    fleeting: { count: fleeting, share: round(fleeting / Math.max(1, acts.length)) },
    prioritySplit: split,
    topBadActors: top,
  };
}

function round(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}
