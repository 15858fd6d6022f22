/**
 * The embedded MQTT broker (aedes, MQTT 3.1.1) used when no MQTT_URL is set, so `npm start` needs nothing installed.
 *
 * Scope: a demo and single-machine broker. Sessions and queued QoS 1 messages live in memory, so they survive a restart
 * of the hub's MQTT client but not of the process that runs the broker; for production use Mosquitto or EMQX with
 * persistence (docs/mqtt.md). It speaks MQTT 3.1 and 3.1.1 only, so sources pointing at it use `protocolVersion: 4`.
 *
 * Listens on loopback by default. Port 0 picks a free port (tests); the demo uses 1884 because 1883 is often taken by a
 * system broker.
 */
import { createRequire } from 'node:module';
import net from 'node:net';
import { Aedes, type AedesOptions, type Client } from 'aedes';
import { WarmgridError } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import type { ComponentHealth } from '../../store/telemetry-store.ts';
import { withFastOutgoing } from './fast-outgoing.ts';

export const DEFAULT_EMBEDDED_BROKER_PORT = 1884;

// aedes-persistence is CommonJS (module.exports = factory); its typings describe an ES default export instead.
const memoryPersistence = createRequire(import.meta.url)('aedes-persistence') as () => object;

export interface EmbeddedBrokerOptions {
  log: Logger;
  /** Address to listen on; default 127.0.0.1 (only this machine). */
  host?: string;
  /** TCP port; 0 picks a free one. Default 1884. */
  port?: number;
  /** When both are set, clients must present them (MQTT CONNECT username/password). */
  username?: string;
  password?: string;
  /** Name of the setting that chooses the port, for the "port in use" message. Default MQTT_PORT. */
  portSetting?: string;
  /** Passed to aedes (e.g. concurrency); tests and benchmarks only. */
  aedes?: Partial<AedesOptions>;
}

export interface EmbeddedBroker {
  /** mqtt://host:port, to hand to sources (e.g. as MQTT_URL). */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** The aedes instance, for tests that watch acknowledgements. */
  readonly aedes: Aedes;
  health(): ComponentHealth;
  /** Disconnects every client and stops listening. Idempotent. */
  close(): Promise<void>;
}

export async function startEmbeddedBroker(opts: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
  const host = opts.host ?? '127.0.0.1';
  const wantPort = opts.port ?? DEFAULT_EMBEDDED_BROKER_PORT;
  const log = opts.log;
  // In-memory persistence with O(1) outgoing bookkeeping: the hub keeps many unacknowledged messages (fast-outgoing.ts).
  const aedes = await Aedes.createBroker({ persistence: withFastOutgoing(memoryPersistence()), ...opts.aedes });
  if (opts.username !== undefined && opts.password !== undefined) {
    const user = opts.username;
    const pass = Buffer.from(opts.password);
    aedes.authenticate = (_client, username, password, done) => {
      const ok = username === user && password !== undefined && password.length === pass.length && password.equals(pass);
      if (ok) done(null, true);
      else done(Object.assign(new Error('bad username or password'), { returnCode: 4 as const }), false);
    };
  }
  let clientErrors = 0;
  aedes.on('clientError', (client: Client, err: Error) => {
    clientErrors++;
    log.debug({ err, clientId: client.id }, 'MQTT client error');
  });
  aedes.on('connectionError', (_client: Client, err: Error) => {
    clientErrors++;
    log.debug({ err }, 'MQTT connection error');
  });

  const server = net.createServer((socket) => aedes.handle(socket));
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(wantPort, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    const code = (err as NodeJS.ErrnoException).code;
    const setting = opts.portSetting ?? 'MQTT_PORT';
    if (code === 'EADDRINUSE') {
      throw new WarmgridError(
        'MQTT_ERROR',
        `port ${wantPort} on ${host} is already in use, so the embedded MQTT broker cannot start. Stop whatever holds it, choose another port (${setting}=1885), or use a running broker instead (MQTT_URL=mqtt://127.0.0.1:1883).`,
        { cause: err },
      );
    }
    if (code === 'EACCES') throw new WarmgridError('MQTT_ERROR', `no permission to listen on port ${wantPort}; choose a port above 1023 (${setting}=1884)`, { cause: err });
    throw new WarmgridError('MQTT_ERROR', `the embedded MQTT broker could not listen on ${host}:${wantPort}: ${(err as Error).message}`, { cause: err });
  }
  server.on('error', (err) => log.error({ err }, 'embedded MQTT broker listener failed'));
  const port = (server.address() as net.AddressInfo).port;
  const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  const url = `mqtt://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${port}`;
  log.info({ url }, 'embedded MQTT broker listening');

  let closing: Promise<void> | null = null;
  return {
    url,
    host,
    port,
    aedes,
    health() {
      if (closing) return { status: 'down', detail: 'closed' };
      return { status: 'up', url, clients: aedes.connectedClients, clientErrors };
    },
    close() {
      closing ??= (async () => {
        await new Promise<void>((resolve) => aedes.close(() => resolve()));
        await new Promise<void>((resolve) => server.close(() => resolve()));
      })();
      return closing;
    },
  };
}
