/**
 * The server half of bench/opcua: many OPC UA servers (the simulator's OPC UA face, node-opcua's minimal nodeset) in
 * one process, over a synthetic model whose every tag changes once a second, stamped with the wall-clock second.
 *
 * Started with `--serve` and an IPC channel (the parent forks it). IPC protocol:
 *   → { type: 'start', faces, substationsPerFace, first }     ← { type: 'ready', faces: [{ url, substations }], buildMs }
 *   → { type: 'restart', face, downMs }                        ← { type: 'restarted', face, stoppedAt, startedAt }
 *   → { type: 'sessions' }                                     ← { type: 'sessions', counts: number[] }
 *   → { type: 'stats' }                                        ← { type: 'stats', cpuMs, rssMb }
 *   → { type: 'stop' }                                         (exits)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { silentLogger } from '../core/log.ts';
import { routeLibraryLogs } from '../ingest/sources/opcua/library-log.ts';
import type { OpcuaFace, OpcuaFaceModel } from '../simulators/faces/opcua/index.ts';
import { SUBSTATION_TAGS } from '../simulators/model/substation-tags.ts';

export function substationId(i: number): string {
  return `b${String(i).padStart(4, '0')}`;
}

/** Every tag of every substation changes at each whole second. */
export class TickingModel implements OpcuaFaceModel {
  #k = 0;
  #now = Math.floor(Date.now() / 1000) * 1000;
  readonly #ids: string[];
  readonly #cache = new Map<string, Record<string, number | boolean>>();
  #timer: NodeJS.Timeout;

  constructor(ids: string[]) {
    this.#ids = ids;
    const tick = (): void => {
      this.#k++;
      this.#now = Math.floor(Date.now() / 1000) * 1000;
      this.#cache.clear();
      this.#timer = setTimeout(tick, 1000 - (Date.now() % 1000));
    };
    this.#timer = setTimeout(tick, 1000 - (Date.now() % 1000));
  }

  now(): number {
    return this.#now;
  }

  substationIds(): readonly string[] {
    return this.#ids;
  }

  substationTags(id: string): object {
    let t = this.#cache.get(id);
    if (!t) {
      const k = this.#k;
      t = {};
      SUBSTATION_TAGS.forEach((m, j) => {
        if (m.type === 'boolean') t![m.name] = (k + j) % 2 === 0;
        else if (m.name === 'valve_mode') t![m.name] = k % 2;
        else t![m.name] = 10 + j + (k % 1000) * 0.01;
      });
      this.#cache.set(id, t);
    }
    return t;
  }

  writeSubstation(): void {}

  flags(): { comm_loss: boolean; slow_ms: number } {
    return { comm_loss: false, slow_ms: 0 };
  }

  close(): void {
    clearTimeout(this.#timer);
  }
}

interface Start {
  type: 'start';
  faces: number;
  substationsPerFace: number;
  first: number;
}

async function serve(): Promise<void> {
  routeLibraryLogs(silentLogger());
  const { startOpcuaFace } = await import('../simulators/faces/opcua/index.ts');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'warmgrid-bench-opcua-servers-'));
  const faces: OpcuaFace[] = [];
  let model: TickingModel | null = null;
  process.on('message', (msg: Start | { type: 'restart'; face: number; downMs: number } | { type: 'sessions' } | { type: 'stats' } | { type: 'stop' }) => {
    void (async () => {
      if (msg.type === 'start') {
        const t0 = performance.now();
        const ids = Array.from({ length: msg.faces * msg.substationsPerFace }, (_, i) => substationId(msg.first + i));
        model = new TickingModel(ids);
        for (let f = 0; f < msg.faces; f++) {
          const substations = ids.slice(f * msg.substationsPerFace, (f + 1) * msg.substationsPerFace);
          faces.push(await startOpcuaFace(model, { port: 0, substations, pkiDir: path.join(dir, 'pki'), securityModes: ['None'], nodeset: 'mini', updateIntervalMs: 100 }));
        }
        process.send!({ type: 'ready', faces: faces.map((x) => ({ url: x.endpointUrl, substations: x.substations })), buildMs: Math.round(performance.now() - t0) });
      } else if (msg.type === 'restart') {
        const face = faces[msg.face]!;
        const stoppedAt = Date.now();
        await face.stop();
        await new Promise((r) => setTimeout(r, msg.downMs));
        await face.start({ renumber: true });
        process.send!({ type: 'restarted', face: msg.face, stoppedAt, startedAt: Date.now() });
      } else if (msg.type === 'sessions') {
        process.send!({ type: 'sessions', counts: faces.map((x) => x.sessionCount()) });
      } else if (msg.type === 'stats') {
        const cpu = process.cpuUsage();
        process.send!({ type: 'stats', cpuMs: (cpu.user + cpu.system) / 1000, rssMb: process.memoryUsage().rss / 2 ** 20 });
      } else {
        model?.close();
        await Promise.all(faces.map((x) => x.close()));
        rmSync(dir, { recursive: true, force: true });
        process.exit(0);
      }
    })();
  });
  process.on('disconnect', () => process.exit(0));
}

if (process.argv.includes('--serve') && process.send) await serve();
else if (process.argv[1]?.endsWith('opcua-servers.ts')) console.log('opcua-servers: the server half of bench/opcua (run `npm run bench -- opcua`)');
