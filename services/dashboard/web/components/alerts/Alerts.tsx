import { useState } from "react";
import type { Sensitivity } from "../../api/reporter";
import { may } from "../../roles";
import { AlertList } from "./AlertList";
import { AlertPreview } from "./AlertPreview";
import { AlertSettingsPanel } from "./AlertSettings";
import type { AlertsProps } from "./common";

interface Props extends AlertsProps {
  /** Some alerts were marked read: the Alerts tab's count is asked again. */
  onAlertsChanged: () => void;
}

/**
 * The business's alerts (each read or not by the user), how the business is alerted
 * (owners and admins change it: manage_reports) and a preview over the last 90 days.
 */
export function Alerts(props: Props) {
  const manager = may(props.business.role, "manage_reports");
  const [saved, setSaved] = useState<Sensitivity | null>(null);
  return (
    <div className="alerts-view" data-testid="alerts-view">
      <AlertList {...props} />
      <div className="two alerts-side">
        <AlertSettingsPanel {...props} manager={manager} onSensitivity={setSaved} />
        <AlertPreview {...props} saved={saved} />
      </div>
    </div>
  );
}
