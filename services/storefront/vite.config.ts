import { resolve } from 'node:path';
import { defineConfig } from 'vite';

// Two static pages. Nothing inline and nothing external: the gateway serves them under a strict CSP
// (default-src 'self'), so no data: URIs and no inline module-preload polyfill.
export default defineConfig({
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    rollupOptions: {
      input: {
        index: resolve(import.meta.dirname, 'index.html'),
        dashboard: resolve(import.meta.dirname, 'dashboard.html'),
      },
    },
  },
});
