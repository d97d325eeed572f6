import { useCallback, useState } from "react";
import { businessName } from "../../api/workspace";
import { may } from "../../roles";
import { BrandingPanel } from "./Branding";
import { Deliveries } from "./Deliveries";
import { NewSchedule } from "./NewSchedule";
import { Schedules } from "./Schedules";
import type { ReportsProps } from "./common";

/**
 * The business's scheduled reports: the schedules, a new one, the deliveries' log and the
 * reports' colour and logo. Owners and admins (manage_reports) change them; every other
 * member sees them as they are.
 */
export function Reports(props: ReportsProps) {
  const { business, timezone } = props;
  const manager = may(business.role, "manage_reports");
  // A new one at every visit and change, so the lists load again (useApi caches by key).
  const [version, setVersion] = useState(() => Date.now());
  const changed = useCallback(() => setVersion((v) => Math.max(v + 1, Date.now())), []);
  return (
    <div className="reports" data-testid="reports">
      <p className="muted">
        Reports of <strong>{businessName(business)}</strong> go by email, from 08:00 in {timezone}: the headline numbers
        in the message and the full report as a PDF. A report with no data is skipped, and one whose data is stale says
        so on its first page.
      </p>
      {!manager && (
        <p className="muted" data-testid="reports-read-only">
          Only the business's owners and admins change schedules and the reports' look.
        </p>
      )}
      <Schedules {...props} manager={manager} version={version} onChanged={changed} />
      {manager && <NewSchedule {...props} onCreated={changed} />}
      <Deliveries {...props} version={version} />
      <BrandingPanel {...props} manager={manager} />
    </div>
  );
}
