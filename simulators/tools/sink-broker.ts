/**
 * A plain aedes broker for measurements, meant to run in its own process (so its CPU is not counted against the
 * publisher): `node --import tsx simulators/tools/sink-broker.ts`. It listens on 127.0.0.1 on a free port, tells its
 * parent the port over IPC ({ port }), counts the publishes it receives and answers { type: 'stats' } with
 * { received, bytes, cpuUs }.
 */
import net from 'node:net';
import { Aedes } from 'aedes';

const aedes = await Aedes.createBroker();
let received = 0;
let bytes = 0;
aedes.on('publish', (packet, client) => {
  if (!client) return;
  received++;
  bytes += packet.payload.length;
});
const server = net.createServer((socket) => aedes.handle(socket));
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
const port = (server.address() as net.AddressInfo).port;
process.send?.({ port });
process.on('message', (m: { type?: string }) => {
  if (m.type === 'stats') {
    const cpu = process.cpuUsage();
    process.send?.({ received, bytes, cpuUs: cpu.user + cpu.system });
  } else if (m.type === 'stop') {
    aedes.close(() => server.close(() => process.exit(0)));
  }
});
