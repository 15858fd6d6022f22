/**
 * The simulator process: `npm run sim [-- options]`. Runs the physical model of a network and serves it as devices:
 * thermostats and weather stations over MQTT, substation PLCs over Modbus TCP, plus an HTTP control API for faults
 * and time. See simulators/README.md.
 */
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { DEFAULT_NETWORK_FILE, SimulatorError, startSimulators, type Simulators, type SimulatorsOptions } from './runtime.ts';

const HELP = `Usage: npm run sim -- [options]

  --network <file>          network.yaml (SIM_NETWORK; default config/demo/network.yaml)
  --seed <n>                seed of every random choice (SIM_SEED; default 1)
  --time-scale <x>          simulated seconds per second: 1 real time, 60 a minute per second, 0 paused
                            (SIM_TIME_SCALE; default 1)
  --start <time>            simulated start, ISO 8601 or epoch ms (SIM_START; default now)
  --settle-hours <h>        hours simulated before the start so the plant is warm (default 48)
  --mqtt-url <url|off>      broker to publish to (SIM_MQTT_URL; default mqtt://127.0.0.1:1884, the hub's embedded broker)
  --publish-interval <s>    thermostat interval in simulated seconds (SIM_PUBLISH_INTERVAL; default 60)
  --mqtt-qos <0|1>          publish QoS (default 1)
  --modbus-port <port|off>  Modbus TCP gateway, unit ids 1..N = substations in order (SIM_MODBUS_PORT; default 15020)
  --http-port <port|off>    control API on 127.0.0.1 (SIM_HTTP_PORT; default 8090)
  -h, --help

Timestamps are simulated time: feed a hub only with --time-scale 1 (it rejects readings more than 5 min ahead).`;

function fail(message: string): never {
  console.error(`warmgrid-sim: ${message}`);
  process.exit(1);
}

let parsed;
try {
  parsed = parseArgs({
    options: {
      network: { type: 'string' },
      seed: { type: 'string' },
      'time-scale': { type: 'string' },
      start: { type: 'string' },
      'settle-hours': { type: 'string' },
      'mqtt-url': { type: 'string' },
      'publish-interval': { type: 'string' },
      'mqtt-qos': { type: 'string' },
      'modbus-port': { type: 'string' },
      'http-port': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    allowPositionals: false,
  });
} catch (err) {
  fail(`${(err as Error).message}\n\n${HELP}`);
}
const args = parsed.values;
if (args.help) {
  console.log(HELP);
  process.exit(0);
}

const env = process.env;
const opt = (name: keyof typeof args, envName?: string): string | undefined => (args[name] as string | undefined) ?? (envName ? env[envName] : undefined);

function num(value: string | undefined, what: string, check: (n: number) => boolean, range: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || !check(n)) fail(`${what} must be ${range}, got "${value}"`);
  return n;
}

const isOff = (v: string | undefined): boolean => v !== undefined && ['off', 'none', 'no', 'false', ''].includes(v.toLowerCase());
const port = (v: string | undefined, what: string): number | undefined => num(v, what, (n) => Number.isInteger(n) && n >= 1 && n <= 65535, 'a port number 1..65535 (or off)');

function startTime(v: string | undefined): number | undefined {
  if (v === undefined || v === '') return undefined;
  const t = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (!Number.isFinite(t)) fail(`--start must be ISO 8601 (2026-01-15T06:00:00Z) or epoch ms, got "${v}"`);
  return t;
}

const networkFile = opt('network', 'SIM_NETWORK') ?? DEFAULT_NETWORK_FILE;
const mqttUrl = opt('mqtt-url', 'SIM_MQTT_URL') ?? 'mqtt://127.0.0.1:1884';
const modbusArg = opt('modbus-port', 'SIM_MODBUS_PORT') ?? '15020';
const httpArg = opt('http-port', 'SIM_HTTP_PORT') ?? '8090';
const publishIntervalS = num(opt('publish-interval', 'SIM_PUBLISH_INTERVAL'), '--publish-interval', (n) => n > 0 && n <= 86_400, 'seconds within (0, 86400]') ?? 60;
const qos = num(opt('mqtt-qos'), '--mqtt-qos', (n) => n === 0 || n === 1, '0 or 1') ?? 1;

