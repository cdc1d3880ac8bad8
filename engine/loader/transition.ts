/**
 * The consistency model: when a patch may switch (compare the kernel's
 * livepatch transition.c and Erlang's soft purge).
 *
 * Life cycle: `start` (checks and instantiates: E_* refusals change nothing)
 * → `tryComplete` at every safe point → switched, or still waiting → after
 * `timeoutMs` a stall, handled by the policy: `reverse` (abandon: the process
 * keeps the code it had), `force` (switch although a function is active), or
 * `wait` (keep trying; the caller may `force` or `reverse` later).
 *
 * The rule: a patch switches only at a safe point where none of the
 * functions it replaces (enable) or restores (disable) is active on the
 * guest's stack (engine/process/activity.ts). Since the swap is one
 * synchronous step (swap.ts), every activation of one of those functions
 * runs entirely before or entirely after the switch, and so does every call
 * it makes to the others: an activation never mixes old and new versions of
 * the patch's functions. A function outside the patch that is active across
 * the switch (a dispatcher on the stack) may call old versions before the
 * switch and new ones after it; `force` gives up the rule for the
 * activations on the stack at that moment.
 *
 * Ordering: exactly one transition per process at a time (the caller keeps
 * it); `tryComplete`, `force` and `reverse` must run in the guest's thread at
 * a safe point. After a result is returned the transition is finished and
 * every further call returns that same result.
 */
import { HotpatchError } from "../errors.ts";
import * as faults from "../faults/index.ts";
import type { Activity } from "../process/index.ts";
import type { InstalledPatch } from "./installed-patch.ts";
import type { PatchLoader } from "./loader.ts";
import type { StagedPatch } from "./stage.ts";
import type { Switch } from "./switch.ts";

export type StallPolicy = "reverse" | "force" | "wait";

export interface TransitionOptions {
  /** How long the patch's functions may stay active before the transition stalls (in `now` units, ms). */
  timeoutMs: number;
  onStall: StallPolicy;
  /** Monotonic clock in milliseconds. */
  now: () => number;
  /** Receives the transcript, one line per step (starting, blocked, stalled, complete…). */
  log?: (line: string) => void;
}

export type TransitionRequest = { kind: "enable"; staged: StagedPatch } | { kind: "disable"; patch: string };

export type TransitionResult =
  | {
      state: "complete";
      kind: TransitionRequest["kind"];
      patch: string;
      /** True when `force` switched while `activeAtSwitch` were on the stack. */
      forced: boolean;
      activeAtSwitch: string[];
      /** The first function found active while waiting, if the transition had to wait. */
      blockedBy?: string;
      /** Safe points at which a function of the patch was active. */
      blockedChecks: number;
      record: InstalledPatch;
    }
  | { state: "reversed" | "failed"; kind: TransitionRequest["kind"]; patch: string; error: HotpatchError };

const NONE_ACTIVE = Object.freeze([]) as unknown as string[];

export class Transition {
  readonly kind: TransitionRequest["kind"];
  readonly patch: string;
  /** Keys of the functions whose activity blocks the switch. */
  readonly targets: readonly string[];
  /** The switch, prepared when the transition starts. */
  private readonly prepared: Switch;
  private readonly startedAt: number;
  private readonly completeLine: string;
  private blockedBy?: string;
  private blockedChecks = 0;
  private stalled = false;
  private result?: TransitionResult;

  private constructor(
    private readonly loader: PatchLoader,
    private readonly activity: Activity,
    request: TransitionRequest,
    private readonly options: TransitionOptions,
  ) {
    this.kind = request.kind;
    if (request.kind === "enable") {
      this.patch = request.staged.id;
      this.prepared = loader.prepare(request.staged);
      // Every slot the switch writes: the patch's own, and those of superseded patches it gives back.
      const restored = this.prepared.restores.length === 0 ? [] : restoredKeys(loader, this.prepared.restores);
      this.targets = [...new Set([...request.staged.manifest.functions.map((fn) => fn.key), ...restored])];
    } else {
      this.patch = request.patch;
      this.prepared = loader.prepareRevert(request.patch);
      this.targets = targetsOfDisable(this.prepared.record);
    }
    this.startedAt = options.now();
    this.completeLine = `${this.patch}: ${this.verb()} complete`; // formatted now, not in the switch
    this.log(`starting ${this.verb()} transition (${this.targets.join(", ")})`);
    // Last of the preparation: run the switch's reads and writes once without changing anything, so that
    // the switch at the safe point finds them in cache (after a quiet spell they were not; see rewriteSlots).
    this.activity.firstActive(this.targets);
    loader.rehearse(this.prepared);
  }

