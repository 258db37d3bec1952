/// <reference types="vitest/config" />
import { defineConfig } from 'vite';

// No React plugin: esbuild compiles TSX with the automatic JSX runtime, which is all this app needs
// (no fast refresh; a full reload is fine for a small view).
export default defineConfig({
  esbuild: { jsx: 'automatic' },
  // Tauri serves the built files from its own origin; relative paths keep them working there.
  base: './',
  clearScreen: false,
  server: { port: 5173, strictPort: true },
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2021', sourcemap: false },
  test: {
    environment: 'jsdom',
    setupFiles: ['./src/test/setup.ts'],
    css: false,
  },
});
