/**
 * What the loader records of an installed patch: the record `enable` returns
 * and `installed()` lists. A record is created by `prepare`, completed by the
 * commit that installs it (`appliedAt`, its static data), and kept by the
 * patch that supersedes it so that a revert can put it back.
 */
import type { BoundCallbacks } from "./callbacks.ts";
import type { PlacedData } from "./data-placement.ts";
import type { LinkedState } from "./patch-state.ts";
import type { StagedPatch } from "./stage.ts";

export interface InstalledPatch {
  id: string;
  title: string;
  classification: string;
  functions: { key: string; slot: number }[];
  appliedAt: number;
  /** Installed patches this one replaced; disabling it puts them back. */
  superseded: InstalledPatch[];
  /** Kept so a restarted process can have its patches re-applied. */
  staged: StagedPatch;
  data?: PlacedData;
  /** Its callbacks, bound to the code page instance it runs now (set when it is linked; callbacks.ts). */
  callbacks?: BoundCallbacks;
  /** Its state cells and bound migration (patches with `state` only). */
  state?: LinkedState;
}
