import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { QueryClientProvider } from "@tanstack/react-query";
import { App } from "./App";
import { keepChartLayersOutOfTabOrder } from "./components/charts";
import { takeConnectOutcome } from "./connect";
import { takeInviteSecret } from "./invite";
import { forgetLegacy } from "./storage";
import { makeQueryClient } from "./useApi";
import "./styles.css";

const root = document.getElementById("root");
if (!root) throw new Error("no #root element");
// A token an earlier version kept in this browser is dropped: the session is the server's now.
forgetLegacy();
// Back from a platform's consent page: the outcome is told once, and the URL cleaned.
const connectOutcome = takeConnectOutcome();
// An invitation link (/invite#<secret>): the secret kept in this tab, the address cleaned.
takeInviteSecret();
keepChartLayersOutOfTabOrder(root);
// Answers kept between views for as long as query-api keeps them (useApi.ts).
const queries = makeQueryClient();
createRoot(root).render(
  <StrictMode>
    <QueryClientProvider client={queries}>
      <App connectOutcome={connectOutcome} />
    </QueryClientProvider>
  </StrictMode>,
);
