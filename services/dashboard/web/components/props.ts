import type { PulseClient, Scope } from "../api/client";

/** What every view gets from the app shell. */
export interface ViewProps {
  client: PulseClient;
  scope: Scope;
  /** Changes after a refresh, so views load again. */
  version: number;
  onUnauthorized: () => void;
}

export function scopeKey(scope: Scope, version: number, ...more: (string | number)[]): string {
  return [scope.businessId, scope.startDate, scope.endDate, scope.platform, scope.compare ?? "", version, ...more].join("|");
}
