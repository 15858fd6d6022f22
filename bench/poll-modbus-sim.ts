/**
 * Child process of bench/poll-modbus: the simulated substations behind Modbus gateways, in their own process.
 *
 * Started with `--serve` and an IPC channel (the parent forks it). IPC protocol:
 *   parent → child  { type: 'start', count, gateways, stepMs }   build `count` substations behind `gateways` ports
 *   child → parent  { type: 'ready', ports, buildMs }             device i is unit floor(i / gateways) + 1 at ports[i % gateways]
 *   parent → child  { type: 'stats' }  → { type: 'stats', cpuMs, requests, encodes, connections }
 *   parent → child  { type: 'stop' }                               close and exit
 * The model steps `stepMs` of simulated time every `stepMs` of real time, so the faces re-encode as in a live run.
 * Run on its own (as `npm run bench` does with every file here), it only says what it is and exits.
 */
import { startModbusFace, type ModbusFace } from '../simulators/faces/modbus/index.ts';
import { createNetworkModel } from '../simulators/model/network-model.ts';

/** A network of `count` small substations (one one-flat building each): the substations are what the bench polls. */
export function benchNetwork(count: number): Record<string, unknown> {
  return {
    company: { id: 'bench', name: 'Bench' },
    climate: { city: 'Jinan', designOutdoorC: -5.3 },
    heatSources: [
      {
        id: 'hs1',
        name: 'Plant',
        networks: [
          {
            id: 'net1',
            name: 'Net',
            substations: Array.from({ length: count }, (_, i) => ({ id: substationId(i), name: substationId(i), buildings: [{ id: `${substationId(i)}-b1`, name: 'B1', floors: 1, unitsPerFloor: 1 }] })),
          },
        ],
      },
    ],
    weatherStations: [],
  };
}

export function substationId(i: number): string {
  return `s${String(i + 1).padStart(5, '0')}`;
}

interface Start {
  type: 'start';
  count: number;
  gateways: number;
  stepMs: number;
}

async function serve(): Promise<void> {
  let face: ModbusFace | null = null;
  let stepper: NodeJS.Timeout | null = null;
  process.on('message', (msg: Start | { type: 'stats' } | { type: 'stop' }) => {
    void (async () => {
      if (msg.type === 'start') {
        const t0 = performance.now();
        const model = createNetworkModel(benchNetwork(msg.count), { settleHours: 0 });
        const gateways = Array.from({ length: msg.gateways }, () => ({ port: 0, units: {} as Record<number, string> }));
        for (let i = 0; i < msg.count; i++) gateways[i % msg.gateways]!.units[Math.floor(i / msg.gateways) + 1] = substationId(i);
        face = await startModbusFace(model, { gateways });
        stepper = setInterval(() => model.step(msg.stepMs / 1000), msg.stepMs);
        process.send!({ type: 'ready', ports: face.ports, buildMs: Math.round(performance.now() - t0) });
      } else if (msg.type === 'stats') {
        const cpu = process.cpuUsage();
        const s = face?.stats();
        process.send!({ type: 'stats', cpuMs: (cpu.user + cpu.system) / 1000, requests: s?.requests ?? 0, encodes: s?.encodes ?? 0, connections: s?.connections ?? 0 });
      } else {
        if (stepper) clearInterval(stepper);
        await face?.close();
        process.exit(0);
      }
    })();
  });
  process.on('disconnect', () => process.exit(0));
}

if (process.argv.includes('--serve') && process.send) await serve();
else if (process.argv[1]?.endsWith('poll-modbus-sim.ts')) console.log('poll-modbus-sim: the simulator half of bench/poll-modbus (run `npm run bench -- poll-modbus`)');
