/**
 * A VictoriaMetrics single-node process for tests and benchmarks: it accepts InfluxDB line protocol on
 * `/api/v2/write` (gzip included) and exports what it stored on `/api/v1/export`, so the InfluxDB adapter's write path
 * can be exercised against a real server where no InfluxDB 2 is available. (It does not speak Flux.)
 *
 * Each instance gets its own free loopback port and storage directory; `stop()` and `start()` may be repeated (the
 * port and data are kept), `close()` stops it and removes the directory. Debian: `apt-get install victoria-metrics`.
 *
 * Unlike InfluxDB, VictoriaMetrics keeps repeated samples with the same series and timestamp, so its export shows
 * every delivery; `distinctSamples` folds them to what InfluxDB would hold.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const VM_BINARY = process.env['VICTORIA_METRICS_BIN'] ?? 'victoria-metrics';

/** Why VictoriaMetrics cannot run here, or null when it can. */
export function victoriaMetricsMissing(): string | null {
  const r = spawnSync(VM_BINARY, ['-version'], { encoding: 'utf8' });
  if (r.error) return `${VM_BINARY} not found (apt-get install victoria-metrics, or set VICTORIA_METRICS_BIN)`;
  return null;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export interface ExportedSeries {
  /** Labels, `__name__` being `<measurement>_<field>`. */
  metric: Record<string, string>;
  values: number[];
  timestamps: number[];
}

export class VictoriaMetrics {
  readonly dir: string;
  readonly port: number;
  #proc: ChildProcess | null = null;
  #log = '';

  private constructor(dir: string, port: number) {
    this.dir = dir;
    this.port = port;
  }

  /** Starts a server on `port` (default: a free one); `start: false` only prepares it. */
  static async start(opts: { port?: number; start?: boolean } = {}): Promise<VictoriaMetrics> {
    const vm = new VictoriaMetrics(mkdtempSync(path.join(os.tmpdir(), 'warmgrid-vm-')), opts.port ?? (await freePort()));
    if (opts.start ?? true) await vm.start();
    return vm;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.#proc !== null;
  }

  async start(): Promise<void> {
    if (this.#proc) return;
    const proc = spawn(
      VM_BINARY,
      [
        `-httpListenAddr=127.0.0.1:${this.port}`,
        `-storageDataPath=${this.dir}`,
        // Tests write timestamps in the past; the default retention (one month) would drop them silently.
        '-retentionPeriod=100y',
        '-loggerLevel=ERROR',
        '-memory.allowedPercent=20',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    proc.stderr!.setEncoding('utf8');
    proc.stderr!.on('data', (d: string) => (this.#log = (this.#log + d).slice(-4000)));
    this.#proc = proc;
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`victoria-metrics exited with ${proc.exitCode}: ${this.#log}`);
      try {
        const r = await fetch(`${this.url}/health`);
        if (r.ok) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`victoria-metrics did not start within 15 s: ${this.#log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Graceful stop (SIGTERM): what it acknowledged is flushed to disk, as a database server's shutdown would. */
  async stop(): Promise<void> {
    const proc = this.#proc;
    if (!proc) return;
    this.#proc = null;
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      proc.once('exit', () => resolve());
      proc.kill('SIGTERM');
    });
  }

  async close(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Makes recently written samples visible to export. */
  async flush(): Promise<void> {
    const r = await fetch(`${this.url}/internal/force_flush`);
    if (!r.ok) throw new Error(`force_flush: HTTP ${r.status}`);
  }

  /** Every stored sample of the series matching `selector` (PromQL series selector). */
  async export(selector = '{__name__!=""}'): Promise<ExportedSeries[]> {
    await this.flush();
    const body = new URLSearchParams({ 'match[]': selector, start: '0' });
    const r = await fetch(`${this.url}/api/v1/export`, { method: 'POST', body });
    if (!r.ok) throw new Error(`export: HTTP ${r.status} ${await r.text()}`);
    const text = await r.text();
    return text
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as ExportedSeries);
  }
}

/** Series key of an exported series: name and labels, sorted. */
export function seriesKeyOf(s: ExportedSeries): string {
  return Object.keys(s.metric)
    .sort()
    .map((k) => `${k}=${s.metric[k]}`)
    .join(',');
}

export interface SampleSummary {
  /** Samples as stored, repeated deliveries included. */
  raw: number;
  /** Distinct (series, timestamp) pairs: what InfluxDB, which overwrites, would hold. */
  distinct: number;
  /** Distinct pairs whose repeated deliveries carried different values (must be 0: a retry resends the same). */
  conflicting: number;
  /** series key → timestamp → value. */
  byKey: Map<string, Map<number, number>>;
}

export function distinctSamples(series: readonly ExportedSeries[]): SampleSummary {
  const byKey = new Map<string, Map<number, number>>();
  let raw = 0;
  let conflicting = 0;
  for (const s of series) {
    const key = seriesKeyOf(s);
    let m = byKey.get(key);
    if (!m) byKey.set(key, (m = new Map()));
    for (let i = 0; i < s.timestamps.length; i++) {
      raw++;
      const ts = s.timestamps[i]!;
      const v = s.values[i]!;
      const prev = m.get(ts);
      if (prev !== undefined && prev !== v) conflicting++;
      m.set(ts, v);
    }
  }
  let distinct = 0;
  for (const m of byKey.values()) distinct += m.size;
  return { raw, distinct, conflicting, byKey };
}