  /** Checks and prepares; throws (changing nothing) when the request is refused. */
  static start(loader: PatchLoader, activity: Activity, request: TransitionRequest, options: TransitionOptions): Transition {
    return new Transition(loader, activity, request, options);
  }

  get finished(): boolean {
    return this.result !== undefined;
  }

  /**
   * At a safe point: switches if no target is active; applies the stall
   * policy past the timeout. The path to the switch allocates nothing but
   * the result and what the loader's commit allocates (the worker times it as the pause).
   */
  tryComplete(): TransitionResult | undefined {
    if (this.result) return this.result;
    if (this.activity.firstActive(this.targets) === undefined) return this.switch(false, NONE_ACTIVE);
    const busy = this.activity.active(this.targets);
    this.blockedChecks++;
    faults.hit("transition.wait", { patch: this.patch, blockedBy: busy[0] });
    if (this.blockedBy === undefined) {
      this.blockedBy = busy[0];
      this.log(`blocked: function ${busy[0]} is active`);
    }
    if (!this.stalled && this.options.now() - this.startedAt >= this.options.timeoutMs) {
      this.stalled = true;
      this.log(`stalled after ${this.options.timeoutMs} ms: function ${busy[0]} is active`);
      if (this.options.onStall === "reverse") return this.reverse(this.stallError(busy[0]));
      if (this.options.onStall === "force") return this.force();
    }
    return undefined;
  }

  /** Switches now, even with targets on the stack (they finish in the code they started in). */
  force(): TransitionResult {
    if (this.result) return this.result;
    const busy = this.activity.active(this.targets);
    this.log(busy.length > 0 ? `forcing: ${busy.join(", ")} still active` : "forcing: nothing active");
    return this.switch(true, busy);
  }

  /** Abandons the transition: the process keeps the code it had; nothing was swapped. */
  reverse(error?: HotpatchError): TransitionResult {
    if (this.result) return this.result;
    this.log(`reversing ${this.verb()} transition`);
    this.loader.discard(this.prepared);
    const reason = error ?? new HotpatchError("E_STALLED", "the transition was reversed before it could complete", { patch: this.patch });
    this.result = { state: "reversed", kind: this.kind, patch: this.patch, error: reason };
    return this.result;
  }

  private switch(forced: boolean, activeAtSwitch: string[]): TransitionResult {
    try {
      const record = this.loader.commit(this.prepared);
      this.options.log?.(this.completeLine);
      this.result = {
        state: "complete",
        kind: this.kind,
        patch: this.patch,
        forced,
        activeAtSwitch,
        blockedBy: this.blockedBy,
        blockedChecks: this.blockedChecks,
        record,
      };
    } catch (error) {
      if (!(error instanceof HotpatchError)) throw error;
      this.log(`${this.verb()} failed: ${error.code}`);
      this.result = { state: "failed", kind: this.kind, patch: this.patch, error };
    }
    return this.result;
  }

  private stallError(fn: string): HotpatchError {
    return new HotpatchError("E_STALLED", `the ${this.verb()} transition stalled for ${this.options.timeoutMs} ms: the function is still active`, {
      patch: this.patch,
      function: fn,
    });
  }

  private verb(): string {
    return this.kind === "enable" ? "patching" : "unpatching";
  }

  private log(line: string): void {
    this.options.log?.(`${this.patch}: ${line}`);
  }
}

/** Keys of the slots that superseded patches give back (slot → key map built once per image). */
function restoredKeys(loader: PatchLoader, restores: readonly { slot: number }[]): string[] {
  const linkMap = loader.attached.linkMap;
  let keyOf = keysBySlot.get(linkMap);
  if (!keyOf) {
    keyOf = new Map(linkMap.functions.map((f) => [f.slot, f.key]));
    keysBySlot.set(linkMap, keyOf);
  }
  const keys: string[] = [];
  for (const w of restores) {
    const key = keyOf.get(w.slot);
    if (key !== undefined) keys.push(key);
  }
  return keys;
}

const keysBySlot = new WeakMap<object, Map<number, string>>();

/** The functions a disable writes: its own and those of the patches it superseded, which come back. */
function targetsOfDisable(record: InstalledPatch): string[] {
  return [...new Set([...record.functions, ...record.superseded.flatMap((old) => old.functions)].map((fn) => fn.key))];
}
