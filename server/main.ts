/**
 * The hub's process entry: `npm start` (demo network with simulators) or `npm run hub` (a deployment's config).
 * Sets logging, timeouts, graceful shutdown and listen(); everything else is in hub.ts and app.ts.
 *
 *   node --import tsx server/main.ts [--demo] [--config DIR]
 */
import { parseArgs } from 'node:util';
import { ConfigError, DEFAULT_CONFIG_DIR, formatProblems, loadConfig } from '../config/load.ts';
import { createLogger } from '../core/log.ts';
import { SOURCE_PLUGINS } from '../ingest/sources/index.ts';
import { accountLines, prepareAccounts } from './banner.ts';
import { Hub } from './hub.ts';

const { values: args } = parseArgs({
  options: { demo: { type: 'boolean', default: false }, config: { type: 'string' } },
  allowPositionals: false,
});

const log = createLogger();

function fail(message: string): never {
  console.error(`warmgrid: ${message}`);
  process.exit(1);
}

let config;
try {
  config = loadConfig({ ...(args.config ? { dir: args.config } : args.demo ? { dir: DEFAULT_CONFIG_DIR } : {}), plugins: SOURCE_PLUGINS });
} catch (err) {
  if (err instanceof ConfigError) fail(`invalid configuration in ${args.config ?? process.env['WARMGRID_CONFIG'] ?? DEFAULT_CONFIG_DIR}:\n${formatProblems(err.problems)}`);
  throw err;
}

const started = Date.now();
const hub = await Hub.create({ config, log });
const app = hub.app;
app.server.requestTimeout = 30_000;
app.server.headersTimeout = 15_000;
app.server.keepAliveTimeout = 10_000;

const { host, port } = config.hub.http;
try {
  await app.listen({ host, port });
} catch (err) {
  await hub.stop();
  if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
    fail(`port ${port} on ${host} is already in use. Stop whatever holds it, or choose another port: PORT=8081 npm start (or http.port in hub.yaml).`);
  }
  if ((err as NodeJS.ErrnoException).code === 'EACCES') fail(`no permission to listen on port ${port}; choose a port above 1023 with PORT=...`);
  throw err;
}
await hub.startSources();
const accounts = await prepareAccounts(hub, Boolean(args.demo));

const shownHost = host === '0.0.0.0' || host === '::' ? 'localhost' : host;
const url = `http://${shownHost}:${(app.server.address() as { port: number }).port}`;
console.log(
  [
    '',
    '  warmgrid is running',
    `  dashboard   ${url}/`,
    `  API docs    ${url}/docs`,
    `  health      ${url}/api/health`,
    `  config      ${config.dir}`,
    `  assets      ${config.assets.ofKind('substation').length} substations, ${config.assets.ofKind('building').length} buildings, ${config.assets.ofKind('apartment').length} apartments`,
    `  started in  ${((Date.now() - started) / 1000).toFixed(1)} s; Ctrl-C stops`,
    '',
    ...accountLines(accounts, url),
  ].join('\n'),
);

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) {
    console.error('warmgrid: forced exit');
    process.exit(1);
  }
  stopping = true;
  log.info({ signal }, 'shutting down: flushing the store and closing sockets');
  const force = setTimeout(() => {
    console.error('warmgrid: shutdown took longer than 15 s; exiting');
    process.exit(1);
  }, 15_000);
  force.unref();
  try {
    await hub.stop();
    process.exit(0);
  } catch (err) {
    log.error({ err }, 'shutdown failed');
    process.exit(1);
  }
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
