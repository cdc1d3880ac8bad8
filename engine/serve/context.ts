/**
 * What every route of the server works with: the one store and session the
 * server holds for its lifetime, the emulated clock, the wall clock (for
 * tokens only), the queue that runs changes one at a time, the operations
 * registry, the event stream and why a VM's processes failed to boot.
 *
 * Ordering contract: everything that changes the state (a PUT, a DELETE, an
 * assessment, an install, a clock advance) runs through `serial`, one at a
 * time in arrival order; reads run at once and see the state between two
 * changes. The management plane below was written for one command at a time,
 * and this keeps it so.
 */
import type { Session, Store } from "../manage/index.ts";
import type { ProcessHost, VmProcesses } from "../vms/index.ts";
import { storedClock } from "../manage/index.ts";
import type { DemoStory } from "./demo-story.ts";
import type { EventStream } from "./events.ts";
import type { Operations } from "./operations.ts";
import type { PortalSessions } from "./portal-auth.ts";
import type { Serial } from "./serial.ts";

export interface ServeContext {
  readonly store: Store;
  readonly session: Session;
  readonly serial: Serial;
  readonly operations: Operations;
  readonly events: EventStream;
  /** The real time, for token lifetimes and request timings only. */
  readonly wallClock: () => Date;
  /** VM name → why its processes failed to boot (live-vms.ts); absent when they run. */
  readonly bootErrors: Map<string, string>;
  /** VMs booted at least once by this server (a later boot is a restart). */
  readonly booted: Set<string>;
  /** VM name → when (wall clock, ms) its recent crash restarts happened (live-vms.ts caps them). */
  readonly restarts: Map<string, number[]>;
  /** Where VMs' processes run (the VM pool in a server). */
  readonly host: ProcessHost;
  /** VMs that are not in the state file but whose processes the processes endpoint shows (demo-story.ts). */
  readonly storyVms: Map<string, VmProcesses>;
  /** The teaching demo, when the server was started for it (`hotpatch demo --portal`). */
  demo?: DemoStory;
  /** The portal's token and its browsers' sessions. */
  readonly portal: PortalSessions;
  /** The API's base URL (https://host:port), for Location headers. */
  baseUrl: string;
  /** Set when the server is stopping, with the reason: a running fleet rollout halts before its next round. */
  stopping?: string;
}

/** The emulated time: the state's clock (set when the server started). */
export function emulatedNow(context: ServeContext): Date {
  const at = storedClock(context.store);
  if (at === undefined) throw new Error("the state has no clock: startServer sets it before serving");
  return at;
}
