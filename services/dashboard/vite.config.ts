import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// `npm run dev` serves the page from source and relays everything else to the dashboard's
// server (`make up`'s, on 8080), which holds the session: sign in there once (the identity
// provider sends the browser back to it; the session cookie is the host's, so this page
// shares it). Its Origin is rewritten to the server's own, which the CSRF check compares.
const SERVER = process.env.PULSE_DASHBOARD_SERVER_URL ?? "http://127.0.0.1:8080";
const relay = { target: SERVER, headers: { origin: SERVER } };

export default defineConfig({
  plugins: [react()],
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
      "/connect/": relay,
    },
  },
});
