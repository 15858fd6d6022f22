/**
 * Measures how long one 60 s step of a large network takes: `node --import tsx simulators/model/measure-step.ts
 * [apartments]` (default 100,000). The network is synthetic: substations of five 20-storey buildings with five flats a
 * floor (500 flats each), 2 % of accounts suspended. Prints build and settle time, and the median and 90th percentile
 * of the whole step and of the apartment loop alone.
 */
import { createNetworkModel } from './network-model.ts';

function syntheticNetwork(apartments: number): Record<string, unknown> {
  const perSubstation = 500;
  const substations = Math.max(1, Math.round(apartments / perSubstation));
  const insulation = ['good', 'average', 'poor'] as const;
  return {
    company: { id: 'big', name: 'Synthetic' },
    climate: { city: 'Jinan', designOutdoorC: -5.3 },
    heatSources: [
      {
        id: 'hs1',
        name: 'Plant',
        networks: [
          {
            id: 'net1',
            name: 'Network',
            substations: Array.from({ length: substations }, (_, s) => ({
              id: `s${s}`,
              name: `Substation ${s}`,
              emitter: s % 7 === 6 ? 'floor' : 'radiator',
              buildings: Array.from({ length: 5 }, (_, b) => ({
                id: `s${s}-b${b}`,
                name: `Building ${b}`,
                floors: 20,
                unitsPerFloor: 5,
                apartmentAreaM2: 80 + 10 * b,
                insulation: insulation[(s + b) % 3],
                suspended: b === 0 ? ['0302', '0501'] : [],
              })),
            })),
          },
        ],
      },
    ],
  };
}

function percentile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

const n = Number(process.argv[2] ?? 100_000);
let t0 = performance.now();
const model = createNetworkModel(syntheticNetwork(n), { seed: 7, settleHours: 0 });
const buildMs = performance.now() - t0;
t0 = performance.now();
model.step(6 * 3600);
const warmMs = performance.now() - t0;

const whole: number[] = [];
const loop: number[] = [];
const env = { nowS: model.now() / 1000, outdoorC: -2, occupancyWm2: 3, solarWm2: 100, windMs: 3 };
for (let k = 0; k < 60; k++) {
  t0 = performance.now();
  model.step(60);
  whole.push(performance.now() - t0);
  t0 = performance.now();
  env.nowS += 60;
  model.stock.step(60, env);
  loop.push(performance.now() - t0);
}
const out = (s: string): boolean => process.stdout.write(`${s}\n`);
out(`apartments               ${model.apartments.count.toLocaleString('en-US')} in ${model.buildingIds().length} buildings, ${model.substationIds().length} substations`);
out(`build                    ${buildMs.toFixed(0)} ms`);
out(`6 h simulated (360 × 60 s) ${warmMs.toFixed(0)} ms`);
out(`step(60) median / p90    ${percentile(whole, 0.5).toFixed(2)} / ${percentile(whole, 0.9).toFixed(2)} ms`);
out(`apartment loop median / p90 ${percentile(loop, 0.5).toFixed(2)} / ${percentile(loop, 0.9).toFixed(2)} ms`);
out(`heap used                ${(process.memoryUsage().heapUsed / 1e6).toFixed(0)} MB`);
