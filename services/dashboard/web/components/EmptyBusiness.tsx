import { createContext, useContext, type ReactNode } from "react";
import type { PulseClient } from "../api/client";
import { CONNECTIONS_PATH, onLinkClick } from "../route";
import { useApi } from "../useApi";
import { businessWindow } from "./businessWindow";

/** The business the views show, as the empty states need it. */
export interface BusinessInfo {
  client: PulseClient;
  businessId: number;
  /** The business's today (its calendar's). */
  today: string;
  /** The user's role allows connecting accounts (web/roles.ts). */
  mayConnect: boolean;
  onUnauthorized: () => void;
}

const Info = createContext<BusinessInfo | null>(null);

export function BusinessInfoProvider({ value, children }: { value: BusinessInfo; children: ReactNode }) {
  return <Info.Provider value={value}>{children}</Info.Provider>;
}

/**
 * Why the business shows nothing: "new" (no account connected and no post in its last 90
 * days), "syncing" (an account connected, its posts still being found), "period" (the
 * range on screen has none), or null until known. Asked only by an empty view; the
 * answers are cached, so several empty views ask once.
 */
type Emptiness = "new" | "syncing" | "period" | null;

function useEmptiness(info: BusinessInfo): Emptiness {
  const { client, businessId, today, onUnauthorized } = info;
  const lately = businessWindow(businessId, today);
  const [accounts] = useApi(`accounts|${businessId}`, () => client.accounts(businessId), onUnauthorized);
  const [recent] = useApi(`business-window|${businessId}|${today}`, () => client.overview(lately), onUnauthorized);
  if (accounts.state !== "ready" || recent.state !== "ready") return accounts.state === "error" ? "period" : null;
  const connected = accounts.data.accounts.filter((a) => a.status !== "disconnected");
  if (recent.data.summary.total_posts > 0) return "period";
  if (connected.some((a) => a.status === "syncing")) return "syncing";
  return connected.length === 0 ? "new" : "period";
}

/** Leads a business with nothing to show to Connections, if the user may connect. */
function ConnectLead({ mayConnect }: { mayConnect: boolean }) {
  if (!mayConnect)
    return (
      <>
        This business has no connected accounts yet, so there are no numbers to show. An admin or owner of the business
        can connect its accounts.
      </>
    );
  return (
    <>
      <strong>Connect an account to see your numbers.</strong> Pulse shows the posts and followers of the accounts you
      connect.{" "}
      <a href={CONNECTIONS_PATH} onClick={onLinkClick} data-testid="empty-connect">
        Go to Connections
      </a>
    </>
  );
}

const PERIOD =
  "No posts were published in this period. Pick a longer date range or another platform; if you expected posts, press Refresh to fetch fresh numbers.";

function KnownEmpty({ info, period, lead }: { info: BusinessInfo; period: ReactNode; lead: ReactNode }) {
  const why = useEmptiness(info);
  if (why === "new") return <>{lead}</>;
  if (why === "syncing") return <>No posts here yet: your accounts are still syncing, and their posts appear as they are found.</>;
  if (why === "period") return <>{period}</>;
  return <>No posts were published in this period.</>;
}

/** The words of the summary's empty state (the paragraph is SummaryCards'). */
export function EmptySummary() {
  const info = useContext(Info);
  if (!info) return <>{PERIOD}</>;
  return <KnownEmpty info={info} period={PERIOD} lead={<ConnectLead mayConnect={info.mayConnect} />} />;
}

/** The words of a panel's empty state: its own hint, unless the business has nothing at all. */
export function EmptyHint({ hint }: { hint?: string }) {
  const info = useContext(Info);
  const period = `No data for this selection. ${hint ?? "Pick a longer date range or another platform."}`;
  if (!info) return <>{period}</>;
  return <KnownEmpty info={info} period={period} lead="No data yet: this business has no connected accounts." />;
}
