/**
 * The simulators of bench/dashboard in their own process (forked with IPC), so the hub and the browser do not share an
 * event loop with the physics and the faces. The parent sends { type: 'start', network, mqttUrl, ... } and gets
 * { type: 'ready', modbusPorts, substations, httpUrl }; { type: 'stop' } closes everything and exits.
 */
import { pino } from 'pino';
import { startSimulators, type Simulators } from '../simulators/runtime.ts';

interface StartMessage {
  type: 'start';
  network: Record<string, unknown>;
  mqttUrl: string;
  publishIntervalS: number;
  weatherIntervalS: number;
  settleHours: number;
}

let sims: Simulators | null = null;

if (!process.send) {
  // `npm run bench` runs every file of bench/; this one only serves bench/dashboard.
  console.log('bench/dashboard-sim: the simulators of bench/dashboard; run bench/dashboard instead');
  process.exit(0);
}

process.on('message', (m: StartMessage | { type: 'stop' }) => {
  void (async () => {
    if (m.type === 'start') {
      sims = await startSimulators({
        network: m.network,
        settleHours: m.settleHours,
        timeScale: 1,
        mqtt: { url: m.mqttUrl, publishIntervalS: m.publishIntervalS, weatherIntervalS: m.weatherIntervalS, clientId: `bench-dashboard-sims-${process.pid}` },
        modbus: { port: 0 },
        http: { port: 0 },
        log: pino({ level: 'warn' }),
      });
      process.send!({ type: 'ready', modbusPorts: sims.modbus!.ports, substations: sims.model.substationIds(), httpUrl: sims.http!.url });
    } else {
      await sims?.close();
      process.exit(0);
    }
  })().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
});
process.on('disconnect', () => process.exit(0));
