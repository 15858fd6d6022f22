/** Table types of the alarm feature in the state database (see alarms/migrations.ts). Timestamps are epoch ms. */
import type { Generated } from 'kysely';

/** Rules as an engineer left them; config rules are the seed (alarms/rule-store.ts). */
export interface AlarmRulesTable {
  id: string;
  /** The rule as JSON (alarms/rules.ts `Rule`). */
  body: string;
  /** "config" when it came from alarms.yaml, "api" when an engineer created it. */
  origin: string;
  /** Hash of the config version last seeded, so a changed alarms.yaml updates rules nobody edited. */
  config_hash: string;
  /** 1 once an engineer changed it: the config no longer overwrites it. */
  edited: number;
  /** 1 when deleted; kept so the config seed does not bring it back. */
  deleted: number;
  version: number;
  updated_at: number;
  updated_by: string;
}

/** One alarm occurrence: from activation until it is back to normal (and acknowledged). */
export interface AlarmsTable {
  id: string;
  rule_id: string;
  asset: string;
  asset_kind: string;
  name: string;
  category: string;
  cause: string;
  priority: string;
  level: string | null;
  /** alarms/state-machine.ts AlarmState. */
  state: string;
  /** JSON of the value at the trigger. */
  value: string;
  activated_at: number;
  acked_at: number | null;
  acked_by: string | null;
  cleared_at: number | null;
  closed_at: number | null;
  updated_at: number;
  /** Annunciation: shelved until (null when not), suppressed by an alarm id, out of service (0/1). */
  shelved_until: number | null;
  suppressed_by: string | null;
  out_of_service: number;
  /** How often it re-alarmed before it was closed. */
  activations: number;
}

/** Every transition of every alarm, with who and when: append-only. */
export interface AlarmEventsTable {
  seq: Generated<number>;
  alarm_id: string;
  rule_id: string;
  asset: string;
  ts: number;
  /** activate, clear, ack, close, escalate, shelve, unshelve, suppress, unsuppress, out_of_service, return_to_service, rule_removed */
  event: string;
  from_state: string;
  to_state: string;
  priority: string;
  value: string;
  actor: string;
  actor_name: string;
  comment: string;
}

/** Shelving and out-of-service apply to a point (rule × asset), beyond one occurrence. */
export interface AlarmPointsTable {
  rule_id: string;
  asset: string;
  /** shelved or out_of_service */
  mode: string;
  until: number | null;
  actor: string;
  actor_name: string;
  reason: string;
  since: number;
}

export interface AlarmTables {
  alarm_rules: AlarmRulesTable;
  alarms: AlarmsTable;
  alarm_events: AlarmEventsTable;
  alarm_points: AlarmPointsTable;
}
