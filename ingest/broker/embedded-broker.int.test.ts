import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { WarmgridError } from '../../core/errors.ts';
import { silentLogger } from '../../core/log.ts';
import { startEmbeddedBroker, type EmbeddedBroker } from './embedded-broker.ts';

const open: EmbeddedBroker[] = [];
afterEach(async () => {
  for (const b of open.splice(0)) await b.close();
});
async function start(o: Partial<Parameters<typeof startEmbeddedBroker>[0]> = {}): Promise<EmbeddedBroker> {
  const b = await startEmbeddedBroker({ port: 0, log: silentLogger(), ...o });
  open.push(b);
  return b;
}

describe('embedded MQTT broker', () => {
  it('listens on loopback, routes QoS 1 messages and reports its clients', async () => {
    const b = await start();
    expect(b.url).toBe(`mqtt://127.0.0.1:${b.port}`);
    const sub = await mqtt.connectAsync(b.url, { protocolVersion: 4 });
    const pub = await mqtt.connectAsync(b.url, { protocolVersion: 4 });
    await sub.subscribeAsync('warmgrid/#', { qos: 1 });
    const got = new Promise<string>((resolve) => sub.on('message', (_t, p) => resolve(p.toString())));
    await pub.publishAsync('warmgrid/ss01/ss01-b1/0101/telemetry', '{"room_temp_c":20}', { qos: 1 });
    expect(await got).toBe('{"room_temp_c":20}');
    expect(b.health()).toMatchObject({ status: 'up', clients: 2 });
    await sub.endAsync();
    await pub.endAsync();
  });

  it('fails with a clear MQTT_ERROR naming the port and the setting when the port is taken', async () => {
    const first = await start();
    const err = await startEmbeddedBroker({ port: first.port, log: silentLogger() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WarmgridError);
    expect((err as WarmgridError).code).toBe('MQTT_ERROR');
    expect((err as WarmgridError).message).toContain(`port ${first.port} on 127.0.0.1 is already in use`);
    expect((err as WarmgridError).message).toContain('MQTT_PORT=');
    expect((err as WarmgridError).message).toContain('MQTT_URL=');
  });

  it('checks credentials when given a username and password', async () => {
    const b = await start({ username: 'hub', password: 's3cret' });
    const ok = await mqtt.connectAsync(b.url, { protocolVersion: 4, username: 'hub', password: 's3cret' });
    await ok.endAsync();
    const refused = await mqtt.connectAsync(b.url, { protocolVersion: 4, username: 'hub', password: 'wrong', reconnectPeriod: 0 }).catch((e: unknown) => e);
    expect(String(refused)).toMatch(/Bad username or password|Not authorized/i);
  });

  it('closes idempotently and then reports down', async () => {
    const b = await start();
    await b.close();
    await b.close();
    expect(b.health().status).toBe('down');
  });
});
