/**
 * buildApp(): the configured Fastify instance, apart from listen(). Tests call inject()/injectWS() on it;
 * server/main.ts adds logging, timeouts, signals and listen().
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyCookie from '@fastify/cookie';
import fastifyHelmet from '@fastify/helmet';
import fastifyStatic from '@fastify/static';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import fastifyWebsocket from '@fastify/websocket';
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyServerOptions } from 'fastify';
import { installAuth } from './auth/plugin.ts';
import { installErrorHandler } from './error-handler.ts';
import { LiveHub } from './live.ts';
import { VIEW } from './roles.ts';
import { adminRoutes } from './routes/admin.ts';
import { alarmRoutes } from './routes/alarms.ts';
import { assetRoutes } from './routes/assets.ts';
import { authRoutes } from './routes/auth.ts';
import { controlRoutes } from './routes/control.ts';
import { healthRoutes } from './routes/health.ts';
import { telemetryRoutes } from './routes/telemetry.ts';
import { ticketRoutes } from './routes/tickets.ts';
import type { HubServices } from './services.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
export const DASHBOARD_DIST = path.resolve(here, '..', 'dashboard', 'dist');
export const MINIMAL_PAGE_DIR = path.resolve(here, 'public');

export interface BuildAppOptions {
  logger?: FastifyServerOptions['loggerInstance'];
  /** Directory of static files served at /; the built dashboard when present, else the minimal live page. */
  staticDir?: string;
}

export interface RouteEntry {
  method: string | string[];
  url: string;
  access: unknown;
}

declare module 'fastify' {
  interface FastifyInstance {
    live: LiveHub;
    /** Every route with its declared access, for the access test and the docs. */
    routeTable: RouteEntry[];
  }
}

export async function buildApp(s: HubServices, opts: BuildAppOptions = {}): Promise<FastifyInstance> {
  const routes: RouteEntry[] = [];
  const app = Fastify({
    ...(opts.logger ? { loggerInstance: opts.logger } : { logger: false }),
    bodyLimit: s.config.hub.http.bodyLimitBytes,
    // Hostile JSON: "__proto__" and "constructor.prototype" keys are refused, not merged.
    // Per-request lines are not logged (a logging budget: INFO is not per message); errors still are.
    logController: new LogController({ disableRequestLogging: true }),
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    routerOptions: { maxParamLength: 200 },
    // Errors the router raises before any route runs (bad URL encoding, over-long parameters) get the same error schema.
    frameworkErrors: (err, _req, reply: FastifyReply) => {
      s.metrics.httpErrors.inc({ code: 'BAD_REQUEST' });
      void reply.status(err.statusCode && err.statusCode < 500 ? err.statusCode : 400).send({ error: { code: 'BAD_REQUEST', message: err.message.slice(0, 200) } });
    },
    trustProxy: s.config.hub.auth.trustProxy,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false } },
  });
  installErrorHandler(app, s.metrics);
  app.addHook('onRoute', (route) => {
    // Read the access when asked: a plugin's own onRoute hook may still set it after this one ran.
    routes.push({ method: route.method, url: route.url, get access() { return route.config?.access; } });
  });
  app.decorate('routeTable', routes);

  await app.register(fastifyCookie, { secret: s.sessionSecret, hook: 'onRequest' });
  await app.register(fastifyHelmet, {
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        fontSrc: ["'self'", 'data:'],
        objectSrc: ["'none'"],
        frameAncestors: ["'none'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
        upgradeInsecureRequests: null,
      },
    },
    // Plain HTTP on a plant network is common; HSTS is for deployments behind TLS (see docs/deployment.md).
    hsts: false,
  });
  installAuth(app, { auth: s.auth, secureCookies: s.config.hub.auth.secureCookies });

  await app.register(fastifySwagger, {
    openapi: {
      components: {
        securitySchemes: {
          session: { type: 'apiKey', in: 'cookie', name: 'wg_session' },
          token: { type: 'http', scheme: 'bearer', description: 'API token: wgt_<id>.<secret>' },
        },
      },
      security: [{ session: [] }, { token: [] }],
      info: { title: 'warmgrid API', version: '0.1.0', description: 'District-heating SCADA hub: assets, telemetry, live feed.' },
      tags: [
        { name: 'system', description: 'Health and metrics' },
        { name: 'assets', description: 'The asset tree' },
        { name: 'telemetry', description: 'Latest values, history and HTTP ingest' },
        { name: 'auth', description: 'Login, sessions, first-run setup, wall-display sessions' },
        { name: 'admin', description: 'Users, API tokens, audit log' },
        { name: 'alarms', description: 'Alarms (ISA-18.2), rules, KPIs' },
        { name: 'tickets', description: 'Service tickets, teams, webhooks' },
        { name: 'control', description: 'Regulation advice, heating curves, guarded setpoint writes, forecasts' },
      ],
    },
  });
  // API documentation and static files are public reading matter: their routes are marked so in their own context.
  await app.register(async (docs) => {
    markPublic(docs);
    await docs.register(fastifySwaggerUi, { routePrefix: '/docs', uiConfig: { docExpansion: 'list' }, staticCSP: true });
  });

  await app.register(fastifyWebsocket, { options: { maxPayload: 256 * 1024 } });
  const live = new LiveHub(s.bus, s.assets, s.pipeline, s.metrics, app.log, s.config.hub.live);
  app.decorate('live', live);
  app.addHook('onClose', async () => live.close());

  await authRoutes(app, { auth: s.auth, secureCookies: s.config.hub.auth.secureCookies, loginRateLimitPerMinute: s.config.hub.auth.loginRateLimitPerMinute });
  adminRoutes(app, s.auth, s.audit);
  healthRoutes(app, s);
  assetRoutes(app, s);
  telemetryRoutes(app, s);
  alarmRoutes(app, s);
  ticketRoutes(app, s);
  controlRoutes(app, s.control);

  app.get('/api/live', { websocket: true, config: { access: VIEW }, schema: { hide: true } }, (socket) => {
    live.attach(socket);
  });

  const staticDir = opts.staticDir ?? (existsSync(path.join(DASHBOARD_DIST, 'index.html')) ? DASHBOARD_DIST : MINIMAL_PAGE_DIR);
  await app.register(async (files) => {
    markPublic(files);
    await files.register(fastifyStatic, {
      root: staticDir,
      prefix: '/',
      wildcard: false,
      index: ['index.html'],
      // The build writes .gz and .br copies (dashboard/build.ts); the one the browser accepts is sent.
      preCompressed: true,
      // Built assets carry a content hash in their names and never change; the page that names them is asked anew.
      setHeaders: (res, file) => {
        res.header('cache-control', file.includes(`${path.sep}assets${path.sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache');
      },
    });
    // Client-side routes of the single-page dashboard (/wall, /alarms, ...) get index.html; API paths stay 404.
    files.get('/*', { schema: { hide: true } }, async (req, reply) => {
      const url = req.url.split('?')[0] ?? '';
      if (url.startsWith('/api/') || url.includes('.') || !req.headers.accept?.includes('text/html')) {
        s.metrics.httpErrors.inc({ code: 'NOT_FOUND' });
        return reply.status(404).send({ error: { code: 'NOT_FOUND', message: `no route ${req.method} ${url.slice(0, 200)}` } });
      }
      return reply.sendFile('index.html');
    });
  });
  return app;
}

function markPublic(ctx: FastifyInstance): void {
  ctx.addHook('onRoute', (route) => {
    route.config = { ...(route.config ?? {}), access: 'public' };
  });
}
