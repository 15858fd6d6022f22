/**
 * Ticket lifecycle, SLA and team assignment as pure functions.
 *
 *   new ──► assigned ──► in_progress ──► resolved ──► closed
 *    │         │  ▲           │   │          │
 *    │         │  └───────────┘   │          └──► in_progress / assigned (reopened: not fixed, or the fault came back)
 *    └─────────┴──────────────────┴──► cancelled
 *
 * closed and cancelled are final; the dedupe index covers every other state, so a fault that comes back while its
 * ticket is resolved but not yet closed reopens that ticket instead of raising a second one.
 */
import type { AssetTree } from '../config/asset-tree.ts';
import type { Priority } from '../alarms/rules.ts';
import type { TeamConfig, TicketsFile } from './config.ts';

export const TICKET_STATES = ['new', 'assigned', 'in_progress', 'resolved', 'closed', 'cancelled'] as const;
export type TicketState = (typeof TICKET_STATES)[number];

export const CALLBACK_RESULTS = ['satisfied', 'unsatisfied', 'unreachable'] as const;
export type CallbackResult = (typeof CALLBACK_RESULTS)[number];

const MOVES: Record<TicketState, readonly TicketState[]> = {
  new: ['assigned', 'in_progress', 'cancelled'],
  assigned: ['new', 'in_progress', 'cancelled'],
  in_progress: ['assigned', 'resolved', 'cancelled'],
  resolved: ['in_progress', 'assigned', 'closed'],
  closed: [],
  cancelled: [],
};

export function canMove(from: TicketState, to: TicketState): boolean {
  return MOVES[from].includes(to);
}

export function allowedMoves(from: TicketState): readonly TicketState[] {
  return MOVES[from];
}

export function isOpenTicket(s: TicketState): boolean {
  return s !== 'closed' && s !== 'cancelled';
}

export interface SlaDue {
  respondDueAt: number;
  resolveDueAt: number;
}

export function slaDue(sla: TicketsFile['sla'], priority: Priority, createdAt: number): SlaDue {
  const s = sla[priority];
  return { respondDueAt: createdAt + Math.round(s.respondMinutes * 60_000), resolveDueAt: createdAt + Math.round(s.resolveHours * 3_600_000) };
}

export interface Overdue {
  respond: boolean;
  resolve: boolean;
}

/** Respond is overdue while nobody started work past its due time; resolve while unresolved past its due time. */
export function overdue(t: { state: TicketState; respondDueAt: number; resolveDueAt: number; respondedAt: number | null; resolvedAt: number | null }, now: number): Overdue {
  const open = isOpenTicket(t.state);
  return {
    respond: open && t.respondedAt === null && (t.state === 'new' || t.state === 'assigned') && now > t.respondDueAt,
    resolve: open && t.state !== 'resolved' && now > t.resolveDueAt,
  };
}

/** Which team covers an asset: the team whose area is the nearest ancestor (or the asset itself); else the default. */
export class TeamDirectory {
  readonly #byArea = new Map<string, TeamConfig>();
  readonly #byId = new Map<string, TeamConfig>();

  constructor(
    private readonly assets: AssetTree,
    teams: readonly TeamConfig[],
    private readonly defaultTeam?: string,
  ) {
    for (const t of teams) {
      this.#byId.set(t.id, t);
      for (const a of t.areas) if (!this.#byArea.has(a)) this.#byArea.set(a, t);
    }
  }

  get(id: string): TeamConfig | undefined {
    return this.#byId.get(id);
  }

  list(): TeamConfig[] {
    return [...this.#byId.values()];
  }

  teamFor(assetId: string): TeamConfig | undefined {
    const a = this.assets.get(assetId);
    if (a) {
      const chain = [a.id, ...[...a.path].reverse()];
      for (const id of chain) {
        const t = this.#byArea.get(id);
        if (t) return t;
      }
    }
    return this.defaultTeam ? this.#byId.get(this.defaultTeam) : undefined;
  }
}
