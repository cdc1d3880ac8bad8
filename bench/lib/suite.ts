/** The shape every suite returns; run.ts adds name, title and duration. */
import type { BenchContext } from "./context.ts";
import type { Distribution, Target } from "./stats.ts";

export type Figure = number | string | boolean | null;

export interface SuiteOutcome {
  distributions: Distribution[];
  /** Scalar results (ratios, sizes, counts), named in words. */
  figures: Record<string, Figure>;
  targets: Target[];
  /** How to read the figures; what was measured exactly. */
  notes: string[];
  skipped?: boolean;
  reason?: string;
}

export interface SuiteResult extends SuiteOutcome {
  name: string;
  title: string;
  seconds: number;
}

export interface Suite {
  name: string;
  title: string;
  run(context: BenchContext): Promise<SuiteOutcome>;
}
