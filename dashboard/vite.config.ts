/**
 * Vite build of the dashboard into dashboard/dist (served by the hub at /), and the dev server with a proxy to a
 * running hub for /api (WebSocket included): `WARMGRID_HUB=http://127.0.0.1:8080 npx vite --config dashboard/vite.config.ts`.
 */
import { fileURLToPath } from 'node:url';
import vue from '@vitejs/plugin-vue';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));
const hub = process.env['WARMGRID_HUB'] ?? 'http://127.0.0.1:8080';

export default defineConfig({
  root,
  base: '/',
  plugins: [vue()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // The hub's Content-Security-Policy allows no inline scripts; keep every asset a file.
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 700,
  },
  server: {
    host: '127.0.0.1',
    port: 5173,
    proxy: {
      '/api': { target: hub, ws: true },
      '/docs': { target: hub },
      '/metrics': { target: hub },
    },
  },
});
