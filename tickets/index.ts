/**
 * The ticket feature as the hub sees it: the ticket service listening to alarm changes, webhooks for ticket events (and
 * alarm events, for endpoints that subscribe to alarm.*), ticket changes on the live bus (topic "tickets").
 *
 * Lifecycle: `start()` reconciles with the open alarms (after a restart) and starts webhook delivery from the outbox;
 * `stop()` waits for queued ticket work and in-flight deliveries. Both are called once, by server/hub.ts, after and
 * before the alarm feature's.
 */
import { alarmEvent, type Alarms } from '../alarms/service.ts';
import type { AssetTree } from '../config/asset-tree.ts';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/log.ts';
import type { LiveBus } from '../ingest/live-bus.ts';
import type { StateDb } from '../state/db.ts';
import type { TicketsFile } from './config.ts';
import { TicketService } from './service.ts';
import { Webhooks, newEvent } from './webhooks.ts';

export interface TicketsOptions {
  db: StateDb;
  assets: AssetTree;
  config: TicketsFile;
  clock: Clock;
  log: Logger;
  bus: LiveBus;
  alarms: Alarms;
}

export class Tickets {
  readonly service: TicketService;
  readonly webhooks: Webhooks;
  readonly config: TicketsFile;
  readonly #o: TicketsOptions;
  #unsubscribe: (() => void)[] = [];

  constructor(o: TicketsOptions) {
    this.#o = o;
    this.config = o.config;
    this.webhooks = new Webhooks({ db: o.db, config: o.config, clock: o.clock, log: o.log.child({ component: 'webhooks' }) });
    this.service = new TicketService({
      db: o.db,
      assets: o.assets,
      config: o.config,
      clock: o.clock,
      log: o.log,
      webhooks: this.webhooks,
      ruleOf: (id) => o.alarms.engine.rule(id),
      publish: (e) => o.bus.publishEvent({ topic: 'tickets', data: e }),
    });
  }

  async start(): Promise<void> {
    const { alarms } = this.#o;
    this.#unsubscribe.push(alarms.engine.onChange((c) => this.service.onAlarmChange(c)));
    this.#unsubscribe.push(
      alarms.engine.onChange((c) => {
        const type = `alarm.${c.type}`;
        if (!this.webhooks.wants(type)) return;
        // Through the alarm store's queue, so the event commits in order with the transition it reports.
        const event = newEvent(type, c.at, alarmEvent(c));
        alarms.store.enqueue({ op: 'run', fn: (trx) => this.webhooks.enqueue(trx, event) });
        void alarms.store.flush().then(() => this.webhooks.kick());
      }),
    );
    await this.service.reconcile(alarms.engine.openAlarms());
    this.webhooks.start();
  }

  async stop(): Promise<void> {
    for (const u of this.#unsubscribe.splice(0)) u();
    await this.service.idle();
    await this.webhooks.stop();
  }
}
