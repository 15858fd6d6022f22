/**
 * The hub's process entry: `npm start` (the demo: embedded broker, simulators and hub in one process) or
 * `npm run hub -- --config DIR` (a deployment's configuration). Sets logging, timeouts, graceful shutdown and listen();
 * everything else is in hub.ts and app.ts.
 *
 *   node --import tsx server/main.ts [--demo] [--config DIR]
 *
 * Order at start: validate the configuration (no connection yet) → embedded MQTT broker when an MQTT source has no
 * MQTT_URL → (demo) simulators → hub and HTTP → sources. Stop runs it backwards, so what was received is stored.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, DEFAULT_CONFIG_DIR, formatProblems, loadConfig, type HubConfig } from '../config/load.ts';
import { WarmgridError } from '../core/errors.ts';
import { createLogger } from '../core/log.ts';
import { DEFAULT_EMBEDDED_BROKER_PORT, startEmbeddedBroker, type EmbeddedBroker } from '../ingest/broker/embedded-broker.ts';
import { SOURCE_PLUGINS } from '../ingest/sources/index.ts';
import { accountLines, prepareAccounts } from './banner.ts';
import { Hub } from './hub.ts';

interface Closeable {
  close(): Promise<void>;
}

const { values: args } = parseArgs({
  options: { demo: { type: 'boolean', default: false }, config: { type: 'string' } },
  allowPositionals: false,
});

const log = createLogger();
const env: NodeJS.ProcessEnv = { ...process.env };
const configDir = args.config ?? (args.demo ? DEFAULT_CONFIG_DIR : undefined);
const shownDir = configDir ?? env['WARMGRID_CONFIG'] ?? DEFAULT_CONFIG_DIR;
const started = Date.now();
const cleanup: Closeable[] = [];

function fail(message: string): never {
  console.error(`warmgrid: ${message}`);
  process.exit(1);
}

function load(over: NodeJS.ProcessEnv = {}): HubConfig {
  try {
    return loadConfig({ ...(configDir ? { dir: configDir } : {}), env: { ...env, ...over }, plugins: SOURCE_PLUGINS });
  } catch (err) {
    if (err instanceof ConfigError) fail(`invalid configuration in ${shownDir}:\n${formatProblems(err.problems)}`);
    throw err;
  }
}

function port(name: string, dflt: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) fail(`${name} must be a port number 0–65535, not "${raw}"`);
  return n;
}

async function closeAll(): Promise<void> {
  for (const c of cleanup.reverse()) {
    try {
      await c.close();
    } catch (err) {
      log.warn({ err }, 'component did not close cleanly');
    }
  }
}

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
  await closeAll();
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));

// 1. Validate everything before any connection opens. Port 0 ("any free port") for a simulator is only known once it
// listens, so validation sees a stand-in.
let config = load({ ...(env['SIM_MODBUS_PORT'] === '0' ? { SIM_MODBUS_PORT: '15020' } : {}), ...(env['SIM_OPCUA_PORT'] === '0' ? { SIM_OPCUA_PORT: '4841' } : {}) });

// 2. An MQTT source without MQTT_URL gets the embedded broker.
let broker: EmbeddedBroker | undefined;
const wantsBroker = config.sources.some((s) => s.plugin.kind === 'mqtt') && !env['MQTT_URL'];
try {
  if (wantsBroker) {
    broker = await startEmbeddedBroker({ log: log.child({ component: 'broker' }), port: port('MQTT_PORT', DEFAULT_EMBEDDED_BROKER_PORT), portSetting: 'MQTT_PORT' });
    cleanup.push(broker);
    env['MQTT_URL'] = broker.url;
  }

  // 3. The demo's simulators: the network's physics behind real Modbus TCP, OPC UA and MQTT faces.
  let simBanner: string[] = [];
  if (args.demo) {
    const { startSimulators } = await import('../simulators/runtime.ts');
    // The OPC UA face serves the substations the demo's opcua sources read.
    const opcuaSubstations = config.sources.filter((s) => s.plugin.kind === 'opcua').flatMap((s) => ((s.entry['devices'] ?? []) as { asset: string }[]).map((d) => d.asset));
    const sims = await startSimulators({
      log: log.child({ component: 'simulators' }),
      timeScale: Number(env['SIM_TIME_SCALE'] ?? 1),
      mqtt: { url: env['MQTT_URL'] ?? `mqtt://127.0.0.1:${DEFAULT_EMBEDDED_BROKER_PORT}`, publishIntervalS: Number(env['SIM_PUBLISH_INTERVAL'] ?? 30), weatherIntervalS: Number(env['SIM_WEATHER_INTERVAL'] ?? 60) },
      modbus: { port: port('SIM_MODBUS_PORT', 15020) },
      ...(opcuaSubstations.length > 0 ? { opcua: { port: port('SIM_OPCUA_PORT', 4841), substations: opcuaSubstations, pkiDir: path.resolve(config.hub.dataDir, 'simulator-pki') } } : {}),
      http: { port: port('SIM_HTTP_PORT', 8090) },
    });
    cleanup.push(sims);
    if (sims.modbus) env['SIM_MODBUS_PORT'] = String(sims.modbus.ports[0]);
    if (sims.opcua) env['SIM_OPCUA_PORT'] = String(sims.opcua.port);
    simBanner = [`  simulators  control API ${sims.http?.url ?? '(off)'}, Modbus TCP on ${sims.modbus?.ports.join(', ') ?? '(off)'}, OPC UA ${sims.opcua?.endpointUrl ?? '(off)'}`];
    // Sources read the ports the simulators actually got.
    config = load();
  }

  // 4. The hub.
  const hub = await Hub.create({ config, log, env });
  cleanup.push(hub);
  if (broker) {
    const b = broker;
    hub.addHealth('broker', () => b.health());
  }
  const app = hub.app;
  app.server.requestTimeout = 30_000;
  app.server.headersTimeout = 15_000;
  app.server.keepAliveTimeout = 10_000;
  const { host, port: httpPort } = config.hub.http;
  try {
    await app.listen({ host, port: httpPort });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new WarmgridError('CONFIG_INVALID', `port ${httpPort} on ${host} is already in use. Stop whatever holds it, or choose another port: PORT=8081 npm start (or http.port in hub.yaml).`);
    if (code === 'EACCES') throw new WarmgridError('CONFIG_INVALID', `no permission to listen on port ${httpPort}; choose a port above 1023 with PORT=...`);
    throw err;
  }
  await hub.startSources();
  const accounts = await prepareAccounts(hub, Boolean(args.demo), env);

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
      ...(broker ? [`  MQTT        embedded broker at ${broker.url}`] : []),
      ...simBanner,
      `  started in  ${((Date.now() - started) / 1000).toFixed(1)} s; Ctrl-C stops`,
      '',
      ...accountLines(accounts, url),
    ].join('\n'),
  );
} catch (err) {
  await closeAll();
  if (err instanceof WarmgridError || (err as { code?: string }).code === 'PORT_IN_USE') fail((err as Error).message);
  throw err;
}

