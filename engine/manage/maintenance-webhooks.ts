/**
 * Pre- and post-maintenance events delivered as webhooks.
 *
 * In Azure these events reach an Event Grid system topic of the maintenance
 * configuration, whose subscriptions forward them (e.g. to a webhook). The
 * emulator keeps the subscriptions itself: a webhook names a URL, the event
 * types it wants and optionally one configuration (null: every one).
 *
 * Contracts:
 * - The body is one Event Grid event (the Event Grid schema, in a JSON
 *   array as Event Grid posts it): id, topic (the configuration's id),
 *   subject (the run's name), eventType
 *   "Microsoft.Maintenance.PreMaintenanceEvent" | "…PostMaintenanceEvent",
 *   eventTime (emulated), data { correlationId, maintenanceConfigurationId,
 *   startDateTime, endDateTime, cancellationCutOffDateTime, status,
 *   resourceSubscriptionIds }, dataVersion "1.0", metadataVersion "1".
 * - Delivery is one POST with a DELIVERY_TIMEOUT_MS timeout; the outcome (the
 *   HTTP status or the error) is recorded in the run, and a failed delivery
 *   changes nothing else (Event Grid would retry; the emulator reports).
 * - URLs must be http: or https:; the emulator sends them nothing but events.
 */
import { HotpatchError } from "../errors.ts";
import { type ConfigurationName, configurationId } from "./maintenance-config.ts";
import { configurationKey } from "./maintenance-store.ts";

export const EVENT_TYPES = ["PreMaintenanceEvent", "PostMaintenanceEvent"] as const;
export type MaintenanceEventType = (typeof EVENT_TYPES)[number];
export const DELIVERY_TIMEOUT_MS = 5000;

export interface Webhook {
  name: string;
  url: string;
  eventTypes: MaintenanceEventType[];
  configuration: ConfigurationName | null;
  createdAt: string;
}

export interface EventGridEvent {
  id: string;
  topic: string;
  subject: string;
  eventType: `Microsoft.Maintenance.${MaintenanceEventType}`;
  eventTime: string;
  data: {
    correlationId: string;
    maintenanceConfigurationId: string;
    startDateTime: string;
    endDateTime: string;
    cancellationCutOffDateTime: string;
    status: string;
    resourceSubscriptionIds: string[];
  };
  dataVersion: "1.0";
  metadataVersion: "1";
}

export interface Delivery {
  webhook: string;
  url: string;
  /** The HTTP status of the answer; null when there was none. */
  status: number | null;
  error: string | null;
}

/** Validates a webhook as given (E_USAGE naming the field). */
export function buildWebhook(input: { name: string; url: string; eventTypes?: readonly string[]; configuration?: ConfigurationName | null }, now: string): Webhook {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(input.name)) throw new HotpatchError("E_USAGE", `"${input.name}" is not a webhook name (letters, digits, '_', '.', '-'; at most 64)`);
  let url: URL;
  try {
    url = new URL(input.url);
  } catch {
    throw new HotpatchError("E_USAGE", `webhook ${input.name}: "${input.url}" is not a URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new HotpatchError("E_USAGE", `webhook ${input.name}: the URL must be http: or https:, not ${url.protocol}`);
  const types = (input.eventTypes ?? EVENT_TYPES).map((t) => {
    const found = EVENT_TYPES.find((e) => e.toLowerCase() === t.replace(/^Microsoft\.Maintenance\./i, "").toLowerCase());
    if (found === undefined) throw new HotpatchError("E_USAGE", `webhook ${input.name}: unknown event type "${t}" (expected ${EVENT_TYPES.join(" or ")})`);
    return found;
  });
  if (types.length === 0) throw new HotpatchError("E_USAGE", `webhook ${input.name}: the event type list is empty`);
  return { name: input.name, url: url.href, eventTypes: [...new Set(types)], configuration: input.configuration ?? null, createdAt: now };
}

/** The webhooks that want an event of `type` for configuration `c`. */
export function subscribers(webhooks: readonly Webhook[], c: ConfigurationName, type: MaintenanceEventType): Webhook[] {
  return webhooks.filter((w) => w.eventTypes.includes(type) && (w.configuration === null || configurationKey(w.configuration) === configurationKey(c)));
}

/** Posts the event to each webhook, one after another; never throws. */
export async function deliver(event: EventGridEvent, webhooks: readonly Webhook[]): Promise<Delivery[]> {
  const out: Delivery[] = [];
  for (const w of webhooks) {
    try {
      const response = await fetch(w.url, {
        method: "POST",
        headers: { "content-type": "application/json", "aeg-event-type": "Notification" },
        body: JSON.stringify([event]),
        signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
      });
      await response.arrayBuffer().catch(() => undefined);
      out.push({ webhook: w.name, url: w.url, status: response.status, error: response.ok ? null : `answered ${response.status}` });
    } catch (error) {
      out.push({ webhook: w.name, url: w.url, status: null, error: (error as Error).message });
    }
  }
  return out;
}

/** The Event Grid event of a run (ids derive from the run, so a replay sends the same ids). */
export function maintenanceEvent(
  type: MaintenanceEventType,
  c: ConfigurationName,
  run: { name: string; start: string; end: string; cancellationCutOff: string; status: string },
  at: string,
): EventGridEvent {
  const topic = configurationId(c);
  return {
    id: `${configurationKey(c)}/${run.name}/${type}`,
    topic,
    subject: run.name,
    eventType: `Microsoft.Maintenance.${type}`,
    eventTime: at,
    data: {
      correlationId: `${configurationKey(c)}/${run.name}`,
      maintenanceConfigurationId: topic,
      startDateTime: run.start,
      endDateTime: run.end,
      cancellationCutOffDateTime: run.cancellationCutOff,
      status: run.status,
      resourceSubscriptionIds: [c.subscription],
    },
    dataVersion: "1.0",
    metadataVersion: "1",
  };
}
