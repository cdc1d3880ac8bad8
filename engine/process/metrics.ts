/**
 * Live counters of a worker process, shared between the worker (the only
 * writer while it runs) and the control plane (readers), without tearing.
 *
 * The counters live in a SharedArrayBuffer that the control plane owns, so
 * they survive a crashed worker. Writes follow a sequence lock: the writer
 * makes `seq` odd, updates fields, makes it even again; a reader copies all
 * fields and retries until it saw the same even `seq` before and after. A
 * snapshot is therefore always one state the writer left between two
 * updates: `served + failed + inFlight` never disagrees with `generated`.
 *
 * Word 0 is not under the lock: it is the wake-up flag the control plane
 * raises (and `Atomics.notify`s) after posting a control message.
 *
 * The switch record (after the counters) is not under the lock either: the
 * worker writes it at each completed switch, before any request runs in the
 * new code, so a switch survives the worker crashing before its report is
 * posted (a hanging request in new code, a kill by the watchdog). The data
 * words are plain writes and the id an `Atomics.store` after them, so a
 * reader whose `Atomics.load` sees an id sees that switch's data — once the
 * writer has stopped: the supervisor reads the record only after the worker
 * was terminated (a worker killed mid-record leaves the previous id).
 *
 * Ownership: the worker writes while it is alive; after the supervisor has
 * terminated it, the supervisor becomes the writer (to count the request
 * that was in flight as failed).
 */

const FIELDS = [
  "generated", // requests produced by the load generator (also: index of the next request)
  "served", // requests that returned a response
  "failed", // requests that trapped or ran past their deadline
  "inFlight", // 1 while a request runs
  "started", // requests started; advances with every request (the watchdog's heartbeat)
  "patchLevel", // number of installed patches
  "transitions", // completed transitions (apply or revert)
  "safepoints", // calls of env.safepoint
  "restarts", // restarts by the supervisor
] as const;

export type MetricName = (typeof FIELDS)[number];
export type MetricsSnapshot = Record<MetricName, number>;

const WAKE = 0;
const SEQ = 1;
const BASE = 2;
/** The switch record: the words after the counters. */
const SWITCH_AT = BASE + FIELDS.length;
const SWITCH_MID = SWITCH_AT + 1;
const SWITCH_FORCED = SWITCH_AT + 2;
const SWITCH_BLOCKED = SWITCH_AT + 3;
const SWITCH_PAUSE_NANOS = SWITCH_AT + 4;
const SWITCH_PREPARE_NANOS = SWITCH_AT + 5;
const SWITCH_ID = SWITCH_AT + 6;
const WORDS = SWITCH_ID + 1;
const nanos = (micros: number) => Math.min(2 ** 31 - 1, Math.round(micros * 1000));

/** The last completed switch of a worker, as it recorded it in the pause (ids start at 1; 0: none yet). */
export interface SwitchRecord {
  id: number;
  atIndex: number;
  midRequest: boolean;
  forced: boolean;
  blockedChecks: number;
  pauseMicros: number;
  prepareMicros: number;
}
/** Reads of the wake flag in one `pause` (a few ns each). */
const PAUSE_SPINS = 128;

export class SharedMetrics {
  readonly buffer: SharedArrayBuffer;
  private readonly words: Int32Array;

  constructor(buffer?: SharedArrayBuffer) {
    this.buffer = buffer ?? new SharedArrayBuffer(WORDS * 4);
    this.words = new Int32Array(this.buffer);
  }

  /** Applies `change` to the fields as one update (writer side). */
  update(change: (set: (name: MetricName, value: number) => void, get: (name: MetricName) => number) => void): void {
    Atomics.add(this.words, SEQ, 1);
    change(
      (name, value) => Atomics.store(this.words, BASE + FIELDS.indexOf(name), value),
      (name) => Atomics.load(this.words, BASE + FIELDS.indexOf(name)),
    );
    Atomics.add(this.words, SEQ, 1);
  }

  /** One consistent copy of every field (reader side; retries while a write is in progress). */
  snapshot(): MetricsSnapshot {
    for (let attempt = 0; ; attempt++) {
      const before = Atomics.load(this.words, SEQ);
      // A writer terminated mid-update leaves `seq` odd for ever: `recover` first.
      if (before % 2 === 1 && attempt < 1_000_000) continue;
      const out = {} as MetricsSnapshot;
      FIELDS.forEach((name, i) => {
        out[name] = Atomics.load(this.words, BASE + i);
      });
      if (Atomics.load(this.words, SEQ) === before) return out;
    }
  }

  /** After the writer was terminated: closes an update it left open, so readers stop waiting. */
  recover(): void {
    if (Atomics.load(this.words, SEQ) % 2 === 1) Atomics.add(this.words, SEQ, 1);
  }

  /**
   * Worker, in the pause: records a completed switch (six plain writes and one Atomics store,
   * no allocation: pass the same record object every time). Micros are stored as whole
   * nanoseconds (up to ~2 s).
   */
  recordSwitch(record: SwitchRecord): void {
    const w = this.words;
    w[SWITCH_AT] = record.atIndex;
    w[SWITCH_MID] = record.midRequest ? 1 : 0;
    w[SWITCH_FORCED] = record.forced ? 1 : 0;
    w[SWITCH_BLOCKED] = record.blockedChecks;
    w[SWITCH_PAUSE_NANOS] = nanos(record.pauseMicros);
    w[SWITCH_PREPARE_NANOS] = nanos(record.prepareMicros);
    Atomics.store(w, SWITCH_ID, record.id); // last: publishes the data words above
  }

  /** Control plane: the last switch a worker recorded (id 0: none). */
  lastSwitch(): SwitchRecord {
    const w = this.words;
    const id = Atomics.load(w, SWITCH_ID);
    return {
      id,
      atIndex: Atomics.load(w, SWITCH_AT),
      midRequest: Atomics.load(w, SWITCH_MID) === 1,
      forced: Atomics.load(w, SWITCH_FORCED) === 1,
      blockedChecks: Atomics.load(w, SWITCH_BLOCKED),
      pauseMicros: Atomics.load(w, SWITCH_PAUSE_NANOS) / 1000,
      prepareMicros: Atomics.load(w, SWITCH_PREPARE_NANOS) / 1000,
    };
  }

  /** Control plane: raise the wake flag after posting a message, so a sleeping or busy worker looks. */
  wake(): void {
    Atomics.store(this.words, WAKE, 1);
    Atomics.notify(this.words, WAKE);
  }

  /** Worker: lowers the flag; true if it was raised (then drain the port). Lower first, then drain. */
  takeWake(): boolean {
    return Atomics.exchange(this.words, WAKE, 0) !== 0;
  }

  /**
   * Worker: a busy pause of about a microsecond that allocates nothing
   * (unlike a clock read); returns early when the wake flag is raised.
   */
  pause(): void {
    for (let i = 0; i < PAUSE_SPINS; i++) if (Atomics.load(this.words, WAKE) !== 0) return;
  }

  /** Worker: sleeps until woken or `ms` pass. */
  sleep(ms: number): void {
    if (ms > 0) Atomics.wait(this.words, WAKE, 0, ms);
  }
}
