// The typed client of the reporter service (scheduled reports, their deliveries and
// branding; alerts and their settings), which the dashboard's server relays at
// /reporter/* (its /v1/*) with the session's bearer, as it does the workspace.
import type { components, paths } from "./generated/reporter";
import type { Http } from "./http";

const BASE = "/reporter/v1";

// The answers' types are generated from the reporter's OpenAPI schema (npm run gen:types;
// a test fails when they drift), under the names the components use.
type Schemas = components["schemas"];
/** The JSON body an operation takes (declared inline by the reporter's routes). */
type Body<P extends keyof paths, M extends "post" | "put" | "patch"> = paths[P][M] extends {
  requestBody: { content: { "application/json": infer B } };
}
  ? B
  : never;

export type Schedule = Schemas["ScheduleOut"];
export type ScheduleKind = Schedule["kind"];
export type NewSchedule = Body<"/v1/businesses/{business_id}/reports/schedules", "post">;
export type ScheduleChange = Body<"/v1/businesses/{business_id}/reports/schedules/{schedule_id}", "patch">;
export type SendNow = Schemas["SendNowOut"];
export type Delivery = Schemas["DeliveryOut"];
export type DeliveryStatus = Delivery["status"];
export type Branding = Schemas["BrandingOut"];
export type Alert = Schemas["AlertOut"];
export type AlertsPage = Schemas["AlertsOut"];
export type AlertSettings = Schemas["AlertSettingsOut"];
/** Alert settings just saved: a new webhook secret in this answer only. */
export type SavedAlertSettings = Schemas["AlertSettingsSaved"];
export type AlertSettingsChange = Body<"/v1/businesses/{business_id}/alerts/settings", "put">;
export type Sensitivity = AlertSettings["sensitivity"];
export type AlertPreview = Schemas["AlertPreviewOut"];
export type PreviewAlert = Schemas["PreviewAlert"];

export const SENSITIVITIES: Sensitivity[] = ["low", "medium", "high"];

// A logo as the reporter takes it (routes/branding.py): checked here too, so a wrong file
// is told before it is sent.
export const LOGO_TYPES = ["image/png", "image/jpeg", "image/webp"] as const;
export const MAX_LOGO_BYTES = 512 * 1024;

const seg = (v: number | string): string => encodeURIComponent(String(v));

/** The reports' logo of a business, as an <img> loads it (the session's cookie goes with it). */
export function logoSrc(businessId: number): string {
  return `${BASE}/businesses/${seg(businessId)}/reports/branding/logo`;
}

/** A schedule's report as a PDF, rendered when asked (for a new tab). */
export function previewPdfHref(businessId: number, scheduleId: number): string {
  return `${BASE}/businesses/${seg(businessId)}/reports/schedules/${seg(scheduleId)}/preview.pdf`;
}

export class ReporterClient {
  private readonly http: Http;
  constructor(http: Http) {
    this.http = http;
  }

  private business(id: number, rest: string): string {
    return `${BASE}/businesses/${seg(id)}${rest}`;
  }

  schedules(businessId: number): Promise<Schedule[]> {
    return this.http.json(this.business(businessId, "/reports/schedules"));
  }

  createSchedule(businessId: number, body: NewSchedule): Promise<Schedule> {
    return this.http.sendJson("POST", this.business(businessId, "/reports/schedules"), body);
  }

  changeSchedule(businessId: number, scheduleId: number, change: ScheduleChange): Promise<Schedule> {
    return this.http.sendJson("PATCH", this.business(businessId, `/reports/schedules/${seg(scheduleId)}`), change);
  }

  deleteSchedule(businessId: number, scheduleId: number): Promise<void> {
    return this.http.sendJson("DELETE", this.business(businessId, `/reports/schedules/${seg(scheduleId)}`));
  }

  /** Queues the schedule's report of its last complete period. */
  sendNow(businessId: number, scheduleId: number): Promise<SendNow> {
    return this.http.sendJson("POST", this.business(businessId, `/reports/schedules/${seg(scheduleId)}/send-now`), {});
  }

  deliveries(businessId: number, limit = 50): Promise<Schemas["DeliveriesOut"]> {
    return this.http.json(this.business(businessId, `/reports/deliveries?limit=${limit}`));
  }

  branding(businessId: number): Promise<Branding> {
    return this.http.json(this.business(businessId, "/reports/branding"));
  }

  setColour(businessId: number, colour: string): Promise<Branding> {
    return this.http.sendJson("PUT", this.business(businessId, "/reports/branding"), { colour });
  }

  /** The image's bytes as the body, its type as Content-Type. */
  async uploadLogo(businessId: number, file: Blob): Promise<Branding> {
    const res = await this.http.send(this.business(businessId, "/reports/branding/logo"), {
      method: "PUT",
      headers: { "Content-Type": file.type, Accept: "application/json" },
      body: file,
    });
    return (await res.json()) as Branding;
  }

  removeLogo(businessId: number): Promise<Branding> {
    return this.http.sendJson("DELETE", this.business(businessId, "/reports/branding/logo"));
  }

  alerts(businessId: number, before: number | null = null, limit = 50): Promise<AlertsPage> {
    const q = new URLSearchParams({ limit: String(limit) });
    if (before !== null) q.set("before", String(before));
    return this.http.json(this.business(businessId, `/alerts?${q}`));
  }

  markRead(businessId: number, alertId: number): Promise<void> {
    return this.http.sendJson("POST", this.business(businessId, `/alerts/${seg(alertId)}/read`));
  }

  markAllRead(businessId: number): Promise<Schemas["MarkedOut"]> {
    return this.http.sendJson("POST", this.business(businessId, "/alerts/read-all"));
  }

  alertSettings(businessId: number): Promise<AlertSettings> {
    return this.http.json(this.business(businessId, "/alerts/settings"));
  }

  saveAlertSettings(businessId: number, change: AlertSettingsChange): Promise<SavedAlertSettings> {
    return this.http.sendJson("PUT", this.business(businessId, "/alerts/settings"), change);
  }

  /** What would have fired over the last `days` completed days at `sensitivity`. */
  alertPreview(businessId: number, sensitivity: Sensitivity, days = 90): Promise<AlertPreview> {
    const q = new URLSearchParams({ sensitivity, days: String(days) });
    return this.http.json(this.business(businessId, `/alerts/preview?${q}`));
  }
}
