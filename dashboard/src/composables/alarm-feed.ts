/**
 * Open alarms kept current by the live socket: loaded over REST, then every change on topic "alarms" updates the
 * map. Only annunciated alarms are kept (shelved, suppressed and out-of-service ones leave it). Reloaded after a
 * reconnect, because events are not replayed.
 */
import { computed, shallowRef, triggerRef } from 'vue';
import { api, qs } from '../api/http.ts';
import { PRIORITIES, type Alarm, type AlarmLiveEvent, type Priority } from '../api/types.ts';
import { PRIORITY_RANK } from '../lib/theme.ts';
import { scoped, type Live } from './live.ts';

export interface AlarmFeedOptions {
  /** Keep hidden (shelved, suppressed, out-of-service) alarms too (the console's "show hidden"). */
  hidden?: boolean;
  /** Limit to alarms at or below this asset (REST); live changes are kept when `inScope` accepts their asset. */
  under?: string;
  inScope?: (asset: string) => boolean;
  /** Called for each newly raised alarm (not for the initial load). */
  onRaised?: (a: Alarm) => void;
  /** Called for control hooks on the alarms topic (e.g. auto mode dropped to manual). */
  onNotice?: (e: AlarmLiveEvent) => void;
}

const MAX_PAGES = 10;

export function isOpen(a: Alarm): boolean {
  return a.state !== 'normal' && a.closedAt === null;
}

export function useAlarmFeed(live: Live, opts: AlarmFeedOptions = {}) {
  const byId = shallowRef(new Map<string, Alarm>());
  const loaded = shallowRef(false);
  const error = shallowRef<string | null>(null);

  /** Events that arrived while a load was in flight: applied again on top of what the load returns. */
  let during: unknown[] | null = null;

  async function load(): Promise<void> {
    during = [];
    try {
      const map = new Map<string, Alarm>();
      let next: string | null = null;
      for (let page = 0; page < MAX_PAGES; page++) {
        const r: { alarms: Alarm[]; next: string | null } = await api(`/api/alarms${qs({ status: 'open', hidden: opts.hidden ? true : undefined, under: opts.under, limit: 1000, before: next ?? undefined })}`);
        for (const a of r.alarms) map.set(a.id, a);
        next = r.next;
        if (!next) break;
      }
      const missed = during;
      during = null;
      byId.value = map;
      for (const e of missed) apply(e, false);
      loaded.value = true;
      error.value = null;
    } catch (err) {
      during = null;
      error.value = (err as Error).message;
    }
  }

  function onEvent(data: unknown): void {
    during?.push(data);
    apply(data, true);
  }

  function apply(data: unknown, live: boolean): void {
    const e = data as AlarmLiveEvent;
    if (!e.alarm) {
      if (live) opts.onNotice?.(e);
      return;
    }
    const a = e.alarm;
    if (opts.inScope && !opts.inScope(a.asset)) return;
    const map = byId.value;
    const cur = map.get(a.id);
    // Never go back to an older state of the alarm (an event replayed after a load that already had a newer one).
    if (cur && cur.updatedAt > a.updatedAt) return;
    const had = cur !== undefined;
    const keep = isOpen(a) && (opts.hidden || e.annunciated !== false);
    if (keep) map.set(a.id, a);
    else map.delete(a.id);
    if (keep || had) triggerRef(byId);
    if (live && keep && !had && e.type === 'alarm.activated') opts.onRaised?.(a);
  }

  live.addTopics(['alarms']);
  scoped(live.onEvent('alarms', onEvent));
  scoped(live.onReconnect(() => void load()));
  void load();

  const list = computed(() => [...byId.value.values()].sort((a, b) => PRIORITY_RANK[b.priority] - PRIORITY_RANK[a.priority] || b.activatedAt - a.activatedAt));
  const byPriority = computed(() => {
    const c: Record<Priority, number> = { critical: 0, high: 0, medium: 0, low: 0 };
    for (const a of byId.value.values()) c[a.priority]++;
    return c;
  });
  const unacked = computed(() => {
    let n = 0;
    for (const a of byId.value.values()) if (a.state === 'unack' || a.state === 'rtn_unack') n++;
    return n;
  });
  return { byId, list, byPriority, unacked, loaded, error, reload: load, priorities: PRIORITIES };
}
