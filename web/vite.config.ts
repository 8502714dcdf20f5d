/// <reference types="vitest/config" />
import { defineConfig } from 'vite';

// Preact's JSX through esbuild's automatic runtime: no framework plugin
// (the React plugin does not install with this machine's npm).
export default defineConfig({
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  resolve: {
    alias: { react: 'preact/compat', 'react-dom': 'preact/compat' },
  },
  // Relative: chunks load each other from where they are, and the server
  // points the shell's ./assets/ links at the external URL's path.
  base: './',
  build: {
    // internal/ui embeds this folder; its .keep is restored by make ui.
    outDir: '../internal/ui/site/app',
    emptyOutDir: true,
    target: 'es2022',
    assetsInlineLimit: 8192,
    chunkSizeWarningLimit: 900,
    rollupOptions: {
      output: {
        // Named vendor chunks: the editor (CodeMirror, the PromQL and LogQL
        // grammars) and the chart load only with the pages that use them.
        manualChunks(id) {
          if (/node_modules\/(@codemirror|@lezer|@prometheus-io|@grafana|lru-cache|@marijn|style-mod|w3c-keyname|crelt)\//.test(id)) return 'editor';
          if (id.includes('node_modules/uplot/')) return 'chart';
          return undefined;
        },
      },
    },
  },
  server: {
    // npm run dev: the API of a vigil on the default port.
    proxy: Object.fromEntries(
      ['/api', '/jaeger', '/loki', '/alertmanager', '/vigil', '/-/', '/metrics', '/status', '/livez', '/readyz'].map((p) => [
        p,
        { target: 'http://127.0.0.1:9797', ws: true },
      ]),
    ),
  },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
  },
});
