/**
 * Tickets kept current by the live socket (topic "tickets"): loaded over REST with the page's filter, then created and
 * updated tickets come in as they happen. Reloaded after a reconnect.
 */
import { computed, shallowRef, triggerRef } from 'vue';
import { api, qs } from '../api/http.ts';
import type { Ticket, TicketLiveEvent, TicketState } from '../api/types.ts';
import { scoped, type Live } from './live.ts';

export interface TicketFeedOptions {
  /** REST filter of the list (state "open" by default). */
  query?: () => Record<string, string | number | boolean | undefined>;
  /** Whether a ticket belongs in the list (the same filter, applied to live changes). */
  keep?: (t: Ticket) => boolean;
  /** A ticket was created while the page was open. */
  onCreated?: (t: Ticket) => void;
  /** Limit to tickets at or below this asset (REST); live changes are kept when `inScope` accepts their asset. */
  under?: string;
  inScope?: (asset: string) => boolean;
}

export function isOpenTicket(s: TicketState): boolean {
  return s !== 'closed' && s !== 'cancelled';
}

export function useTicketFeed(live: Live, opts: TicketFeedOptions = {}) {
  const byId = shallowRef(new Map<number, Ticket>());
  const loaded = shallowRef(false);
  const error = shallowRef<string | null>(null);
  /** Ids created while the page was open (for the visual cue). */
  const fresh = shallowRef(new Set<number>());
  let seq = 0;

  /** Events that arrived while a load was in flight: applied again on top of what the load returns. */
  let during: unknown[] | null = null;

  async function load(): Promise<void> {
    const my = ++seq;
    during = [];
    try {
      const q = opts.query?.() ?? { state: 'open' };
      const r = await api<{ tickets: Ticket[]; next: number | null }>(`/api/tickets${qs({ limit: 1000, under: opts.under, ...q })}`);
      if (my !== seq) return;
      const missed = during ?? [];
      during = null;
      byId.value = new Map(r.tickets.map((t) => [t.id, t]));
      for (const e of missed) apply(e, false);
      loaded.value = true;
      error.value = null;
    } catch (err) {
      if (my === seq) during = null;
      error.value = (err as Error).message;
    }
  }

  const keep = opts.keep ?? ((t: Ticket) => isOpenTicket(t.state));

  function onEvent(data: unknown): void {
    during?.push(data);
    apply(data, true);
  }

  function apply(data: unknown, live: boolean): void {
    const e = data as TicketLiveEvent;
    const t = e?.ticket;
    if (!t) return;
    if (opts.inScope && !opts.inScope(t.asset)) return;
    const map = byId.value;
    const cur = map.get(t.id);
    // Never go back to an older state of the ticket (an event replayed after a load that already had a newer one).
    if (cur && cur.updatedAt > t.updatedAt) return;
    const had = cur !== undefined;
    if (keep(t)) map.set(t.id, t);
    else map.delete(t.id);
    if (live && e.type === 'ticket.created' && !had) {
      fresh.value.add(t.id);
      triggerRef(fresh);
      opts.onCreated?.(t);
    }
    triggerRef(byId);
  }

  live.addTopics(['tickets']);
  scoped(live.onEvent('tickets', onEvent));
  scoped(live.onReconnect(() => void load()));
  void load();

  const list = computed(() => [...byId.value.values()].sort((a, b) => b.id - a.id));
  const byState = computed(() => {
    const c: Record<TicketState, number> = { new: 0, assigned: 0, in_progress: 0, resolved: 0, closed: 0, cancelled: 0 };
    for (const t of byId.value.values()) c[t.state]++;
    return c;
  });
  const overdue = computed(() => {
    let n = 0;
    for (const t of byId.value.values()) if (t.overdue.respond || t.overdue.resolve) n++;
    return n;
  });
  return { byId, list, byState, overdue, fresh, loaded, error, reload: load };
}
