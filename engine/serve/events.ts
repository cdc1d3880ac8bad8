/**
 * What happens on the server, as a stream of events: assessments, install
 * runs, each live apply or revert with its measured pause, health checks,
 * reboots and restarts. The emulator's Server-Sent Events endpoint
 * (GET /hotpatch/events) and the portal read it.
 *
 * Contracts:
 * - Every event gets the next sequence number (`id`, from 1) and the
 *   emulated time it happened at; `publish` never throws (a failing listener
 *   is dropped).
 * - The last RECENT_EVENTS events are kept, so a client that reconnects with
 *   `Last-Event-ID` gets what it missed (if it is still kept).
 */
export const RECENT_EVENTS = 1000;

export interface ServerEvent {
  id: number;
  type: string;
  at: string;
  vm?: string;
  data: Record<string, unknown>;
}

type Listener = (event: ServerEvent) => void;

export class EventStream {
  private readonly recent: ServerEvent[] = [];
  private readonly listeners = new Set<Listener>();
  private nextId = 1;

  publish(type: string, at: Date, data: Record<string, unknown>, vm?: string): ServerEvent {
    const event: ServerEvent = { id: this.nextId++, type, at: at.toISOString(), ...(vm === undefined ? {} : { vm }), data };
    this.recent.push(event);
    if (this.recent.length > RECENT_EVENTS) this.recent.shift();
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        this.listeners.delete(listener);
      }
    }
    return event;
  }

  /** Events after `lastId` that are still kept, oldest first. */
  since(lastId: number): ServerEvent[] {
    return this.recent.filter((e) => e.id > lastId);
  }

  /** Calls `listener` for every new event until the returned function is called. */
  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
