/**
 * The loader: the facade that links staged patches against one running
 * process and switches them in and out. Its parts, one concept each: the
 * slot stacks (slot-stacks.ts: the entry in use is the top of the slot's
 * stack), linking (linking.ts), supersession of cumulative hotpatches
 * (supersession.ts), the redirect flags of inline-mode images
 * (redirect-flags.ts), the prepared switch (switch.ts) and the table swap
 * (swap.ts, the only writer of slots).
 *
 * Two phases, for enabling and disabling alike: `prepare` / `prepareRevert`
 * do every check, place static data and instantiate — everything but the
 * swap, so requests may keep running — and compute the whole switch;
 * `commit` (at a safe point) only writes and records; `discard` gives the
 * data space back. `enable` and `revert` are both phases at once.
 *
 * `prepare` order: duplicates, target build, downgrade, supersession → states
 * (patch-states.ts) → slots and signatures → imports resolve → state cells →
 * place static data → instantiate → the migration rehearsed on a scratch copy
 * → which migrations the switch runs (handover.ts: E_IRREVERSIBLE) → the
 * pre-patch callback (callbacks.ts: when each callback runs). `commit` runs
 * those migrations right before the swap, in the same synchronous step. A
 * failure before the swap undoes the data placement, a failed swap is undone
 * by swap.ts, and a reverse migration that ran before a failing step is
 * taken back (migration.ts `undoPoint`), so a refused patch leaves table and
 * memory exactly as they were.
 */
import { HotpatchError } from "../errors.ts";
import type { TrustStore } from "../patch/index.ts";
import type { GuestProcess } from "../process/index.ts";
import { PatchArena } from "./arena.ts";
import { afterSwap, onDiscard, runCallback, runPrePatch } from "./callbacks.ts";
import type { InstalledPatch } from "./installed-patch.ts";
import { type Linked, Linker } from "./linking.ts";
import { checkStates } from "./patch-states.ts";
import { RedirectFlags, setFlags } from "./redirect-flags.ts";
import { SlotStacks, type StackEntry, stackEntriesOf } from "./slot-stacks.ts";
import { stagePatch, type StagedPatch } from "./stage.ts";
import { restoresOf, revertWrites, supersededBy } from "./supersession.ts";
import { migrationSteps } from "./handover.ts";
import { migrateAtSwitch, undoPoint } from "./migration.ts";
import type { StateSource } from "./patch-state.ts";
import { type Arriving, type MigrationStep, rehearseSwitch, type Switch, staleSwitchError, switchOf } from "./switch.ts";
import { swapSlots } from "./swap.ts";

/** The empty set of patch ids (prepare's common case: nothing superseded). */
const NOTHING: ReadonlySet<string> = new Set();
const NO_STEPS: MigrationStep[] = [];

export interface LoaderOptions {
  /** Injected clock (milliseconds); records carry its time. */
  now?: () => number;
}

export class PatchLoader {
  private process: GuestProcess;
  private arena: PatchArena | undefined;
  private readonly stacks: SlotStacks;
  private linker: Linker;
  private flags: RedirectFlags;
  private readonly patches: InstalledPatch[] = [];
  private readonly now: () => number;

  constructor(process: GuestProcess, options: LoaderOptions = {}) {
    this.process = process;
    this.arena = arenaOf(process);
    this.stacks = new SlotStacks(process);
    this.linker = new Linker(process, this.arena, this.stacks);
    this.flags = new RedirectFlags(process);
    this.now = options.now ?? Date.now;
  }

  /** The process the loader patches (replaced by `reattach` after a restart). */
  get attached(): GuestProcess {
    return this.process;
  }

  /** Installed patches, oldest first. */
  installed(): readonly InstalledPatch[] {
    return this.patches;
  }

  /**
   * Stages (verifies and compiles) and enables a package in one step. No
   * warm-up instantiation (stage.ts `warm`): it only pays when staging runs
   * ahead of the enable; here the enable's own instantiation comes next, and
   * a warm-up before it would instantiate the code page twice.
   */
  apply(bytes: Uint8Array, trust: TrustStore): InstalledPatch {
    return this.enable(stagePatch(bytes, trust, { skipWarm: true }));
  }

  enable(staged: StagedPatch): InstalledPatch {
    return this.commit(this.prepare(staged));
  }

