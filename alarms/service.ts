/**
 * The alarm feature as the hub sees it: the engine fed by the live bus, the store, the rule store with its config seed,
 * rule changes (validated, audited, applied at once), KPIs, and alarm changes published on the bus (topic "alarms").
 *
 * Lifecycle: `start()` seeds and loads the rules, restores open alarms, subscribes to readings and starts the timers;
 * `stop()` unsubscribes, stops the timers and waits until every change is stored. Both are called once, by server/hub.ts.
 */
import type { AssetTree } from '../config/asset-tree.ts';
import type { ConfigProblem } from '../config/load.ts';
import type { Clock } from '../core/clock.ts';
import { WarmgridError } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import type { LiveBus } from '../ingest/live-bus.ts';
import type { AuditLog } from '../state/audit.ts';
import type { StateDb } from '../state/db.ts';
import type { LatestValue } from '../store/telemetry-store.ts';
import { checkRule, parseRule, type AlarmsConfig } from './config.ts';
import { AlarmEngine, type AlarmChange, type AlarmEngineOptions } from './engine.ts';
import { computeKpis, type AlarmKpis } from './kpi.ts';
import { RuleStore, type Actor, type StoredRule } from './rule-store.ts';
import type { Rule } from './rules.ts';
import { isActive } from './state-machine.ts';
import { AlarmStore } from './store.ts';

export interface AlarmsOptions {
  db: StateDb;
  audit: AuditLog;
  assets: AssetTree;
  clock: Clock;
  log: Logger;
  bus: LiveBus;
  latest: (asset: string) => ReadonlyMap<string, LatestValue> | undefined;
  config: AlarmsConfig;
  /** See AlarmEngineOptions.observeConditions. */
  observeConditions?: AlarmEngineOptions['observeConditions'];
}

/** The live-bus message for an alarm change (topic "alarms"). */
export function alarmEvent(c: AlarmChange): Record<string, unknown> {
  return { type: `alarm.${c.type}`, alarm: c.alarm, at: c.at, actor: c.actorName, comment: c.comment, annunciated: c.annunciated };
}

export class Alarms {
  readonly engine: AlarmEngine;
  readonly store: AlarmStore;
  readonly rules: RuleStore;
  readonly settings: AlarmsConfig['alarms']['console'];
  readonly #o: AlarmsOptions;
  #unsubscribe: (() => void)[] = [];

  constructor(o: AlarmsOptions) {
    this.#o = o;
    this.settings = o.config.alarms.console;
    this.store = new AlarmStore(o.db, o.log, o.clock);
    this.rules = new RuleStore(o.db, o.audit, () => o.clock.now());
    this.engine = new AlarmEngine({
      assets: o.assets,
      store: this.store,
      clock: o.clock,
      log: o.log,
      latest: o.latest,
      maxShelveHours: this.settings.maxShelveHours,
      ...(o.observeConditions ? { observeConditions: o.observeConditions } : {}),
    });
  }

  async start(): Promise<void> {
    const stored = await this.rules.seed(this.#o.config.alarms.rules);
    this.engine.setRules(stored.map((s) => s.rule));
    this.#unsubscribe.push(this.engine.onChange((c) => this.#o.bus.publishEvent({ topic: 'alarms', data: alarmEvent(c) })));
    await this.engine.start();
    this.#unsubscribe.push(this.#o.bus.onReading((r) => this.engine.onReading(r)));
  }

  async stop(): Promise<void> {
    for (const u of this.#unsubscribe.splice(0)) u();
    await this.engine.stop();
    await this.store.close();
  }

  // ---- rules -------------------------------------------------------------------------------------------------------

  /** Validates a rule from the API like alarms.yaml would: schema, semantics, the asset tree, the other rules. */
  validate(body: unknown, others: readonly string[]): Rule {
    const problems: ConfigProblem[] = [];
    const rule = parseRule(body, 'rule', problems);
    if (rule) checkRule(rule, this.#o.assets, '', 'rule', problems, new Set([...others, rule.id]));
    if (!rule || problems.length > 0) throw new WarmgridError('VALIDATION_FAILED', 'invalid rule', { details: problems.slice(0, 20).map((p) => ({ path: p.path || '/', message: p.message })) });
    return rule;
  }

  async listRules(): Promise<StoredRule[]> {
    return this.rules.list();
  }

  async createRule(body: unknown, by: Actor): Promise<StoredRule> {
    const rule = this.validate(body, this.engine.rules().map((r) => r.id));
    const stored = await this.rules.create(rule, by);
    await this.#reload();
    return stored;
  }

  async updateRule(id: string, body: unknown, by: Actor, expectedVersion?: number): Promise<StoredRule> {
    const rule = this.validate(body, this.engine.rules().map((r) => r.id));
    const stored = await this.rules.update(id, rule, by, expectedVersion);
    await this.#reload();
    return stored;
  }

  async deleteRule(id: string, by: Actor): Promise<void> {
    await this.rules.remove(id, by);
    await this.#reload();
  }

  async #reload(): Promise<void> {
    this.engine.setRules((await this.rules.list()).map((s) => s.rule));
  }

  // ---- KPIs --------------------------------------------------------------------------------------------------------

  async kpis(from: number, to: number): Promise<AlarmKpis> {
    await this.store.flush();
    const rows = await this.store.eventsBetween(from, to, ['activate', 'clear']);
    const events = rows.map((r) => ({ ts: r.ts, alarmId: r.alarm_id, ruleId: r.rule_id, asset: r.asset, priority: r.priority, event: r.event }));
    const open = this.engine.openAlarms().map((a) => ({ activatedAt: a.activatedAt, active: isActive(a.state) }));
    return computeKpis(events, open, { from, to, now: this.#o.clock.now(), operators: this.settings.operators });
  }
}
