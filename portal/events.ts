/**
 * The server's event stream (GET /hotpatch/events, Server-Sent Events), one
 * EventSource per tab; the browser reconnects by itself with Last-Event-ID.
 * Views subscribe to what concerns them and refetch, so every open tab shows
 * the same state without reloading.
 */
import { useEffect, useState } from "preact/hooks";
import type { ServerEvent } from "../engine/serve/events.ts";

type Listener = (event: ServerEvent) => void;
const listeners = new Set<Listener>();
const closedListeners = new Set<() => void>();
let source: EventSource | undefined;
let closed = false;

const TYPES = ["demo.step", "vm.booted", "vm.crashed", "assessment", "hotpatch.applied", "hotpatch.reverted", "vm.rebooted", "health", "installation", "removal", "clock", "catalog.unplanned", "fleet.created", "fleet.round", "fleet.rollout"];

function connect(): void {
  if (source !== undefined) return;
  source = new EventSource("/hotpatch/events");
  // A network error reconnects by itself; a refusal (a restarted server no longer knows the session) closes it for good.
  source.onerror = () => {
    if (source?.readyState !== EventSource.CLOSED || closed) return;
    closed = true;
    for (const listener of closedListeners) listener();
  };
  for (const type of TYPES) {
    source.addEventListener(type, (message) => {
      const event = JSON.parse((message as MessageEvent<string>).data) as ServerEvent;
      for (const listener of listeners) listener(event);
    });
  }
}

/** True once the event stream closed for good (the views are no longer live). */
export function useStreamClosed(): boolean {
  const [isClosed, setClosed] = useState(closed);
  useEffect(() => {
    connect();
    const listener = () => setClosed(true);
    closedListeners.add(listener);
    return () => closedListeners.delete(listener);
  }, []);
  return isClosed;
}

/** Calls `listener` for every event while the component is mounted. */
export function useServerEvents(listener: Listener, deps: unknown[]): void {
  useEffect(() => {
    connect();
    listeners.add(listener);
    return () => listeners.delete(listener);
  }, deps);
}
