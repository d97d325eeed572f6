import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// `npm run dev` proxies /api/ to query-api and /connect/<service>/ to that ingest service's
// /connect/, like the dashboard server does (without its hardening: for development only).
const INGEST: Record<string, string | undefined> = {
  linkedin: process.env.PULSE_INGEST_LINKEDIN_URL ?? "http://127.0.0.1:8101",
  twitter: process.env.PULSE_INGEST_TWITTER_URL ?? "http://127.0.0.1:8102",
  meta: process.env.PULSE_INGEST_META_URL ?? "http://127.0.0.1:8103",
};

export default defineConfig({
  plugins: [react()],
  build: { outDir: "dist" },
  server: {
    proxy: {
      "/api/": process.env.PULSE_QUERY_API_URL ?? "http://127.0.0.1:8000",
      ...Object.fromEntries(
        Object.entries(INGEST)
          .filter((entry): entry is [string, string] => Boolean(entry[1]))
          .map(([service, target]) => [
            `/connect/${service}/`,
            { target, rewrite: (path: string) => path.replace(`/connect/${service}/`, "/connect/") },
          ]),
      ),
    },
  },
});
