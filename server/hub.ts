/**
 * The composition root: config → state DB and auth → telemetry store → pipeline → live bus → sources → HTTP app.
 * One `Hub` per process (tests make several). `Hub.create()` opens the databases; `startSources()` connects devices;
 * `stop()` undoes it in reverse order, so everything a source delivered is flushed to the store before it closes.
 */
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Alarms } from '../alarms/service.ts';
import { ControlService } from '../control/service.ts';
import type { HubConfig } from '../config/load.ts';
import { systemClock, type Clock } from '../core/clock.ts';
import type { Logger } from '../core/log.ts';
import { createMetrics, type Metrics } from '../core/metrics.ts';
import { loadOrCreateSecret } from '../core/secrets.ts';
import { LiveBus } from '../ingest/live-bus.ts';
import { Pipeline } from '../ingest/pipeline.ts';
import { SetpointWriters, type Source } from '../ingest/source.ts';
import { AuditLog } from '../state/audit.ts';
import { openStateDb } from '../state/db.ts';
import { createTelemetryStore } from '../store/index.ts';
import { registerStoreMetrics } from '../store/metrics.ts';
import { Tickets } from '../tickets/index.ts';
import type { ComponentHealth, TelemetryStore } from '../store/telemetry-store.ts';
import { buildApp } from './app.ts';
import { AuthService } from './auth/auth-service.ts';
import type { HubServices } from './services.ts';

export interface HubOptions {
  config: HubConfig;
  log: Logger;
  clock?: Clock;
  /** A store built by the caller; by default built from config. */
  store?: TelemetryStore;
  metrics?: Metrics;
  staticDir?: string;
  env?: NodeJS.ProcessEnv;
}

export class Hub {
  readonly services: HubServices;
  readonly log: Logger;
  readonly app: FastifyInstance;
  readonly #sources: Source[];

  private constructor(services: HubServices, app: FastifyInstance, sources: Source[], log: Logger) {
    this.services = services;
    this.app = app;
    this.#sources = sources;
    this.log = log;
  }

  static async create(opts: HubOptions): Promise<Hub> {
    const { config, log } = opts;
    const env = opts.env ?? process.env;
    const clock = opts.clock ?? systemClock;
    const metrics = opts.metrics ?? createMetrics({ defaultMetrics: true });
    const dataDir = path.resolve(config.hub.dataDir);

    const state = await openStateDb({ dataDir, url: env['DATABASE_URL'] });
    const audit = new AuditLog(state.db, () => clock.now());
    const auth = new AuthService(state.db, audit, config.hub.auth, () => clock.now());
    const sessionSecret = loadOrCreateSecret(dataDir, 'session', env['SESSION_SECRET']);

    const store = opts.store ?? createTelemetryStore(config, { log: log.child({ component: 'store' }) });
    registerStoreMetrics(metrics.registry, store);
    try {
      await store.open();
    } catch (err) {
      await state.close();
      throw err;
    }
    const bus = new LiveBus((err) => log.error({ err }, 'live bus listener failed'));
    const pipeline = new Pipeline({
      assets: config.assets,
      store,
      bus,
      clock,
      log: log.child({ component: 'pipeline' }),
      metrics,
      rules: config.hub.pipeline.rules,
      batchSize: config.hub.store.batchSize,
      flushMs: config.hub.store.flushMs,
      queueLimit: config.hub.store.queueLimit,
      maxFutureMs: config.hub.pipeline.maxFutureMs,
      maxPastMs: config.hub.pipeline.maxPastMs,
    });
    pipeline.seedLatest(await store.latest());
    const alarms = new Alarms({ db: state.db, audit, assets: config.assets, clock, log: log.child({ component: 'alarms' }), bus, latest: (a) => pipeline.latest(a), config: config.alarms });
    const tickets = new Tickets({ db: state.db, assets: config.assets, config: config.alarms.tickets, clock, log: log.child({ component: 'tickets' }), bus, alarms });
    await alarms.start();
    await tickets.start();

    const sources: Source[] = [];
    const writers = new SetpointWriters(sources);
    const control = new ControlService({ config: config.hub.control, network: config.network, assets: config.assets, latest: (a) => pipeline.latest(a), bus, store, writers, audit, db: state.db, clock, log: log.child({ component: 'control' }) });
    await control.start();
    const services: HubServices = {
      config,
      assets: config.assets,
      store,
      pipeline,
      bus,
      metrics,
      clock,
      sources,
      writers,
      components: new Map<string, () => ComponentHealth>(),
      startedAt: clock.now(),
      state,
      auth,
      audit,
      sessionSecret,
      alarms,
      tickets,
      control,
    };
    const app = await buildApp(services, { logger: log, ...(opts.staticDir ? { staticDir: opts.staticDir } : {}) });
    await app.ready();
    return new Hub(services, app, sources, log);
  }

  /** Adds a component to /api/health (e.g. the embedded MQTT broker). */
  addHealth(name: string, fn: () => ComponentHealth): void {
    this.services.components?.set(name, fn);
  }

  async startSources(): Promise<void> {
    const s = this.services;
    for (const { entry, plugin } of s.config.sources) {
      const log = this.log.child({ plugin: plugin.kind, source: entry.id });
      const source = plugin.create(entry, {
        log,
        clock: s.clock,
        assets: s.assets,
        templates: s.config.templates,
        dataDir: path.resolve(s.config.hub.dataDir),
        emit: async (readings) => {
          await s.pipeline.ingest(readings);
        },
        reject: (reason, detail) => s.pipeline.reject(reason, detail, `${plugin.kind}:${entry.id}`),
      });
      this.#sources.push(source);
      await source.start();
    }
  }

  /** Same as stop(), so the hub can sit in a list of things to close. */
  close(): Promise<void> {
    return this.stop();
  }

  async stop(): Promise<void> {
    const s = this.services;
    await this.app.close();
    await s.control.stop();
    for (const src of [...this.#sources].reverse()) {
      try {
        await src.stop();
      } catch (err) {
        this.log.warn({ err, source: src.id }, 'source did not stop cleanly');
      }
    }
    await s.pipeline.close();
    await s.alarms.stop();
    await s.tickets.stop();
    await s.store.close();
    await s.state.close();
  }
}
