/** Table types of the ticket feature in the state database (see tickets/migrations.ts). Timestamps are epoch ms. */
import type { Generated } from 'kysely';

export interface TicketsTable {
  id: Generated<number>;
  asset: string;
  asset_kind: string;
  /** Incident cause: tickets are unique per (asset, cause) while open. */
  cause: string;
  category: string;
  priority: string;
  title: string;
  description: string;
  /** new, assigned, in_progress, resolved, closed, cancelled */
  state: string;
  /** 1 until closed or cancelled; the dedupe index covers open tickets only. */
  open: number;
  team: string | null;
  assignee: string | null;
  /** alarm or manual */
  origin: string;
  created_by: string;
  created_by_name: string;
  created_at: number;
  updated_at: number;
  respond_due_at: number;
  resolve_due_at: number;
  responded_at: number | null;
  resolved_at: number | null;
  closed_at: number | null;
  /** Satisfaction call-back (回访): satisfied, unsatisfied, unreachable. */
  callback_result: string | null;
  callback_at: number | null;
  callback_by: string | null;
  callback_comment: string | null;
  reopened: number;
}

export interface TicketAlarmsTable {
  ticket_id: number;
  alarm_id: string;
  rule_id: string;
  linked_at: number;
  cleared_at: number | null;
}

export interface TicketHistoryTable {
  seq: Generated<number>;
  ticket_id: number;
  ts: number;
  actor: string;
  actor_name: string;
  /** created, assigned, state, comment, alarm_linked, alarm_cleared, callback, reopened */
  action: string;
  from_state: string;
  to_state: string;
  comment: string;
  /** JSON with the details of the change. */
  detail: string;
}

/** Webhook deliveries waiting or done, one row per event and endpoint (tickets/webhooks.ts). */
export interface WebhookOutboxTable {
  seq: Generated<number>;
  event_id: string;
  endpoint: string;
  type: string;
  /** The exact body sent and signed. */
  body: string;
  created_at: number;
  attempts: number;
  next_at: number;
  delivered_at: number | null;
  last_status: number | null;
  last_error: string;
}

export interface TicketTables {
  tickets: TicketsTable;
  ticket_alarms: TicketAlarmsTable;
  ticket_history: TicketHistoryTable;
  webhook_outbox: WebhookOutboxTable;
}
