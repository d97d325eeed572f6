import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";
import { defineConfig, type Plugin } from "vite";
import react from "@vitejs/plugin-react";

// Every text asset also as .br and .gz beside it, compressed once at build at the highest
// levels (too slow per request, free here); the dashboard's server sends the one the browser
// accepts. Compressed from the files as written (after every other plugin's last word), with
// Node's zlib: no plugin dependency for twenty lines.
const COMPRESSIBLE = /\.(js|css|html|svg|json|txt)$/;
function precompress(): Plugin {
  return {
    name: "pulse-precompress",
    apply: "build",
    enforce: "post",
    writeBundle(options, bundle) {
      const dir = options.dir ?? "dist";
      for (const fileName of Object.keys(bundle)) {
        if (!COMPRESSIBLE.test(fileName)) continue;
        const bytes = readFileSync(join(dir, fileName));
        if (bytes.length < 1024) continue; // a header costs more than it saves
        const brotli = brotliCompressSync(bytes, {
          params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length },
        });
        writeFileSync(join(dir, `${fileName}.br`), brotli);
        writeFileSync(join(dir, `${fileName}.gz`), gzipSync(bytes, { level: 9 }));
      }
    },
  };
}

// `npm run dev` serves the page from source and relays everything else to the dashboard's
// server (`make up`'s, on 8080), which holds the session: sign in there once (the identity
// provider sends the browser back to it; the session cookie is the host's, so this page
// shares it). Its Origin is rewritten to the server's own, which the CSRF check compares.
const SERVER = process.env.PULSE_DASHBOARD_SERVER_URL ?? "http://127.0.0.1:8080";
const relay = { target: SERVER, headers: { origin: SERVER } };

export default defineConfig({
  plugins: [react(), precompress()],
  build: {
    outDir: "dist",
    rollupOptions: {
      output: {
        // React and the query cache change less often than the page's own code: a chunk
        // of their own stays in the browser's cache across releases. Recharts stays in the
        // chart views' lazy chunks, so the summary cards never wait for it.
        manualChunks: (id: string) => (/[\\/]node_modules[\\/](react|react-dom|scheduler|@tanstack)[\\/]/.test(id) ? "vendor" : undefined),
      },
    },
  },
  server: {
    proxy: {
      "/api/": relay,
      "/auth/": relay,
      "/workspace/": relay,
      "/reporter/": relay,
      "/connect/": relay,
    },
  },
});