  /**
   * Phase one of enabling: every check, static data placement and
   * instantiation. The slot table is untouched; the switch goes stale if the
   * loader changes anything before it is committed.
   */
  prepare(staged: StagedPatch): Switch {
    const { manifest } = staged;
    const patch = manifest.id;
    if (this.patches.some((p) => p.id === patch)) throw new HotpatchError("E_ALREADY_APPLIED", "the patch is already installed", { patch });
    const linkMap = this.process.linkMap;
    if (manifest.target.buildId !== linkMap.buildId) {
      throw new HotpatchError("E_TARGET_MISMATCH", `built for image ${manifest.target.buildId}, but the process runs ${linkMap.buildId} (${linkMap.source.name})`, {
        patch,
      });
    }
    const superseded = supersededBy(manifest, this.patches);
    const ids = superseded.length === 0 ? NOTHING : new Set(superseded.map((p) => p.id));
    for (const old of superseded) this.stacks.requireOnTop(old, ids);
    checkStates(manifest, this.patches, superseded);
    const linked = this.linker.link(staged, ids, superseded.map(sourceOf));
    const restores = superseded.length === 0 ? [] : restoresOf(manifest, superseded, ids, this.stacks);
    const record: InstalledPatch = {
      id: manifest.id,
      title: manifest.title,
      classification: manifest.classification,
      functions: manifest.functions.map((fn) => ({ key: fn.key, slot: fn.slot })),
      appliedAt: Number.NaN, // set by commit
      superseded,
      staged,
      data: linked.data,
      callbacks: linked.callbacks,
      state: linked.state,
    };
    const writes = restores.length === 0 ? linked.writes : [...linked.writes, ...restores];
    const arriving = [{ record, data: linked.data, state: linked.state }];
    const entries = stackEntriesOf(manifest, linked.writes);
    const migrations = this.migrationsOf(superseded, arriving, `superseding it by ${patch}`, linked);
    runPrePatch(manifest, linked.callbacks, () => this.linker.unlink(linked.data));
    return switchOf({ kind: "enable", record, writes, restores, leaving: superseded, arriving, entries, migrations }, this.stacks, this.flags);
  }

  /**
   * Phase one of disabling: the checks (E_NOT_APPLIED, E_NOT_ON_TOP) and, for
   * a cumulative patch, linking the patches it superseded again (their data
   * placed, their code pages instantiated) — everything but the swap, as
   * `prepare` for enabling.
   */
  prepareRevert(id: string): Switch {
    const record = this.patches.find((p) => p.id === id);
    if (!record) throw new HotpatchError("E_NOT_APPLIED", "the patch is not installed", { patch: id });
    this.stacks.requireOnTop(record, NOTHING);
    const ignore = new Set([id]);
    const linked: Linked[] = [];
    let migrations: MigrationStep[];
    let arriving: Arriving[];
    try {
      for (const old of record.superseded) linked.push(this.linker.link(old.staged, ignore, [sourceOf(record)]));
      arriving = record.superseded.map((old, i) => ({ record: old, data: linked[i].data, state: linked[i].state }));
      migrations = migrationSteps(this.linker, [record], arriving, "reverting it");
      runCallback(record.callbacks, "preUnpatch"); // last, and inside: a trap in it unlinks what was placed above
    } catch (error) {
      for (const page of linked) this.linker.unlink(page.data);
      throw error;
    }
    const writes = revertWrites(record, linked, this.stacks);
    const entries = record.superseded.flatMap((old, i) => stackEntriesOf(old.staged.manifest, linked[i].writes));
    record.superseded.forEach((old, i) => {
      old.callbacks = linked[i].callbacks; // bound to the instance they come back with; they do not run (callbacks.ts)
    });
    return switchOf({ kind: "disable", record, writes, restores: [], leaving: [record], arriving, entries, migrations }, this.stacks, this.flags);
  }

  /**
   * Phase two, for every kind of switch: the swap (all or none, then the
   * redirect flags, in one synchronous step) and the bookkeeping. Only
   * writes: everything was computed by the prepare step.
   */
  commit(prepared: Switch): InstalledPatch {
    if (prepared.generation !== this.stacks.generation) {
      this.discard(prepared);
      throw staleSwitchError(prepared);
    }
    const migrations = prepared.migrations;
    const undo = migrations.length === 0 ? undefined : undoPoint(this.process, migrations);
    try {
      for (let i = 0; i < migrations.length; i++) migrateAtSwitch(migrations[i].state, this.process, migrations[i].patch, migrations[i].kind);
      swapSlots(this.process.slots, prepared.writes, prepared.current);
      setFlags(prepared.flags);
    } catch (error) {
      undo?.(); // a reverse migration that already ran is taken back (migration.ts undoPoint)
      this.discard(prepared);
      throw error;
    }
    const trapped = afterSwap(prepared);
    const { leaving, arriving } = prepared;
    for (let i = 0; i < leaving.length; i++) {
      const old = leaving[i];
      this.stacks.popAll(old.functions);
      this.linker.unlink(old.data);
      old.data = undefined;
      old.state = undefined;
      this.patches.splice(this.patches.indexOf(old), 1);
    }
    this.stacks.pushAll(prepared.entries);
    if (prepared.kind === "enable") prepared.record.appliedAt = this.now();
    for (let i = 0; i < arriving.length; i++) {
      arriving[i].record.data = arriving[i].data;
      arriving[i].record.state = arriving[i].state;
      this.patches.push(arriving[i].record);
    }
    if (trapped !== undefined) throw trapped;
    return prepared.record;
  }

