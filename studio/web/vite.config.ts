import { defineConfig } from 'vite';

// `npm run dev` proxies the worker's API like tributary-studio does.
export default defineConfig({
  build: { outDir: 'dist', target: 'es2022', chunkSizeWarningLimit: 4096, sourcemap: false },
  oxc: { jsx: { runtime: 'automatic' } },
  server: { proxy: { '/v1': 'http://127.0.0.1:8000' } },
});
