/**
 * buildApp(): the configured Fastify instance, apart from listen(). Tests call inject()/injectWS() on it;
 * server/main.ts adds logging, timeouts, signals and listen().
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import fastifyWebsocket from '@fastify/websocket';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { installErrorHandler } from './error-handler.ts';
import { LiveHub } from './live.ts';
import { VIEW } from './roles.ts';
import { assetRoutes } from './routes/assets.ts';
import { healthRoutes } from './routes/health.ts';
import { telemetryRoutes } from './routes/telemetry.ts';
import type { HubServices } from './services.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
export const DASHBOARD_DIST = path.resolve(here, '..', 'dashboard', 'dist');
export const MINIMAL_PAGE_DIR = path.resolve(here, 'public');

export interface BuildAppOptions {
  logger?: FastifyServerOptions['loggerInstance'];
  /** Directory of static files served at /; the built dashboard when present, else the minimal live page. */
  staticDir?: string;
}

declare module 'fastify' {
  interface FastifyInstance {
    live: LiveHub;
  }
}

export async function buildApp(s: HubServices, opts: BuildAppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    ...(opts.logger ? { loggerInstance: opts.logger } : { logger: false }),
    bodyLimit: s.config.hub.http.bodyLimitBytes,
    // Hostile JSON: "__proto__" and "constructor.prototype" keys are refused, not merged.
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    routerOptions: { maxParamLength: 200 },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false } },
  });
  installErrorHandler(app, s.metrics);

  await app.register(fastifySwagger, {
    openapi: {
      info: { title: 'warmgrid API', version: '0.1.0', description: 'District-heating SCADA hub: assets, telemetry, live feed.' },
      tags: [
        { name: 'system', description: 'Health and metrics' },
        { name: 'assets', description: 'The asset tree' },
        { name: 'telemetry', description: 'Latest values, history and HTTP ingest' },
      ],
    },
  });
  // API documentation and static files are public reading matter: their routes are marked so in their own context.
  await app.register(async (docs) => {
    markPublic(docs);
    await docs.register(fastifySwaggerUi, { routePrefix: '/docs', uiConfig: { docExpansion: 'list' } });
  });

  await app.register(fastifyWebsocket, { options: { maxPayload: 256 * 1024 } });
  const live = new LiveHub(s.bus, s.assets, s.pipeline, s.metrics, app.log, s.config.hub.live);
  app.decorate('live', live);
  app.addHook('onClose', async () => live.close());

  healthRoutes(app, s);
  assetRoutes(app, s);
  telemetryRoutes(app, s);

  app.get('/api/live', { websocket: true, config: { access: VIEW }, schema: { hide: true } }, (socket) => {
    live.attach(socket);
  });

  const staticDir = opts.staticDir ?? (existsSync(path.join(DASHBOARD_DIST, 'index.html')) ? DASHBOARD_DIST : MINIMAL_PAGE_DIR);
  await app.register(async (files) => {
    markPublic(files);
    await files.register(fastifyStatic, { root: staticDir, prefix: '/', wildcard: false, index: ['index.html'] });
  });
  return app;
}

function markPublic(ctx: FastifyInstance): void {
  ctx.addHook('onRoute', (route) => {
    route.config = { ...(route.config ?? {}), access: 'public' };
  });
}
