/**
 * Builds the dashboard into dashboard/dist with Vite.
 *
 *   node --import tsx dashboard/build.ts              build now (npm run build:dashboard)
 *   node --import tsx dashboard/build.ts --if-stale   build only when the sources changed since the last build
 *                                                     (npm start runs this first; a fresh build costs a few seconds,
 *                                                     the check a few milliseconds)
 *
 * "Changed" is decided by a hash of the sources (src/, index.html, the Vite and TypeScript configs, this file and Vite's version)
 * kept next to the build in dist/.source-hash, so a checkout, a touch or a clock difference does not matter. Without
 * Vite (a production install without dev dependencies) nothing is built: the hub then serves the dist it has, or its
 * minimal page.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { brotliCompressSync, constants as zlibConstants, gzipSync } from 'node:zlib';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type * as Vite from 'vite';

const here = path.dirname(fileURLToPath(import.meta.url));
export const DIST = path.join(here, 'dist');
const STAMP = path.join(DIST, '.source-hash');
const INPUTS = ['src', 'index.html', 'vite.config.ts', 'tsconfig.json', 'build.ts'];

function files(p: string, out: string[]): void {
  const st = statSync(p);
  if (st.isDirectory()) for (const name of readdirSync(p).sort()) files(path.join(p, name), out);
  else out.push(p);
}

export function sourceHash(): string {
  const h = createHash('sha256');
  const list: string[] = [];
  for (const i of INPUTS) if (existsSync(path.join(here, i))) files(path.join(here, i), list);
  for (const f of list) {
    h.update(path.relative(here, f));
    h.update('\0');
    h.update(readFileSync(f));
    h.update('\0');
  }
  try {
    h.update(JSON.parse(readFileSync(path.join(here, '..', 'node_modules', 'vite', 'package.json'), 'utf8')).version as string);
  } catch {
    h.update('no-vite');
  }
  return h.digest('hex');
}

export function isStale(): boolean {
  if (!existsSync(path.join(DIST, 'index.html')) || !existsSync(STAMP)) return true;
  return readFileSync(STAMP, 'utf8').trim() !== sourceHash();
}

const COMPRESSIBLE = /\.(js|css|html|svg|json|txt)$/;

/**
 * Writes a gzip (.gz) and a brotli (.br) copy next to every text file of the build worth compressing, once, at build
 * time; the hub serves the one the browser accepts (a wall over a slow link loads a third of the bytes, and the hub
 * spends no CPU compressing per request).
 */
export function precompress(dir: string): number {
  const list: string[] = [];
  files(dir, list);
  let n = 0;
  for (const f of list) {
    if (!COMPRESSIBLE.test(f)) continue;
    const body = readFileSync(f);
    if (body.length < 1024) continue;
    writeFileSync(`${f}.gz`, gzipSync(body, { level: 9 }));
    writeFileSync(`${f}.br`, brotliCompressSync(body, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 11, [zlibConstants.BROTLI_PARAM_SIZE_HINT]: body.length } }));
    n++;
  }
  return n;
}

/** Builds the dashboard (or, with ifStale, only when needed). Returns what it did. */
export async function buildDashboard(opts: { ifStale?: boolean; quiet?: boolean } = {}): Promise<'built' | 'fresh' | 'no-vite'> {
  if (opts.ifStale && !isStale()) return 'fresh';
  let vite: typeof Vite;
  try {
    vite = await import('vite');
  } catch {
    return 'no-vite';
  }
  const hash = sourceHash();
  await vite.build({ configFile: path.join(here, 'vite.config.ts'), logLevel: opts.quiet ? 'warn' : 'info' });
  precompress(DIST);
  writeFileSync(STAMP, `${hash}\n`);
  return 'built';
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const ifStale = process.argv.includes('--if-stale');
  const t0 = Date.now();
  const r = await buildDashboard({ ifStale, quiet: ifStale });
  if (r === 'built') console.log(`dashboard built in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  if (r === 'no-vite') console.warn('dashboard: Vite is not installed (npm ci without dev dependencies?); serving the dashboard as it was built, if at all');
}
