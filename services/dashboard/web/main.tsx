import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App";
import { takeConnectOutcome } from "./connect";
import "./styles.css";

const root = document.getElementById("root");
if (!root) throw new Error("no #root element");
// Back from a platform's consent page: the outcome is told once, and the URL cleaned.
const connectOutcome = takeConnectOutcome();
createRoot(root).render(
  <StrictMode>
    <App connectOutcome={connectOutcome} />
  </StrictMode>,
);
