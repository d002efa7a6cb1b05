/// <reference types="vitest/config" />
// Builds the UI into the Python package (src/runyard/api/ui/bundle), where `runyard server` serves
// it at `/` and `/w/<workspace>/`. Asset URLs are relative (`./assets/...`) so the same build works
// below a workspace prefix.
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

export default defineConfig({
  plugins: [react()],
  base: "./",
  build: {
    outDir: "../src/runyard/api/ui/bundle",
    emptyOutDir: true,
    assetsDir: "assets",
    sourcemap: false,
    chunkSizeWarningLimit: 800,
    rollupOptions: {
      // `name.<hex hash>.js`: the server marks names with a hex content hash as immutable.
      output: {
        hashCharacters: "hex",
        entryFileNames: "assets/[name].[hash].js",
        chunkFileNames: "assets/[name].[hash].js",
        assetFileNames: "assets/[name].[hash][extname]",
      },
    },
  },
  server: {
    // `npm run dev` against a server on :5000 (the API is same-origin in production).
    proxy: {
      "/ajax-api": "http://127.0.0.1:5000",
      "/api": "http://127.0.0.1:5000",
      "/get-artifact": "http://127.0.0.1:5000",
      "/login": "http://127.0.0.1:5000",
      "/logout": "http://127.0.0.1:5000",
    },
  },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.ts", "src/**/*.test.tsx"],
  },
});