const opts: SimulatorsOptions = {
  network: networkFile,
  log: pino({ level: env['LOG_LEVEL'] ?? 'info' }),
};
const seed = num(opt('seed', 'SIM_SEED'), '--seed', (n) => Number.isInteger(n), 'an integer');
if (seed !== undefined) opts.seed = seed;
const scale = num(opt('time-scale', 'SIM_TIME_SCALE'), '--time-scale', (n) => n >= 0 && n <= 100_000, 'a number within 0..100000');
if (scale !== undefined) opts.timeScale = scale;
const start = startTime(opt('start', 'SIM_START'));
if (start !== undefined) opts.start = start;
const settle = num(opt('settle-hours'), '--settle-hours', (n) => n >= 0 && n <= 24 * 30, 'hours within 0..720');
if (settle !== undefined) opts.settleHours = settle;
if (!isOff(mqttUrl)) opts.mqtt = { url: mqttUrl, publishIntervalS, qos: qos as 0 | 1, connectTimeoutMs: 2000 };
if (!isOff(modbusArg)) opts.modbus = { port: port(modbusArg, '--modbus-port')! };
if (!isOff(httpArg)) opts.http = { port: port(httpArg, '--http-port')! };

const HOW_TO_MOVE: Record<'modbus' | 'http', (p: number) => string> = {
  modbus: (p) => `--modbus-port ${p + 1} (or SIM_MODBUS_PORT=${p + 1}; the hub's demo sources.yaml reads SIM_MODBUS_PORT too), or --modbus-port off`,
  http: (p) => `--http-port ${p + 1} (or SIM_HTTP_PORT=${p + 1}), or --http-port off`,
};

let sims: Simulators;
const started = Date.now();
try {
  sims = await startSimulators(opts);
} catch (err) {
  if (err instanceof SimulatorError && err.code === 'PORT_IN_USE' && err.face) {
    fail(`${err.message}. Is another simulator (or npm start, which runs one) already running? Stop it, or choose another port: ${HOW_TO_MOVE[err.face](err.port ?? 0)}.`);
  }
  if (err instanceof SimulatorError) fail(err.message);
  if ((err as { code?: string }).code === 'BAD_CONFIG' || (err as { code?: string }).code === 'ENOENT') fail(`cannot load the network ${networkFile}: ${(err as Error).message}`);
  throw err;
}

const m = sims.model;
const ss = m.substationIds();
const scaleNow = sims.timeScale();
const lines = [
  '',
  '  warmgrid simulators are running',
  `  network      ${networkFile}`,
  `               ${ss.length} substations, ${m.buildingIds().length} buildings, ${m.apartments.count.toLocaleString('en-US')} apartments, ${m.weatherStationIds().length} weather station${m.weatherStationIds().length === 1 ? '' : 's'}`,
  `  clock        ${new Date(sims.now()).toISOString()} simulated, ${scaleNow === 0 ? 'paused' : scaleNow === 1 ? 'real time' : `× ${scaleNow}`}`,
];
if (sims.mqtt) {
  lines.push(
    `  MQTT         → ${sims.mqtt.url} (${sims.mqtt.connected() ? 'connected' : 'waiting for the broker; retrying every second'})`,
    `               thermostats every ${publishIntervalS} s, weather and forecast every 60 s (simulated), QoS ${qos}`,
  );
} else lines.push('  MQTT         off');
if (sims.modbus) {
  for (const g of sims.modbus.gateways) {
    const units = [...g.units.entries()];
    lines.push(`  Modbus TCP   127.0.0.1:${g.port}, unit ids ${units[0]![0]}..${units.at(-1)![0]} = ${units[0]![1]}..${units.at(-1)![1]}`);
  }
} else lines.push('  Modbus TCP   off');
if (sims.http) {
  lines.push(
    `  control API  ${sims.http.url} (no auth: a test tool for this machine only)`,
    `               curl -X POST ${sims.http.url}/faults -H 'content-type: application/json' -d '{"kind":"leak","target":"${ss[Math.min(2, ss.length - 1)] ?? 'ss01'}"}'`,
  );
} else lines.push('  control API  off');
lines.push(`  started in   ${((Date.now() - started) / 1000).toFixed(1)} s; Ctrl-C stops`, '');
console.log(lines.join('\n'));

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) {
    console.error('warmgrid-sim: forced exit');
    process.exit(1);
  }
  stopping = true;
  sims.log.info({ signal }, 'stopping the simulators');
  const force = setTimeout(() => {
    console.error('warmgrid-sim: stopping took longer than 10 s; exiting');
    process.exit(1);
  }, 10_000);
  force.unref();
  try {
    await sims.close();
    process.exit(0);
  } catch (err) {
    sims.log.error({ err }, 'stopping failed');
    process.exit(1);
  }
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