  /** The migrations of an enable (migrationSteps); a refusal gives the linked page's data back. */
  private migrationsOf(leaving: readonly InstalledPatch[], arriving: readonly Arriving[], verb: string, linked: Linked): MigrationStep[] {
    if (!arriving[0].state && !leaving.some((old) => old.state)) return NO_STEPS;
    try {
      return migrationSteps(this.linker, leaving, arriving, verb);
    } catch (error) {
      this.linker.unlink(linked.data);
      throw error;
    }
  }

  /** Abandons a prepared switch: the static data placed for it is removed; nothing else had changed. */
  discard(prepared: Switch): void {
    const trapped = onDiscard(prepared);
    for (const arriving of prepared.arriving) {
      this.linker.unlink(arriving.data);
      arriving.data = undefined;
    }
    if (trapped !== undefined) throw trapped;
  }

  /** Disables a patch that is on top of every slot it replaced, restoring exactly what it replaced. */
  revert(id: string): InstalledPatch {
    return this.commit(this.prepareRevert(id));
  }

  /** Runs a prepared switch's reads and writes once without changing anything (see `rehearseSwitch`). */
  rehearse(prepared: Switch): void {
    rehearseSwitch(this.process.slots, prepared);
  }

  /**
   * Attaches to a restarted process of the same image and re-applies every
   * installed patch in order, as an OS re-applies installed hotpatches at boot.
   */
  reattach(process: GuestProcess): void {
    if (process.buildId !== this.process.buildId) {
      throw new HotpatchError("E_TARGET_MISMATCH", `cannot reattach patches of ${this.process.buildId} to ${process.buildId}`);
    }
    const again = [...this.patches];
    this.process = process;
    this.arena = arenaOf(process);
    this.stacks.reattach(process);
    this.linker = new Linker(process, this.arena, this.stacks);
    this.flags = new RedirectFlags(process);
    this.patches.length = 0;
    for (const old of again) {
      // A restarted process has its first state again: migrations run again, on it.
      const linked = this.linker.link(old.staged, NOTHING);
      old.callbacks = linked.callbacks;
      runPrePatch(old.staged.manifest, linked.callbacks, () => this.linker.unlink(linked.data));
      const arriving = [{ record: old, data: linked.data, state: linked.state }];
      const entries = stackEntriesOf(old.staged.manifest, linked.writes);
      const migrations = migrationSteps(this.linker, [], arriving, `re-applying ${old.id}`);
      this.commit(switchOf({ kind: "reapply", record: old, writes: linked.writes, restores: [], leaving: [], arriving, entries, migrations }, this.stacks, this.flags));
    }
  }

  /** Which patch's code each slot runs now (slots never patched are left out). */
  activePatches(): Map<number, string> {
    return this.stacks.activePatches();
  }

  /**
   * Every slot the loader has touched and its stack, the image's function
   * first and the entry in use last. Read only: for the slot audit
   * (engine/worker/health-probe.ts), which checks them against the table.
   */
  slotStacks(): ReadonlyMap<number, readonly StackEntry[]> {
    return this.stacks.view();
  }

  /** Free bytes in the patch arena (undefined for images without one). */
  arenaFreeBytes(): number | undefined {
    return this.arena?.freeBytes();
  }
}

/** What a leaving patch offers to the patch that replaces it: its state (patch-state.ts). */
function sourceOf(record: InstalledPatch): StateSource {
  return { manifest: record.staged.manifest, state: record.state, data: record.data };
}

function arenaOf(process: GuestProcess): PatchArena | undefined {
  const arena = process.linkMap.static?.arena;
  return arena ? new PatchArena(arena.start, arena.end) : undefined;
}
