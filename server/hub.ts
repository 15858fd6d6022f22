/**
 * The composition root: config → store → pipeline → live bus → sources → HTTP app. One `Hub` per process (tests make
 * several). `start()` opens the store before any source connects; `stop()` undoes it in reverse order, so everything a
 * source delivered before the stop is flushed to the store before the store closes.
 */
import type { FastifyInstance } from 'fastify';
import type { HubConfig } from '../config/load.ts';
import { systemClock, type Clock } from '../core/clock.ts';
import type { Logger } from '../core/log.ts';
import { createMetrics, type Metrics } from '../core/metrics.ts';
import { LiveBus } from '../ingest/live-bus.ts';
import { Pipeline } from '../ingest/pipeline.ts';
import type { Source } from '../ingest/source.ts';
import { createTelemetryStore } from '../store/index.ts';
import type { ComponentHealth, TelemetryStore } from '../store/telemetry-store.ts';
import { buildApp } from './app.ts';
import type { HubServices } from './services.ts';

export interface HubOptions {
  config: HubConfig;
  log: Logger;
  clock?: Clock;
  /** A store built by the caller (e.g. a test's); by default built from config. */
  store?: TelemetryStore;
  metrics?: Metrics;
  staticDir?: string;
}

export class Hub {
  readonly services: HubServices;
  readonly log: Logger;
  app: FastifyInstance | null = null;
  readonly #sources: Source[] = [];
  readonly #components = new Map<string, () => ComponentHealth>();
  readonly #staticDir: string | undefined;
  #started = false;

  constructor(opts: HubOptions) {
    const clock = opts.clock ?? systemClock;
    const metrics = opts.metrics ?? createMetrics({ defaultMetrics: true });
    const { config } = opts;
    this.log = opts.log;
    const store = opts.store ?? createTelemetryStore(config);
    const bus = new LiveBus((err) => opts.log.error({ err }, 'live bus listener failed'));
    const pipeline = new Pipeline({
      assets: config.assets,
      store,
      bus,
      clock,
      log: opts.log.child({ component: 'pipeline' }),
      metrics,
      rules: config.hub.pipeline.rules,
      batchSize: config.hub.store.batchSize,
      flushMs: config.hub.store.flushMs,
      queueLimit: config.hub.store.queueLimit,
      maxFutureMs: config.hub.pipeline.maxFutureMs,
      maxPastMs: config.hub.pipeline.maxPastMs,
    });
    this.#staticDir = opts.staticDir;
    this.services = { config, assets: config.assets, store, pipeline, bus, metrics, clock, sources: this.#sources, components: this.#components, startedAt: clock.now() };
  }

  /** Adds a component to /api/health (e.g. the embedded MQTT broker). */
  addHealth(name: string, fn: () => ComponentHealth): void {
    this.#components.set(name, fn);
  }

  /** Opens the store and builds the HTTP app; sources start with `startSources()`. */
  async start(): Promise<FastifyInstance> {
    const s = this.services;
    await s.store.open();
    this.#started = true;
    s.pipeline.seedLatest(await s.store.latest());
    this.app = await buildApp(s, { logger: this.log, ...(this.#staticDir ? { staticDir: this.#staticDir } : {}) });
    await this.app.ready();
    return this.app;
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
        emit: async (readings) => {
          await s.pipeline.ingest(readings);
        },
        reject: (reason, detail) => s.pipeline.reject(reason, detail, `${plugin.kind}:${entry.id}`),
      });
      this.#sources.push(source);
      await source.start();
    }
  }

  async stop(): Promise<void> {
    const s = this.services;
    if (this.app) await this.app.close();
    for (const src of [...this.#sources].reverse()) {
      try {
        await src.stop();
      } catch (err) {
        this.log.warn({ err, source: src.id }, 'source did not stop cleanly');
      }
    }
    await s.pipeline.close();
    if (this.#started) await s.store.close();
    this.#started = false;
  }
}
