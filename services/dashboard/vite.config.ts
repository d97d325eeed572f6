import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// `npm run dev` proxies /api/ to query-api like the dashboard server does.
export default defineConfig({
  plugins: [react()],
  build: { outDir: "dist" },
  server: {
    proxy: { "/api/": process.env.PULSE_QUERY_API_URL ?? "http://127.0.0.1:8000" },
  },
});
