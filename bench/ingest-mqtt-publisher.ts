/**
 * Child process of bench/ingest-mqtt: thermostat publishers at QoS 1, in their own process.
 *
 * IPC protocol (parent → child):
 *   { type: 'start', url, connections, window, apartments: [[substation, building, FFUU], ...] }  → { type: 'ready' }
 *   { type: 'publish', prefix, count, baseTs }   publish `count` more messages under `prefix` (credit from the parent)
 *   { type: 'fill', prefix, count, baseTs }      publish `count` messages now → { type: 'filled', count } once the broker
 *                                                acknowledged them all (a backlog for a disconnected persistent session)
 *   { type: 'stop' }                             disconnect and exit
 * Each connection keeps at most `window` QoS 1 messages unacknowledged by the broker. Message i goes to apartment
 * i mod A and is that apartment's sample k = floor(i / A), stamped baseTs + k seconds, with values that move enough
 * to pass the demo's deadbands.
 */
import mqtt, { type MqttClient } from 'mqtt';

interface Start {
  type: 'start';
  url: string;
  connections: number;
  window: number;
  apartments: [string, string, string][];
}
interface Publish {
  type: 'publish' | 'fill';
  prefix: string;
  count: number;
  baseTs: number;
}

let clients: MqttClient[] = [];
let apartments: [string, string, string][] = [];
let windowSize = 500;
const inflight: number[] = [];
let queued = 0;
let next = 0;
let prefix = '';
let baseTs = 0;
let acked = 0;
let fillAt: number | null = null;

function payload(i: number): { topic: string; body: string } {
  const a = apartments[i % apartments.length]!;
  const k = Math.floor(i / apartments.length);
  const room = (18 + (k % 60) / 10).toFixed(1);
  return {
    topic: `${prefix}/${a[0]}/${a[1]}/${a[2]}/telemetry`,
    body: `{"ts":${baseTs + k * 1000},"room_temp_c":${room},"setpoint_c":21,"valve_pct":${(k * 7) % 100},"battery_pct":87,"rssi_dbm":-71}`,
  };
}

function pump(c: number): void {
  const client = clients[c]!;
  while (queued > 0 && inflight[c]! < windowSize) {
    queued--;
    inflight[c]!++;
    const { topic, body } = payload(next++);
    client.publish(topic, body, { qos: 1 }, () => {
      inflight[c]!--;
      acked++;
      if (fillAt !== null && acked >= fillAt) {
        process.send!({ type: 'filled', count: fillAt });
        fillAt = null;
      }
      pump(c);
    });
  }
}

process.on('message', (m: Start | Publish | { type: 'stop' }) => {
  void (async () => {
    if (m.type === 'start') {
      apartments = m.apartments;
      windowSize = m.window;
      clients = await Promise.all(
        Array.from({ length: m.connections }, (_, i) => mqtt.connectAsync(m.url, { protocolVersion: 4, clientId: `bench-pub-${process.pid}-${i}`, clean: true, reconnectPeriod: 0 })),
      );
      for (let i = 0; i < clients.length; i++) inflight[i] = 0;
      process.send!({ type: 'ready' });
    } else if (m.type === 'publish' || m.type === 'fill') {
      if (m.prefix !== prefix || m.baseTs !== baseTs) {
        prefix = m.prefix;
        baseTs = m.baseTs;
        next = 0;
      }
      if (m.type === 'fill') {
        acked = 0;
        fillAt = m.count;
      }
      queued += m.count;
      for (let c = 0; c < clients.length; c++) pump(c);
    } else if (m.type === 'stop') {
      await Promise.all(clients.map((c) => c.endAsync()));
      process.exit(0);
    }
  })();
});
process.on('disconnect', () => process.exit(0));
