/**
 * Measures what the MQTT face costs on a large network: a synthetic network (default 200 substations × 500 flats =
 * 100,000 apartments) publishing once a minute at real time (about 1,670 messages/s, QoS 1) to a broker in another
 * process, so only the simulator's own CPU is counted.
 *
 *   node --import tsx simulators/tools/measure-mqtt.ts [--seconds 60] [--substations 200] [--interval 60] [--qos 1]
 *                                                     [--warmup 10] [--no-model]
 *
 * Prints the process CPU over the measuring window (user + system, % of one core), the part spent stepping the model,
 * and the rest (the publisher: schedule, payloads, mqtt.js, socket); messages per second sent and received by the
 * broker; event-loop delay; memory. `--no-model` leaves the model unstepped (its clock still runs), which isolates the
 * publisher.
 */
import { fork } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { startSimulators } from '../runtime.ts';
import { syntheticNetwork } from './synthetic-network.ts';

const { values: a } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    substations: { type: 'string', default: '200' },
    interval: { type: 'string', default: '60' },
    qos: { type: 'string', default: '1' },
    warmup: { type: 'string', default: '10' },
    'no-model': { type: 'boolean', default: false },
  },
});
const seconds = Number(a.seconds);
const warmup = Number(a.warmup);
const out = (s: string): boolean => process.stdout.write(`${s}\n`);

interface BrokerStats {
  received: number;
  bytes: number;
  cpuUs: number;
}

const here = path.dirname(fileURLToPath(import.meta.url));
const broker = fork(path.join(here, 'sink-broker.ts'), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
const port = await new Promise<number>((resolve) => broker.once('message', (m: { port: number }) => resolve(m.port)));
const brokerStats = (): Promise<BrokerStats> =>
  new Promise((resolve) => {
    broker.once('message', (m: BrokerStats) => resolve(m));
    broker.send({ type: 'stats' });
  });

const t0 = performance.now();
const sims = await startSimulators({
  network: syntheticNetwork({ substations: Number(a.substations) }),
  settleHours: 1,
  timeScale: 1,
  ...(a['no-model'] ? { stepMs: 2_000_000_000 } : {}),
  mqtt: { url: `mqtt://127.0.0.1:${port}`, publishIntervalS: Number(a.interval), qos: Number(a.qos) as 0 | 1 },
  log: pino({ level: 'warn' }),
});
const startMs = performance.now() - t0;
const face = sims.mqtt!;
out(`apartments        ${sims.model.apartments.count.toLocaleString('en-US')} in ${sims.model.substationIds().length} substations; built and settled in ${(startMs / 1000).toFixed(1)} s`);
out(`publishing        every ${a.interval} s simulated at real time, QoS ${a.qos}${a['no-model'] ? ', model not stepped' : ''}; warm-up ${warmup} s, measuring ${seconds} s`);

await new Promise((r) => setTimeout(r, warmup * 1000));
const loop = monitorEventLoopDelay({ resolution: 1 });
loop.enable();
const cpu0 = process.cpuUsage();
const wall0 = performance.now();
const step0 = sims.stats();
const face0 = face.stats();
const b0 = await brokerStats();
await new Promise((r) => setTimeout(r, seconds * 1000));
const cpu = process.cpuUsage(cpu0);
const wallS = (performance.now() - wall0) / 1000;
const step1 = sims.stats();
const face1 = face.stats();
const b1 = await brokerStats();
loop.disable();

const cpuMs = (cpu.user + cpu.system) / 1000;
const modelMs = step1.stepMsTotal - step0.stepMsTotal;
const sent = face1.apartmentMessages + face1.weatherMessages - face0.apartmentMessages - face0.weatherMessages;
const pct = (ms: number): string => `${((ms / (wallS * 1000)) * 100).toFixed(1)} %`;
out(`process CPU       ${pct(cpuMs)} of one core (user ${pct(cpu.user / 1000)}, system ${pct(cpu.system / 1000)})`);
out(`  model steps     ${pct(modelMs)} (${step1.steps - step0.steps} steps, ${((modelMs / Math.max(1, step1.steps - step0.steps)) || 0).toFixed(2)} ms each)`);
out(`  publisher       ${pct(cpuMs - modelMs)} (everything else: schedule, payloads, mqtt.js, socket, timers)`);
out(`  per message     ${(((cpuMs - modelMs) * 1000) / Math.max(1, sent)).toFixed(1)} µs of CPU`);
out(`messages          ${(sent / wallS).toFixed(0)}/s sent, ${((b1.received - b0.received) / wallS).toFixed(0)}/s received by the broker, ${((b1.bytes - b0.bytes) / wallS / 1024).toFixed(0)} KiB/s`);
out(`broker CPU        ${pct((b1.cpuUs - b0.cpuUs) / 1000)} (separate process, not counted above)`);
out(`in flight         peak ${face1.peakInFlight} of ${face1.maxInFlight}; backlog now ${face1.backlog}; skipped ${face1.skipped}; errors ${face1.errors}`);
out(`event-loop delay  p50 ${(loop.percentile(50) / 1e6).toFixed(1)} ms, p99 ${(loop.percentile(99) / 1e6).toFixed(1)} ms, max ${(loop.max / 1e6).toFixed(1)} ms`);
const mem = process.memoryUsage();
out(`memory            heap ${(mem.heapUsed / 1e6).toFixed(0)} MB, RSS ${(mem.rss / 1e6).toFixed(0)} MB`);

await sims.close();
broker.send({ type: 'stop' });
